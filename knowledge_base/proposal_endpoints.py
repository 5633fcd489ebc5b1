"""Review of draft proposals from closed consultations: accept as a draft, merge as a phrasing, or reject."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.db_types import utcnow
from hotline.deps import DB
from hotline.tickets.models import Ticket
from knowledge_base import proposals
from knowledge_base.deps import Hotline, Index, Supervisor
from knowledge_base.models import KbEntry, KbProposal, ProposalStatus
from knowledge_base.schemas import ProposalDecisionIn, ProposalView

router = APIRouter(prefix="/proposals")


@router.get("", response_model=list[ProposalView])
async def list_proposals(
    _: Hotline,
    db: DB,
    status: ProposalStatus = ProposalStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ProposalView]:
    """The review list: proposals by status (pending by default), oldest first."""
    async with db.read_session() as session:
        rows = (
            await session.execute(
                select(KbProposal, Ticket.number, KbEntry.question)
                .join(Ticket, col(Ticket.id) == col(KbProposal.ticket_id))
                .outerjoin(KbEntry, col(KbEntry.id) == col(KbProposal.duplicate_of_id))
                .where(col(KbProposal.status) == status)
                .order_by(col(KbProposal.created_at), col(KbProposal.id))
                .limit(limit)
            )
        ).all()
    return [
        ProposalView.model_validate(
            {**proposal.model_dump(), "ticket_number": number, "duplicate_of_question": duplicate_question}
        )
        for proposal, number, duplicate_question in rows
    ]


@router.post("/{proposal_id}/accept", response_model=ProposalView)
async def accept(proposal_id: int, body: ProposalDecisionIn, user: Supervisor, db: DB) -> ProposalView:
    """Make the proposal a new draft entry (to edit, submit and publish as usual)."""
    async with db.session() as session:
        await proposals.accept(session, user=user, proposal_id=proposal_id, decision=body, now=utcnow())
        return await _view(session, proposal_id)


@router.post("/{proposal_id}/merge", response_model=ProposalView)
async def merge(proposal_id: int, body: ProposalDecisionIn, user: Supervisor, db: DB, index: Index) -> ProposalView:
    """Add the proposal's question as a similar phrasing of its duplicate (or of ``entry_id``)."""
    async with db.session() as session:
        await proposals.merge(session, user=user, proposal_id=proposal_id, decision=body, now=utcnow())
        view = await _view(session, proposal_id)
    index.mark_stale()
    return view


@router.post("/{proposal_id}/reject", response_model=ProposalView)
async def reject(proposal_id: int, body: ProposalDecisionIn, user: Supervisor, db: DB) -> ProposalView:
    async with db.session() as session:
        await proposals.reject(session, user=user, proposal_id=proposal_id, decision=body, now=utcnow())
        return await _view(session, proposal_id)


async def _view(session: AsyncSession, proposal_id: int) -> ProposalView:
    proposal = await session.get(KbProposal, proposal_id)
    assert proposal is not None
    return ProposalView.model_validate(proposal.model_dump())
