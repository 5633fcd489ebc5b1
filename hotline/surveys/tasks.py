"""The survey job: start surveys for replied orders, ask again, and let unanswered ones run out (未回访).

Everything it needs is in the database: an order without a survey row for its current round is
due one (the unique key ``(ticket_id, round)`` makes two runs create it once); a survey's
``next_attempt_at`` and ``expires_at`` say when to ask again and when to give up; outbound
messages are keyed by survey and attempt. A restart loses nothing and a run can be repeated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import PeriodicJob
from hotline.supervision import calendars, policy
from hotline.surveys import repository, service
from hotline.surveys.service import SurveyPolicy

SURVEY_JOB = "callback_surveys"
MAX_BATCHES_PER_STEP = 50  # bounds one run; what is left waits for the next one


def survey_job(db: Database, settings: Settings) -> PeriodicJob:
    """Run the surveys every ``HOTLINE_SURVEY_POLL_SECONDS``."""

    async def run() -> dict[str, Any]:
        return await run_surveys(db, service.policy_from(settings), now=utcnow())

    return PeriodicJob(SURVEY_JOB, settings.survey_poll_seconds, run)


async def run_surveys(db: Database, survey_policy: SurveyPolicy, *, now: datetime) -> dict[str, Any]:
    """One pass as of ``now``: start due surveys, expire old ones, send due attempts (in calling hours)."""
    async with db.read_session() as session:  # callback deadlines and calendars as administrators set them
        await calendars.refresh(session)
        await policy.refresh(session)
    started = await _in_batches(db, survey_policy.batch_size, lambda s: _start(s, survey_policy, now))
    expired = await _in_batches(db, survey_policy.batch_size, lambda s: _expire(s, survey_policy, now))
    sent = 0  # after expiring, so that a survey past its time gets no last reminder
    if survey_policy.in_calling_hours(now):
        sent = await _in_batches(db, survey_policy.batch_size, lambda s: _send(s, survey_policy, now))
    return {"started": started, "sent": sent, "expired": expired}


async def _in_batches(db: Database, size: int, step: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Repeat a step, one committed batch at a time, until a batch comes back short."""
    done = 0
    for _ in range(MAX_BATCHES_PER_STEP):
        async with db.session() as session:
            handled = await step(session)
        done += handled
        if handled < size:
            break
    return done


async def _start(session: AsyncSession, survey_policy: SurveyPolicy, now: datetime) -> int:
    orders = await repository.replied_without_survey(session, limit=survey_policy.batch_size)
    for ticket in orders:
        await service.start_survey(session, ticket=ticket, policy=survey_policy, now=now)
    return len(orders)


async def _send(session: AsyncSession, survey_policy: SurveyPolicy, now: datetime) -> int:
    due = await repository.due_attempts(session, now=now, limit=survey_policy.batch_size)
    for survey in due:
        ticket = await service.locked_ticket(session, survey.ticket_id)
        await service.send_attempt(session, survey=survey, ticket=ticket, policy=survey_policy, now=now)
    return len(due)


async def _expire(session: AsyncSession, survey_policy: SurveyPolicy, now: datetime) -> int:
    due = await repository.expiring(session, now=now, limit=survey_policy.batch_size)
    for survey in due:
        await service.expire(session, survey=survey, now=now)
    return len(due)
