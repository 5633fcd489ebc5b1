"""Probes: alive, ready, and how the background work is doing."""

from __future__ import annotations

from datetime import timedelta

import httpx

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob, run_once
from hotline.outbox.models import OutboxMessage


async def _nothing() -> dict[str, object]:
    return {}


async def test_ready_reports_the_outbox_backlog_and_the_last_sweep(app_client: httpx.AsyncClient, db: Database) -> None:
    assert (await app_client.get("/healthz")).json() == {"status": "ok"}
    ready = (await app_client.get("/readyz")).json()
    assert ready["status"] == "ready" and ready["checks"] == {"database": "ok"}
    assert ready["outbox_backlog_seconds"] == 0 and ready["jobs"] == {}

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
