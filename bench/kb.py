"""Knowledge-base search benchmark: quality on the dev queries, a held-out estimate, and latency on one core.

    .venv/bin/python -m bench.kb [--corpus F] [--queries F] [--no-write]

Quality: hit@1, hit@3, hit@10 and MRR@10 of the hybrid ranking with its default weights, and of plain character
TF-IDF over the questions (the baseline). Held-out estimate: 5-fold cross-validation, three shuffles, of the
whole tuning procedure (pick the best weights of a small grid on four folds, score the fifth), so the figure is
what tuning on dev queries buys on queries it has not seen. Answer twins: a second held-out check that needs no
dev query at all: every entry whose answer has a twin (the same answer filed under another question) is searched by
its own question with itself left out of the index, and a twin in the top three is a hit; the baseline is measured
the same way. Latency: every dev query
five times, on one core.
Writes the "kb-search" section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from bench.report import write_section
from hotline.config import Settings
from knowledge_base.auto_answer import RIVAL_DEPTH, agree, confident
from knowledge_base.baseline import CharTfidfIndex
from knowledge_base.evaluate import EvaluationQuery, evaluate, load_corpus, load_queries, rank_of
from knowledge_base.search import Hit, KnowledgeEntry, RankingWeights, SearchIndex
from knowledge_base.siblings import AnswerSiblings
from knowledge_base.text import compact

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
FOLDS = 5
SHUFFLES = 3
LATENCY_ROUNDS = 5
GRID = {
    "answer_words": (0.3, 0.6),
    "answer_chars": (0.3, 0.6),
    "fuzzy": (0.25, 0.5),
    "consensus": (1.0, 1.5),
    "sibling": (0.7, 0.9),
}

Ranks = list[int | None]


def figures(ranks: Ranks) -> dict[str, float]:
    """hit@1, hit@3, hit@10 and MRR@10 of per-query ranks."""
    count = len(ranks) or 1
    return {
        "hit@1": sum(1 for r in ranks if r == 1) / count,
        "hit@3": sum(1 for r in ranks if r is not None and r <= 3) / count,
        "hit@10": sum(1 for r in ranks if r is not None and r <= 10) / count,
        "mrr": sum(1.0 / r for r in ranks if r is not None and r <= 10) / count,
    }


def ranks_of(index: SearchIndex, queries: Sequence[EvaluationQuery]) -> Ranks:
    return [rank_of(q.expected, [hit.entry_id for hit in index.search(q.query, limit=10)]) for q in queries]


def held_out(index: SearchIndex, queries: Sequence[EvaluationQuery]) -> dict[str, float]:
    """Cross-validated figures of choosing the weights on the other folds."""
    grid = [
        replace(RankingWeights(), answer_words=aw, answer_chars=ac, fuzzy=fz, consensus=co, sibling=si)
        for aw, ac, fz, co, si in itertools.product(*GRID.values())
    ]
    per_weights = []
    for weights in grid:
        index.weights = weights
        per_weights.append(ranks_of(index, queries))
    index.weights = RankingWeights()
    collected: Ranks = []
    for shuffle in range(SHUFFLES):
        order = list(range(len(queries)))
        random.Random(shuffle).shuffle(order)
        for fold in (order[k::FOLDS] for k in range(FOLDS)):
            held = set(fold)
            train = [i for i in order if i not in held]
            best = max(per_weights, key=lambda ranks: _objective([ranks[i] for i in train]))
            collected.extend(best[i] for i in fold)
    return figures(collected)


def answer_twins(entries: Sequence[KnowledgeEntry]) -> list[tuple[KnowledgeEntry, set[str]]]:
    """Entries whose answer has a twin (the same answer, cosmetic edits aside), each with its twins' ids."""
    siblings = AnswerSiblings()
    siblings.add_many([(slot, compact(entry.answer)) for slot, entry in enumerate(entries)])
    return [
        (entry, {entries[other].id for other in siblings.of(slot)})
        for slot, entry in enumerate(entries)
        if siblings.of(slot)
    ]


def twin_ranks(index: SearchIndex, twins: Sequence[tuple[KnowledgeEntry, set[str]]]) -> Ranks:
    """Rank of the best-placed twin when an entry's own question is searched with the entry left out."""
    ranks: Ranks = []
    for entry, others in twins:
        index.remove(entry.id)
        found = [hit.entry_id for hit in index.search(entry.question, limit=10)]
        index.upsert(entry)
        ranks.append(rank_of_any(others, found))
    return ranks


def baseline_twin_ranks(baseline: CharTfidfIndex, twins: Sequence[tuple[KnowledgeEntry, set[str]]]) -> Ranks:
    """The same for the static baseline: the entry is left out of its results (its question stays in the IDF)."""
    ranks: Ranks = []
    for entry, others in twins:
        found = [hit.entry_id for hit in baseline.search(entry.question, limit=11) if hit.entry_id != entry.id]
        ranks.append(rank_of_any(others, found[:10]))
    return ranks


def rank_of_any(wanted: set[str], found: Sequence[str]) -> int | None:
    """Return the 1-based rank of the first found id that is wanted, or None."""
    return next((rank for rank, entry_id in enumerate(found, 1) if entry_id in wanted), None)


def _objective(ranks: Ranks) -> float:
    scores = figures(ranks)
    return scores["hit@3"] + scores["mrr"]


def latency(index: SearchIndex, queries: Sequence[EvaluationQuery]) -> dict[str, float]:
    """p50/p95 milliseconds per search (CPU time of the thread, and wall clock), each query several times.

    CPU time is what one search costs one core; the wall clock also counts waiting for a core, so on a busy
    shared machine it says more about the neighbours than about the search.
    """
    for item in queries[:10]:
        index.search(item.query)
    cpu, wall = [], []
    for _ in range(LATENCY_ROUNDS):
        for item in queries:
            started, started_cpu = time.perf_counter(), time.thread_time()
            index.search(item.query, limit=10)
            cpu.append((time.thread_time() - started_cpu) * 1000.0)
            wall.append((time.perf_counter() - started) * 1000.0)
    return {
        "cpu_p50": float(np.percentile(cpu, 50)),
        "cpu_p95": float(np.percentile(cpu, 95)),
        "wall_p50": float(np.percentile(wall, 50)),
        "wall_p95": float(np.percentile(wall, 95)),
        "load": os.getloadavg()[0],
    }


def auto_answers(
    index: SearchIndex, entries: Sequence[KnowledgeEntry], queries: Sequence[EvaluationQuery], settings: Settings
) -> dict[str, tuple[int, int, int]]:
    """Per rule, the dev queries the auto-answer would answer, how many with the expected entry, and how many
    with an answer that says the same as the expected entry's (one inside the other, or cosmetic edits apart)."""
    answer = {entry.id: entry.answer for entry in entries}
    min_score, min_margin = settings.kb_auto_answer_min_score, settings.kb_auto_answer_min_margin

    def over_the_second(hits: list[Hit]) -> Hit | None:  # the rule before: lead over the second hit, whatever it says
        if not hits or hits[0].score < min_score or (len(hits) > 1 and hits[0].score - hits[1].score < min_margin):
            return None
        return hits[0]

    rules = {
        "lead over the best hit with another answer (current)": lambda hits: confident(
            hits, lambda hit: answer[hit.entry_id], min_score, min_margin
        ),
        "lead over the second hit (before)": over_the_second,
    }
    results = {}
    searched = [(item, index.search(item.query, limit=RIVAL_DEPTH)) for item in queries]
    for name, rule in rules.items():
        picked = [(item, rule(hits)) for item, hits in searched]
        chosen = [(item, hit) for item, hit in picked if hit is not None]
        right = sum(1 for item, hit in chosen if hit.entry_id == item.expected)
        alike = sum(1 for item, hit in chosen if agree(compact(answer[hit.entry_id]), compact(answer[item.expected])))
        results[name] = (len(chosen), right, alike)
    return results


def auto_answer_report(results: dict[str, tuple[int, int, int]], n: int, settings: Settings) -> str:
    lines = [
        f"Automatic answers on SMS and WeChat at the default thresholds (score ≥ {settings.kb_auto_answer_min_score}, "
        f"lead ≥ {settings.kb_auto_answer_min_margin}), on the same {n} dev queries:",
        "",
        "| rule | answered | with the expected entry | with the same answer |",
        "|---|---|---|---|",
    ]
    for name, (answered, right, alike) in results.items():
        share = f"{answered / n:.0%}" if n else "-"
        lines.append(
            f"| {name} | {answered} ({share}) | {right} ({right / max(answered, 1):.0%}) "
            f"| {alike} ({alike / max(answered, 1):.0%}) |"
        )
    return "\n".join(lines)


def report(
    dev: dict[str, float],
    baseline: dict[str, float],
    cv: dict[str, float],
    twins: tuple[dict[str, float], int],
    baseline_twins: dict[str, float],
    times: dict[str, float],
    n: int,
    size: int,
    build_s: float,
    command: str,
) -> str:
    def row(name: str, f: dict[str, float]) -> str:
        return f"| {name} | {f['hit@1']:.3f} | {f['hit@3']:.3f} | {f['hit@10']:.3f} | {f['mrr']:.3f} |"

    return "\n".join(
        [
            "## Knowledge-base search (`kb_corpus.jsonl`, dev queries)",
            "",
            f"Command: `{command}`. {size} entries, {n} dev queries; index built in {build_s:.1f} s.",
            "",
            "| ranking | hit@1 | hit@3 | hit@10 | MRR@10 |",
            "|---|---|---|---|---|",
            row("hybrid, default weights (dev)", dev),
            row(f"hybrid, weights tuned by {FOLDS}-fold CV ×{SHUFFLES} (held-out estimate)", cv),
            row(f"hybrid, answer twins: {twins[1]} entries' own questions, each entry left out (held out)", twins[0]),
            row("baseline: character TF-IDF over the questions (dev)", baseline),
            row("baseline, answer twins (held out)", baseline_twins),
            "",
            f"Search latency on one core, {LATENCY_ROUNDS}×{n} searches over the whole corpus: CPU time per search "
            f"p50 {times['cpu_p50']:.1f} ms, p95 {times['cpu_p95']:.1f} ms; wall clock p50 {times['wall_p50']:.1f} ms, "
            f"p95 {times['wall_p95']:.1f} ms (load average {times['load']:.1f} while measuring).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DATA / "kb_corpus.jsonl")
    parser.add_argument("--queries", type=Path, default=DATA / "kb_queries_dev.jsonl")
    parser.add_argument("--no-write", action="store_true", help="print the section without writing the report")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the target says
    entries, queries = load_corpus(args.corpus), load_queries(args.queries)
    started = time.perf_counter()
    index = SearchIndex.build(entries)
    build_s = time.perf_counter() - started
    dev = figures(ranks_of(index, queries))
    times = latency(index, queries)
    cv = held_out(index, queries)
    twins = answer_twins(entries)
    twin_figures = figures(twin_ranks(index, twins))
    base = evaluate(entries, queries, CharTfidfIndex)
    baseline_twins = figures(baseline_twin_ranks(CharTfidfIndex(entries), twins))
    baseline = {"hit@1": base.hit_at_1, "hit@3": base.hit_at_3, "hit@10": base.hit_at_10, "mrr": base.mrr}
    command = "make bench (python -m bench.kb)"
    section = report(
        dev,
        baseline,
        cv,
        (twin_figures, len(twins)),
        baseline_twins,
        times,
        len(queries),
        len(entries),
        build_s,
        command,
    )
    settings = Settings()
    section += "\n\n" + auto_answer_report(auto_answers(index, entries, queries, settings), len(queries), settings)
    print(section)
    if not args.no_write:
        write_section("kb-search", section)


if __name__ == "__main__":
    main()
