"""Shaping surveys and scorecards for the API (the review screen's rows, the scorecard table)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.categories import Category
from hotline.citizens.service import mask_phone
from hotline.surveys import repository
from hotline.surveys.models import (
    METHOD_LABELS_ZH,
    REVIEW_LABELS_ZH,
    SURVEY_STATUS_LABELS_ZH,
    CallbackSurvey,
    ReviewStatus,
    SurveyMethod,
    SurveyResponse,
    SurveyStatus,
)
from hotline.surveys.parsing import RESOLVED_LABELS_ZH, SATISFACTION_LABELS_ZH, Satisfaction
from hotline.surveys.schemas import (
    AnswerView,
    JudgementView,
    MetricView,
    OrderView,
    RateView,
    ResponseView,
    ScorecardRow,
    ScorecardView,
    SurveyView,
)
from hotline.surveys.scorecards import METRICS, SCORE_DEFINITION, Row
from hotline.tickets.models import Ticket
from hotline.units.models import Unit
from hotline.units.repository import units_by_id

HOTLINE_NAME = "12345热线（直接答复）"


def _masked(survey: CallbackSurvey) -> str | None:
    if survey.recipient is None:
        return None
    if survey.method in (SurveyMethod.SMS, SurveyMethod.VOICE, SurveyMethod.OPERATOR):
        return mask_phone(survey.recipient)
    return survey.recipient[:3] + "***"


async def _names(session: AsyncSession, model: type[Category] | type[User], ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    if model is User:
        rows = await session.execute(select(User.id, User.display_name).where(col(User.id).in_(wanted)))
    else:
        rows = await session.execute(select(Category.id, Category.name).where(col(Category.id).in_(wanted)))
    return {key: name for key, name in rows.all() if key is not None}


def _response(r: SurveyResponse) -> ResponseView:
    return ResponseView(channel=r.channel, text=r.text, outcome=r.outcome, reply=r.reply, created_at=r.created_at)


async def survey_views(session: AsyncSession, rows: list[tuple[CallbackSurvey, Ticket]]) -> list[SurveyView]:
    """Review-screen rows: the order, its reply, the answers (with every response) and the judgement."""
    said = await repository.responses(session, survey_ids=[s.id or 0 for s, _ in rows])
    units = await units_by_id(session, [s.unit_id for s, _ in rows] + [t.territory_unit_id for _, t in rows])
    categories = await _names(session, Category, {t.category_id for _, t in rows})
    users = await _names(session, User, {s.reviewed_by_id for s, _ in rows})
    return [_view(s, t, said[s.id or 0], units, categories, users) for s, t in rows]


def _view(
    survey: CallbackSurvey,
    ticket: Ticket,
    responses: list[SurveyResponse],
    units: dict[int, Unit],
    categories: dict[int, str],
    users: dict[int, str],
) -> SurveyView:
    assert survey.id is not None and ticket.id is not None
    level = Satisfaction(survey.satisfaction) if survey.satisfaction else None
    territory = units.get(ticket.territory_unit_id or 0)
    review = ReviewStatus(survey.review_status) if survey.review_status else None
    return SurveyView(
        id=survey.id,
        round=survey.round,
        unit_id=survey.unit_id,
        unit_name=units[survey.unit_id].name if survey.unit_id in units else HOTLINE_NAME,
        method=survey.method,
        method_label=METHOD_LABELS_ZH[SurveyMethod(survey.method)],
        recipient=_masked(survey),
        status=survey.status,
        status_label=SURVEY_STATUS_LABELS_ZH[SurveyStatus(survey.status)],
        attempts=survey.attempts,
        created_at=survey.created_at,
        first_sent_at=survey.first_sent_at,
        expires_at=survey.expires_at,
        concluded_at=survey.concluded_at,
        order=OrderView(
            id=ticket.id,
            number=ticket.number,
            title=ticket.title,
            status=ticket.status,
            category_id=ticket.category_id,
            category_name=categories.get(ticket.category_id or 0),
            territory_unit_id=ticket.territory_unit_id,
            territory_name=territory.name if territory else None,
            reply=ticket.answer or ticket.reply,
        ),
        answer=AnswerView(
            resolved=survey.resolved,
            resolved_label=RESOLVED_LABELS_ZH[survey.resolved] if survey.resolved is not None else None,
            satisfaction=survey.satisfaction,
            satisfaction_label=SATISFACTION_LABELS_ZH[level] if level else None,
            comment=survey.comment,
            via=survey.answered_via,
            answered_at=survey.answered_at,
            answered_by_id=survey.answered_by_id,
            responses=[_response(r) for r in responses],
        ),
        judgement=JudgementView(
            status=survey.review_status,
            label=REVIEW_LABELS_ZH[review] if review else None,
            level=survey.review_level,
            reviewed_by_id=survey.reviewed_by_id,
            reviewed_by=users.get(survey.reviewed_by_id or 0),
            reviewed_at=survey.reviewed_at,
            reason=survey.review_reason,
            excluded_from_scoring=review is ReviewStatus.UNREASONABLE,
        ),
    )


def metric_views() -> list[MetricView]:
    """The definitions of the scorecard's rates."""
    return [
        MetricView(
            key=m.key,
            label=m.label,
            numerator=m.numerator,
            denominator=m.denominator,
            higher_is_better=m.higher_is_better,
            weight=m.weight,
        )
        for m in METRICS
    ]


def scorecard_view(rows: list[Row], *, start: date, end: date, as_of: datetime) -> ScorecardView:
    """The scorecard table: one row per unit with each rate's counts, rate and rank."""
    return ScorecardView(
        start=start,
        end=end,
        as_of=as_of,
        metrics=metric_views(),
        score_definition=SCORE_DEFINITION,
        rows=[
            ScorecardRow(
                unit_id=r.unit_id,
                unit_name=r.unit_name,
                unit_kind=r.unit_kind,
                hotline=r.hotline,
                score=r.score,
                rank=r.rank,
                metrics={
                    m.key: RateView(
                        numerator=r.counts[m.key].numerator,
                        denominator=r.counts[m.key].denominator,
                        rate=r.counts[m.key].rate,
                        rank=r.ranks.get(m.key),
                    )
                    for m in METRICS
                },
            )
            for r in rows
        ],
    )
