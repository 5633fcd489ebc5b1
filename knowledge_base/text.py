"""Chinese text handling for knowledge-base search: normalisation, word segmentation, n-grams."""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from types import ModuleType

# Function words that carry no topic; question words (多久, 哪些, ...) stay because they hint at the answer.
STOPWORDS = frozenset("的 了 和 与 及 或 对 对于 是 在 有 吗 呢 啊 吧 把 被 将 之 等 其 该 这 那 个".split())
# Variant characters that real-world texts mix with their standard simplified forms.
VARIANT_CHARS = str.maketrans({"後": "后", "裏": "里", "纔": "才"})
CHAR_CACHE_SIZE = 16384
# Generic interrogatives ("how", "what", "which") are interchangeable and say nothing about the topic, so they
# are blanked out before matching; those that ask for a time or amount (何时, 多久, 多少) stay.
QUESTION_WORDS_RE = re.compile("请问|怎么办|怎么样|怎么|怎样|如何|什么|哪些|有何|是否|吗|呢")

# Short forms citizens use for the names of programmes and bodies, and their full forms: a query with one
# also looks for the other (the index keeps the text as written).
ABBREVIATIONS = (
    ("社保", "社会保险"),
    ("医保", "医疗保险"),
    ("公积金", "住房公积金"),
    ("个税", "个人所得税"),
    ("发改委", "发展和改革委员会"),
    ("人社", "人力资源和社会保障"),
    ("卫健委", "卫生健康委员会"),
)

_RUN_RE = re.compile(r"\S+")
_jieba_lock = threading.Lock()
_jieba_module: ModuleType | None = None


def _fold_char(char: str) -> str:
    """Fold one character to its half-width, lower-case form; punctuation, symbols and spaces become a space."""
    folded = unicodedata.normalize("NFKC", char)
    if len(folded) != 1:
        folded = char
    if unicodedata.category(folded)[0] in "PSZC":
        return " "
    return folded.lower().translate(VARIANT_CHARS)


_fold_cached = lru_cache(maxsize=CHAR_CACHE_SIZE)(_fold_char)


def normalize(text: str) -> str:
    """Return text folded character by character, so offsets still match the original string."""
    return "".join(map(_fold_cached, text))


def with_abbreviations_expanded(text: str) -> str:
    """Return the text followed by the other form of each short or full name it contains."""
    extra = []
    for short, full in ABBREVIATIONS:
        if full in text:
            extra.append(short)
        elif short in text:
            extra.append(full)
    return f"{text} {' '.join(extra)}" if extra else text


def without_question_words(text: str) -> str:
    """Blank out generic interrogatives, keeping the text's length."""
    return QUESTION_WORDS_RE.sub(lambda match: " " * len(match.group()), text)


def compact(text: str) -> str:
    """Return the normalised text without spaces (for edit-distance comparisons)."""
    return normalize(text).replace(" ", "")


def _jieba() -> ModuleType:
    """Import and initialise jieba once, without its start-up messages."""
    global _jieba_module
    if _jieba_module is None:
        with _jieba_lock:
            if _jieba_module is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_module = jieba
    return _jieba_module


def warm_up() -> None:
    """Load the segmentation dictionary now rather than on the first query."""
    _jieba()


def words(text: str) -> list[str]:
    """Return jieba search-mode words (long words plus their sub-words) of normalised text, minus stopwords."""
    jieba = _jieba()
    found = (word for run in _RUN_RE.findall(text) for word in jieba.lcut_for_search(run))
    return [word for word in found if word not in STOPWORDS]


def char_ngrams(text: str, sizes: Iterable[int] = (1, 2)) -> list[str]:
    """Return character n-grams of each space-separated run; n-grams never span punctuation."""
    grams: list[str] = []
    runs = _RUN_RE.findall(text)
    for size in sizes:
        for run in runs:
            grams.extend(run[i : i + size] for i in range(len(run) - size + 1))
    return grams


def weights_of(terms: Iterable[str]) -> dict[str, float]:
    """Return each distinct query term with weight 1 (repeats in a short query carry no extra meaning)."""
    return dict.fromkeys(terms, 1.0)
