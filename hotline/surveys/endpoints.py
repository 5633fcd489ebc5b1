"""Survey API: the review screen and its queues, operators' call forms, judging, sampling, scorecards;
and the automated call's webhook ``POST /channels/twilio/voice/survey``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.channels.inputs import parse_form, public_url, read_body
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings, audit, require_roles
from hotline.errors import InvalidInput, NotFound
from hotline.surveys import export, questions, repository, review, sampling, scorecards, views, voice
from hotline.surveys.models import CallbackSurvey, SurveySamplingRule
from hotline.surveys.schemas import (
    CallAnswerIn,
    JudgementIn,
    SamplingRuleIn,
    SamplingRuleView,
    ScorecardView,
    SurveyPage,
    SurveyView,
)
from hotline.surveys.service import policy_from
from hotline.tickets.models import Ticket
from hotline.timefmt import CHINA_TZ, LocalDateTime, to_local

router = APIRouter(prefix="/api/v1", tags=["surveys"])
voice_webhook = APIRouter(prefix="/channels", tags=["channels"])

Reader = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.AUDITOR))]
Staff = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.SUPERVISOR))]
Supervisor = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR))]
SystemAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]
MAX_PAGE_SIZE = 200
XML = "application/xml; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Listed = Annotated[str | None, Query(description="one value or several, comma-separated")]


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()


def _period(period: str | None, start: date | None, end: date | None) -> tuple[date, date]:
    """A month (``2026-11``) or a first and last day; the current month by default."""
    if period:
        try:
            first = date.fromisoformat(f"{period}-01")
        except ValueError as exc:
            raise InvalidInput("期间格式应为 YYYY-MM", "period must look like 2026-11") from exc
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        return first, following - timedelta(days=1)
    if start and end:
        if end < start:
            raise InvalidInput("结束日期不能早于开始日期", "the end is before the start")
        return start, end
    today = to_local(utcnow()).date()
    return _period(today.strftime("%Y-%m"), None, None)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=CHINA_TZ)


def _bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Instants from the first day's midnight to the midnight after the last day (China time)."""
    return (_day_start(first) if first else None, _day_start(last + timedelta(days=1)) if last else None)


async def _one(session: AsyncSession, survey_id: int) -> SurveyView:
    row = (
        await session.execute(
            select(CallbackSurvey, Ticket)
            .join(Ticket, col(Ticket.id) == col(CallbackSurvey.ticket_id))
            .where(col(CallbackSurvey.id) == survey_id)
        )
    ).first()
    if row is None:
        raise NotFound("回访不存在", f"survey {survey_id} not found")
    return (await views.survey_views(session, [tuple(row)]))[0]  # type: ignore[list-item]


@router.get("/surveys", response_model=SurveyPage)
async def list_surveys(
    _: Reader,
    db: DB,
    unit_id: int | None = None,
    hotline: Annotated[bool, Query(description="only orders the hotline answered directly")] = False,
    category_id: int | None = None,
    territory_unit_id: Annotated[
        int | None, Query(description="a district, street or community, with its children")
    ] = None,
    satisfaction: Listed = None,
    resolved: bool | None = None,
    status: Listed = None,
    review_status: Annotated[
        str | None, Query(description="pending, reasonable, unreasonable (comma-separated)")
    ] = None,
    review_level: Annotated[int | None, Query(ge=1, le=2)] = None,
    method: str | None = None,
    start: Annotated[date | None, Query(description="surveys from this day")] = None,
    end: Annotated[date | None, Query(description="to this day, inclusive")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> SurveyPage:
    """The satisfaction-return review screen (回访复核): surveys with their order, reply, answer and judgement.

    Queues are filters: bad ratings to judge ``review_status=pending`` (``review_level=2`` for the
    senior supervisor), free text to read ``status=needs_reading``, calls to make
    ``method=operator&status=awaiting``.
    """
    since, until = _bounds(start, end)
    filters = repository.SurveyFilters(
        unit_id=unit_id,
        hotline_only=hotline,
        category_id=category_id,
        territory_unit_id=territory_unit_id,
        satisfaction=_split(satisfaction),
        resolved=resolved,
        status=_split(status),
        review_status=_split(review_status),
        review_level=review_level,
        method=method,
        start=since,
        end=until,
    )
    async with db.read_session() as session:
        rows, total = await repository.list_surveys(session, filters=filters, page=page, page_size=page_size)
        items = await views.survey_views(session, rows)
    return SurveyPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/surveys/{survey_id}", response_model=SurveyView)
async def get_survey(survey_id: int, _: Reader, db: DB) -> SurveyView:
    """One survey with every response it received."""
    async with db.read_session() as session:
        return await _one(session, survey_id)


@router.post("/surveys/{survey_id}/answer", response_model=SurveyView)
async def record_call_answer(survey_id: int, body: CallAnswerIn, user: Staff, db: DB) -> SurveyView:
    """An operator records the answers of a callback call (or a supervisor what free text meant)."""
    async with db.session() as session:
        await review.record_call(
            session,
            survey_id=survey_id,
            user=user,
            resolved=body.resolved,
            satisfaction=body.satisfaction,
            comment=body.comment,
            now=utcnow(),
        )
        return await _one(session, survey_id)


@router.post("/surveys/{survey_id}/missed-call", response_model=SurveyView)
async def record_missed_call(survey_id: int, user: Staff, db: DB, settings: AppSettings) -> SurveyView:
    """An operator's callback call was not answered; after the last attempt the survey is 未回访."""
    async with db.session() as session:
        await review.record_missed_call(
            session, survey_id=survey_id, user=user, policy=policy_from(settings), now=utcnow()
        )
        return await _one(session, survey_id)


@router.post("/surveys/{survey_id}/judge", response_model=SurveyView)
async def judge_bad_rating(
    survey_id: int, body: JudgementIn, user: Supervisor, db: DB, settings: AppSettings
) -> SurveyView:
    """A supervisor judges a bad rating: reasonable → 重办 by the unit; unreasonable → excluded from scoring."""
    async with db.session() as session:
        await review.judge(
            session,
            survey_id=survey_id,
            user=user,
            reasonable=body.reasonable,
            reason=body.reason,
            policy=policy_from(settings),
            now=utcnow(),
        )
        return await _one(session, survey_id)


def _rule_view(rule: SurveySamplingRule) -> SamplingRuleView:
    return SamplingRuleView(
        id=rule.id or 0,
        unit_id=rule.unit_id,
        category_id=rule.category_id,
        percent=rule.percent,
        updated_at=rule.updated_at,
    )


@router.get("/survey-sampling-rules", response_model=list[SamplingRuleView])
async def list_sampling_rules(_: Reader, db: DB) -> list[SamplingRuleView]:
    """The share of orders surveyed per unit and/or category (the default applies elsewhere)."""
    async with db.read_session() as session:
        return [_rule_view(r) for r in await sampling.all_rules(session)]


@router.put("/survey-sampling-rules", response_model=SamplingRuleView)
async def set_sampling_rule(body: SamplingRuleIn, request: Request, user: SystemAdmin, db: DB) -> SamplingRuleView:
    """Add or change the rule for a unit and/or category; orders replied from now on follow it."""
    async with db.session() as session:
        rule = await sampling.set_rule(
            session,
            unit_id=body.unit_id,
            category_id=body.category_id,
            percent=body.percent,
            user_id=user.id,
            now=utcnow(),
        )
        audit(
            session,
            request,
            user,
            action="survey_sampling.changed",
            object_type="survey_sampling_rule",
            object_id=rule.id,
            detail=body.model_dump(),
        )
        return _rule_view(rule)


PeriodQuery = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", description="a month, e.g. 2026-11")]


AsOf = Annotated[LocalDateTime | None, Query(description="evaluate as of this instant (default: now)")]


async def _scorecard(
    db: DB, period: str | None, start: date | None, end: date | None, as_of: datetime | None
) -> ScorecardView:
    first, last = _period(period, start, end)
    since, until = _bounds(first, last)
    assert since is not None and until is not None
    now = as_of or utcnow()
    async with db.read_session() as session:
        rows = await scorecards.scorecard(session, start=since, end=until, as_of=now)
    return views.scorecard_view(rows, start=first, end=last, as_of=now)


@router.get("/scorecards", response_model=ScorecardView)
async def department_scorecards(
    _: Reader,
    db: DB,
    period: PeriodQuery = None,
    start: date | None = None,
    end: date | None = None,
    as_of: AsOf = None,
) -> ScorecardView:
    """Department scorecards (考核) for a month or a span of days: each rate with its counts, and rankings."""
    return await _scorecard(db, period, start, end, as_of)


@router.get("/scorecards/export", response_class=Response)
async def export_scorecards(
    _: Reader,
    db: DB,
    period: PeriodQuery = None,
    start: date | None = None,
    end: date | None = None,
    as_of: AsOf = None,
) -> Response:
    """The same scorecard as an Excel workbook, with the rates' definitions on their own sheet."""
    view = await _scorecard(db, period, start, end, as_of)
    name = f"scorecard-{view.start.isoformat()}-{view.end.isoformat()}.xlsx"
    return Response(
        export.workbook(view), media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@voice_webhook.post("/twilio/voice/survey")
async def voice_survey(request: Request, db: DB, settings: AppSettings) -> Response:
    """The automated survey call (TwiML): keypad answers, signed by Twilio like the SMS webhook."""
    form = parse_form(await read_body(request, settings.channel_max_body_bytes))
    voice.check_signature(settings, url=public_url(settings.public_url, request), form=form, headers=request.headers)
    step = voice.CallStep.parse(request.query_params, form)
    if step is None:
        return Response(voice.goodbye(questions.VOICE_ENDED), media_type=XML)
    async with db.session() as session:
        twiml = await voice.answer_call(session, step=step, public_url=settings.public_url.rstrip("/"), now=utcnow())
    return Response(twiml, media_type=XML)
