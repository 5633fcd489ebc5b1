"""Background jobs of the knowledge base: automatic answers to new WeChat and SMS orders, and draft proposals
from consultations closed since the last run.

The database says what is left to do (new orders without an answer decision, closed consultations without a
proposal), so a restart loses nothing, and a unique ticket id makes two runs at once store each decision or
proposal once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob
from knowledge_base import proposals
from knowledge_base.auto_answer import answer_new_orders
from knowledge_base.live_index import LiveIndex

PROPOSAL_JOB = "kb_propose_drafts"
AUTO_ANSWER_JOB = "kb_auto_answer"
MAX_BATCHES_PER_RUN = 10


def proposal_job(db: Database, settings: Settings, index: LiveIndex | None = None) -> PeriodicJob:
    """Propose drafts from closed consultations every ``HOTLINE_KB_PROPOSAL_POLL_SECONDS``."""
    live = index or LiveIndex(db, settings.kb_index_poll_seconds)

    async def run() -> dict[str, Any]:
        return await propose_drafts(db, live, min_score=settings.kb_duplicate_min_score)

    return PeriodicJob(PROPOSAL_JOB, settings.kb_proposal_poll_seconds, run)


def auto_answer_job(db: Database, settings: Settings, index: LiveIndex | None = None) -> PeriodicJob:
    """Answer new WeChat and SMS orders from the knowledge base every ``HOTLINE_KB_AUTO_ANSWER_POLL_SECONDS``."""
    live = index or LiveIndex(db, settings.kb_index_poll_seconds)

    async def run() -> dict[str, Any]:
        return await answer_new_orders(db, live, settings)

    return PeriodicJob(AUTO_ANSWER_JOB, settings.kb_auto_answer_poll_seconds, run)


async def propose_drafts(
    db: Database, index: LiveIndex, *, min_score: float, now: datetime | None = None
) -> dict[str, Any]:
    """Store a proposal for every closed consultation that lacks one; return how many, and duplicates."""
    now = now or utcnow()
    stored = duplicates = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        async with db.read_session() as session:
            tickets = await proposals.closed_without_proposal(session)
        if not tickets:
            break
        async with db.session() as session:
            for ticket in tickets:
                proposal = await proposals.propose(ticket, index, min_score=min_score, now=now)
                if proposal is None:
                    continue
                try:
                    async with session.begin_nested():
                        session.add(proposal)
                except IntegrityError:  # another run stored it first
                    continue
                stored += 1
                duplicates += proposal.duplicate_of_id is not None
        if len(tickets) < proposals.DEFAULT_BATCH:
            break
    return {"proposed": stored, "duplicates": duplicates}
