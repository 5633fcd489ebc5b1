"""Turning calls, seats and call-backs into their API shapes, with what they refer to loaded explicitly."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.calls import metrics, repository
from hotline.calls.models import (
    CALL_STATUS_LABELS_ZH,
    CALLBACK_STATUS_LABELS_ZH,
    PRESENCE_LABELS_ZH,
    Call,
    CallbackStatus,
    CallStatus,
    MissedCallback,
    OperatorSeat,
    Presence,
)
from hotline.calls.schemas import (
    CallbackView,
    CallDetail,
    CallEventView,
    CallRecord,
    CallTicketView,
    MetricsRow,
    SeatView,
)
from hotline.tickets.models import Ticket


async def _users(session: AsyncSession, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    rows = await session.execute(select(User).where(col(User.id).in_(sorted(ids))))
    return {u.id: u for u in rows.scalars() if u.id is not None}


async def records(session: AsyncSession, calls: Sequence[Call]) -> list[CallRecord]:
    """Call records with their operators and orders."""
    users = await _users(session, {c.operator_id for c in calls if c.operator_id})
    links = await repository.tickets_of(session, call_ids=[c.id for c in calls if c.id])
    numbers: dict[int, str] = {}
    if links:
        rows = await session.execute(
            select(col(Ticket.id), col(Ticket.number)).where(col(Ticket.id).in_({link.ticket_id for link in links}))
        )
        numbers = {int(ticket_id or 0): str(number) for ticket_id, number in rows}
    by_call: dict[int, list[CallTicketView]] = {}
    for link in links:
        view = CallTicketView(ticket_id=link.ticket_id, number=numbers.get(link.ticket_id, ""), relation=link.relation)
        by_call.setdefault(link.call_id, []).append(view)
    return [_record(c, users, by_call.get(c.id or 0, [])) for c in calls]


def _record(call: Call, users: dict[int, User], tickets: list[CallTicketView]) -> CallRecord:
    operator = users.get(call.operator_id) if call.operator_id else None
    return CallRecord(
        id=call.id or 0,
        source=call.source,
        direction=call.direction,
        status=call.status,
        status_label=CALL_STATUS_LABELS_ZH.get(CallStatus(call.status), call.status),
        caller=call.caller,
        callee=call.callee,
        citizen_id=call.citizen_id,
        arrived_at=call.arrived_at,
        queued_at=call.queued_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        wait_seconds=metrics.wait_seconds(call),
        talk_seconds=metrics.talk_seconds(call),
        operator_id=call.operator_id,
        operator=operator.username if operator else None,
        voicemail_reason=call.voicemail_reason,
        recording_url=call.recording_url,
        recording_seconds=call.recording_seconds,
        callback_id=call.callback_id,
        tickets=tickets,
    )


async def detail(session: AsyncSession, call: Call) -> CallDetail:
    """A call record with its history."""
    record = (await records(session, [call]))[0]
    events = await repository.events_of(session, call_id=call.id or 0)
    history = [CallEventView(kind=e.kind, at=e.at, operator_id=e.operator_id, detail=e.detail) for e in events]
    return CallDetail(**record.model_dump(), events=history)


async def seats(session: AsyncSession, rows: Sequence[OperatorSeat]) -> list[SeatView]:
    """Seats with their operators' names."""
    users = await _users(session, {s.user_id for s in rows})
    return [
        SeatView(
            operator_id=s.user_id,
            operator=users[s.user_id].username,
            display_name=users[s.user_id].display_name,
            presence=s.presence,
            presence_label=PRESENCE_LABELS_ZH.get(Presence(s.presence), s.presence),
            presence_since=s.presence_since,
            wrap_up_until=s.wrap_up_until,
            endpoint=s.endpoint,
            call_id=s.call_id,
        )
        for s in rows
        if s.user_id in users
    ]


def callback(entry: MissedCallback) -> CallbackView:
    return CallbackView(
        id=entry.id or 0,
        phone=entry.phone,
        citizen_id=entry.citizen_id,
        status=entry.status,
        status_label=CALLBACK_STATUS_LABELS_ZH.get(CallbackStatus(entry.status), entry.status),
        missed_calls=entry.missed_calls,
        first_missed_at=entry.first_missed_at,
        last_missed_at=entry.last_missed_at,
        attempts=entry.attempts,
        claimed_by_id=entry.claimed_by_id,
        outcome=entry.outcome,
        note=entry.note,
        closed_at=entry.closed_at,
    )


def metrics_row(key: str | None, label: str, measured: metrics.CallMetrics) -> MetricsRow:
    return MetricsRow(key=key, label=label, **measured.__dict__)
