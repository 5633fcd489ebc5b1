"""The automated survey call: TwiML questions answered on the keypad (``POST /channels/twilio/voice/survey``).

The outbox asks Twilio to call the citizen with our webhook as the call's URL (``?survey=<id>``).
Twilio posts there when the call is answered and again with ``Digits`` after each question. Every
request is checked against ``X-Twilio-Signature`` like the SMS webhook. A keypad answer is kept
once per call, question and try, so a retried webhook records nothing twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels.inputs import ChannelNotConfigured, first
from hotline.channels.twilio_sms import authenticate
from hotline.config import Settings
from hotline.surveys import questions, repository, service
from hotline.surveys.models import CallbackSurvey, ResponseOutcome, SurveyMethod
from hotline.surveys.parsing import ParsedAnswer, Question, Satisfaction, parse_keypad
from hotline.surveys.service import VOICE_WEBHOOK_PATH, Taken

MAX_KEYPAD_TRIES = 3
GATHER_TIMEOUT_SECONDS = 8
LANGUAGE = "zh-CN"


@dataclass(frozen=True)
class CallStep:
    """Where a call is: which survey, the question just asked (if any), the key pressed, the try."""

    survey_id: int
    question: Question | None
    digits: str | None
    tries: int
    call_sid: str

    @classmethod
    def parse(cls, query: Mapping[str, str], form: list[tuple[str, str]]) -> CallStep | None:
        """The step of a webhook request, or None when it names no survey."""
        survey = query.get("survey", "")
        question = query.get("question")
        if not survey.isdigit() or question not in (None, *Question.__members__.values()):
            return None
        tries = query.get("try", "1")
        return cls(
            survey_id=int(survey),
            question=Question(question) if question else None,
            digits=first(form, "Digits") or None,
            tries=int(tries) if tries.isdigit() else 1,
            call_sid=first(form, "CallSid")[:64],
        )


def check_signature(settings: Settings, *, url: str, form: list[tuple[str, str]], headers: Mapping[str, str]) -> None:
    """Refuse (403) a request that Twilio did not sign for our public URL, as for SMS."""
    if settings.twilio_auth_token is None:
        raise ChannelNotConfigured("语音回访未配置", "automated survey calls are not configured")
    authenticate(settings, url=url, params=form, headers=headers)


def _say(text: str) -> str:
    return f'<Say language="{LANGUAGE}">{escape(text)}</Say>'


def _response(inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


def goodbye(text: str) -> str:
    """Say something and hang up."""
    return _response(_say(text) + "<Hangup/>")


def ask(public_url: str, survey_id: int, question: Question, tries: int, lead: str = "") -> str:
    """A question as a one-key <Gather> posting back to this webhook."""
    action = f"{public_url}{VOICE_WEBHOOK_PATH}?" + urlencode(
        {"survey": survey_id, "question": question.value, "try": tries}
    )
    gather = (
        f'<Gather input="dtmf" numDigits="1" timeout="{GATHER_TIMEOUT_SECONDS}" method="POST" '
        f"action={quoteattr(action)}>{_say(lead + questions.VOICE_PROMPTS[question])}</Gather>"
    )
    return _response(gather + _say(questions.VOICE_NO_INPUT) + "<Hangup/>")


async def answer_call(session: AsyncSession, *, step: CallStep, public_url: str, now: datetime) -> str:
    """Take the key just pressed (if any) and return the TwiML of what the caller hears next."""
    survey = await repository.get_locked(session, survey_id=step.survey_id)
    if survey is None or survey.method != SurveyMethod.VOICE:
        return goodbye(questions.VOICE_ENDED)
    open_to_answers = survey.status in repository.OPEN_TO_ANSWERS
    if step.question is None or step.digits is None:
        if not open_to_answers or not service.open_questions(survey):
            return goodbye(questions.VOICE_ENDED)
        return ask(public_url, survey.id or 0, service.open_questions(survey)[0], 1, questions.VOICE_GREETING)
    value = parse_keypad(step.question, step.digits)
    taken = _taken(survey, step.question, value, open_to_answers)
    kept = await service.keep_response(
        session,
        survey=survey,
        channel="voice",
        text=step.digits,
        taken=taken,
        now=now,
        external_id=f"{step.call_sid}:{step.question.value}:{step.tries}",
    )
    if kept is not None and taken.outcome in (ResponseOutcome.RECORDED, ResponseOutcome.PARTIAL):
        await _record(session, survey, step.question, value, now)
    return _next(survey, step, taken, public_url)


def _taken(survey: CallbackSurvey, question: Question, value: bool | Satisfaction | None, open_: bool) -> Taken:
    if not open_:
        return Taken(ResponseOutcome.DUPLICATE if survey.status == "answered" else ResponseOutcome.LATE, "")
    if value is None:
        return Taken(ResponseOutcome.UNCLEAR, questions.VOICE_NOT_UNDERSTOOD)
    parsed = ParsedAnswer(
        resolved=value if question is Question.RESOLVED and isinstance(value, bool) else None,
        satisfaction=value if isinstance(value, Satisfaction) else None,
    )
    still_open = [q for q in service.open_questions(survey) if q is not question]
    outcome = ResponseOutcome.PARTIAL if still_open else ResponseOutcome.RECORDED
    return Taken(outcome, questions.VOICE_THANKS, parsed)


async def _record(
    session: AsyncSession, survey: CallbackSurvey, question: Question, value: bool | Satisfaction | None, now: datetime
) -> None:
    if question is Question.RESOLVED and isinstance(value, bool):
        service.fill(survey, resolved=value, satisfaction=None)
    elif isinstance(value, Satisfaction):
        service.fill(survey, resolved=None, satisfaction=value)
    survey.next_attempt_at = None  # reached: no more calls
    if not service.open_questions(survey):
        await service.conclude_answered(session, survey=survey, via=SurveyMethod.VOICE, user=None, now=now)


def _next(survey: CallbackSurvey, step: CallStep, taken: Taken, public_url: str) -> str:
    assert step.question is not None
    if taken.outcome in (ResponseOutcome.DUPLICATE, ResponseOutcome.LATE):
        return goodbye(questions.VOICE_ENDED)
    if taken.outcome is ResponseOutcome.UNCLEAR:
        if step.tries >= MAX_KEYPAD_TRIES:
            return goodbye(questions.VOICE_NO_INPUT)
        return ask(public_url, survey.id or 0, step.question, step.tries + 1, questions.VOICE_NOT_UNDERSTOOD)
    missing = service.open_questions(survey)
    if missing and survey.status in repository.OPEN_TO_ANSWERS:
        return ask(public_url, survey.id or 0, missing[0], 1)
    return goodbye(questions.VOICE_THANKS)
