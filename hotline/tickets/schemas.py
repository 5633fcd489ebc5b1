"""API shapes of work orders, separate from the table models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator

from hotline.channels.models import Channel
from hotline.errors import DomainError
from hotline.tickets.models import RequestType, Urgency
from hotline.tickets.returns import reason_code as canonical_reason_code
from hotline.timefmt import LocalDateTime

MAX_CONTENT = 5000
MAX_TEXT = 4000


class TicketCreate(BaseModel):
    """An order taken by an operator, usually from a call."""

    citizen_phone: str | None = Field(default=None, max_length=32)
    citizen_name: str | None = Field(default=None, max_length=64)
    content: str = Field(min_length=1, max_length=MAX_CONTENT)
    address: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=200)
    channel: Channel = Channel.PHONE
    request_type: RequestType = RequestType.CONSULTATION
    urgency: Urgency = Urgency.GENERAL
    category_id: int | None = None
    territory_unit_id: int | None = Field(default=None, description="the district, street or community (属地)")
    confidential: bool = False

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value.strip()


class DispatchIn(BaseModel):
    lead_unit_id: int
    assisting_unit_ids: list[int] = Field(default_factory=list, max_length=20)


class ReasonIn(BaseModel):
    reason: str | None = Field(default=None, max_length=MAX_TEXT)


class ReturnIn(ReasonIn):
    """A return (退单): a reason code from the fixed list (``GET /api/v1/routing/return-reasons``) and evidence."""

    reason_code: str = Field(max_length=32, description="not_our_remit, wrong_territory, insufficient_info, …")
    evidence: str | None = Field(default=None, max_length=MAX_TEXT, description="what shows the order is not ours")
    attachment_ids: list[int] = Field(default_factory=list, max_length=20, description="attachments of the order")

    @field_validator("reason_code")
    @classmethod
    def _known_code(cls, value: str) -> str:
        try:
            return canonical_reason_code(value) or value
        except DomainError as exc:
            raise ValueError(exc.message_zh) from exc


class ReplyIn(BaseModel):
    reply: str = Field(max_length=MAX_TEXT)
    attachment_ids: list[int] = Field(
        default_factory=list, max_length=20, description="files added first with POST /api/v1/tickets/{id}/attachments"
    )


class AnswerIn(BaseModel):
    answer: str = Field(max_length=MAX_TEXT)


class ExtensionIn(BaseModel):
    reason: str = Field(max_length=MAX_TEXT)
    requested_due_at: LocalDateTime


class ApproveExtensionIn(BaseModel):
    due_at: LocalDateTime | None = None


class SubDispatchIn(BaseModel):
    unit_id: int
    due_at: LocalDateTime | None = None
    note: str | None = Field(default=None, max_length=MAX_TEXT)


class MergeIn(BaseModel):
    target_id: int
    reason: str | None = Field(default=None, max_length=MAX_TEXT)


class CitizenView(BaseModel):
    id: int
    name: str | None
    phones: list[str]
    identities: list[dict[str, str]]
    masked: bool


class MessageView(BaseModel):
    id: int
    channel: str
    direction: str
    body: str
    created_at: LocalDateTime


class EventView(BaseModel):
    seq: int
    type: str
    label: str
    actor_id: int | None
    actor_role: str
    from_status: str | None
    to_status: str
    reason: str | None
    payload: dict[str, Any]
    created_at: LocalDateTime


class AssignmentView(BaseModel):
    unit_id: int
    unit_name: str
    role: str
    active: bool
    reply: str | None
    replied_at: LocalDateTime | None


class AlertView(BaseModel):
    tier: str
    label: str
    deadline_at: LocalDateTime
    fired_at: LocalDateTime


class TicketSummary(BaseModel):
    id: int
    number: str
    title: str
    status: str
    status_label: str
    channel: str
    request_type: str
    urgency: str
    category_id: int | None
    lead_unit_id: int | None
    lead_unit_name: str | None
    confidential: bool
    overdue: bool
    alert_level: str | None = Field(
        description="highest tier fired for the current deadline: warning, yellow_card, red_card"
    )
    due_at: LocalDateTime | None
    created_at: LocalDateTime


class TicketDetail(TicketSummary):
    content: str
    address: str | None
    territory_unit_id: int | None
    territory_name: str | None
    citizen: CitizenView | None
    accept_due_at: LocalDateTime | None
    dispatched_at: LocalDateTime | None
    accepted_at: LocalDateTime | None
    replied_at: LocalDateTime | None
    reply_review_due_at: LocalDateTime | None
    callback_due_at: LocalDateTime | None
    closed_at: LocalDateTime | None
    extension_pending: bool
    paused_at: LocalDateTime | None
    alerts: list[AlertView]
    extension_requested_due_at: LocalDateTime | None
    reply: str | None
    answer: str | None
    parent_id: int | None
    merged_into_id: int | None
    children: list[int]
    rework_count: int
    version: int
    assignments: list[AssignmentView]
    messages: list[MessageView]
    events: list[EventView]
    allowed_actions: list[str]


class TicketPage(BaseModel):
    items: list[TicketSummary]
    total: int
    page: int
    page_size: int
