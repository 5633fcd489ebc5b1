"""Answer consensus: re-rank candidates by how far the leading candidates' answers back their answer.

Several entries often carry the same core answer in different words ("免征个人所得税" inside a longer
answer). When the best-matching entries agree on an answer, an entry whose answer is that common core is
likely right even if its own question is worded differently: pseudo-relevance feedback in answer space.
"""

from __future__ import annotations

import numpy as np

from knowledge_base.bm25 import FloatArray, IntArray
from knowledge_base.text import char_ngrams

# Answers are compared as sets of character bigrams.
GRAM_SIZE = 2
INITIAL_VOCABULARY = 1024


class AnswerConsensus:
    """Answer n-gram sets per slot, with their document frequencies, and the consensus re-ranking."""

    def __init__(self) -> None:
        self._vocabulary: dict[str, int] = {}
        self._frequencies: IntArray = np.zeros(INITIAL_VOCABULARY, dtype=np.int64)
        self._grams: dict[int, IntArray] = {}

    def add(self, slot: int, normalized_answer: str) -> None:
        """Remember a slot's answer n-grams, replacing earlier ones."""
        self.discard(slot)
        grams = sorted(set(char_ngrams(normalized_answer, (GRAM_SIZE,))))
        ids = np.fromiter((self._id(gram) for gram in grams), dtype=np.int64, count=len(grams))
        self._frequencies[ids] += 1
        self._grams[slot] = ids

    def discard(self, slot: int) -> None:
        """Forget a slot."""
        ids = self._grams.pop(slot, None)
        if ids is not None:
            self._frequencies[ids] -= 1

    def rerank(self, relevance: dict[int, float], weight: float, leaders: int) -> None:
        """Add weight times each candidate's IDF-weighted backing by the other leading candidates, in place."""
        if weight <= 0 or not relevance:
            return
        ranked = sorted(relevance, key=relevance.__getitem__, reverse=True)
        best = relevance[ranked[0]]
        candidates = [slot for slot in ranked if len(self._grams.get(slot, ())) > 0]
        if best <= 0 or not candidates:
            return
        votes = {slot: relevance[slot] / best for slot in ranked[:leaders]}
        backing = np.zeros(len(self._vocabulary))
        for slot, vote in votes.items():
            if slot in self._grams:
                backing[self._grams[slot]] += vote
        support = self._support(candidates, backing, votes)
        total = sum(votes.values())
        for slot, value in zip(candidates, support.tolist(), strict=True):
            relevance[slot] += weight * value / total

    def _support(self, candidates: list[int], backing: FloatArray, votes: dict[int, float]) -> FloatArray:
        """Return, per candidate, the IDF-weighted mean over its answer n-grams of the other leaders' votes."""
        segments = [self._grams[slot] for slot in candidates]
        lengths = np.fromiter((len(ids) for ids in segments), dtype=np.int64, count=len(segments))
        ids = np.concatenate(segments)
        idf = self._idf(ids)
        own = np.repeat(np.fromiter((votes.get(slot, 0.0) for slot in candidates), dtype=np.float64), lengths)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        weighted = np.add.reduceat(idf * (backing[ids] - own), starts)
        totals = np.add.reduceat(idf, starts)
        return np.divide(weighted, totals, out=np.zeros_like(weighted), where=totals > 0)

    def _idf(self, ids: IntArray) -> FloatArray:
        """Return the BM25-style inverse document frequency of the given n-gram ids."""
        documents = len(self._grams)
        frequencies = self._frequencies[ids]
        return np.log1p((documents - frequencies + 0.5) / (frequencies + 0.5))

    def _id(self, gram: str) -> int:
        """Return the id of an n-gram, adding it to the vocabulary if new."""
        gram_id = self._vocabulary.setdefault(gram, len(self._vocabulary))
        if gram_id >= len(self._frequencies):
            grown = np.zeros(2 * len(self._frequencies), dtype=np.int64)
            grown[: len(self._frequencies)] = self._frequencies
            self._frequencies = grown
        return gram_id
