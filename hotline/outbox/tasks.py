"""The outbox delivery job."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from hotline.db import Database
from hotline.jobs import PeriodicJob
from hotline.outbox.providers import Provider
from hotline.outbox.service import deliver_due

OUTBOX_JOB = "outbox_delivery"


def outbox_job(
    db: Database, providers: Mapping[str, Provider], interval_seconds: float, lease_seconds: float
) -> PeriodicJob:
    """Deliver due outbound messages every ``interval_seconds``; every worker sends (claims never overlap)."""
    lease = timedelta(seconds=lease_seconds)

    async def run() -> dict[str, Any]:
        return {"attempted": await deliver_due(db, providers, lease=lease)}

    return PeriodicJob(OUTBOX_JOB, interval_seconds, run, exclusive=False)
