"""Probes: alive, ready, and how the background work is doing."""

from __future__ import annotations

from datetime import timedelta

import httpx

from hotline.channels.models import Channel
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob, run_once
from hotline.outbox.models import OutboxMessage
from hotline.tickets.schemas import TicketCreate
from hotline.tickets.service import SYSTEM_ACTOR, create_ticket


async def _nothing() -> dict[str, object]:
    return {}


async def test_ready_reports_the_outbox_backlog_and_the_last_sweep(app_client: httpx.AsyncClient, db: Database) -> None:
    assert (await app_client.get("/healthz")).json() == {"status": "ok"}
    ready = (await app_client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["checks"] == {"database": "ok"}
    assert ready["outbox_backlog_seconds"] == 0 and ready["classification_backlog_seconds"] == 0
    assert ready["jobs"] == {}

    async with db.session() as session:  # a message that should have gone out 90 seconds ago
        session.add(
            OutboxMessage(
                dedupe_key="late",
                channel="sms",
                recipient="+8613800138000",
                body="x",
                next_attempt_at=utcnow() - timedelta(seconds=90),
            )
        )
    await run_once(db, PeriodicJob("sla_sweep", 60, _nothing))
    later = (await app_client.get("/readyz")).json()
    assert later["jobs"]["sla_sweep"]["last_finished_at"] is not None
    assert 90 <= later["outbox_backlog_seconds"] < 120


async def test_ready_reports_how_long_a_new_order_has_waited_for_its_routing_proposal(
    app_client: httpx.AsyncClient, db: Database
) -> None:
    async with db.session() as session:
        data = TicketCreate(content="小区门口井盖破损", channel=Channel.SMS)
        await create_ticket(session, data=data, actor=SYSTEM_ACTOR, now=utcnow() - timedelta(seconds=300))
    ready = (await app_client.get("/readyz")).json()
    assert 300 <= ready["classification_backlog_seconds"] < 330  # the classification job has not run
