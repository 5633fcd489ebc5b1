"""Feeding the knowledge base: every order closed as a consultation proposes a draft entry for review.

The proposal is the citizen's question and the final answer. A question already answered by a live entry is
flagged as its duplicate, and the reviewer is offered to add it as a similar phrasing of that entry instead.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import RequestType, Ticket
from knowledge_base import service
from knowledge_base.live_index import LiveIndex
from knowledge_base.models import KbEntry, KbProposal, ProposalStatus
from knowledge_base.richtext import plain_text
from knowledge_base.schemas import EntryContent, ProposalDecisionIn

CLOSED_STATUSES = (Status.CLOSED, Status.ARCHIVED)
MAX_QUESTION = 500
DEFAULT_BATCH = 100


def question_of(ticket: Ticket) -> str:
    """The citizen's question as an entry would put it: the order's content, or its title."""
    text = " ".join((ticket.content or ticket.title or "").split())
    return text[:MAX_QUESTION]


async def closed_without_proposal(session: AsyncSession, *, limit: int = DEFAULT_BATCH) -> list[Ticket]:
    """Consultations closed (or archived) with an answer that have proposed nothing yet, oldest first.

    Confidential orders are left out: their wording may identify the citizen.
    """
    proposed = select(KbProposal.ticket_id)
    rows = await session.execute(
        select(Ticket)
        .where(
            col(Ticket.request_type) == RequestType.CONSULTATION,
            col(Ticket.status).in_(CLOSED_STATUSES),
            col(Ticket.answer).is_not(None),
            col(Ticket.confidential).is_(False),  # a confidential request never feeds a shared answer
            col(Ticket.id).not_in(proposed),
        )
        .order_by(col(Ticket.closed_at), col(Ticket.id))
        .limit(limit)
    )
    return list(rows.scalars().all())


async def find_duplicate(index: LiveIndex, question: str, min_score: float) -> tuple[int, float] | None:
    """The live entry that already answers this question (id and score), if one matches closely enough."""
    hits = await index.search(question, limit=1)
    if hits and hits[0].score >= min_score:
        return int(hits[0].entry_id), hits[0].score
    return None


async def propose(ticket: Ticket, index: LiveIndex, *, min_score: float, now: datetime) -> KbProposal | None:
    """The draft proposal of one closed consultation, flagged when it duplicates a live entry."""
    question = question_of(ticket)
    answer = (ticket.answer or "").strip()
    if ticket.id is None or len(question) < 2 or not answer:
        return None
    duplicate = await find_duplicate(index, question, min_score)
    return KbProposal(
        ticket_id=ticket.id,
        question=question,
        answer=answer,
        category_id=ticket.category_id,
        unit_id=ticket.lead_unit_id,
        duplicate_of_id=duplicate[0] if duplicate else None,
        duplicate_score=round(duplicate[1], 4) if duplicate else None,
        created_at=now,
    )


async def get_proposal(session: AsyncSession, *, proposal_id: int) -> KbProposal:
    row = (
        (await session.execute(select(KbProposal).where(col(KbProposal.id) == proposal_id).with_for_update()))
        .scalars()
        .first()
    )
    if row is None:
        raise NotFound("知识条目建议不存在", f"proposal {proposal_id} not found")
    if row.status != ProposalStatus.PENDING:
        raise Conflict("该建议已处理", "the proposal has already been decided")
    return row


async def accept(
    session: AsyncSession, *, user: CurrentUser, proposal_id: int, decision: ProposalDecisionIn, now: datetime
) -> KbEntry:
    """Turn a proposal into a new draft entry (the reviewer may reword it)."""
    _require_reviewer(user)
    proposal = await get_proposal(session, proposal_id=proposal_id)
    try:
        content = EntryContent(
            question=decision.question or proposal.question,
            answer=decision.answer or proposal.answer,
            category_id=proposal.category_id,
            owner_unit_id=proposal.unit_id if user.role == Role.SUPERVISOR else None,
            comment=decision.comment or f"来自工单 {proposal.ticket_id} 的咨询",
        )
    except ValidationError as exc:  # the reviewer's wording: a question of one character, say
        field = ".".join(str(part) for part in exc.errors()[0]["loc"])
        raise InvalidInput("问题或答案不符合要求（问题至少2个字）", f"the entry's {field} is not valid") from exc
    entry = await service.create_entry(session, user=user, data=content, now=now)
    _decide(proposal, ProposalStatus.ACCEPTED, user, now, entry.id, decision.comment)
    return entry


async def merge(
    session: AsyncSession, *, user: CurrentUser, proposal_id: int, decision: ProposalDecisionIn, now: datetime
) -> KbEntry:
    """Add the proposal's question as a similar phrasing of an existing entry (its detected duplicate)."""
    _require_reviewer(user)
    proposal = await get_proposal(session, proposal_id=proposal_id)
    target = decision.entry_id or proposal.duplicate_of_id
    if target is None:
        raise InvalidInput("请指定要并入的知识条目", "name the entry that takes the phrasing")
    phrasing = (decision.question or proposal.question).strip()
    if not plain_text(phrasing):
        raise InvalidInput("相似问法不能为空", "the phrasing is empty")
    entry = await service.add_phrasing(
        session, user=user, entry_id=target, phrasing=phrasing, comment=f"来自工单 {proposal.ticket_id}", now=now
    )
    _decide(proposal, ProposalStatus.MERGED, user, now, entry.id, decision.comment)
    return entry


async def reject(
    session: AsyncSession, *, user: CurrentUser, proposal_id: int, decision: ProposalDecisionIn, now: datetime
) -> KbProposal:
    """Decline a proposal (e.g. a one-off question), with a reason."""
    _require_reviewer(user)
    proposal = await get_proposal(session, proposal_id=proposal_id)
    _decide(proposal, ProposalStatus.REJECTED, user, now, None, decision.comment)
    return proposal


def _decide(
    proposal: KbProposal,
    status: ProposalStatus,
    user: CurrentUser,
    now: datetime,
    entry_id: int | None,
    note: str | None,
) -> None:
    proposal.status = status
    proposal.entry_id = entry_id
    proposal.decided_by_id = user.id
    proposal.decided_at = now
    proposal.comment = note


def _require_reviewer(user: CurrentUser) -> None:
    if user.role != Role.SUPERVISOR:
        raise Forbidden("只有督办/质检人员可以审核知识条目建议", "only a supervisor reviews proposals")
