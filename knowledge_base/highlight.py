"""Spans of a question that match a query, for display to operators."""

from __future__ import annotations

import html
from collections.abc import Sequence

from knowledge_base.text import STOPWORDS, normalize, without_question_words

Span = tuple[int, int]
# Shortest shared substring worth marking; single characters only when the query is one character.
MIN_MARKED_LENGTH = 2


def matched_spans(query: str, text: str) -> list[Span]:
    """Return half-open (start, end) spans of text whose characters also occur as n-grams of the query."""
    folded_query = without_question_words(normalize(query))
    folded_text = normalize(text)
    size = MIN_MARKED_LENGTH if len(folded_query.replace(" ", "")) >= MIN_MARKED_LENGTH else 1
    grams = {folded_query[i : i + size] for i in range(len(folded_query) - size + 1)}
    grams = {gram for gram in grams if " " not in gram and gram not in STOPWORDS}
    marked = [False] * len(folded_text)
    for start in range(len(folded_text) - size + 1):
        if folded_text[start : start + size] in grams:
            marked[start : start + size] = [True] * size
    return _runs(marked)


def _runs(marked: Sequence[bool]) -> list[Span]:
    """Collapse a per-character mask into maximal half-open spans."""
    spans: list[Span] = []
    start: int | None = None
    for position, flag in enumerate([*marked, False]):
        if flag and start is None:
            start = position
        elif not flag and start is not None:
            spans.append((start, position))
            start = None
    return spans


def mark_html(text: str, spans: Sequence[Span]) -> str:
    """Return text HTML-escaped, with each span wrapped in <mark> tags."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        parts.append(html.escape(text[position:start]))
        parts.append(f"<mark>{html.escape(text[start:end])}</mark>")
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts)
