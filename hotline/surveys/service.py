"""Survey services: start a survey for a replied order, ask (and ask again), take answers, conclude.

Services never commit; the job, webhook or request that calls them commits once. The order is
closed by the system (``Action.CLOSE`` through the lifecycle service) once the citizen has answered,
the survey ran out (未回访), or the order was not drawn for a survey.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.service import CurrentUser
from hotline.channels.models import Channel
from hotline.citizens.models import IdentityKind
from hotline.citizens.service import identities_of
from hotline.config import Settings
from hotline.errors import Conflict, InvalidInput
from hotline.outbox.service import enqueue, enqueue_many
from hotline.supervision.notify import notice_rows, supervisors
from hotline.surveys import questions, repository, sampling
from hotline.surveys.models import (
    CallbackSurvey,
    ResponseOutcome,
    ReviewStatus,
    SurveyMethod,
    SurveyStatus,
)
from hotline.surveys.parsing import (
    BAD_LEVELS,
    QUESTION_ORDER,
    SATISFACTION_LABELS_ZH,
    ParsedAnswer,
    Question,
    Satisfaction,
    parse_answer,
)
from hotline.tickets import repository as ticket_repository
from hotline.tickets import service as tickets
from hotline.tickets.history import record_history
from hotline.tickets.lifecycle import Action, Status
from hotline.tickets.models import Ticket
from hotline.tickets.service import actor_of
from hotline.timefmt import to_local

VOICE_WEBHOOK_PATH = "/channels/twilio/voice/survey"
ORDER_STILL_SURVEYED = frozenset({Status.REPLIED, Status.CLOSED, Status.ARCHIVED})


@dataclass(frozen=True)
class SurveyPolicy:
    """How surveys are run, from the settings."""

    phone_method: SurveyMethod
    calling_hours: tuple[time, time]
    retry_after: timedelta
    max_attempts: int
    expire_after: timedelta
    default_percent: int
    senior_supervisors: frozenset[str]
    public_url: str
    batch_size: int

    def in_calling_hours(self, now: datetime) -> bool:
        start, end = self.calling_hours
        return start <= to_local(now).time() < end


def policy_from(settings: Settings) -> SurveyPolicy:
    """The survey policy in force."""
    start, _, end = settings.survey_calling_hours.partition("-")
    return SurveyPolicy(
        phone_method=SurveyMethod(settings.survey_phone_method),
        calling_hours=(time.fromisoformat(start.strip()), _end_of_span(end.strip())),
        retry_after=timedelta(minutes=settings.survey_retry_minutes),
        max_attempts=settings.survey_max_attempts,
        expire_after=timedelta(hours=settings.survey_expire_hours),
        default_percent=settings.survey_default_sample_percent,
        senior_supervisors=frozenset(settings.survey_senior_supervisors),
        public_url=settings.public_url.rstrip("/"),
        batch_size=settings.survey_batch_size,
    )


def _end_of_span(text: str) -> time:
    return time.max if text == "24:00" else time.fromisoformat(text)


# Starting ---------------------------------------------------------------------------------------


async def choose_method(
    session: AsyncSession, ticket: Ticket, phone_method: SurveyMethod
) -> tuple[SurveyMethod, str | None]:
    """How to reach the citizen: the channel they used, else SMS, else WeChat, else not at all."""
    if ticket.citizen_id is None:
        return SurveyMethod.NONE, None
    identities = {i.kind: i.value for i in await identities_of(session, citizen_id=ticket.citizen_id)}
    phone, openid = identities.get(IdentityKind.PHONE), identities.get(IdentityKind.WECHAT)
    if ticket.channel == Channel.WECHAT and openid:
        return SurveyMethod.WECHAT, openid
    if ticket.channel == Channel.PHONE and phone:
        return phone_method, phone
    if phone:
        return SurveyMethod.SMS, phone
    if openid:
        return SurveyMethod.WECHAT, openid
    return SurveyMethod.NONE, None


async def start_survey(
    session: AsyncSession, *, ticket: Ticket, policy: SurveyPolicy, now: datetime
) -> CallbackSurvey | None:
    """Create the survey of a replied order's current round (once), or close the order if none is due."""
    assert ticket.id is not None
    percent = await sampling.percent_for(
        session, unit_id=ticket.lead_unit_id, category_id=ticket.category_id, default=policy.default_percent
    )
    method, recipient = await choose_method(session, ticket, policy.phone_method)
    if not sampling.drawn(ticket.id, ticket.rework_count, percent):
        status = SurveyStatus.NOT_SAMPLED
    elif method is SurveyMethod.NONE:
        status = SurveyStatus.UNREACHED
    else:
        status = SurveyStatus.AWAITING
    operator = method is SurveyMethod.OPERATOR
    survey = await repository.insert_survey(
        session,
        {
            "ticket_id": ticket.id,
            "round": ticket.rework_count,
            "unit_id": ticket.lead_unit_id,
            "citizen_id": ticket.citizen_id,
            "method": method,
            "recipient": recipient,
            "status": status,
            "attempts": 0,
            "next_attempt_at": now if status is SurveyStatus.AWAITING and not operator else None,
            "expires_at": now + policy.expire_after if status is SurveyStatus.AWAITING and operator else None,
            "created_at": now,
            "concluded_at": None if status is SurveyStatus.AWAITING else now,
        },
    )
    if survey is None:
        return None
    if status is not SurveyStatus.AWAITING:
        await history(session, ticket, "survey_skipped", {"survey_id": survey.id, "status": status}, now)
        await close_order(session, ticket_id=ticket.id, now=now)
    return survey


# Asking -----------------------------------------------------------------------------------------


async def send_attempt(
    session: AsyncSession, *, survey: CallbackSurvey, ticket: Ticket, policy: SurveyPolicy, now: datetime
) -> bool:
    """Ask the citizen (again) through the outbox; False when the order went back to handling instead."""
    if ticket.status not in ORDER_STILL_SURVEYED:
        survey.status, survey.concluded_at, survey.next_attempt_at = SurveyStatus.CANCELLED, now, None
        return False
    survey.attempts += 1
    await enqueue(session, **_outbound(survey, ticket, policy))
    if survey.first_sent_at is None:
        survey.first_sent_at = now
        survey.expires_at = now + policy.expire_after
    more = survey.attempts < policy.max_attempts
    survey.next_attempt_at = now + policy.retry_after if more else None
    await history(
        session,
        ticket,
        "survey_sent",
        {"survey_id": survey.id, "method": survey.method, "attempt": survey.attempts},
        now,
    )
    return True


def _outbound(survey: CallbackSurvey, ticket: Ticket, policy: SurveyPolicy) -> dict[str, Any]:
    """The outbox row of one attempt, keyed by survey and attempt so a retried job never sends twice."""
    assert survey.recipient is not None
    payload: dict[str, Any] = {}
    if survey.method == SurveyMethod.WECHAT:
        payload = {"msgmenu": questions.wechat_menu(ticket.number)}
    elif survey.method == SurveyMethod.VOICE:
        payload = {"url": f"{policy.public_url}{VOICE_WEBHOOK_PATH}?survey={survey.id}"}
    return {
        "dedupe_key": f"survey:{survey.id}:attempt:{survey.attempts}",
        "channel": survey.method,
        "recipient": survey.recipient,
        "body": questions.text_question(ticket.number, survey.attempts),
        "ticket_id": ticket.id,
        "payload": payload,
    }


async def expire(session: AsyncSession, *, survey: CallbackSurvey, now: datetime) -> None:
    """Time is up: a partly answered survey keeps what it has, an unanswered one is 未回访."""
    partial = survey.resolved is not None or survey.satisfaction is not None
    if partial:
        await conclude_answered(session, survey=survey, via=survey.answered_via or survey.method, user=None, now=now)
        return
    survey.status, survey.concluded_at, survey.next_attempt_at = SurveyStatus.UNREACHED, now, None
    ticket = await locked_ticket(session, survey.ticket_id)
    await history(session, ticket, "survey_unreached", {"survey_id": survey.id, "attempts": survey.attempts}, now)
    await close_order(session, ticket_id=survey.ticket_id, now=now)


# Answers ----------------------------------------------------------------------------------------


def open_questions(survey: CallbackSurvey) -> tuple[Question, ...]:
    """The questions not answered yet, in the order they are asked."""
    answered = {Question.RESOLVED: survey.resolved is not None, Question.SATISFACTION: survey.satisfaction is not None}
    return tuple(q for q in QUESTION_ORDER if not answered[q])


@dataclass(frozen=True)
class Taken:
    """What became of one answer, and what the citizen is told."""

    outcome: ResponseOutcome
    reply: str
    parsed: ParsedAnswer | None = None


def fill(survey: CallbackSurvey, *, resolved: bool | None, satisfaction: Satisfaction | None) -> None:
    """Record answers to questions still open; an answer once recorded never changes."""
    if survey.resolved is None and resolved is not None:
        survey.resolved = resolved
    if survey.satisfaction is None and satisfaction is not None:
        survey.satisfaction = satisfaction


def add_comment(survey: CallbackSurvey, comment: str | None) -> None:
    if comment:
        survey.comment = f"{survey.comment}\n{comment}" if survey.comment else comment


async def take_text_answer(
    session: AsyncSession, *, survey: CallbackSurvey, text: str, via: str, now: datetime
) -> Taken:
    """Apply a citizen's written answer (SMS, WeChat) to a survey that still takes answers."""
    parsed = parse_answer(text, open_questions=open_questions(survey))
    if parsed.answers_something:
        fill(survey, resolved=parsed.resolved, satisfaction=parsed.satisfaction)
        add_comment(survey, parsed.comment)
        survey.answered_via = survey.answered_via or via
        survey.next_attempt_at = None  # the citizen is talking to us: no more reminders
        missing = open_questions(survey)
        if not missing:
            await conclude_answered(session, survey=survey, via=via, user=None, now=now)
            return Taken(ResponseOutcome.RECORDED, questions.thanks(_level(survey)), parsed)
        return Taken(ResponseOutcome.PARTIAL, questions.ask_missing(missing[0]), parsed)
    if parsed.is_free_text:
        add_comment(survey, parsed.comment)
        await needs_reading(session, survey=survey, now=now)
        return Taken(ResponseOutcome.FREE_TEXT, questions.FREE_TEXT_RECEIVED, parsed)
    return Taken(ResponseOutcome.UNCLEAR, questions.ask_again(), parsed)


def _level(survey: CallbackSurvey) -> Satisfaction | None:
    return Satisfaction(survey.satisfaction) if survey.satisfaction else None


async def needs_reading(session: AsyncSession, *, survey: CallbackSurvey, now: datetime) -> None:
    """Free text goes to a supervisor, who records what it means; the citizen has been reached."""
    if survey.status == SurveyStatus.NEEDS_READING:
        return
    survey.status, survey.next_attempt_at, survey.expires_at = SurveyStatus.NEEDS_READING, None, None
    survey.answered_at = now
    ticket = await locked_ticket(session, survey.ticket_id)
    await history(session, ticket, "survey_free_text", {"survey_id": survey.id, "comment": survey.comment}, now)
    await close_order(session, ticket_id=survey.ticket_id, now=now)


async def conclude_answered(
    session: AsyncSession, *, survey: CallbackSurvey, via: str, user: CurrentUser | None, now: datetime
) -> None:
    """The survey is complete (or as complete as it will get): record it, close the order, flag a bad rating."""
    survey.status, survey.concluded_at = SurveyStatus.ANSWERED, now
    survey.next_attempt_at = survey.expires_at = None
    survey.answered_via, survey.answered_by_id, survey.answered_at = via, user.id if user else None, now
    ticket = await locked_ticket(session, survey.ticket_id)
    payload = {
        "survey_id": survey.id,
        "resolved": survey.resolved,
        "satisfaction": survey.satisfaction,
        "satisfaction_label": SATISFACTION_LABELS_ZH.get(Satisfaction(survey.satisfaction))
        if survey.satisfaction
        else None,
        "via": via,
    }
    await history(session, ticket, "survey_answered", payload, now, user=user)
    await close_order(session, ticket_id=survey.ticket_id, now=now)
    if _level(survey) in BAD_LEVELS:
        await open_review(session, survey=survey, ticket=ticket)


async def open_review(session: AsyncSession, *, survey: CallbackSurvey, ticket: Ticket) -> None:
    """A bad rating waits for a supervisor; after a rework judged reasonable, for a senior one."""
    earlier = await repository.earlier_reviews(session, ticket_id=survey.ticket_id, before_round=survey.round)
    reworked = any(s.review_status == ReviewStatus.REASONABLE for s in earlier)
    survey.review_status, survey.review_level = ReviewStatus.PENDING, 2 if reworked else 1
    label = "二次不满意" if reworked else "不满意评价"
    rating = SATISFACTION_LABELS_ZH[Satisfaction(survey.satisfaction)] if survey.satisfaction else ""
    rows = [
        row
        for row in notice_rows(
            await supervisors(session),
            ticket_id=ticket.id,
            key=f"survey:{survey.id}:review",
            subject=f"【{label}待审核】工单 {ticket.number}",
            body=f"工单 {ticket.number}（{ticket.title}）回访评价为“{rating}”，请审核。",
        )
        if row["channel"] == "app"
    ]
    await enqueue_many(session, rows)


async def close_order(session: AsyncSession, *, ticket_id: int, now: datetime) -> bool:
    """Close the order (办结) as the system, if it is still waiting for its survey."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != Status.REPLIED:
        return False
    await tickets.act(session, ticket_id=ticket_id, user=None, action=Action.CLOSE, now=now)
    return True


async def keep_response(
    session: AsyncSession,
    *,
    survey: CallbackSurvey,
    channel: str,
    text: str,
    taken: Taken,
    now: datetime,
    message_id: int | None = None,
    external_id: str | None = None,
    user_id: int | None = None,
) -> int | None:
    """Keep what was said to the survey and what became of it; None if this exact response was kept before."""
    parsed = taken.parsed
    return await repository.insert_response(
        session,
        {
            "survey_id": survey.id,
            "channel": channel,
            "external_id": external_id,
            "message_id": message_id,
            "user_id": user_id,
            "text": text,
            "outcome": taken.outcome,
            "parsed": {
                "resolved": parsed.resolved if parsed else None,
                "satisfaction": parsed.satisfaction if parsed else None,
                "comment": parsed.comment if parsed else None,
            },
            "reply": taken.reply,
            "created_at": now,
        },
    )


def refuse_closed(survey: CallbackSurvey) -> None:
    """Answers are taken only while a survey is open."""
    if survey.status not in repository.OPEN_TO_ANSWERS:
        raise Conflict("该回访已结束，不能再记录结果", f"survey {survey.id} is {survey.status}")


def require_some_answer(resolved: bool | None, satisfaction: Satisfaction | None) -> None:
    if resolved is None and satisfaction is None:
        raise InvalidInput("请至少填写是否解决或满意度", "give whether it was resolved or the satisfaction")


async def locked_ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    """The survey's order, locked: its history is appended to."""
    ticket = await ticket_repository.get_locked(session, ticket_id=ticket_id)
    assert ticket is not None  # surveys reference their order
    return ticket


async def history(
    session: AsyncSession,
    ticket: Ticket,
    action: str,
    payload: dict[str, Any],
    now: datetime,
    user: CurrentUser | None = None,
) -> None:
    """Append a survey step to the order's history (shown with the order's other events)."""
    await record_history(session, ticket=ticket, action=action, actor=actor_of(user), payload=payload, at=now)
