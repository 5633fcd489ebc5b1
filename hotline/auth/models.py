"""Users and their login sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from hotline.db_types import UTCDateTime, utcnow


class Role(StrEnum):
    OPERATOR = "operator"
    DISPATCHER = "dispatcher"
    DEPARTMENT_STAFF = "department_staff"
    SUPERVISOR = "supervisor"
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDITOR = "auditor"
    SYSTEM = "system"  # the service itself (channels, sweeps); never a user's role


USER_ROLES = frozenset(Role) - {Role.SYSTEM}


HOTLINE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
ROLE_LABELS_ZH = {
    Role.OPERATOR: "话务员",
    Role.DISPATCHER: "派单员",
    Role.DEPARTMENT_STAFF: "承办人员",
    Role.SUPERVISOR: "督办员",
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全管理员",
    Role.AUDITOR: "审计员",
    Role.SYSTEM: "系统",
}


class User(SQLModel, table=True):
    """A member of staff; department staff belong to a unit."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    display_name: str = Field(max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=32)
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=255)
    is_active: bool = Field(default=True)
    failed_logins: int = Field(default=0)
    locked_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AuthSession(SQLModel, table=True):
    """A bearer token or web cookie; only its hash is stored, so revoking is deleting trust."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    kind: str = Field(max_length=16)  # "api" or "web"
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    client_ip: str | None = Field(default=None, max_length=64)
