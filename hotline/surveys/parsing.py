"""Reading a citizen's answer to the callback survey: digits, Chinese words, full-width forms, free text.

Pure functions, no I/O. The survey asks two questions in a fixed order, whether the matter was
resolved and how satisfied the citizen is; an answer may give both, one, or neither (free text).
Words are recognised anywhere in the text ("不满意，还是没解决"); digits only as the answer itself
or at its start ("1 2", "１２", "12 谢谢"), and fill the questions still open, in order.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Satisfaction(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"
    VERY_DISSATISFIED = "very_dissatisfied"


SATISFACTION_LABELS_ZH = {
    Satisfaction.VERY_SATISFIED: "非常满意",
    Satisfaction.SATISFIED: "满意",
    Satisfaction.BASICALLY_SATISFIED: "基本满意",
    Satisfaction.DISSATISFIED: "不满意",
    Satisfaction.VERY_DISSATISFIED: "非常不满意",
}
SATISFACTION_BY_DIGIT = dict(enumerate(Satisfaction, start=1))  # 1 非常满意 … 5 非常不满意
SATISFIED_LEVELS = frozenset({Satisfaction.VERY_SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED})
BAD_LEVELS = frozenset({Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED})
RESOLVED_BY_DIGIT = {1: True, 2: False}
RESOLVED_LABELS_ZH = {True: "已解决", False: "未解决"}


class Question(StrEnum):
    RESOLVED = "resolved"
    SATISFACTION = "satisfaction"


QUESTION_ORDER = (Question.RESOLVED, Question.SATISFACTION)

SATISFACTION_WORDS: dict[str, Satisfaction] = {
    **dict.fromkeys(("非常不满意", "很不满意", "特别不满意", "十分不满意", "极不满意"), Satisfaction.VERY_DISSATISFIED),
    **dict.fromkeys(("不太满意", "不满意", "不满", "差评"), Satisfaction.DISSATISFIED),
    **dict.fromkeys(("基本满意", "比较满意", "还算满意", "一般", "还行", "还可以"), Satisfaction.BASICALLY_SATISFIED),
    **dict.fromkeys(("非常满意", "很满意", "特别满意", "十分满意"), Satisfaction.VERY_SATISFIED),
    **dict.fromkeys(("满意", "好评"), Satisfaction.SATISFIED),
}
RESOLVED_WORDS: dict[str, bool] = {
    **dict.fromkeys(
        (
            "未解决",
            "没解决",
            "没有解决",
            "不解决",
            "解决不了",
            "无法解决",
            "没法解决",
            "未得到解决",
            "没有得到解决",
            "没得到解决",
            "未处理",
            "没处理",
        ),
        False,
    ),
    **dict.fromkeys(("已解决", "已经解决", "解决了", "得到解决", "已处理", "处理好了", "解决"), True),
}
CHINESE_DIGITS = {"一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5"}


def _alternation(words: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


# One pattern for both vocabularies, longest first: "非常不满意" before "不满意" before "满意".
WORDS = _alternation([*SATISFACTION_WORDS, *RESOLVED_WORDS])
SEPARATORS = r"[\s,.;:/、，。；：\-]*"
LEADING_DIGITS = re.compile(rf"^\s*([0-9])(?:{SEPARATORS}([0-9]))?(?![0-9])")
MORE_DIGITS = re.compile(rf"^{SEPARATORS}[0-9]")
ONLY_CHINESE_DIGITS = re.compile(r"^[一二两三四五]{1,2}$")
FILLER = re.compile(r"[\s\W_]+")
MAX_COMMENT = 1000


@dataclass(frozen=True)
class ParsedAnswer:
    """What an answer says; ``comment`` is whatever text is left once the answers are taken out."""

    resolved: bool | None = None
    satisfaction: Satisfaction | None = None
    comment: str | None = None
    invalid_digits: bool = False  # digits that fit no open question (e.g. "7"): ask again

    @property
    def answers_something(self) -> bool:
        return self.resolved is not None or self.satisfaction is not None

    @property
    def is_free_text(self) -> bool:
        """Only words a person must read: no answer the machine could take."""
        return not self.answers_something and not self.invalid_digits and self.comment is not None


def normalize(text: str) -> str:
    """Full-width digits, letters and punctuation to their plain forms (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_answer(text: str, *, open_questions: tuple[Question, ...] = QUESTION_ORDER) -> ParsedAnswer:
    """Read an answer to the questions still open, in their order."""
    text = normalize(text)
    if ONLY_CHINESE_DIGITS.match(text):
        text = "".join(CHINESE_DIGITS[c] for c in text)
    resolved: bool | None = None
    satisfaction: Satisfaction | None = None
    for match in WORDS.finditer(text):
        word = match.group(0)
        if word in SATISFACTION_WORDS and satisfaction is None:
            satisfaction = SATISFACTION_WORDS[word]
        elif word in RESOLVED_WORDS and resolved is None:
            resolved = RESOLVED_WORDS[word]
    rest = WORDS.sub(" ", text)
    digits_match = LEADING_DIGITS.match(rest)
    invalid = False
    if digits_match:
        digits = [int(d) for d in digits_match.groups() if d is not None]
        rest = rest[digits_match.end() :]
        waiting = [q for q in open_questions if (resolved if q is Question.RESOLVED else satisfaction) is None]
        if len(digits) > len(waiting) or MORE_DIGITS.match(rest):
            invalid = True
        for question, digit in zip(waiting, digits, strict=False):
            if question is Question.RESOLVED and digit in RESOLVED_BY_DIGIT:
                resolved = RESOLVED_BY_DIGIT[digit]
            elif question is Question.SATISFACTION and digit in SATISFACTION_BY_DIGIT:
                satisfaction = SATISFACTION_BY_DIGIT[digit]
            else:
                invalid = True
        if invalid:
            resolved = satisfaction = None  # a half-valid digit answer is not trusted: ask again
    return ParsedAnswer(resolved, satisfaction, _comment(text, rest), invalid)


def _comment(text: str, rest: str) -> str | None:
    """The citizen's words (without a leading digit answer), if more than the answers was said."""
    if not FILLER.sub("", rest):
        return None
    leading = LEADING_DIGITS.match(text)
    words = text[leading.end() :] if leading else text
    return " ".join(words.split())[:MAX_COMMENT].strip(" ,.;:、，。；：") or None


def parse_keypad(question: Question, digits: str) -> bool | Satisfaction | None:
    """A keypad answer (voice call) to one question, or None when the key means nothing there."""
    digits = normalize(digits)
    if len(digits) != 1 or not digits.isdigit():
        return None
    if question is Question.RESOLVED:
        return RESOLVED_BY_DIGIT.get(int(digits))
    return SATISFACTION_BY_DIGIT.get(int(digits))
