"""Inbound platform events: a bad review (差评) or a "could not get it done" report (办不成事) becomes an order.

The event goes through the same intake as every channel (stored once by its event id, the citizen identified,
attached to their open order or a new one), and the order is linked to the platform case. A later event about
the same case joins the order already open for it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels import intake
from hotline.channels.intake import Identity, InboundMessage, Receipt
from hotline.channels.models import Channel
from hotline.citizens.models import IdentityKind
from hotline.errors import InvalidInput
from hotline.tickets.models import RequestType
from knowledge_base.models import PlatformCase, PlatformEvent


class EventKind(StrEnum):
    BAD_REVIEW = "bad_review"
    CANNOT_HANDLE = "cannot_handle"


EVENT_LABELS_ZH = {EventKind.BAD_REVIEW: "政务服务差评", EventKind.CANNOT_HANDLE: "办不成事反映"}
REQUEST_TYPES = {EventKind.BAD_REVIEW: RequestType.COMPLAINT, EventKind.CANNOT_HANDLE: RequestType.HELP}


class Applicant(BaseModel):
    name: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)


class PlatformEventIn(BaseModel):
    """The body of ``POST /channels/platform/events`` (see docs/PLATFORM.md)."""

    event_id: str = Field(min_length=1, max_length=64)
    type: EventKind
    application_no: str = Field(min_length=1, max_length=64)
    item_code: str | None = Field(default=None, max_length=64)
    item_name: str | None = Field(default=None, max_length=255)
    unit_name: str | None = Field(default=None, max_length=128)
    applicant: Applicant = Applicant()
    rating: int | None = Field(default=None, ge=1, le=5)
    content: str = Field(min_length=1, max_length=5000)
    occurred_at: datetime | None = None


def parse(body: bytes) -> PlatformEventIn:
    """The event, or a 422 naming what is wrong."""
    try:
        return PlatformEventIn.model_validate_json(body)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(part) for part in error["loc"]) for error in exc.errors())
        raise InvalidInput("平台事件格式不正确", f"malformed platform event: {fields or 'body'}") from exc


def to_inbound(event: PlatformEventIn, earlier_event_ids: list[str]) -> InboundMessage:
    """The intake message of an event (threaded onto the case's earlier events)."""
    label = EVENT_LABELS_ZH[event.type]
    subject = event.item_name or event.item_code or "政务服务事项"
    lines = [f"【{label}】事项：{subject}，办件编号：{event.application_no}"]
    if event.unit_name:
        lines.append(f"办理单位：{event.unit_name}")
    if event.rating is not None:
        lines.append(f"评价：{event.rating}星")
    lines.append(event.content.strip())
    phone = (event.applicant.phone or "").strip()
    return InboundMessage(
        channel=Channel.PLATFORM,
        external_id=event.event_id,
        body="\n".join(lines),
        raw=event.model_dump(mode="json"),
        sender=Identity(IdentityKind.PHONE, phone, event.applicant.name) if phone else None,
        title=f"{label}：{subject}"[:100],
        request_type=REQUEST_TYPES[event.type],
        thread_refs=tuple(earlier_event_ids),
        received_at=None,
    )


async def receive(session: AsyncSession, event: PlatformEventIn, *, attach_window: Any, now: datetime) -> Receipt:
    """Register the event once and link its order to the platform case."""
    earlier = await session.execute(
        select(PlatformEvent.event_id).where(col(PlatformEvent.application_no) == event.application_no)
    )
    receipt = await intake.receive(
        session, to_inbound(event, list(earlier.scalars().all())), attach_window=attach_window, now=now
    )
    if receipt.duplicate or receipt.ticket_id is None:
        return receipt
    session.add(
        PlatformEvent(
            event_id=event.event_id,
            kind=event.type,
            application_no=event.application_no,
            ticket_id=receipt.ticket_id,
            payload=event.model_dump(mode="json"),
            received_at=now,
        )
    )
    await link_case(
        session,
        ticket_id=receipt.ticket_id,
        application_no=event.application_no,
        item_code=event.item_code,
        item_name=event.item_name,
        now=now,
    )
    return receipt


async def link_case(
    session: AsyncSession,
    *,
    ticket_id: int,
    application_no: str,
    item_code: str | None = None,
    item_name: str | None = None,
    now: datetime,
) -> PlatformCase:
    """The link between an order and a platform case, created once."""
    existing = await session.execute(
        select(PlatformCase).where(
            col(PlatformCase.ticket_id) == ticket_id, col(PlatformCase.application_no) == application_no
        )
    )
    case = existing.scalars().first()
    if case is None:
        case = PlatformCase(
            application_no=application_no, ticket_id=ticket_id, item_code=item_code, item_name=item_name, created_at=now
        )
        session.add(case)
        await session.flush()
    return case
