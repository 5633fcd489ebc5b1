"""Finding known phrases (place names, keywords) in Chinese text, fast and with exact spans.

Text is folded first (full-width ASCII to half-width, ASCII upper case to lower case, whitespace
dropped) so that "梁园 区" and "梁园区" read alike; every folded character remembers where it came
from, so a match still points at the operator's own text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_FULL_WIDTH_OFFSET = 0xFEE0
_FOLD = (
    {code: code - _FULL_WIDTH_OFFSET for code in range(0xFF01, 0xFF5F)}  # ！..～ → !..~
    | {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
    | {code: code - _FULL_WIDTH_OFFSET + 32 for code in range(0xFF21, 0xFF3B)}  # Ａ..Ｚ → a..z
    | {0x3000: 0x20}  # ideographic space
)
_SPACE = re.compile(r"\s")
_NON_SPACE_RUN = re.compile(r"\S+")


def fold(text: str) -> str:
    """Fold width and ASCII case, one character for one character."""
    return text.translate(_FOLD)


@dataclass(frozen=True)
class Folded:
    """Folded text without whitespace, and the original position of each of its characters."""

    text: str
    offsets: tuple[int, ...] | None  # None: nothing was dropped, positions are the same

    @classmethod
    def of(cls, raw: str) -> Folded:
        """Fold raw text, dropping whitespace but remembering positions."""
        folded = fold(raw)
        if not _SPACE.search(folded):
            return cls(folded, None)
        runs = [(m.start(), m.group()) for m in _NON_SPACE_RUN.finditer(folded)]
        offsets = tuple(start + k for start, run in runs for k in range(len(run)))
        return cls("".join(run for _, run in runs), offsets)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the raw text that folded characters start..end came from."""
        if self.offsets is None:
            return start, end
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass(frozen=True)
class Hit(Generic[T]):
    """A phrase found at start..end of the folded text."""

    start: int
    end: int
    phrase: str
    value: T


class PhraseIndex(Generic[T]):
    """Leftmost-longest, non-overlapping search for many phrases at once (phrases indexed by first character)."""

    def __init__(self, phrases: Mapping[str, T]) -> None:
        self._values = {fold(phrase): value for phrase, value in phrases.items() if phrase}
        by_first: dict[str, list[str]] = {}
        for phrase in self._values:
            by_first.setdefault(phrase[0], []).append(phrase)
        self._by_first = {first: sorted(group, key=len, reverse=True) for first, group in by_first.items()}

    def __len__(self) -> int:
        return len(self._values)

    def find(self, text: str) -> list[Hit[T]]:
        """Every phrase in folded text, the longest one wherever several start at the same place."""
        hits: list[Hit[T]] = []
        i, n = 0, len(text)
        while i < n:
            for phrase in self._by_first.get(text[i], ()):
                if text.startswith(phrase, i):
                    hits.append(Hit(i, i + len(phrase), phrase, self._values[phrase]))
                    i += len(phrase)
                    break
            else:
                i += 1
        return hits
