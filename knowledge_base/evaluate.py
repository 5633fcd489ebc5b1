"""Offline evaluation of knowledge-base search against queries with a known right entry."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from knowledge_base.search import Hit, KnowledgeEntry, SearchIndex

# Ranks beyond this count as a miss for MRR (MRR@10).
RANKED_DEPTH = 10


class Searcher(Protocol):
    """Anything that ranks entries for a query (the hybrid index or a baseline)."""

    def search(self, query: str, limit: int = ...) -> list[Hit]:
        """Return the best entries for the query, best first."""
        ...


@dataclass(frozen=True)
class EvaluationQuery:
    """A query and the id of the entry that answers it."""

    query: str
    expected: str


@dataclass(frozen=True)
class EvaluationReport:
    """Quality and latency figures of one evaluation run."""

    n: int
    hit_at_1: float
    hit_at_3: float
    hit_at_10: float
    mrr: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    build_ms: float
    entries: int

    def as_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict with rounded figures."""
        return {key: round(value, 4) if isinstance(value, float) else value for key, value in asdict(self).items()}


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSON-lines file, skipping blank lines."""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def load_corpus(path: Path) -> list[KnowledgeEntry]:
    """Read corpus rows {"id", "question", "answer", optional "similar_questions", "category"}."""
    return [
        KnowledgeEntry(
            id=str(row["id"]),
            question=row["question"],
            answer=row.get("answer", ""),
            similar_questions=tuple(row.get("similar_questions", ())),
            category=row.get("category"),
        )
        for row in _read_jsonl(path)
    ]


def load_queries(path: Path) -> list[EvaluationQuery]:
    """Read query rows {"query", "expected"}."""
    return [EvaluationQuery(query=row["query"], expected=str(row["expected"])) for row in _read_jsonl(path)]


def rank_of(expected: str, ranked: Sequence[str]) -> int | None:
    """Return the 1-based rank of the expected id, or None if absent."""
    return ranked.index(expected) + 1 if expected in ranked else None


def evaluate(
    entries: Sequence[KnowledgeEntry],
    queries: Sequence[EvaluationQuery],
    build: Callable[[Sequence[KnowledgeEntry]], Searcher] = SearchIndex.build,
) -> EvaluationReport:
    """Build a searcher over the entries, run every query and summarise hit rates and latency."""
    started = time.perf_counter()
    index = build(entries)
    build_ms = (time.perf_counter() - started) * 1000.0
    ranks: list[int | None] = []
    latencies: list[float] = []
    for item in queries:
        started = time.perf_counter()
        hits = index.search(item.query, limit=RANKED_DEPTH)
        latencies.append((time.perf_counter() - started) * 1000.0)
        ranks.append(rank_of(item.expected, [hit.entry_id for hit in hits]))
    return _report(ranks, latencies, build_ms, len({entry.id for entry in entries}))


def _report(ranks: Sequence[int | None], latencies: Sequence[float], build_ms: float, entries: int) -> EvaluationReport:
    """Summarise per-query ranks and latencies."""
    count = len(ranks)

    def hit_rate(depth: int) -> float:
        return sum(1 for rank in ranks if rank is not None and rank <= depth) / count if count else 0.0

    timings = np.asarray(latencies) if latencies else np.zeros(1)
    return EvaluationReport(
        n=count,
        hit_at_1=hit_rate(1),
        hit_at_3=hit_rate(3),
        hit_at_10=hit_rate(RANKED_DEPTH),
        mrr=sum(1.0 / rank for rank in ranks if rank is not None) / count if count else 0.0,
        p50_ms=float(np.percentile(timings, 50)),
        p95_ms=float(np.percentile(timings, 95)),
        max_ms=float(timings.max()),
        build_ms=build_ms,
        entries=entries,
    )
