"""Okapi BM25 over one text field, kept in memory and updatable one row at a time."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_K1 = 1.2
DEFAULT_B = 0.75
# Cached per-term contributions are dropped when the collection statistics drift by more than this.
STATS_DRIFT_TOLERANCE = 0.02
INITIAL_CAPACITY = 64


class Bm25Field:
    """Inverted index with BM25 scoring; rows are small integers chosen by the caller."""

    def __init__(self, k1: float = DEFAULT_K1, b: float = DEFAULT_B) -> None:
        self.k1 = k1
        self.b = b
        self._postings: dict[str, dict[int, int]] = {}
        self._row_terms: dict[int, Counter[str]] = {}
        self._lengths: FloatArray = np.zeros(INITIAL_CAPACITY)
        self._total_length = 0.0
        self._cache: dict[str, tuple[IntArray, FloatArray]] = {}
        self._cached_stats = (0, 0.0)

    def __len__(self) -> int:
        """Return the number of indexed rows."""
        return len(self._row_terms)

    def add(self, row: int, terms: Iterable[str]) -> None:
        """Index the terms of one row, replacing whatever the row held before."""
        self.discard(row)
        counts = Counter(terms)
        self._row_terms[row] = counts
        self._ensure_capacity(row + 1)
        length = float(sum(counts.values()))
        self._lengths[row] = length
        self._total_length += length
        for term, frequency in counts.items():
            self._postings.setdefault(term, {})[row] = frequency
            self._cache.pop(term, None)

    def discard(self, row: int) -> None:
        """Remove one row from the index (no-op if absent)."""
        counts = self._row_terms.pop(row, None)
        if counts is None:
            return
        self._total_length -= self._lengths[row]
        self._lengths[row] = 0.0
        for term in counts:
            postings = self._postings[term]
            del postings[row]
            if not postings:
                del self._postings[term]
            self._cache.pop(term, None)

    def idf(self, term: str) -> float:
        """Return the BM25 inverse document frequency of a term (0 for unseen terms)."""
        frequency = len(self._postings.get(term, ()))
        if frequency == 0:
            return 0.0
        rows = len(self._row_terms)
        return math.log(1.0 + (rows - frequency + 0.5) / (frequency + 0.5))

    def ideal_score(self, terms: Mapping[str, float]) -> float:
        """Return the score of an average-length row holding every query term once (unseen terms count as rare)."""
        rarest = math.log(1.0 + (len(self._row_terms) + 0.5) / 0.5)
        return sum(weight * (self.idf(term) or rarest) for term, weight in terms.items())

    def scores(self, terms: Mapping[str, float], size: int) -> FloatArray:
        """Return the weighted BM25 score of every row for the query terms, as an array of length size."""
        result = np.zeros(size)
        self._refresh_cache_if_drifted()
        for term, weight in terms.items():
            contribution = self._contribution(term)
            if contribution is not None:
                rows, values = contribution
                result[rows] += weight * values
        return result

    def _contribution(self, term: str) -> tuple[IntArray, FloatArray] | None:
        """Return the rows holding a term and their BM25 contribution, cached per term."""
        cached = self._cache.get(term)
        if cached is not None:
            return cached
        postings = self._postings.get(term)
        if not postings:
            return None
        rows = np.fromiter(postings.keys(), dtype=np.int64, count=len(postings))
        frequencies = np.fromiter(postings.values(), dtype=np.float64, count=len(postings))
        average = self._total_length / max(len(self._row_terms), 1)
        norm = self.k1 * (1.0 - self.b + self.b * self._lengths[rows] / max(average, 1e-9))
        values = self.idf(term) * frequencies * (self.k1 + 1.0) / (frequencies + norm)
        self._cache[term] = (rows, values)
        return rows, values

    def _refresh_cache_if_drifted(self) -> None:
        """Drop cached contributions once row count or average length moved noticeably."""
        rows = len(self._row_terms)
        average = self._total_length / max(rows, 1)
        cached_rows, cached_average = self._cached_stats
        if _drifted(rows, cached_rows) or _drifted(average, cached_average):
            self._cache.clear()
            self._cached_stats = (rows, average)

    def _ensure_capacity(self, size: int) -> None:
        """Grow the per-row length array geometrically."""
        if size > len(self._lengths):
            grown = np.zeros(max(size, 2 * len(self._lengths)))
            grown[: len(self._lengths)] = self._lengths
            self._lengths = grown


def _drifted(current: float, reference: float) -> bool:
    """Tell whether a statistic moved by more than the tolerance relative to its reference."""
    return abs(current - reference) > STATS_DRIFT_TOLERANCE * max(abs(reference), 1e-9)
