"""Importing a whole knowledge base, and searching while the import is being indexed.

    .venv/bin/python -m bench.kb_import [--corpus F] [--rounds 3] [--no-write]

In fresh SQLite files (``hotline migrate``, the demo city's units): the public corpus is imported and published
(``knowledge_base.imports``, bulk inserts) beside a baseline that stores the same rows as one ORM object per
entry and per version (the way single entries are written), then imported again (nothing changes). Then a
process's live index holding the corpus takes a second import of as many new entries: the searches issued while
that batch is indexed in a worker thread are timed against the same searches on the idle index.
Writes the "kb-import" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.intake import migrate
from bench.report import write_section
from hotline import threads
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.seed.city import load_units
from knowledge_base.imports import EntryRow, import_entries, parse_file
from knowledge_base.live_index import LiveIndex
from knowledge_base.models import EntryStatus, KbEntry, KbEntryVersion
from knowledge_base.richtext import sanitize

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SEARCH_INTERVAL = 0.02  # 50 searches a second: a busy center's consoles together
QUERIES = ("公积金缓缴期限", "企业房租减免政策", "个人所得税免征", "复工时间", "口罩供应", "社保费减免")


async def fresh_database(folder: Path, name: str) -> Database:
    url = f"sqlite:///{folder / name}"
    migrate(url)
    db = Database(url)
    async with db.session() as session:
        await load_units(session)
    return db


async def timed_import(db: Database, rows: Sequence[EntryRow]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    async with db.session() as session:
        counts = await import_entries(session, rows, publish=True, user_id=None, comment="bench", now=utcnow())
    return time.perf_counter() - started, counts.as_dict()


async def orm_baseline(db: Database, rows: Sequence[EntryRow]) -> float:
    """The same rows stored as one ORM object per entry and per version."""
    started = time.perf_counter()
    now = utcnow()
    async with db.session() as session:
        entries = []
        for row in rows:
            entry = KbEntry(
                question=row.question,
                answer=sanitize(row.answer),
                import_key=row.key,
                status=EntryStatus.PUBLISHED,
                published_version=1,
                published_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(entry)
            entries.append(entry)
        await session.flush()
        for entry in entries:
            assert entry.id is not None
            session.add(
                KbEntryVersion(
                    entry_id=entry.id, version=1, change="imported", question=entry.question, answer=entry.answer
                )
            )
    return time.perf_counter() - started


async def search_times(index: LiveIndex, rounds: int, interval: float) -> list[float]:
    times = []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            await index.search(query)
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(interval)
    return times


async def searches_during_batch(
    db: Database, rows: Sequence[EntryRow], rounds: int, *, switch_interval: float | None = None
) -> dict[str, object]:
    """Search timings on the idle index, then while a second import of the same size is indexed aside
    (``switch_interval``: the GIL switch interval used meanwhile instead of the product's)."""
    if switch_interval is not None:
        product, threads.WORKER_SWITCH_INTERVAL = threads.WORKER_SWITCH_INTERVAL, switch_interval
        try:
            return await searches_during_batch(db, rows, rounds)
        finally:
            threads.WORKER_SWITCH_INTERVAL = product
    index = LiveIndex(db)
    await index.catch_up(force=True)
    idle = await search_times(index, rounds, SEARCH_INTERVAL)
    renamed = [row.model_copy(update={"key": f"second-{row.key}", "question": row.question + "（续）"}) for row in rows]
    await timed_import(db, renamed)
    index.mark_stale()
    started = time.perf_counter()
    during: list[float] = []
    await index.search(QUERIES[0])  # finds the batch and sets it aside
    trigger_ms = (time.perf_counter() - started) * 1000
    while index.indexing_batch:  # operators keep searching, a search every SEARCH_INTERVAL seconds
        during.extend(await search_times(index, 1, SEARCH_INTERVAL))
    await index.catch_up()
    batch_s = time.perf_counter() - started
    return {"idle": idle, "during": during, "batch_s": batch_s, "trigger_ms": trigger_ms, "size": len(rows) * 2}


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(
    rows: int,
    parse_s: float,
    ours: float,
    again: tuple[float, dict[str, int]],
    baseline: float,
    live: dict[str, Any],
    previous: dict[str, Any],
) -> str:
    idle, during = live["idle"], live["during"]
    line = "| {} | {} | {:.1f} | {:.1f} | {:.1f} |"
    return "\n".join(
        [
            "## Knowledge-base import (`kb_corpus.jsonl`, SQLite)",
            "",
            "Command: `.venv/bin/python -m bench.kb_import`.",
            "",
            "| step | rows | seconds |",
            "|---|---|---|",
            f"| read and check the file | {rows} | {parse_s:.2f} |",
            f"| import and publish (bulk inserts) | {rows} | {ours:.2f} |",
            f"| baseline: one ORM object per entry and per version | {rows} | {baseline:.2f} |",
            f"| the same file again ({again[1]['unchanged']} unchanged) | {rows} | {again[0]:.2f} |",
            "",
            f"A process's index holding those {rows} entries takes a second import of as many: the batch of "
            f"{live['size']} entries is indexed aside in {live['batch_s']:.1f} s. The search that finds it takes "
            f"{live['trigger_ms']:.0f} ms (it reads which entries changed and hands the batch to a worker thread; "
            "before, it and every search behind it waited for the whole batch). Searches, one every "
            f"{SEARCH_INTERVAL * 1000:.0f} ms (50 a second, a busy center's consoles together), on the idle index and "
            "meanwhile (the idle figures include the index's periodic look at the database, which re-reads the "
            "entries changed in the last two minutes: here the whole import):",
            "",
            "| searches | n | p50 ms | p95 ms | max ms |",
            "|---|---|---|---|---|",
            line.format("idle index", len(idle), percentile(idle, 0.5), percentile(idle, 0.95), max(idle)),
            line.format(
                "while the batch is indexed",
                len(during),
                percentile(during, 0.5),
                percentile(during, 0.95),
                max(during),
            ),
            line.format(
                f"the same, Python's default switch interval ({previous['batch_s']:.1f} s; the previous version)",
                len(previous["during"]),
                percentile(previous["during"], 0.5),
                percentile(previous["during"], 0.95),
                max(previous["during"]),
            ),
            "",
            "While a batch is indexed the process's GIL switch interval is "
            f"{threads.WORKER_SWITCH_INTERVAL * 1000:g} ms instead of Python's "
            f"{sys.getswitchinterval() * 1000:g} ms: a search gives the GIL up at each NumPy call over the whole "
            "index, and the default made it wait that long each time to get it back.",
        ]
    )


async def run(corpus: Path, rounds: int) -> str:
    started = time.perf_counter()
    rows = parse_file(corpus.name, corpus.read_bytes())
    parse_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        ours_db = await fresh_database(Path(folder), "import.db")
        baseline_db = await fresh_database(Path(folder), "baseline.db")
        previous_db = await fresh_database(Path(folder), "previous.db")
        try:
            ours, _ = await timed_import(ours_db, rows)
            baseline = await orm_baseline(baseline_db, rows)
            again = await timed_import(ours_db, rows)
            live = await searches_during_batch(ours_db, rows, rounds)
            await timed_import(previous_db, rows)
            previous = await searches_during_batch(previous_db, rows, rounds, switch_interval=sys.getswitchinterval())
        finally:
            await ours_db.dispose()
            await baseline_db.dispose()
            await previous_db.dispose()
    return report(len(rows), parse_s, ours, again, baseline, live, previous)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DATA / "kb_corpus.jsonl")
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the idle searches")
    parser.add_argument("--no-write", action="store_true", help="print the section without writing the report")
    args = parser.parse_args()
    section = asyncio.run(run(args.corpus, args.rounds))
    print(section)
    if not args.no_write:
        write_section("kb-import", section)


if __name__ == "__main__":
    main()
