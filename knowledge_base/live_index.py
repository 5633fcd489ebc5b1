"""The search index of a running process, kept in step with the database without a restart.

The index holds the published version of every live entry (published, not retired, valid today). Before a
search it catches up, at most every ``poll_seconds`` (and at once after a change made in this process):
entries changed since the last look are re-indexed or dropped, new feedback is counted, and when the day
changes every entry's validity is checked again, so an expired entry leaves search on its own.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.outage import is_outage
from hotline.threads import in_worker_thread
from hotline.timefmt import CHINA_TZ
from knowledge_base.models import EntryStatus, FeedbackKind, KbEntry, KbEntryVersion, KbFeedback
from knowledge_base.richtext import plain_text
from knowledge_base.search import Hit, KnowledgeEntry, SearchIndex

log = logging.getLogger(__name__)

# Changes committed by another process this long before our last look may still be unseen (clock skew,
# long transactions): each catch-up reads them again and keeps what it has already.
CATCH_UP_SLACK = timedelta(minutes=2)
# More changed entries than this are indexed in a worker thread (a bulk import, the first build): upserting them
# one by one would hold the event loop for seconds.
BATCH_IN_THREAD = 200


@dataclass(frozen=True)
class IndexedVersion:
    """What the index holds of one entry, to tell whether a row changed."""

    version: int
    category_id: int | None
    owner_unit_id: int | None
    answer_html: str


def china_day(moment: datetime) -> date:
    """The calendar day in China at an instant (entries are valid by Chinese dates)."""
    return moment.astimezone(CHINA_TZ).date()


class Publishable(Protocol):
    """What decides whether an entry is searchable (an entry, or a row of just these columns)."""

    @property
    def status(self) -> str: ...
    @property
    def published_version(self) -> int | None: ...
    @property
    def valid_from(self) -> date | None: ...
    @property
    def expires_on(self) -> date | None: ...


def is_live(entry: Publishable, day: date) -> bool:
    """Whether citizens and operators may see the entry on that day."""
    return (
        entry.published_version is not None
        and entry.status != EntryStatus.RETIRED
        and (entry.valid_from is None or entry.valid_from <= day)
        and (entry.expires_on is None or day <= entry.expires_on)
    )


class LiveIndex:
    """One process's search index over the live knowledge-base entries."""

    def __init__(self, db: Database, poll_seconds: float = 5.0) -> None:
        self._db = db
        self._poll_seconds = poll_seconds
        self._index = SearchIndex()
        self._held: dict[int, IndexedVersion] = {}
        self._lock = asyncio.Lock()
        self._built = False
        self._stale = True
        self._checked_at = 0.0
        self._watermark: datetime | None = None
        self._feedback_seen = 0
        self._day: date | None = None
        self._rebuild: asyncio.Task[None] | None = None

    @property
    def ready(self) -> bool:
        """Whether the index has been built (the first build of a large knowledge base takes seconds)."""
        return self._built

    @property
    def indexing_batch(self) -> bool:
        """Whether a large batch of changes (a bulk import) is being indexed aside."""
        return self._rebuild is not None and not self._rebuild.done()

    def mark_stale(self) -> None:
        """Catch up before the next search (call after committing a change to an entry)."""
        self._stale = True

    def feedback_boost(self, entry_id: int) -> float:
        """Return the relative boost the entry's feedback earns in search."""
        return self._index.feedback_boost(str(entry_id))

    def held(self, entry_id: int) -> IndexedVersion | None:
        """Return what the index holds of an entry, if it is searchable."""
        return self._held.get(entry_id)

    async def search(
        self,
        query: str,
        *,
        limit: int = 10,
        category_id: int | None = None,
        owner_unit_id: int | None = None,
        now: datetime | None = None,
    ) -> list[Hit]:
        """Return the best live entries for a query, best first.

        While a large batch of changes (a bulk import) is being indexed aside, searches go on over the index as
        it was instead of waiting seconds for it.
        """
        await self._look(now=now, force=False)
        category = str(category_id) if category_id is not None else None
        return self._index.search(query, limit=limit, category=category, owner_unit_id=owner_unit_id)

    async def catch_up(self, *, now: datetime | None = None, force: bool = False) -> None:
        """Bring the index up to date with the database, unless it looked very recently; a large batch of
        changes is waited for."""
        await self._look(now=now, force=force)
        if self._rebuild is not None:
            await asyncio.shield(self._rebuild)

    async def _look(self, *, now: datetime | None, force: bool) -> None:
        now = now or utcnow()
        day = china_day(now)
        due = force or self._stale or day != self._day or time.monotonic() - self._checked_at >= self._poll_seconds
        if not due or self.indexing_batch:
            return  # a batch being indexed aside is followed by a look of its own
        async with self._lock:
            self._stale = False
            self._checked_at = time.monotonic()
            full = not self._built or day != self._day
            try:
                async with self._db.read_session() as session:
                    await self._apply_entries(session, day, since=None if full else self._watermark, started=now)
                    await self._apply_feedback(session)
            except Exception as exc:
                if not (self._built and is_outage(exc)):
                    raise
                # The database is away: searches go on over the entries as last seen, and the next look after
                # the poll interval catches up once it is back.
                log.warning("knowledge base: the database is unreachable; searching the entries as last seen")
                return
            self._day = day
            self._built = True

    async def _apply_entries(
        self, session: AsyncSession, day: date, *, since: datetime | None, started: datetime
    ) -> None:
        """Re-index the entries changed since the watermark (all of them when ``since`` is None)."""
        query = sa.select(
            col(KbEntry.id),
            col(KbEntry.status),
            col(KbEntry.published_version),
            col(KbEntry.valid_from),
            col(KbEntry.expires_on),
        )
        if since is not None:
            query = query.where(col(KbEntry.updated_at) >= since - CATCH_UP_SLACK)
        entries = (await session.execute(query)).all()
        live = [entry for entry in entries if is_live(entry, day)]
        # A version never changes once written, so an entry whose published version is the one held is up to
        # date (the look after a bulk import re-reads thousands of entries: only their numbers).
        stale = [
            entry
            for entry in live
            if (held := self._held.get(entry.id)) is None or held.version != entry.published_version
        ]
        versions = await _published_versions(session, stale)
        changed: list[KnowledgeEntry] = []
        renewed: dict[int, IndexedVersion] = {}
        for entry in stale:
            version = versions.get(entry.id)
            if version is None:
                continue
            renewed[entry.id] = IndexedVersion(
                version.version, version.category_id, version.owner_unit_id, version.answer
            )
            changed.append(searchable(entry.id, version))
        gone = {entry.id for entry in entries if not is_live(entry, day)}
        if since is None:
            gone |= set(self._held) - {entry.id for entry in live}
        for entry_id in gone:
            if self._held.pop(entry_id, None) is not None:
                self._index.remove(str(entry_id))
        if len(changed) <= BATCH_IN_THREAD:
            for searchable_entry in changed:
                self._index.upsert(searchable_entry)
            self._settle(renewed, started)
            return
        keep = [
            indexed
            for entry_id in self._held
            if entry_id not in renewed and (indexed := self._index.get(str(entry_id))) is not None
        ]
        batch = [*keep, *changed]
        if not self._built:  # the first build: searches wait for it, the process's other requests do not
            first = await in_worker_thread(SearchIndex.build, batch, self._index.weights)
            self._swap_in(first, renewed, started)
        else:
            self._rebuild = asyncio.create_task(self._build_aside(batch, renewed, started), name="kb-index-batch")

    async def _build_aside(
        self, batch: list[KnowledgeEntry], renewed: dict[int, IndexedVersion], started: datetime
    ) -> None:
        """Index a large batch in a worker thread and swap it in whole; on failure the next look tries again."""
        try:
            rebuilt = await in_worker_thread(SearchIndex.build, batch, self._index.weights)
        except Exception:
            log.exception(
                "knowledge base: indexing a batch of %d entries failed; the next look tries again", len(batch)
            )
            return
        self._swap_in(rebuilt, renewed, started)
        self._stale = True  # changes committed meanwhile are picked up by the next search

    def _swap_in(self, rebuilt: SearchIndex, renewed: dict[int, IndexedVersion], started: datetime) -> None:
        rebuilt.adopt_feedback(self._index)
        self._index = rebuilt
        self._settle(renewed, started)

    def _settle(self, renewed: dict[int, IndexedVersion], started: datetime) -> None:
        """Record what is now indexed (only once it is: a failed build is tried again at the next look)."""
        self._held.update(renewed)
        self._watermark = started

    async def _apply_feedback(self, session: AsyncSession) -> None:
        """Count the feedback recorded since the last look."""
        rows = await session.execute(
            select(KbFeedback.entry_id, KbFeedback.kind, func.count(), func.max(KbFeedback.id))
            .where(col(KbFeedback.id) > self._feedback_seen)
            .group_by(col(KbFeedback.entry_id), col(KbFeedback.kind))
        )
        for entry_id, kind, times, last_id in rows.all():
            if kind == FeedbackKind.ANSWERED:
                self._index.record_answered_with(str(entry_id), int(times))
            else:
                self._index.record_click(str(entry_id), int(times))
            self._feedback_seen = max(self._feedback_seen, int(last_id or 0))


def searchable(entry_id: int, version: KbEntryVersion) -> KnowledgeEntry:
    """The search index's view of an entry's published version."""
    return KnowledgeEntry(
        id=str(entry_id),
        question=version.question,
        answer=plain_text(version.answer),
        similar_questions=tuple(version.similar_questions),
        category=str(version.category_id) if version.category_id is not None else None,
        owner_unit_id=version.owner_unit_id,
    )


async def _published_versions(session: AsyncSession, entries: Sequence[Any]) -> dict[int, KbEntryVersion]:
    """The published version of each entry (anything with ``id`` and ``published_version``), by entry id."""
    wanted = {(entry.id, entry.published_version) for entry in entries}
    if not wanted:
        return {}
    ids = [entry_id for entry_id, _ in wanted]
    found: dict[int, KbEntryVersion] = {}
    for chunk in range(0, len(ids), 500):
        rows = await session.execute(
            select(KbEntryVersion).where(col(KbEntryVersion.entry_id).in_(ids[chunk : chunk + 500]))
        )
        for row in rows.scalars().all():
            if (row.entry_id, row.version) in wanted:
                found[row.entry_id] = row
    return found
