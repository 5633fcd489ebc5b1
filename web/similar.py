"""Similar open orders for the console: the same citizen's, or the same matter told in similar words (并单)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from hotline.citizens.models import ChannelIdentity, IdentityKind
from hotline.citizens.service import normalize_phone
from hotline.errors import DomainError
from hotline.tickets.lifecycle import OPEN_STATUSES, STATUS_LABELS_ZH, Status
from hotline.tickets.models import Ticket
from hotline.timefmt import LocalDateTime

SIMILAR_WINDOW = timedelta(days=30)
CANDIDATES = 500
MIN_SIMILARITY = 0.2
SAME_CITIZEN_BONUS = 0.5


class SimilarOrder(BaseModel):
    ticket_id: int
    number: str
    title: str
    status: str
    status_label: str
    created_at: LocalDateTime
    same_citizen: bool
    score: float
    reason: str


def bigrams(text: str) -> set[str]:
    """Character pairs of the text's letters and digits: robust for Chinese without word segmentation."""
    kept = "".join(ch for ch in text.lower() if ch.isalnum())
    return {kept[i : i + 2] for i in range(len(kept) - 1)}


def similarity(a: str, b: str) -> float:
    """Jaccard overlap of the two texts' character pairs."""
    left, right = bigrams(a), bigrams(b)
    return len(left & right) / len(left | right) if left and right else 0.0


async def citizen_by_phone(session: AsyncSession, phone: str) -> int | None:
    try:
        value = normalize_phone(phone)
    except DomainError:
        return None
    return await session.scalar(
        select(ChannelIdentity.citizen_id).where(
            col(ChannelIdentity.kind) == IdentityKind.PHONE, col(ChannelIdentity.value) == value
        )
    )


async def similar_open_orders(
    session: AsyncSession,
    *,
    text: str,
    citizen_id: int | None,
    exclude_id: int | None,
    now: datetime,
    limit: int,
) -> list[SimilarOrder]:
    """Open orders of the last 30 days by the same citizen or about the same matter, most alike first."""
    recent = col(Ticket.created_at) >= now - SIMILAR_WINDOW
    query = select(Ticket).where(
        col(Ticket.status).in_(OPEN_STATUSES),
        or_(recent, col(Ticket.citizen_id) == citizen_id) if citizen_id else recent,
    )
    if exclude_id is not None:
        query = query.where(col(Ticket.id) != exclude_id)
    rows = (await session.execute(query.order_by(col(Ticket.id).desc()).limit(CANDIDATES))).scalars()
    found = []
    for ticket in rows:
        same_citizen = citizen_id is not None and ticket.citizen_id == citizen_id
        alike = similarity(text, f"{ticket.title} {ticket.content}")
        if not same_citizen and alike < MIN_SIMILARITY:
            continue
        reasons = (["同一诉求人"] if same_citizen else []) + ([f"内容相似度 {alike:.0%}"] if alike else [])
        found.append(
            SimilarOrder(
                ticket_id=ticket.id or 0,
                number=ticket.number,
                title=ticket.title,
                status=ticket.status,
                status_label=STATUS_LABELS_ZH[Status(ticket.status)],
                created_at=ticket.created_at,
                same_citizen=same_citizen,
                score=round(alike + (SAME_CITIZEN_BONUS if same_citizen else 0.0), 3),
                reason="，".join(reasons),
            )
        )
    return sorted(found, key=lambda s: -s.score)[:limit]
