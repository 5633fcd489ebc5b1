"""Supervision records: alerts that fired, supervision orders, loaded holiday schedules, job runs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow


class Tier(StrEnum):
    WARNING = "warning"
    YELLOW_CARD = "yellow_card"
    RED_CARD = "red_card"


TIER_LABELS_ZH = {Tier.WARNING: "预警", Tier.YELLOW_CARD: "黄牌", Tier.RED_CARD: "红牌"}


class SlaAlert(SQLModel, table=True):
    """A tier that fired for an order and one of its deadlines; the unique key makes it fire once."""

    __tablename__ = "sla_alerts"
    __table_args__ = (UniqueConstraint("ticket_id", "tier", "deadline_at", name="uq_sla_alerts_once"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    tier: str = Field(max_length=16)
    deadline_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    due_instant: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    fired_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)


class SupervisionOrder(SQLModel, table=True):
    """A supervision order (督办单) or urging (催办) addressed to a unit, which must reply to it."""

    __tablename__ = "supervision_orders"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    kind: str = Field(max_length=16)  # red_card, supervise, urge
    content: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="open", max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    reply_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replied_by_id: int | None = Field(default=None, foreign_key="users.id")
    replied_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


class CalendarYear(SQLModel, table=True):
    """An official holiday schedule loaded by an administrator for a year the library does not know."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True)
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    workdays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    source: str | None = Field(default=None, max_length=255)
    loaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    loaded_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class JobRun(SQLModel, table=True):
    """When a periodic job last ran and what it did (for readiness and the admin screens)."""

    __tablename__ = "job_runs"

    name: str = Field(primary_key=True, max_length=64)
    last_started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    last_result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TimeLimitPolicy(SQLModel, table=True):
    """An administrator's time-limit rule; ``*`` stands for any request type or urgency."""

    __tablename__ = "time_limit_policies"
    __table_args__ = (UniqueConstraint("stage", "request_type", "urgency", name="uq_time_limit_policies_rule"),)

    id: int | None = Field(default=None, primary_key=True)
    stage: str = Field(max_length=16)
    request_type: str = Field(default="*", max_length=16)
    urgency: str = Field(default="*", max_length=16)
    amount: int = Field(ge=0)
    unit: str = Field(max_length=16)
    source: str | None = Field(default=None, max_length=255)
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
