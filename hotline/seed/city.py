"""Loading the demo city's units and categories from the JSON files beside this module."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.categories import Category
from hotline.units.models import Unit
from hotline.units.repository import add_unit

DATA = Path(__file__).parent / "data"


def load_json(name: str) -> Any:
    """One of the city's data files."""
    return json.loads((DATA / name).read_text(encoding="utf-8"))


async def load_units(session: AsyncSession) -> dict[str, Unit]:
    """Insert the units that are missing, parents first; returns every unit by code."""
    existing = {u.code: u for u in (await session.execute(select(Unit))).scalars()}
    for row in load_json("units.json"):  # the file lists parents before their children
        if row["code"] in existing:
            continue
        parent = existing[row["parent"]] if row["parent"] else None
        unit = Unit(code=row["code"], name=row["name"], kind=row["kind"], short_names=row.get("short_names", []))
        existing[row["code"]] = await add_unit(session, unit=unit, parent=parent)
    await session.flush()
    return existing


async def load_categories(session: AsyncSession, units: dict[str, Unit]) -> int:
    """Insert the missing nodes of the 3-level category tree; returns how many were added."""
    existing = {c.code for c in (await session.execute(select(Category))).scalars()}
    added = 0

    async def walk(nodes: list[dict[str, Any]], parent: Category | None, level: int) -> None:
        nonlocal added
        for node in nodes:
            category = None
            if node["code"] not in existing:
                unit = units.get(node.get("default_unit") or "")
                category = Category(
                    code=node["code"],
                    name=node["name"],
                    level=level,
                    parent_id=parent.id if parent else None,
                    default_unit_id=unit.id if unit else None,
                )
                session.add(category)
                await session.flush()
                added += 1
            else:
                query = select(Category).where(Category.code == node["code"])
                category = (await session.execute(query)).scalar_one()
            await walk(node.get("children", []), category, level + 1)

    await walk(load_json("categories.json"), None, 1)
    return added
