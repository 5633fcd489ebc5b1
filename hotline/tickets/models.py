"""Work orders, their unit assignments and their append-only event history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow


class RequestType(StrEnum):
    CONSULTATION = "consultation"
    HELP = "help"
    COMPLAINT = "complaint"
    REPORT = "report"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


REQUEST_TYPE_LABELS_ZH = {
    RequestType.CONSULTATION: "咨询",
    RequestType.HELP: "求助",
    RequestType.COMPLAINT: "投诉",
    RequestType.REPORT: "举报",
    RequestType.SUGGESTION: "建议",
    RequestType.PRAISE: "表扬",
}


class Urgency(StrEnum):
    URGENT = "urgent"
    UTILITY_OUTAGE = "utility_outage"
    GENERAL = "general"
    COMPLEX = "complex"


URGENCY_LABELS_ZH = {
    Urgency.URGENT: "紧急",
    Urgency.UTILITY_OUTAGE: "水电气热",
    Urgency.GENERAL: "一般",
    Urgency.COMPLEX: "复杂",
}


def _aware(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Ticket(SQLModel, table=True):
    """A work order; ``status`` only ever changes through the lifecycle service."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_due_at", "status", "due_at"),
        Index("ix_tickets_lead_unit_status", "lead_unit_id", "status"),
        Index("ix_tickets_next_alert_at", "next_alert_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    channel: str = Field(max_length=16, index=True)
    request_type: str = Field(default=RequestType.CONSULTATION, max_length=16)
    category_id: int | None = Field(default=None, foreign_key="categories.id", index=True)
    urgency: str = Field(default=Urgency.GENERAL, max_length=16)
    territory_unit_id: int | None = Field(default=None, foreign_key="units.id")
    address: str | None = Field(default=None, max_length=255)
    title: str = Field(max_length=200)
    content: str = Field(sa_column=Column(Text, nullable=False))
    citizen_id: int | None = Field(default=None, foreign_key="citizens.id", index=True)
    confidential: bool = Field(default=False)
    status: str = Field(max_length=16, index=True)
    lead_unit_id: int | None = Field(default=None, foreign_key="units.id")
    parent_id: int | None = Field(default=None, foreign_key="tickets.id", index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="tickets.id")
    extension_pending: bool = Field(default=False)
    extension_requested_due_at: datetime | None = _aware()
    accept_due_at: datetime | None = _aware()
    due_at: datetime | None = _aware()
    clock_started_at: datetime | None = _aware()  # start of the current handling clock
    clock_kind: str | None = Field(default=None, max_length=16)  # "natural" or "working" time
    paused_at: datetime | None = _aware()  # waiting for the citizen: the clock is stopped
    next_alert_at: datetime | None = _aware()  # when the sweep must next look at this order
    next_alert_tier: str | None = Field(default=None, max_length=16)
    alert_level: str | None = Field(default=None, max_length=16)  # highest tier fired for the current deadline
    dispatched_at: datetime | None = _aware()
    accepted_at: datetime | None = _aware()
    replied_at: datetime | None = _aware()
    reply_review_due_at: datetime | None = _aware()  # the hotline's own review of the unit's reply
    callback_due_at: datetime | None = _aware()  # the callback survey with the citizen
    closed_at: datetime | None = _aware()
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    rework_count: int = Field(default=0)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    version: int = Field(default=1)  # bumped by every transition; clients can detect stale views


class AssignmentRole(StrEnum):
    LEAD = "lead"
    ASSISTING = "assisting"


class TicketAssignment(SQLModel, table=True):
    """A unit working on an order: the lead (主办) or an assisting unit (协办)."""

    __tablename__ = "ticket_assignments"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    role: str = Field(max_length=16)
    active: bool = Field(default=True)
    assigned_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    replied_at: datetime | None = _aware()
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class TicketEvent(SQLModel, table=True):
    """One immutable step of an order's history (database triggers refuse updates and deletes)."""

    __tablename__ = "ticket_events"
    __table_args__ = (UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_ticket_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    seq: int
    action: str = Field(max_length=32)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    actor_role: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TicketNumberCounter(SQLModel, table=True):
    """The last order number handed out per day (``2026112100042``)."""

    __tablename__ = "ticket_number_counters"

    day: str = Field(primary_key=True, max_length=8)
    last: int = Field(default=0)


class TicketReturn(SQLModel, table=True):
    """A return (退单): the unit's reason code and evidence, and, once judged, who was wrong.

    Approved, the dispatch was wrong: the dispatcher, or the catalogue when the dispatch followed its
    proposal. Rejected, the unit was wrong. Scorecards count return rates from ``judged_wrong``.
    """

    __tablename__ = "ticket_returns"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)  # the unit that returned it
    returned_by_id: int | None = Field(default=None, foreign_key="users.id")
    reason_code: str | None = Field(default=None, max_length=32)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    attachment_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONDocument, nullable=False))
    returned_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    dispatched_by_id: int | None = Field(default=None, foreign_key="users.id")
    followed_suggestion: bool = Field(default=False)  # the dispatch was the catalogue's proposal
    rule_id: int | None = Field(default=None, foreign_key="dispatch_rules.id")
    status: str = Field(default="pending", max_length=16)  # pending, approved, rejected
    judged_by_id: int | None = Field(default=None, foreign_key="users.id")
    judged_at: datetime | None = _aware()
    judged_wrong: str | None = Field(default=None, max_length=16)  # unit, dispatcher or catalogue
    wrong_unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    wrong_user_id: int | None = Field(default=None, foreign_key="users.id", index=True)


class TicketAttachment(SQLModel, table=True):
    """A file staff added to an order, e.g. a photo of the repaired road with a unit's reply."""

    __tablename__ = "ticket_attachments"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="units.id")  # the uploader's unit; none: the hotline
    uploaded_by_id: int | None = Field(default=None, foreign_key="users.id")
    filename: str = Field(max_length=255)
    content_type: str = Field(max_length=127)
    size: int
    sha256: str = Field(max_length=64)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
