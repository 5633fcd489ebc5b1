"""Hybrid in-memory search over knowledge-base entries, built for Chinese questions.

An entry is indexed as title rows (its question and each similar phrasing) plus its answer. A query is
scored in four steps:

1. lexical: BM25 over jieba words and over character 1-2-grams of the title rows (best row counts), the
   same at a lower weight over the answer; each BM25 score is divided by the query's ideal score so the
   signals are on one scale. Entries with the same answer share their best title score (siblings).
2. fuzzy: the edit-distance ratio (rapidfuzz) between the query and the best title, for the top
   candidates only.
3. consensus: candidates whose answer is backed by the leading candidates' answers move up.
4. feedback: operators' clicks and "answered with this entry" raise the score by a small bounded factor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from knowledge_base.bm25 import Bm25Field, BoolArray, FloatArray, IntArray
from knowledge_base.consensus import AnswerConsensus
from knowledge_base.highlight import Span, mark_html, matched_spans
from knowledge_base.siblings import AnswerSiblings
from knowledge_base.text import (
    char_ngrams,
    compact,
    normalize,
    warm_up,
    weights_of,
    with_abbreviations_expanded,
    without_question_words,
    words,
)

EntryId = str
UnitId = int | str

DEFAULT_LIMIT = 10
# Only this many best lexical candidates get the fuzzy comparison and the consensus re-ranking.
RERANK_CANDIDATES = 60
# Results under this share of a perfect score are noise (a shared particle or two).
MIN_SCORE = 0.02
# Feedback raises a score by at most this fraction: it breaks near-ties but never outweighs relevance.
FEEDBACK_MAX_BOOST = 0.05
# Weighted feedback events that earn about 63% of the maximum boost.
FEEDBACK_SATURATION = 20.0
CLICK_WEIGHT = 1.0
ANSWERED_WITH_WEIGHT = 3.0


@dataclass(frozen=True)
class RankingWeights:
    """Weights of the ranking signals (round values, checked on synthetic and split dev queries)."""

    title_words: float = 1.0
    title_chars: float = 1.0
    answer_words: float = 0.3
    answer_chars: float = 0.3
    fuzzy: float = 0.5
    sibling: float = 0.9
    consensus: float = 1.0
    consensus_leaders: int = 5

    @property
    def perfect(self) -> float:
        """Return the score of an ideal match, used to scale scores to about 0..1."""
        return self.title_words + self.title_chars + self.answer_words + self.answer_chars + self.fuzzy


@dataclass(frozen=True)
class KnowledgeEntry:
    """One knowledge-base entry as the search index sees it."""

    id: EntryId
    question: str
    answer: str = ""
    similar_questions: tuple[str, ...] = ()
    category: str | None = None
    owner_unit_id: UnitId | None = None

    @property
    def phrasings(self) -> tuple[str, ...]:
        """Return the question followed by its similar phrasings, blanks left out."""
        return tuple(text for text in (self.question, *self.similar_questions) if text.strip())


@dataclass(frozen=True)
class Hit:
    """One ranked search result; highlights are half-open spans of the question."""

    entry_id: EntryId
    score: float
    question: str
    highlights: list[Span] = field(default_factory=list)

    @property
    def highlighted_question(self) -> str:
        """Return the question HTML-escaped, with the matched spans in <mark> tags."""
        return mark_html(self.question, self.highlights)


@dataclass
class _Slot:
    """Book-keeping of one indexed entry."""

    entry: KnowledgeEntry
    rows: list[int]


class SearchIndex:
    """In-memory hybrid search index; entries can be added, replaced and removed while it serves.

    Not thread-safe: call it from one thread (or one event loop), or guard writes with a lock.
    """

    def __init__(self, weights: RankingWeights | None = None) -> None:
        self.weights = weights or RankingWeights()
        self._title_words = Bm25Field()
        self._title_chars = Bm25Field()
        self._answer_words = Bm25Field()
        self._answer_chars = Bm25Field()
        self._siblings = AnswerSiblings()
        self._consensus = AnswerConsensus()
        self._slot_of: dict[EntryId, int] = {}
        self._slots: list[_Slot | None] = []
        self._free_slots: list[int] = []
        self._row_slot: IntArray = np.zeros(0, dtype=np.int64)
        self._row_text: list[str] = []
        self._free_rows: list[int] = []
        self._feedback: dict[EntryId, float] = {}

    @classmethod
    def build(cls, entries: Iterable[KnowledgeEntry], weights: RankingWeights | None = None) -> SearchIndex:
        """Return an index holding the given entries (later duplicates of an id replace earlier ones)."""
        index = cls(weights)
        warm_up()
        for entry in entries:
            index._index(entry, link_siblings=False)
        index._siblings.add_many([(slot, compact(index._entry(slot).answer)) for slot in index._slot_of.values()])
        return index

    def __len__(self) -> int:
        """Return the number of indexed entries."""
        return len(self._slot_of)

    def __contains__(self, entry_id: object) -> bool:
        """Tell whether an entry id is indexed."""
        return entry_id in self._slot_of

    def get(self, entry_id: EntryId) -> KnowledgeEntry | None:
        """Return the indexed version of an entry, if any."""
        slot = self._slot_of.get(entry_id)
        return None if slot is None else self._entry(slot)

    def upsert(self, entry: KnowledgeEntry) -> None:
        """Add an entry or replace the indexed version of it; the change is searchable at once."""
        self._index(entry, link_siblings=True)

    def remove(self, entry_id: EntryId) -> bool:
        """Drop an entry and its feedback from the index; return whether it was there."""
        self._feedback.pop(entry_id, None)
        return self._drop(entry_id)

    def adopt_feedback(self, other: SearchIndex) -> None:
        """Take over another index's feedback for the entries this one holds (when it replaces that index)."""
        self._feedback = {entry_id: events for entry_id, events in other._feedback.items() if entry_id in self}

    def record_click(self, entry_id: EntryId, times: int = 1) -> None:
        """Note that an operator opened this entry from a result list."""
        self._add_feedback(entry_id, CLICK_WEIGHT * times)

    def record_answered_with(self, entry_id: EntryId, times: int = 1) -> None:
        """Note that an operator answered a citizen with this entry (a stronger signal than a click)."""
        self._add_feedback(entry_id, ANSWERED_WITH_WEIGHT * times)

    def feedback_boost(self, entry_id: EntryId) -> float:
        """Return the relative boost (0 to FEEDBACK_MAX_BOOST) that the entry's feedback earns."""
        events = self._feedback.get(entry_id, 0.0)
        return FEEDBACK_MAX_BOOST * (1.0 - math.exp(-events / FEEDBACK_SATURATION))

    def search(
        self,
        query: str,
        limit: int = DEFAULT_LIMIT,
        category: str | None = None,
        owner_unit_id: UnitId | None = None,
    ) -> list[Hit]:
        """Return the best entries for a free-text query, best first, optionally filtered."""
        folded = normalize(query)
        if not folded.strip() or not self._slot_of or limit <= 0:
            return []
        topic = without_question_words(folded)
        lexical = self._lexical_scores(with_abbreviations_expanded(topic))
        if category is not None or owner_unit_id is not None:
            lexical[~self._filter_mask(category, owner_unit_id)] = 0.0
        compact_query = topic.replace(" ", "")
        relevance = {slot: self._with_fuzzy(slot, lexical[slot], compact_query) for slot in _top(lexical)}
        weights = self.weights
        self._consensus.rerank(relevance, weights.consensus, weights.consensus_leaders)
        scored = sorted(((self._boosted(slot, score), slot) for slot, score in relevance.items()), reverse=True)
        return [self._hit(slot, score, query) for score, slot in scored[:limit] if score >= MIN_SCORE]

    def _lexical_scores(self, folded_query: str) -> FloatArray:
        """Return per-slot weighted BM25 scores: the best title row (own or a sibling's) plus the answer."""
        weights = self.weights
        query_words = weights_of(words(folded_query))
        query_grams = weights_of(char_ngrams(folded_query))
        rows = len(self._row_text)
        titles = weights.title_words * _relative(self._title_words, query_words, rows)
        titles += weights.title_chars * _relative(self._title_chars, query_grams, rows)
        result = np.zeros(len(self._slots))
        matched = np.flatnonzero(titles)
        np.maximum.at(result, self._row_slot[matched], titles[matched])
        result = self._siblings.propagate(result, weights.sibling)
        result += weights.answer_words * _relative(self._answer_words, query_words, len(self._slots))
        result += weights.answer_chars * _relative(self._answer_chars, query_grams, len(self._slots))
        return result

    def _with_fuzzy(self, slot: int, lexical: float, compact_query: str) -> float:
        """Add the fuzzy match between the query and the entry's best title (or a sibling's)."""
        similarity = self._best_ratio(compact_query, slot)
        for sibling in self._siblings.of(slot):
            similarity = max(similarity, self.weights.sibling * self._best_ratio(compact_query, sibling))
        return lexical + self.weights.fuzzy * similarity / 100.0

    def _best_ratio(self, compact_query: str, slot: int) -> float:
        """Return the best edit-distance ratio (0-100) between the query and the slot's title rows."""
        return max((fuzz.ratio(compact_query, self._row_text[row]) for row in self._slot(slot).rows), default=0.0)

    def _boosted(self, slot: int, relevance: float) -> float:
        """Scale relevance to about 0..1 and apply the feedback boost."""
        scaled = relevance / self.weights.perfect
        return scaled * (1.0 + self.feedback_boost(self._entry(slot).id)) if self._feedback else scaled

    def _hit(self, slot: int, score: float, query: str) -> Hit:
        """Build the public result for one slot."""
        question = self._entry(slot).question
        return Hit(self._entry(slot).id, round(float(score), 6), question, matched_spans(query, question))

    def _filter_mask(self, category: str | None, owner_unit_id: UnitId | None) -> BoolArray:
        """Return a boolean array marking the live slots that pass the filters."""
        return np.fromiter(
            (
                data is not None
                and (category is None or data.entry.category == category)
                and (owner_unit_id is None or data.entry.owner_unit_id == owner_unit_id)
                for data in self._slots
            ),
            dtype=bool,
            count=len(self._slots),
        )

    def _index(self, entry: KnowledgeEntry, link_siblings: bool) -> None:
        """Index an entry in every field, replacing its previous version."""
        self._drop(entry.id)
        slot = self._free_slots.pop() if self._free_slots else len(self._slots)
        if slot == len(self._slots):
            self._slots.append(None)
        self._slots[slot] = _Slot(entry, [self._add_title_row(slot, text) for text in entry.phrasings])
        self._slot_of[entry.id] = slot
        answer = normalize(entry.answer)
        self._answer_words.add(slot, words(answer))
        self._answer_chars.add(slot, char_ngrams(answer))
        self._consensus.add(slot, answer)
        if link_siblings:
            self._siblings.add(slot, answer.replace(" ", ""))

    def _add_title_row(self, slot: int, phrasing: str) -> int:
        """Index one phrasing of an entry and return its row."""
        row = self._free_rows.pop() if self._free_rows else len(self._row_text)
        if row == len(self._row_text):
            self._row_text.append("")
            self._row_slot = _grown(self._row_slot, row + 1)
        folded = normalize(phrasing)
        self._row_slot[row] = slot
        topic = without_question_words(folded)
        self._row_text[row] = topic.replace(" ", "")
        self._title_words.add(row, words(topic))
        self._title_chars.add(row, char_ngrams(topic))
        return row

    def _drop(self, entry_id: EntryId) -> bool:
        """Remove an entry from every field (its feedback stays); return whether it existed."""
        slot = self._slot_of.pop(entry_id, None)
        if slot is None:
            return False
        for row in self._slot(slot).rows:
            self._title_words.discard(row)
            self._title_chars.discard(row)
            self._row_text[row] = ""
            self._free_rows.append(row)
        self._answer_words.discard(slot)
        self._answer_chars.discard(slot)
        self._siblings.discard(slot)
        self._consensus.discard(slot)
        self._slots[slot] = None
        self._free_slots.append(slot)
        return True

    def _slot(self, slot: int) -> _Slot:
        """Return the book-keeping of a live slot."""
        data = self._slots[slot]
        if data is None:
            raise KeyError(slot)
        return data

    def _entry(self, slot: int) -> KnowledgeEntry:
        """Return the entry held by a live slot."""
        return self._slot(slot).entry

    def _add_feedback(self, entry_id: EntryId, events: float) -> None:
        """Accumulate weighted feedback events for an entry."""
        if events > 0:
            self._feedback[entry_id] = self._feedback.get(entry_id, 0.0) + events


def _relative(index: Bm25Field, terms: dict[str, float], size: int) -> FloatArray:
    """Return BM25 scores divided by the query's ideal score, so a full match scores about 1."""
    ideal = index.ideal_score(terms)
    scores = index.scores(terms, size)
    return scores / ideal if ideal > 0 else scores


def _top(scores: FloatArray) -> list[int]:
    """Return the indices of the highest positive scores, at most RERANK_CANDIDATES of them (unordered)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > RERANK_CANDIDATES:
        positive = positive[np.argpartition(scores[positive], -RERANK_CANDIDATES)[-RERANK_CANDIDATES:]]
    return [int(slot) for slot in positive]


def _grown(array: IntArray, size: int) -> IntArray:
    """Return the array, doubled in length if it is shorter than size."""
    if size <= len(array):
        return array
    grown = np.zeros(max(size, 2 * len(array), 64), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
