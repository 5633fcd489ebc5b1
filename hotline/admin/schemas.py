"""API shapes of the administration screens."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from hotline.auth.models import Role
from hotline.timefmt import LocalDateTime

MIN_PASSWORD = 10
USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,64}$"


class UserView(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    role_label: str
    unit_id: int | None
    unit_name: str | None
    is_active: bool
    locked: bool
    created_at: LocalDateTime


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=64)
    role: Role
    unit_id: int | None = None
    password: str = Field(min_length=MIN_PASSWORD, max_length=256)

    @field_validator("role")
    @classmethod
    def _not_system(cls, value: Role) -> Role:
        if value == Role.SYSTEM:
            raise ValueError("the system role is not a user's role")
        return value


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=64)
    role: Role | None = None
    unit_id: int | None = None
    is_active: bool | None = None

    @field_validator("role")
    @classmethod
    def _not_system(cls, value: Role | None) -> Role | None:
        if value == Role.SYSTEM:
            raise ValueError("the system role is not a user's role")
        return value


class RoleView(BaseModel):
    role: str
    label: str


class CategoryView(BaseModel):
    id: int
    code: str
    name: str
    path: str
    level: int
    parent_id: int | None
    default_unit_id: int | None
    is_active: bool


class ChannelSetting(BaseModel):
    name: str
    value: str | None = Field(description="plain settings as they are; secrets masked, e.g. ``te••••en``")
    secret: bool


class ChannelStatus(BaseModel):
    channel: str
    label: str
    configured: bool
    endpoint: str = Field(description="where the channel's traffic arrives")
    settings: list[ChannelSetting]


class CategoryCreate(BaseModel):
    parent_id: int | None = Field(default=None, description="none: a new top-level category")
    code: str = Field(pattern=r"^[a-z0-9_.]{2,64}$", description="e.g. environment.noise.night_market")
    name: str = Field(min_length=1, max_length=64)
    default_unit_id: int | None = None


class CategoryUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    default_unit_id: int | None = None
    is_active: bool | None = None
