"""API shapes of calls, seats, call-backs and call metrics."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hotline.calls.callbacks import Outcome
from hotline.calls.models import Presence
from hotline.timefmt import LocalDateTime


class CallTicketView(BaseModel):
    ticket_id: int
    number: str
    relation: str


class CallEventView(BaseModel):
    kind: str
    at: LocalDateTime
    operator_id: int | None
    detail: dict[str, object]


class CallRecord(BaseModel):
    """One call: its times, wait and talk, the operator, the orders, the recording."""

    id: int
    source: str
    direction: str
    status: str
    status_label: str
    caller: str
    callee: str
    citizen_id: int | None
    arrived_at: LocalDateTime
    queued_at: LocalDateTime | None
    answered_at: LocalDateTime | None
    ended_at: LocalDateTime | None
    wait_seconds: float | None
    talk_seconds: float | None
    operator_id: int | None
    operator: str | None
    voicemail_reason: str | None
    recording_url: str | None
    recording_seconds: int | None
    callback_id: int | None
    tickets: list[CallTicketView]


class CallDetail(CallRecord):
    events: list[CallEventView]


class CallPage(BaseModel):
    items: list[CallRecord]
    total: int
    page: int
    page_size: int


class LinkTicketIn(BaseModel):
    ticket_id: int


class PresenceIn(BaseModel):
    presence: Presence
    endpoint: str | None = Field(default=None, max_length=255, description="phone number, sip: or client: address")


class SeatView(BaseModel):
    operator_id: int
    operator: str
    display_name: str
    presence: str
    presence_label: str
    presence_since: LocalDateTime
    wrap_up_until: LocalDateTime | None
    endpoint: str | None
    call_id: int | None


class CallbackView(BaseModel):
    id: int
    phone: str
    citizen_id: int | None
    status: str
    status_label: str
    missed_calls: int
    first_missed_at: LocalDateTime
    last_missed_at: LocalDateTime
    attempts: int
    claimed_by_id: int | None
    outcome: str | None
    note: str | None
    closed_at: LocalDateTime | None


class CallbackResultIn(BaseModel):
    outcome: Outcome
    note: str | None = Field(default=None, max_length=2000)


class DialOut(BaseModel):
    call_id: int
    callback: CallbackView


class MetricsRow(BaseModel):
    key: str | None
    label: str
    offered: int
    answered: int
    abandoned: int
    overflowed: int
    after_hours: int
    connection_rate: float | None
    answered_within_15s_rate: float | None
    answered_within_20s_rate: float | None
    average_wait_seconds: float | None
    average_talk_seconds: float | None


class MetricsReport(BaseModel):
    start: LocalDateTime
    end: LocalDateTime
    by: str
    rows: list[MetricsRow]
    total: MetricsRow
