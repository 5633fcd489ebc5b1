"""Staff's part in surveys: an operator's call recorded on a form, and supervisors judging bad ratings.

A bad rating judged reasonable sends the order back to its unit through the lifecycle service
(``Action.REWORK``, so the rules and the history stay in one place), counts against the unit and
is told to the citizen; judged unreasonable, it is excluded from scoring with the reason. A second
bad rating after such a rework is judged at the second level: by a senior supervisor
(``HOTLINE_SURVEY_SENIOR_SUPERVISORS``), or, when none is named, by a supervisor other than the one
who judged the first.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.channels.outbound import notify_citizen
from hotline.errors import Conflict, Forbidden, InvalidInput, NotFound
from hotline.surveys import questions, repository, service
from hotline.surveys.models import CallbackSurvey, ResponseOutcome, ReviewStatus, SurveyMethod, SurveyStatus
from hotline.surveys.parsing import Satisfaction
from hotline.surveys.service import SurveyPolicy, Taken
from hotline.tickets import service as tickets
from hotline.tickets.lifecycle import Action

RECORDING_ROLES = frozenset({Role.OPERATOR, Role.SUPERVISOR})


async def _survey(session: AsyncSession, survey_id: int) -> CallbackSurvey:
    survey = await repository.get_locked(session, survey_id=survey_id)
    if survey is None:
        raise NotFound("回访不存在", f"survey {survey_id} not found")
    return survey


async def record_call(
    session: AsyncSession,
    *,
    survey_id: int,
    user: CurrentUser,
    resolved: bool | None,
    satisfaction: Satisfaction | None,
    comment: str | None,
    now: datetime,
) -> CallbackSurvey:
    """An operator's call (or a supervisor reading free text) gives the survey's answers; recorded once."""
    if user.role not in RECORDING_ROLES:
        raise Forbidden("当前角色不能记录回访结果", f"role {user.role} may not record survey answers")
    service.require_some_answer(resolved, satisfaction)
    survey = await _survey(session, survey_id)
    service.refuse_closed(survey)
    if survey.status == SurveyStatus.NEEDS_READING and user.role is not Role.SUPERVISOR:
        raise Forbidden("群众的文字回复由督办员判读", "free-text answers are read by a supervisor")
    service.fill(survey, resolved=resolved, satisfaction=satisfaction)
    if comment and comment.strip():
        service.add_comment(survey, comment.strip())
    await service.conclude_answered(session, survey=survey, via=SurveyMethod.OPERATOR, user=user, now=now)
    text = "；".join(p for p in (_said(resolved, satisfaction), comment) if p)
    taken = Taken(ResponseOutcome.RECORDED, questions.thanks(satisfaction))
    await service.keep_response(
        session, survey=survey, channel="operator", text=text, taken=taken, now=now, user_id=user.id
    )
    return survey


def _said(resolved: bool | None, satisfaction: Satisfaction | None) -> str:
    parts = [] if resolved is None else [f"resolved={str(resolved).lower()}"]
    return ", ".join(parts + ([f"satisfaction={satisfaction}"] if satisfaction else []))


async def record_missed_call(
    session: AsyncSession, *, survey_id: int, user: CurrentUser, policy: SurveyPolicy, now: datetime
) -> CallbackSurvey:
    """An operator's call went unanswered; after the last attempt the survey is 未回访."""
    if user.role not in RECORDING_ROLES:
        raise Forbidden("当前角色不能记录回访结果", f"role {user.role} may not record survey attempts")
    survey = await _survey(session, survey_id)
    if survey.status != SurveyStatus.AWAITING:
        raise Conflict("该回访已结束", f"survey {survey.id} is {survey.status}")
    survey.attempts += 1
    survey.first_sent_at = survey.first_sent_at or now
    if survey.attempts >= policy.max_attempts:
        await service.expire(session, survey=survey, now=now)
    return survey


def _check_judge(
    survey: CallbackSurvey, user: CurrentUser, policy: SurveyPolicy, earlier: list[CallbackSurvey]
) -> None:
    if user.role is not Role.SUPERVISOR:
        raise Forbidden("只有督办员可以审核不满意评价", "only supervisors judge bad ratings")
    if survey.review_status != ReviewStatus.PENDING:
        raise Conflict("该评价不在待审核状态", f"survey {survey.id} has no pending review")
    if survey.review_level < 2:
        return
    if policy.senior_supervisors:
        if user.username not in policy.senior_supervisors:
            raise Forbidden("二次不满意须由上级督办员审核", "a second bad rating is judged by a senior supervisor")
    elif any(s.reviewed_by_id == user.id for s in earlier):
        raise Forbidden("二次不满意须由另一位督办员审核", "a second bad rating is judged by another supervisor")


async def judge(
    session: AsyncSession,
    *,
    survey_id: int,
    user: CurrentUser,
    reasonable: bool,
    reason: str | None,
    policy: SurveyPolicy,
    now: datetime,
) -> CallbackSurvey:
    """Judge a bad rating: reasonable → rework by the unit; unreasonable → excluded from scoring."""
    survey = await _survey(session, survey_id)
    earlier = await repository.earlier_reviews(session, ticket_id=survey.ticket_id, before_round=survey.round)
    _check_judge(survey, user, policy, earlier)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("审核须填写理由", "a judgement needs a reason")
    if reasonable:
        ticket = await tickets.act(
            session,
            ticket_id=survey.ticket_id,
            user=user,
            action=Action.REWORK,
            text=f"回访不满意，经审核诉求合理：{reason}",
            now=now,
        )
        assert ticket.id is not None
        await notify_citizen(
            session, ticket_id=ticket.id, body=questions.rework_notice(ticket.number), key=f"survey:{survey.id}:rework"
        )
    survey.review_status = ReviewStatus.REASONABLE if reasonable else ReviewStatus.UNREASONABLE
    survey.reviewed_by_id, survey.reviewed_at, survey.review_reason = user.id, now, reason
    order = await service.locked_ticket(session, survey.ticket_id)
    payload = {
        "survey_id": survey.id,
        "judgement": survey.review_status,
        "level": survey.review_level,
        "reason": reason,
    }
    await service.history(session, order, "survey_judged", payload, now, user=user)
    return survey
