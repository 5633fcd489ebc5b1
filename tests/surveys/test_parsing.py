"""Reading answers: digits (plain, full-width, circled), Chinese words, mixed, free text; never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.surveys.parsing import ParsedAnswer, Question, Satisfaction, parse_answer, parse_keypad

S = Satisfaction


@pytest.mark.parametrize(
    ("text", "resolved", "satisfaction"),
    [
        ("12", True, S.SATISFIED),
        ("1 5", True, S.VERY_DISSATISFIED),
        ("2，4", False, S.DISSATISFIED),
        ("１２", True, S.SATISFIED),  # full-width digits
        ("１　３", True, S.BASICALLY_SATISFIED),  # and a full-width space
        ("一二", True, S.SATISFIED),
        ("非常满意", None, S.VERY_SATISFIED),
        ("非常不满意", None, S.VERY_DISSATISFIED),
        ("不满意", None, S.DISSATISFIED),
        ("基本满意吧", None, S.BASICALLY_SATISFIED),
        ("满意，已解决", True, S.SATISFIED),
        ("问题没有解决，很不满意", False, S.VERY_DISSATISFIED),
        ("解决不了，不满", False, S.DISSATISFIED),
        ("满意 1", True, S.SATISFIED),  # a word and a digit for the other question
        ("1", True, None),  # the first open question
    ],
)
def test_answers(text: str, resolved: bool | None, satisfaction: Satisfaction | None) -> None:
    parsed = parse_answer(text)
    assert (parsed.resolved, parsed.satisfaction) == (resolved, satisfaction)


def test_digits_fill_the_questions_still_open() -> None:
    assert parse_answer("4", open_questions=(Question.SATISFACTION,)).satisfaction is S.DISSATISFIED
    assert parse_answer("3", open_questions=(Question.RESOLVED,)).invalid_digits  # only 1 or 2 there


@pytest.mark.parametrize("text", ["7", "3 6", "0", "12 5"])
def test_digits_no_question_allows_are_asked_again(text: str) -> None:
    parsed = parse_answer(text)
    assert parsed.invalid_digits and not parsed.answers_something and not parsed.is_free_text


@pytest.mark.parametrize("text", ["路灯还是不亮", "13900139000", "2026年了还没修", "谢谢"])
def test_free_text_is_for_a_person(text: str) -> None:
    parsed = parse_answer(text)
    assert parsed.is_free_text and parsed.comment


def test_a_comment_beside_the_answer_is_kept() -> None:
    assert parse_answer("12 修得很及时").comment == "修得很及时"
    assert parse_answer("非常满意").comment is None


@pytest.mark.parametrize(
    ("key", "question", "value"),
    [
        ("1", Question.RESOLVED, True),
        ("2", Question.RESOLVED, False),
        ("5", Question.SATISFACTION, S.VERY_DISSATISFIED),
        ("3", Question.RESOLVED, None),
        ("12", Question.SATISFACTION, None),
        ("*", Question.SATISFACTION, None),
    ],
)
def test_keypad(key: str, question: Question, value: object) -> None:
    assert parse_keypad(question, key) == value


@given(st.text(max_size=200))
def test_any_text_reads_without_error(text: str) -> None:
    parsed = parse_answer(text)
    assert isinstance(parsed, ParsedAnswer)
    assert parsed.answers_something or parsed.invalid_digits or parsed.is_free_text or parsed.comment is None
