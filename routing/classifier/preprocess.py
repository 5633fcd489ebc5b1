"""Chinese preprocessing that makes raw citizen text and pre-segmented text look alike.

Raw messages (title + body with punctuation, numbers, phone numbers, place codes such as
"A市A1区") and the publisher's word-segmented copies (space-separated, stopwords removed) both
become the same kind of token list: jieba words, numbers and place codes replaced by placeholder
tokens, punctuation and stopwords dropped.

Already-segmented text is first re-joined (spaces between Chinese characters removed) and then
segmented again, so both forms go through one segmenter instead of two. The segmenter is jieba's
algorithm, dictionary and HMM as compiled by rjieba (jieba-rs): the same Chinese words as the
pure-Python jieba at about twenty times its speed, which keeps long messages inside the latency
budget. Runs of letters and digits are split into their alphanumeric pieces ("2003-2020" is two
numbers), as jieba does.
"""

from __future__ import annotations

import re
import unicodedata

import rjieba

from routing.classifier.stopwords import STOPWORDS

NUMBER_TOKEN = "_num_"
PHONE_TOKEN = "_phone_"
PLACE_CODE_TOKEN = "_place_"

# Messages are cut to this many characters before segmentation: it bounds predict latency (the
# segmenter takes ~0.1 ms per 1,000 characters; the n-gram features take most of the rest).
# 700 raw characters hold ~400 characters of stopword-free text; 5-fold cross-validation cut
# that short lost 0.001 macro-F1 against untruncated text.
MAX_CHARS = 700
_SEGMENTED_SLACK = 2

_HAN_FIRST, _HAN_LAST = "\u4e00", "\u9fff"
_HAN = f"{_HAN_FIRST}-{_HAN_LAST}"
_BETWEEN_HAN_SPACE = re.compile(rf"(?<=[{_HAN}])\s+(?=[{_HAN}])")
_EXCEL_CR = re.compile(r"_x000[dD]_")
# ASCII-only classes: with \w the e-mail pattern would rescan every run of Chinese text (quadratic).
_URL = r"(?:https?://|www\.)[A-Za-z0-9./?=&%#:~+_-]*"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+"
_URL_OR_EMAIL = re.compile(f"{_URL}|{_EMAIL}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_NUMBER = re.compile(r"\d+")
# Anonymised place codes of the public data ("A市", "A1区", "K8县") and plain unit letters.
_PLACE_CODE = re.compile(r"[A-Z]\d{0,3}")
_WORD_CHAR = re.compile(rf"[{_HAN}A-Za-z0-9]")
_HAN_CHAR = re.compile(rf"[{_HAN}]")
_ALPHANUMERIC_RUN = re.compile(r"[A-Za-z0-9]+")


def normalize(text: str) -> str:
    """Unify width and compatibility forms, drop export artefacts, URLs and e-mail addresses."""
    text = unicodedata.normalize("NFKC", text)
    text = _EXCEL_CR.sub(" ", text)
    return _URL_OR_EMAIL.sub(" ", text)


def join_segmented(text: str) -> str:
    """Remove the spaces a word segmenter put between Chinese characters."""
    return _BETWEEN_HAN_SPACE.sub("", text)


def _canonical_tokens(token: str) -> list[str]:
    """Map one segmenter token to its feature forms (none when it carries no meaning)."""
    if token and _HAN_FIRST <= token[0] <= _HAN_LAST:  # the common case, a Chinese word: fast path
        return [] if token in STOPWORDS else [token]
    if not _WORD_CHAR.search(token):
        return []
    if _HAN_CHAR.search(token):  # a dictionary word led by a letter: "X光", "B超"
        return [token.lower()]
    pieces = (_canonical_token(piece) for piece in _ALPHANUMERIC_RUN.findall(token))
    return [piece for piece in pieces if piece is not None]


def _canonical_token(token: str) -> str | None:
    """Map one run of letters and digits to its feature form, or None for a stopword."""
    if _MOBILE.fullmatch(token):
        return PHONE_TOKEN
    if _NUMBER.fullmatch(token):
        return NUMBER_TOKEN
    if _PLACE_CODE.fullmatch(token):
        return PLACE_CODE_TOKEN
    token = token.lower()
    return None if token in STOPWORDS else token


def tokenize(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Turn raw or pre-segmented citizen text into the token list the model sees."""
    # Normalise only what can survive the cut (segmented text shrinks when its spaces go).
    text = join_segmented(normalize(text[: max_chars * _SEGMENTED_SLACK]))[:max_chars]
    return [token for word in rjieba.cut(text, True) for token in _canonical_tokens(word)]


def preprocess(text: str, max_chars: int = MAX_CHARS) -> str:
    """Return the space-joined token string used as model input."""
    return " ".join(tokenize(text, max_chars))
