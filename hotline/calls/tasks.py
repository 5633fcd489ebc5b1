"""The queue's timers as a periodic job: unanswered rings move on, wrap-ups end, long waits go to voicemail.

All of it is in the database (``offer_expires_at``, ``wrap_up_until``, ``queued_at``), so a restart
loses nothing and a second run finds nothing left to do. The switch normally reports an unanswered
ring itself; the job is the safety net when that report is lost, and the local switch's clock.
"""

from __future__ import annotations

from typing import Any

from hotline.calls import flows
from hotline.calls.policy import policy_from
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob

CALL_QUEUE_JOB = "call_queue"


def call_queue_job(db: Database, settings: Settings) -> PeriodicJob:
    """Run the queue's timers every ``HOTLINE_CALL_TICK_SECONDS``."""
    policy = policy_from(settings)
    switches = flows.build_switches(settings)

    async def run() -> dict[str, Any]:
        return await flows.tick(db, switches, policy, utcnow())

    return PeriodicJob(CALL_QUEUE_JOB, settings.call_tick_seconds, run)
