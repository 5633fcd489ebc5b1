"""Citizens and channel identities; personal data kept to what handling needs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import UTCDateTime, utcnow


class IdentityKind(StrEnum):
    PHONE = "phone"
    WECHAT = "wechat_openid"
    EMAIL = "email"


class Citizen(SQLModel, table=True):
    """A requester; the name is optional and only what they chose to give."""

    __tablename__ = "citizens"

    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ChannelIdentity(SQLModel, table=True):
    """A normalised phone number, WeChat openid or email address belonging to one citizen."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("kind", "value", name="uq_channel_identities_kind_value"),)

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(foreign_key="citizens.id", index=True)
    kind: str = Field(max_length=16)
    value: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
