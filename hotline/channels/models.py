"""Inbound and outbound messages of every channel in one table."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow


class Channel(StrEnum):
    PHONE = "phone"
    SMS = "sms"
    WECHAT = "wechat"
    EMAIL = "email"
    WEB = "web"
    OPEN311 = "open311"
    PLATFORM = "platform"


CHANNEL_LABELS_ZH = {
    Channel.PHONE: "电话",
    Channel.SMS: "短信",
    Channel.WECHAT: "微信",
    Channel.EMAIL: "邮件",
    Channel.WEB: "网站",
    Channel.OPEN311: "移动应用",
    Channel.PLATFORM: "政务服务平台",
}


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Message(SQLModel, table=True):
    """A contact with a citizen; the channel's own id makes a webhook retry a no-op."""

    __tablename__ = "messages"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_messages_channel_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    direction: str = Field(max_length=8)
    external_id: str | None = Field(default=None, max_length=128)
    citizen_id: int | None = Field(default=None, foreign_key="citizens.id", index=True)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class AttachmentKind(StrEnum):
    ATTACHMENT = "attachment"  # a file the citizen sent
    SOURCE = "source"  # the message exactly as received (e.g. the raw MIME of an email)


class MessageAttachment(SQLModel, table=True):
    """A file that came with a message, kept in the database with the message it belongs to."""

    __tablename__ = "message_attachments"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="messages.id", index=True)
    kind: str = Field(default=AttachmentKind.ATTACHMENT, max_length=16)
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=127)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
