"""Unit queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.units.models import Unit


async def all_units(session: AsyncSession, *, kind: str | None = None, include_inactive: bool = False) -> list[Unit]:
    """Every active unit (with those out of use, if asked), in tree order."""
    query = select(Unit).order_by(col(Unit.path))
    if not include_inactive:
        query = query.where(col(Unit.is_active))
    if kind:
        query = query.where(col(Unit.kind) == kind)
    return list((await session.execute(query)).scalars())


async def units_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Unit]:
    """The units with these ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(Unit).where(col(Unit.id).in_(wanted)))
    return {unit.id: unit for unit in rows.scalars() if unit.id is not None}


async def add_unit(session: AsyncSession, *, unit: Unit, parent: Unit | None) -> Unit:
    """Insert a unit under its parent and give it its tree path."""
    unit.parent_id = parent.id if parent else None
    session.add(unit)
    await session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit
