"""A short passage of an answer around the words a query matched, for result lists."""

from __future__ import annotations

from knowledge_base.highlight import mark_html, matched_spans

SNIPPET_LENGTH = 90
LEAD_IN = 12  # characters shown before the first match
MAX_SCANNED = 4000  # longer answers are searched for a passage in their beginning only


def snippet_html(query: str, text: str, length: int = SNIPPET_LENGTH) -> str:
    """Return the passage of text with the most matched characters, HTML-escaped, matches in <mark>."""
    text = " ".join(text[:MAX_SCANNED].split())
    spans = matched_spans(query, text)
    start = _best_start(spans, len(text), length)
    end = min(len(text), start + length)
    shifted = [(max(a, start) - start, min(b, end) - start) for a, b in spans if b > start and a < end]
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    return prefix + mark_html(text[start:end], shifted) + suffix


def _best_start(spans: list[tuple[int, int]], size: int, length: int) -> int:
    """Where the window holding the most matched characters begins (a little before its first match)."""
    best, best_covered = 0, -1
    for first, _ in spans:
        start = max(0, first - LEAD_IN)
        covered = sum(max(0, min(b, start + length) - max(a, start)) for a, b in spans)
        if covered > best_covered:
            best, best_covered = start, covered
    return min(best, max(0, size - length))
