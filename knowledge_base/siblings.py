"""Entries whose answers are (nearly) the same text: each one's question is a phrasing of the other.

Knowledge bases grow duplicates (the same answer filed under differently worded questions, by different
units or at different times). Linking them lets a query that matches one entry's wording also find its
twins, which is what operators expect from "similar phrasings".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz, process

from knowledge_base.bm25 import FloatArray, IntArray

# Answers at least this similar (rapidfuzz ratio, 0-100) are the same answer with cosmetic edits ...
SIBLING_MIN_RATIO = 90.0
# ... provided both are this long; shorter answers (dates, amounts) must match exactly.
SIBLING_MIN_LENGTH = 10


def same_answer(first: str, second: str) -> bool:
    """Tell whether two compacted answers say the same thing."""
    if not first or not second:
        return False
    if first == second:
        return True
    if min(len(first), len(second)) < SIBLING_MIN_LENGTH:
        return False
    return fuzz.ratio(first, second) >= SIBLING_MIN_RATIO


class AnswerSiblings:
    """Undirected links between slots whose answers are the same, maintained incrementally."""

    def __init__(self) -> None:
        self._answers: list[str] = []
        self._links: dict[int, set[int]] = {}
        self._edges: tuple[IntArray, IntArray] | None = None

    def add(self, slot: int, answer: str) -> None:
        """Register a slot's compacted answer and link it to every slot with the same answer."""
        self.discard(slot)
        while len(self._answers) <= slot:
            self._answers.append("")
        if not answer:
            return
        matches = process.extract(answer, self._answers, scorer=fuzz.ratio, score_cutoff=SIBLING_MIN_RATIO, limit=None)
        self._answers[slot] = answer
        for _, _, other in matches:
            if other != slot and same_answer(answer, self._answers[other]):
                self._link(slot, other)

    def add_many(self, answers: Sequence[tuple[int, str]]) -> None:
        """Register many slots at once with one all-pairs comparison (used when building)."""
        for slot, answer in answers:
            self.discard(slot)
            while len(self._answers) <= slot:
                self._answers.append("")
            self._answers[slot] = answer
        texts = [answer for _, answer in answers]
        similar = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=SIBLING_MIN_RATIO, dtype=np.uint8)
        for first, second in zip(*np.nonzero(similar), strict=True):
            if first < second and same_answer(texts[first], texts[second]):
                self._link(answers[first][0], answers[second][0])

    def discard(self, slot: int) -> None:
        """Forget a slot's answer and links."""
        if slot < len(self._answers):
            self._answers[slot] = ""
        for other in self._links.pop(slot, set()):
            self._links[other].discard(slot)
            if not self._links[other]:
                del self._links[other]
            self._edges = None

    def of(self, slot: int) -> set[int]:
        """Return the slots whose answer is the same as this slot's."""
        return self._links.get(slot, set())

    def propagate(self, scores: FloatArray, weight: float) -> FloatArray:
        """Return scores where each slot also gets weight times its best sibling's score."""
        if weight <= 0 or not self._links:
            return scores
        sources, targets = self._edge_arrays()
        result = scores.copy()
        np.maximum.at(result, targets, weight * scores[sources])
        return result

    def _link(self, first: int, second: int) -> None:
        """Link two slots both ways."""
        self._links.setdefault(first, set()).add(second)
        self._links.setdefault(second, set()).add(first)
        self._edges = None

    def _edge_arrays(self) -> tuple[IntArray, IntArray]:
        """Return (source, target) arrays of all directed links, cached until links change."""
        if self._edges is None:
            pairs = [(source, target) for source, targets in self._links.items() for target in targets]
            self._edges = (
                np.fromiter((source for source, _ in pairs), dtype=np.int64, count=len(pairs)),
                np.fromiter((target for _, target in pairs), dtype=np.int64, count=len(pairs)),
            )
        return self._edges
