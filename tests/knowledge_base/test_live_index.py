"""A large batch of changes (a bulk import) is indexed aside: searches go on meanwhile and feedback is kept."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Iterable
from typing import Any

import pytest

from hotline import threads
from hotline.db import Database
from hotline.db_types import utcnow
from knowledge_base import live_index
from knowledge_base.imports import import_entries, validate_rows
from knowledge_base.live_index import BATCH_IN_THREAD, LiveIndex
from knowledge_base.models import KbFeedback
from knowledge_base.search import KnowledgeEntry, SearchIndex
from tests.conftest import City

FUND = {"key": "fund", "question": "住房公积金怎么提取？", "answer": "携带身份证到公积金中心办理。"}


async def publish(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.session() as session:
        await import_entries(session, validate_rows(rows), publish=True, user_id=None, comment="test", now=utcnow())


async def test_searches_go_on_while_a_bulk_import_is_indexed_and_feedback_survives(
    db: Database, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish(db, [FUND])
    index = LiveIndex(db)
    [hit] = await index.search("公积金提取")
    async with db.session() as session:
        session.add_all(KbFeedback(entry_id=int(hit.entry_id), kind="answered") for _ in range(5))
    await index.catch_up(force=True)
    boost = index.feedback_boost(int(hit.entry_id))
    assert boost > 0

    started, release = threading.Event(), threading.Event()
    build = SearchIndex.build
    default_interval, intervals = sys.getswitchinterval(), []

    def held_build(entries: Iterable[KnowledgeEntry], weights: Any = None) -> SearchIndex:
        intervals.append(sys.getswitchinterval())
        started.set()
        release.wait(timeout=60)
        return build(entries, weights)

    monkeypatch.setattr(live_index.SearchIndex, "build", held_build)
    bulk = [
        {"key": f"policy-{n}", "question": f"第{n}号政策的补贴标准是什么？", "answer": f"每人每月{n}元。"}
        for n in range(BATCH_IN_THREAD + 1)
    ]
    await publish(db, bulk)
    index.mark_stale()  # as the import endpoint does

    # The search that finds the batch does not wait for it, nor does the next: both answer from the index as it was.
    first = await asyncio.wait_for(index.search("第7号政策的补贴标准"), timeout=30)
    assert await asyncio.to_thread(started.wait, 60)
    index.mark_stale()
    second = await asyncio.wait_for(index.search("第7号政策的补贴标准"), timeout=30)
    assert {h.entry_id for h in [*first, *second]} <= {hit.entry_id}

    release.set()
    await index.catch_up()  # waits for the batch
    after = await index.search("第7号政策的补贴标准")
    assert after[0].question == "第7号政策的补贴标准是什么？"
    assert index.feedback_boost(int(hit.entry_id)) == boost  # operators' feedback is not lost in the swap
    # meanwhile the loop took the GIL back sooner than Python's 5 ms, and the process is back to its default
    assert intervals == [pytest.approx(threads.WORKER_SWITCH_INTERVAL)] and sys.getswitchinterval() == default_interval


async def test_a_failed_batch_leaves_the_process_as_it_was_and_is_tried_again(
    db: Database, city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    await publish(db, [FUND])
    index = LiveIndex(db)
    await index.search("公积金提取")
    default_interval, build = sys.getswitchinterval(), SearchIndex.build

    def failing_build(entries: Iterable[KnowledgeEntry], weights: Any = None) -> SearchIndex:
        raise MemoryError("no room for the batch")

    monkeypatch.setattr(live_index.SearchIndex, "build", failing_build)
    await publish(db, [{"key": f"p-{n}", "question": f"第{n}号政策？", "answer": f"{n}元"} for n in range(300)])
    index.mark_stale()
    await index.catch_up()
    assert sys.getswitchinterval() == default_interval
    assert [h.question for h in await index.search("第7号政策")] == []  # not indexed, nothing half-done

    monkeypatch.setattr(live_index.SearchIndex, "build", build)
    await index.catch_up(force=True)  # the next look tries again
    assert (await index.search("第7号政策"))[0].question == "第7号政策？"
