"""Phone calls, what happened to each, the orders they produced, operators' seats, and missed-call call-backs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow


class CallSource(StrEnum):
    TWILIO = "twilio"
    CTI = "cti"  # a local switch through POST /channels/cti/events


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"  # a call-back to a citizen


class CallStatus(StrEnum):
    WAITING = "waiting"  # in the queue for the next free operator
    RINGING = "ringing"  # offered: ringing at one operator's seat
    TALKING = "talking"  # answered by an operator
    VOICEMAIL = "voicemail"  # after hours or waited too long: leaving (or left) a message
    COMPLETED = "completed"  # answered, then ended
    ABANDONED = "abandoned"  # the caller hung up before an operator answered
    DIALING = "dialing"  # an outbound call-back being placed
    FAILED = "failed"  # an outbound call-back nobody answered


CALL_STATUS_LABELS_ZH = {
    CallStatus.WAITING: "排队中",
    CallStatus.RINGING: "振铃中",
    CallStatus.TALKING: "通话中",
    CallStatus.VOICEMAIL: "留言",
    CallStatus.COMPLETED: "已接听",
    CallStatus.ABANDONED: "放弃",
    CallStatus.DIALING: "外呼中",
    CallStatus.FAILED: "未接通",
}
LIVE_STATUSES = frozenset({CallStatus.WAITING, CallStatus.RINGING, CallStatus.TALKING, CallStatus.DIALING})
QUEUED_STATUSES = frozenset({CallStatus.WAITING, CallStatus.RINGING})  # before an operator answered


class VoicemailReason(StrEnum):
    AFTER_HOURS = "after_hours"
    OVERFLOW = "overflow"  # waited longer than HOTLINE_CALL_MAX_WAIT_SECONDS


def _instant(index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))


class Call(SQLModel, table=True):
    """One phone call, in or out; its times give the wait and talk time of the metrics."""

    __tablename__ = "calls"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_calls_source_external_id"),
        Index("ix_calls_status_arrived_at", "status", "arrived_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=8)
    external_id: str | None = Field(default=None, max_length=64)  # CallSid, or the switch's call id
    direction: str = Field(default=CallDirection.INBOUND, max_length=8)
    status: str = Field(max_length=16)
    caller: str = Field(default="", max_length=64)  # E.164 when it is a phone number
    callee: str = Field(default="", max_length=64)
    citizen_id: int | None = Field(default=None, foreign_key="citizens.id", index=True)
    arrived_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    queued_at: datetime | None = _instant()  # entered the queue for an operator (in service hours)
    answered_at: datetime | None = _instant()
    ended_at: datetime | None = _instant()
    operator_id: int | None = Field(default=None, foreign_key="users.id", index=True)  # who answered or called
    ringing_operator_id: int | None = Field(default=None, foreign_key="users.id")  # whose phone rings now
    offered_to_id: int | None = Field(default=None, foreign_key="users.id")  # whose phone rang last (kept)
    offer_seq: int = Field(default=0)  # bumped by every offer, so a late answer to an old one is told apart
    offer_expires_at: datetime | None = _instant()
    not_before: datetime | None = _instant()  # after a failed connect: wait before offering again
    voicemail_reason: str | None = Field(default=None, max_length=16)
    recording_url: str | None = Field(default=None, max_length=500)
    recording_seconds: int | None = Field(default=None)
    callback_id: int | None = Field(default=None, foreign_key="missed_callbacks.id", index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CallEventKind(StrEnum):
    ARRIVED = "arrived"  # the call reached the hotline (ringing)
    QUEUED = "queued"
    OFFERED = "offered"  # an operator's phone rings
    WITHDRAWN = "withdrawn"  # the ring stopped unanswered (no answer, break, failed connect); back in the queue
    ANSWERED = "answered"
    VOICEMAIL = "voicemail"
    RECORDING = "recording"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    ENDED = "ended"  # a voicemail call hung up
    FAILED = "failed"
    TICKET = "ticket"  # an order produced or touched by the call


class CallEvent(SQLModel, table=True):
    """What happened to a call and when, in order."""

    __tablename__ = "call_events"

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="calls.id", index=True)
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    operator_id: int | None = Field(default=None, foreign_key="users.id")
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))


class CallTicketRelation(StrEnum):
    PRODUCED = "produced"  # the order was registered from this call
    TOUCHED = "touched"  # an existing order the call was about


class CallTicket(SQLModel, table=True):
    """An order a call produced or touched."""

    __tablename__ = "call_tickets"
    __table_args__ = (UniqueConstraint("call_id", "ticket_id", name="uq_call_tickets_call_ticket"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: int = Field(foreign_key="calls.id", index=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    relation: str = Field(max_length=16)
    linked_by_id: int | None = Field(default=None, foreign_key="users.id")
    linked_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class Presence(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"  # 示闲
    BUSY = "busy"  # 示忙
    BREAK = "break"  # 小休
    WRAP_UP = "wrap_up"  # 话后处理


PRESENCE_LABELS_ZH = {
    Presence.OFFLINE: "未签入",
    Presence.AVAILABLE: "示闲",
    Presence.BUSY: "示忙",
    Presence.BREAK: "小休",
    Presence.WRAP_UP: "话后处理",
}


class OperatorSeat(SQLModel, table=True):
    """An operator's seat: presence, the phone that rings, and the call on it (ringing or talking)."""

    __tablename__ = "operator_seats"

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    presence: str = Field(default=Presence.OFFLINE, max_length=16)
    presence_since: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    idle_since: datetime | None = _instant()  # free since: the longest idle available operator gets the next call
    wrap_up_until: datetime | None = _instant()  # automatic wrap-up after a call ends then
    endpoint: str | None = Field(default=None, max_length=255)  # phone number, sip: or client: address, CTI seat
    call_id: int | None = Field(default=None, foreign_key="calls.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CallbackStatus(StrEnum):
    PENDING = "pending"  # to be called back
    CLAIMED = "claimed"  # an operator is on it
    DONE = "done"  # the citizen was reached
    UNREACHABLE = "unreachable"  # not reached after the last attempt
    CANCELLED = "cancelled"  # e.g. the citizen called again and was answered


CALLBACK_STATUS_LABELS_ZH = {
    CallbackStatus.PENDING: "待回拨",
    CallbackStatus.CLAIMED: "回拨中",
    CallbackStatus.DONE: "已回拨",
    CallbackStatus.UNREACHABLE: "无法联系",
    CallbackStatus.CANCELLED: "已取消",
}
OPEN_CALLBACK_STATUSES = frozenset({CallbackStatus.PENDING, CallbackStatus.CLAIMED})


class MissedCallback(SQLModel, table=True):
    """A caller who was not answered (漏接回拨): one open entry per phone number, however often they tried."""

    __tablename__ = "missed_callbacks"
    __table_args__ = (Index("ix_missed_callbacks_status_first_missed_at", "status", "first_missed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=64, index=True)
    open_key: str | None = Field(default=None, max_length=64, unique=True)  # the phone while open, so one open entry
    citizen_id: int | None = Field(default=None, foreign_key="citizens.id", index=True)
    status: str = Field(default=CallbackStatus.PENDING, max_length=16)
    missed_calls: int = Field(default=1)
    first_missed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    last_missed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempts: int = Field(default=0)
    claimed_by_id: int | None = Field(default=None, foreign_key="users.id")
    claimed_at: datetime | None = _instant()
    outcome: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    closed_at: datetime | None = _instant()
    closed_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
