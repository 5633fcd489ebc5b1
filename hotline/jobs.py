"""Periodic background jobs: run inside ``hotline serve`` (embedded) or ``hotline worker`` (scaled out).

Each job opens its own sessions, keeps its state in the database, and is safe to run twice. On
PostgreSQL an advisory lock lets one process at a time run a given job; SQLite is one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.supervision.models import JobRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """A named job run every ``interval_seconds``; ``exclusive`` ones run on one process at a time."""

    name: str
    interval_seconds: float
    run: Callable[[], Awaitable[dict[str, Any]]]
    exclusive: bool = True  # False when the job's claims already keep concurrent runs apart (SKIP LOCKED)


@contextlib.asynccontextmanager
async def exclusive(db: Database, name: str, *, shared: bool = False) -> AsyncIterator[bool]:
    """Whether this process may run the named job now (always, on SQLite or for a shared job)."""
    if shared or db.engine.dialect.name != "postgresql":
        yield True
        return
    key = zlib.crc32(f"hotline-job:{name}".encode())
    async with db.engine.connect() as connection:
        acquired = bool((await connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})).scalar())
        await connection.commit()
        try:
            yield acquired
        finally:
            if acquired:
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await connection.commit()


async def run_once(db: Database, job: PeriodicJob, *, reraise: bool = False) -> dict[str, Any] | None:
    """Run a job if no other process is running it, and record when and how it went."""
    async with exclusive(db, job.name, shared=not job.exclusive) as mine:
        if not mine:
            return None
        started = utcnow()
        try:
            result = await job.run()
        except Exception as exc:  # a failing job is recorded and retried next round, never fatal
            log.exception("job %s failed", job.name)
            await _record(db, job.name, started=started, result={}, error=f"{type(exc).__name__}: {exc}")
            if reraise:
                raise
            return None
        await _record(db, job.name, started=started, result=result, error=None)
        return result


async def _record(db: Database, name: str, *, started: Any, result: dict[str, Any], error: str | None) -> None:
    """Upsert the job's last run (several workers may record a shared job at the same moment)."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    values = {
        "name": name,
        "last_started_at": started,
        "last_finished_at": utcnow(),
        "last_result": result,
        "last_error": error,
    }
    statement = insert(JobRun).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["name"], set_={k: statement.excluded[k] for k in values if k != "name"}
    )
    async with db.session() as session:
        await session.execute(statement)


class JobRunner:
    """Runs each job every ``interval_seconds`` until stopped."""

    def __init__(self, db: Database, jobs: list[PeriodicJob]) -> None:
        self._db, self._jobs = db, jobs
        self._tasks: list[asyncio.Task[None]] = []

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            try:
                await run_once(self._db, job)
            except Exception:  # e.g. the database went away while recording: try again next round
                log.exception("job %s could not run", job.name)
            await asyncio.sleep(job.interval_seconds)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=f"job:{job.name}") for job in self._jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
