"""The supervision jobs: the periodic sweep and its command-line replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob
from hotline.supervision.sweep import sweep

SLA_SWEEP_JOB = "sla_sweep"


def sla_sweep_job(db: Database, interval_seconds: float) -> PeriodicJob:
    """The sweep at the current time, every ``interval_seconds``."""

    async def run() -> dict[str, Any]:
        return (await sweep(db, now=utcnow())).as_dict()

    return PeriodicJob(SLA_SWEEP_JOB, interval_seconds, run)


async def sweep_at(db: Database, now: datetime) -> dict[str, Any]:
    """One sweep as of any instant (a replay when ``now`` is not the present)."""
    return (await sweep(db, now=now)).as_dict()
