"""The background job that proposes routing for new orders, after intake and never in its path.

Intake only stores the message and registers the order. This job picks up orders without a stored
proposal (waiting ones, and any that came in recently even if an operator was quicker), proposes
category, type, urgency, territory and units, and stores it (``ticket_suggestions``) for the
console. The database says what is left to do, so a restart loses nothing and two runs at once
store each proposal once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob
from routing import repository
from routing.context import RoutingContext
from routing.service import proposal_row, ticket_text
from routing.suggest import suggest

CLASSIFY_JOB = "classify_new_orders"
MAX_BATCHES_PER_RUN = 20  # bounds one run; what is left waits for the next one


def classify_job(db: Database, settings: Settings, context: RoutingContext | None = None) -> PeriodicJob:
    """Propose routing for new orders every ``HOTLINE_CLASSIFY_POLL_SECONDS``."""
    routing = context or RoutingContext.from_settings(settings)

    async def run() -> dict[str, Any]:
        return await classify_new_orders(
            db,
            routing,
            batch_size=settings.classify_batch_size,
            recent=timedelta(hours=settings.classify_recent_hours),
        )

    return PeriodicJob(CLASSIFY_JOB, settings.classify_poll_seconds, run)


async def classify_new_orders(
    db: Database, routing: RoutingContext, *, batch_size: int, recent: timedelta, now: datetime | None = None
) -> dict[str, Any]:
    """Store a proposal for every order that lacks one, a batch per transaction."""
    now = now or utcnow()
    await routing.registry.reload()  # never propose with no model only because it is still loading
    seen = stored = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        async with db.read_session() as session:
            orders = await repository.unsuggested_tickets(session, since=now - recent, limit=batch_size)
            index = await routing.index(session)
        rows = []
        for ticket in orders:
            assert ticket.id is not None
            proposal = suggest(index, routing.classifier, content=ticket_text(ticket), address=ticket.address)
            rows.append(proposal_row(ticket.id, proposal, now))
            await asyncio.sleep(0)  # a proposal is milliseconds of CPU: let requests in between
        if rows:
            async with db.session() as session:
                for row in rows:
                    stored += await repository.store_suggestion(session, row)
        seen += len(orders)
        if len(orders) < batch_size:
            break
    classifier = routing.classifier
    return {"orders": seen, "stored": stored, "model_version": classifier.version if classifier else None}


async def corrections_from(database_url: str) -> list[tuple[str, str]]:
    """The operators' corrections as (text, first-level label), for retraining from the command line."""
    db = Database(database_url)
    try:
        async with db.read_session() as session:
            return await repository.training_corrections(session)
    finally:
        await db.dispose()
