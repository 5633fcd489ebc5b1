"""An order's result pushed back to its platform cases, through the outbox (retried, sent once per key)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import Conflict
from hotline.outbox import service as outbox
from hotline.tickets.lifecycle import STATUS_LABELS_ZH, Status
from hotline.tickets.models import Ticket
from hotline.timefmt import CHINA_TZ
from knowledge_base.models import PlatformCase
from knowledge_base.platform.provider import PLATFORM_CHANNEL

ANSWERED_STATUSES = frozenset({Status.REPLIED, Status.CLOSED, Status.ARCHIVED})


async def cases_of(session: AsyncSession, *, ticket_id: int) -> list[PlatformCase]:
    """The platform cases an order is linked to."""
    rows = await session.execute(
        select(PlatformCase).where(col(PlatformCase.ticket_id) == ticket_id).order_by(col(PlatformCase.id))
    )
    return list(rows.scalars().all())


def result_document(ticket: Ticket, now: datetime) -> dict[str, str | None]:
    """What the platform receives about the order (see docs/PLATFORM.md)."""
    return {
        "ticket_number": ticket.number,
        "status": ticket.status,
        "status_label": STATUS_LABELS_ZH[Status(ticket.status)],
        "result": ticket.answer or ticket.reply,
        "replied_at": ticket.replied_at.astimezone(CHINA_TZ).isoformat() if ticket.replied_at else None,
        "pushed_at": now.astimezone(CHINA_TZ).isoformat(),
    }


async def push_result(session: AsyncSession, *, ticket: Ticket, now: datetime) -> list[PlatformCase]:
    """Queue the order's result for each of its platform cases; the same result is queued once."""
    if ticket.status not in ANSWERED_STATUSES or not (ticket.answer or ticket.reply):
        raise Conflict("工单尚未答复，无法回传结果", "the order has no approved result to push yet")
    assert ticket.id is not None
    cases = await cases_of(session, ticket_id=ticket.id)
    if not cases:
        raise Conflict("工单未关联政务服务平台办件", "the order is not linked to a platform case")
    await _queue(session, ticket, cases, now)
    return cases


async def push_on_answer(session: AsyncSession, *, ticket: Ticket, now: datetime) -> int:
    """Queue the result for the order's platform cases as it is answered (in the answering transaction).

    An order that came from the platform (a bad review, a 办不成事 report) owes the platform its result:
    nobody has to remember to push it. Returns the number of cases queued; none for most orders.
    """
    if ticket.id is None or ticket.status not in ANSWERED_STATUSES or not (ticket.answer or ticket.reply):
        return 0
    cases = await cases_of(session, ticket_id=ticket.id)
    await _queue(session, ticket, cases, now)
    return len(cases)


async def _queue(session: AsyncSession, ticket: Ticket, cases: list[PlatformCase], now: datetime) -> None:
    """One outbox message per case, keyed by case and order version (a repeat of the same result is one)."""
    body = json.dumps(result_document(ticket, now), ensure_ascii=False)
    for case in cases:
        await outbox.enqueue(
            session,
            dedupe_key=f"platform-result:{case.id}:{ticket.version}",
            channel=PLATFORM_CHANNEL,
            recipient=case.application_no,
            body=body,
            ticket_id=ticket.id,
        )
        case.result_pushed_at = now
