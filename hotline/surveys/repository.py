"""Survey queries: what the job must do next, a citizen's open survey, the review list, idempotent inserts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.surveys.models import CallbackSurvey, SurveyResponse, SurveyStatus
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from hotline.units.models import Unit

OPEN_TO_ANSWERS = (SurveyStatus.AWAITING, SurveyStatus.NEEDS_READING)


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


async def replied_without_survey(session: AsyncSession, *, limit: int) -> list[Ticket]:
    """Replied orders (not sub-dispatched children) with no survey yet for their current round, locked."""
    surveyed = exists(
        select(col(CallbackSurvey.id)).where(
            col(CallbackSurvey.ticket_id) == col(Ticket.id), col(CallbackSurvey.round) == col(Ticket.rework_count)
        )
    )
    query = (
        select(Ticket)
        .where(col(Ticket.status) == Status.REPLIED, col(Ticket.parent_id).is_(None), ~surveyed)
        .order_by(col(Ticket.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def insert_survey(session: AsyncSession, values: dict[str, Any]) -> CallbackSurvey | None:
    """Create an order's survey for its round, unless another run already did; the new row or None."""
    statement = (
        _insert(session)(CallbackSurvey)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["ticket_id", "round"])
        .returning(col(CallbackSurvey.id))
    )
    survey_id = (await session.execute(statement)).scalar_one_or_none()
    return await session.get(CallbackSurvey, survey_id) if survey_id is not None else None


async def _locked(session: AsyncSession, where: ColumnElement[bool], order: Any, limit: int) -> list[CallbackSurvey]:
    query = select(CallbackSurvey).where(where).order_by(order).limit(limit).with_for_update(skip_locked=True)
    return list((await session.execute(query)).scalars())


async def due_attempts(session: AsyncSession, *, now: datetime, limit: int) -> list[CallbackSurvey]:
    """Awaiting surveys whose next attempt has come, locked (others' locked rows are skipped)."""
    where = and_(col(CallbackSurvey.status) == SurveyStatus.AWAITING, col(CallbackSurvey.next_attempt_at) <= now)
    return await _locked(session, where, col(CallbackSurvey.next_attempt_at), limit)


async def expiring(session: AsyncSession, *, now: datetime, limit: int) -> list[CallbackSurvey]:
    """Awaiting surveys whose time for an answer is over, locked."""
    where = and_(col(CallbackSurvey.status) == SurveyStatus.AWAITING, col(CallbackSurvey.expires_at) <= now)
    return await _locked(session, where, col(CallbackSurvey.expires_at), limit)


async def get_locked(session: AsyncSession, *, survey_id: int) -> CallbackSurvey | None:
    """One survey, locked for the transaction."""
    query = select(CallbackSurvey).where(col(CallbackSurvey.id) == survey_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def open_survey_of_citizen(session: AsyncSession, *, citizen_id: int) -> CallbackSurvey | None:
    """The citizen's latest survey that was sent and still takes answers, locked."""
    query = (
        select(CallbackSurvey)
        .where(
            col(CallbackSurvey.citizen_id) == citizen_id,
            col(CallbackSurvey.status).in_(OPEN_TO_ANSWERS),
            col(CallbackSurvey.first_sent_at).is_not(None),
        )
        .order_by(col(CallbackSurvey.first_sent_at).desc(), col(CallbackSurvey.id).desc())
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def recently_ended_survey(session: AsyncSession, *, citizen_id: int, since: datetime) -> CallbackSurvey | None:
    """The citizen's latest survey that was answered or ran out since ``since``."""
    query = (
        select(CallbackSurvey)
        .where(
            col(CallbackSurvey.citizen_id) == citizen_id,
            col(CallbackSurvey.status).in_((SurveyStatus.ANSWERED, SurveyStatus.UNREACHED)),
            col(CallbackSurvey.first_sent_at).is_not(None),
            col(CallbackSurvey.concluded_at) >= since,
        )
        .order_by(col(CallbackSurvey.concluded_at).desc(), col(CallbackSurvey.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def insert_response(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Keep one response; None when the same channel message (e.g. a retried keypad webhook) was kept before."""
    statement = (
        _insert(session)(SurveyResponse)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(col(SurveyResponse.id))
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def response_to_message(session: AsyncSession, *, message_id: int) -> SurveyResponse | None:
    """The survey response a stored message became, if it did."""
    query = select(SurveyResponse).where(col(SurveyResponse.message_id) == message_id)
    return (await session.execute(query)).scalar_one_or_none()


async def responses(session: AsyncSession, *, survey_ids: list[int]) -> dict[int, list[SurveyResponse]]:
    """The responses of these surveys, oldest first."""
    found: dict[int, list[SurveyResponse]] = {i: [] for i in survey_ids}
    if survey_ids:
        query = select(SurveyResponse).where(col(SurveyResponse.survey_id).in_(survey_ids))
        for row in (await session.execute(query.order_by(col(SurveyResponse.id)))).scalars():
            found[row.survey_id].append(row)
    return found


async def earlier_reviews(session: AsyncSession, *, ticket_id: int, before_round: int) -> list[CallbackSurvey]:
    """The order's earlier surveys that a supervisor judged, oldest first."""
    query = select(CallbackSurvey).where(
        col(CallbackSurvey.ticket_id) == ticket_id,
        col(CallbackSurvey.round) < before_round,
        col(CallbackSurvey.reviewed_at).is_not(None),
    )
    return list((await session.execute(query.order_by(col(CallbackSurvey.round)))).scalars())


@dataclass(frozen=True)
class SurveyFilters:
    """The review screen's filters; ``hotline_only`` picks the orders answered by the hotline itself."""

    unit_id: int | None = None
    hotline_only: bool = False
    category_id: int | None = None
    territory_unit_id: int | None = None
    satisfaction: tuple[str, ...] = ()
    resolved: bool | None = None
    status: tuple[str, ...] = ()
    review_status: tuple[str, ...] = ()
    review_level: int | None = None
    method: str | None = None
    start: datetime | None = None
    end: datetime | None = None


async def _territory_path(session: AsyncSession, unit_id: int) -> str:
    unit = await session.get(Unit, unit_id)
    return unit.path if unit else f"/{unit_id}/"


async def _clauses(session: AsyncSession, f: SurveyFilters) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if f.hotline_only:
        clauses.append(col(CallbackSurvey.unit_id).is_(None))
    elif f.unit_id is not None:
        clauses.append(col(CallbackSurvey.unit_id) == f.unit_id)
    if f.category_id is not None:
        clauses.append(col(Ticket.category_id) == f.category_id)
    if f.territory_unit_id is not None:
        inside = select(col(Unit.id)).where(
            col(Unit.path).startswith(await _territory_path(session, f.territory_unit_id))
        )
        clauses.append(col(Ticket.territory_unit_id).in_(inside))
    for column, values in (
        (CallbackSurvey.satisfaction, f.satisfaction),
        (CallbackSurvey.status, f.status),
        (CallbackSurvey.review_status, f.review_status),
    ):
        if values:
            clauses.append(col(column).in_(values))
    if f.resolved is not None:
        clauses.append(col(CallbackSurvey.resolved) == f.resolved)
    if f.review_level is not None:
        clauses.append(col(CallbackSurvey.review_level) == f.review_level)
    if f.method:
        clauses.append(col(CallbackSurvey.method) == f.method)
    if f.start is not None:
        clauses.append(col(CallbackSurvey.created_at) >= f.start)
    if f.end is not None:
        clauses.append(col(CallbackSurvey.created_at) < f.end)
    return clauses


async def list_surveys(
    session: AsyncSession, *, filters: SurveyFilters, page: int, page_size: int
) -> tuple[list[tuple[CallbackSurvey, Ticket]], int]:
    """One page of surveys with their orders, newest first, and the total."""
    where = and_(*await _clauses(session, filters))
    joined = select(CallbackSurvey, Ticket).join(Ticket, col(Ticket.id) == col(CallbackSurvey.ticket_id))
    total_query = (
        select(func.count())
        .select_from(CallbackSurvey)
        .join(Ticket, col(Ticket.id) == col(CallbackSurvey.ticket_id))
        .where(where)
    )
    total = (await session.execute(total_query)).scalar_one()
    rows = await session.execute(
        joined.where(where)
        .order_by(col(CallbackSurvey.created_at).desc(), col(CallbackSurvey.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return [(survey, ticket) for survey, ticket in rows.all()], total


def open_or_reviewable() -> ColumnElement[bool]:
    """Surveys a person still has to act on: to call, to read, or to judge."""
    return or_(col(CallbackSurvey.status).in_(OPEN_TO_ANSWERS), col(CallbackSurvey.review_status) == "pending")
