"""Routing queries: the catalogue, the tree and units for the index, proposals and corrections."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.categories import Category
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from hotline.units.models import Unit
from routing.catalogue import Rule
from routing.index import CategoryNode, UnitNode
from routing.models import ClassificationExample, DispatchRule, DispatchRuleVersion, TicketSuggestion


async def category_nodes(session: AsyncSession) -> list[CategoryNode]:
    """The active category tree."""
    rows = await session.execute(select(Category).where(col(Category.is_active)).order_by(col(Category.id)))
    return [CategoryNode(c.id, c.code, c.name, c.level, c.parent_id) for c in rows.scalars() if c.id is not None]


async def unit_nodes(session: AsyncSession) -> list[UnitNode]:
    """The active units."""
    rows = await session.execute(select(Unit).where(col(Unit.is_active)).order_by(col(Unit.path)))
    return [
        UnitNode(u.id, u.code, u.name, u.kind, u.parent_id, tuple(u.short_names))
        for u in rows.scalars()
        if u.id is not None
    ]


async def active_rules(session: AsyncSession) -> list[Rule]:
    """The rules in force."""
    rows = await session.execute(select(DispatchRule).where(col(DispatchRule.is_active)))
    return [
        Rule(r.id, r.category_id, r.territory_unit_id, r.lead_unit_id, tuple(r.assisting_unit_ids))
        for r in rows.scalars()
        if r.id is not None
    ]


async def catalogue_stamp(session: AsyncSession) -> int:
    """Changes whenever any rule changes (the newest version row): cheap to ask on every suggestion."""
    return int((await session.execute(select(func.max(col(DispatchRuleVersion.id))))).scalar() or 0)


async def rules(
    session: AsyncSession, *, category_id: int | None, territory_unit_id: int | None, include_inactive: bool
) -> list[DispatchRule]:
    """Catalogue rules for the administrators' screen."""
    query = select(DispatchRule).order_by(col(DispatchRule.category_id), col(DispatchRule.id))
    if category_id is not None:
        query = query.where(col(DispatchRule.category_id) == category_id)
    if territory_unit_id is not None:
        query = query.where(col(DispatchRule.territory_unit_id) == territory_unit_id)
    if not include_inactive:
        query = query.where(col(DispatchRule.is_active))
    return list((await session.execute(query)).scalars())


async def rule_by_scope(session: AsyncSession, *, scope: str) -> DispatchRule | None:
    return (
        await session.execute(select(DispatchRule).where(col(DispatchRule.scope_key) == scope).with_for_update())
    ).scalar_one_or_none()


async def rule_locked(session: AsyncSession, *, rule_id: int) -> DispatchRule | None:
    return (
        await session.execute(select(DispatchRule).where(col(DispatchRule.id) == rule_id).with_for_update())
    ).scalar_one_or_none()


async def rule_history(session: AsyncSession, *, rule_id: int) -> list[tuple[DispatchRuleVersion, str | None]]:
    """Every version of a rule, oldest first, with the username of who made it."""
    rows = await session.execute(
        select(DispatchRuleVersion, User.username)
        .join(User, col(User.id) == col(DispatchRuleVersion.changed_by_id), isouter=True)
        .where(col(DispatchRuleVersion.rule_id) == rule_id)
        .order_by(col(DispatchRuleVersion.version))
    )
    return [(version, username) for version, username in rows]


async def stored_suggestion(session: AsyncSession, *, ticket_id: int) -> TicketSuggestion | None:
    return await session.get(TicketSuggestion, ticket_id)


async def unsuggested_tickets(session: AsyncSession, *, since: datetime, limit: int) -> list[Ticket]:
    """Orders without a proposal yet: waiting ones (registered), and any order that came in recently."""
    missing = ~select(col(TicketSuggestion.ticket_id)).where(col(TicketSuggestion.ticket_id) == col(Ticket.id)).exists()
    wanted = or_(col(Ticket.status) == Status.REGISTERED, col(Ticket.created_at) >= since)
    rows = await session.execute(
        select(Ticket)
        .where(and_(missing, wanted, col(Ticket.merged_into_id).is_(None)))
        .order_by(col(Ticket.id))
        .limit(limit)
    )
    return list(rows.scalars())


async def store_suggestion(session: AsyncSession, row: TicketSuggestion) -> bool:
    """Insert an order's proposal unless one is there already (two jobs at once store one); True if stored."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    values = {column.name: getattr(row, column.name) for column in TicketSuggestion.__table__.columns}  # type: ignore[attr-defined]
    result = await session.execute(insert(TicketSuggestion).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0))


async def training_corrections(session: AsyncSession) -> list[tuple[str, str]]:
    """(text, first-level label) of every order's latest operator classification that names a category."""
    latest = (
        select(func.max(col(ClassificationExample.id)))
        .where(col(ClassificationExample.category_label).is_not(None))
        .group_by(col(ClassificationExample.ticket_id))
    )
    rows = await session.execute(
        select(ClassificationExample.text, ClassificationExample.category_label)
        .where(col(ClassificationExample.id).in_(latest))
        .order_by(col(ClassificationExample.id))
    )
    return [(text, label) for text, label in rows if label]
