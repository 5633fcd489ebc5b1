"""Which orders are surveyed when not every one is: rules per unit and/or category, decided deterministically.

The most specific rule wins: unit and category, then unit, then category, then the default
(``HOTLINE_SURVEY_DEFAULT_SAMPLE_PERCENT``). A rule for a unit covers its children and a rule for a
category covers its subtree; the nearest one counts. Whether an order is drawn depends only on the
order and its round, so a job that runs twice, or restarts, draws the same orders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.categories import Category
from hotline.errors import NotFound
from hotline.surveys.models import SurveySamplingRule
from hotline.units.models import Unit

FULL = 100


def drawn(ticket_id: int, round_: int, percent: int) -> bool:
    """Whether an order falls in a sample of ``percent`` per cent (the same answer every time)."""
    if percent >= FULL:
        return True
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"survey:{ticket_id}:{round_}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % FULL < percent


def rule_percent(
    rules: Sequence[SurveySamplingRule], *, unit_chain: Sequence[int], category_chain: Sequence[int], default: int
) -> int:
    """The share that applies; each chain runs from the order's own unit / category up to the root."""
    by_key = {(r.unit_id, r.category_id): r.percent for r in rules}
    units: list[int | None] = [*unit_chain]
    categories: list[int | None] = [*category_chain]
    candidates = [(u, c) for u in units for c in categories]  # nearest unit first, then nearest category
    candidates += [(u, None) for u in units] + [(None, c) for c in categories]
    for key in candidates:
        if key in by_key:
            return by_key[key]
    return default


async def unit_chain(session: AsyncSession, unit_id: int | None) -> list[int]:
    """A unit and its ancestors, nearest first (from its tree path)."""
    if unit_id is None:
        return []
    unit = await session.get(Unit, unit_id)
    if unit is None:
        return [unit_id]
    return [int(part) for part in reversed(unit.path.strip("/").split("/")) if part]


async def category_chain(session: AsyncSession, category_id: int | None) -> list[int]:
    """A category and its ancestors, nearest first."""
    chain: list[int] = []
    while category_id is not None and category_id not in chain and len(chain) < 10:
        chain.append(category_id)
        category = await session.get(Category, category_id)
        category_id = category.parent_id if category else None
    return chain


async def percent_for(session: AsyncSession, *, unit_id: int | None, category_id: int | None, default: int) -> int:
    """The sampling share for an order replied by ``unit_id`` in ``category_id``."""
    rules = list((await session.execute(select(SurveySamplingRule))).scalars())
    if not rules:
        return default
    return rule_percent(
        rules,
        unit_chain=await unit_chain(session, unit_id),
        category_chain=await category_chain(session, category_id),
        default=default,
    )


async def all_rules(session: AsyncSession) -> list[SurveySamplingRule]:
    """Every sampling rule, oldest first."""
    return list((await session.execute(select(SurveySamplingRule).order_by(col(SurveySamplingRule.id)))).scalars())


async def set_rule(
    session: AsyncSession, *, unit_id: int | None, category_id: int | None, percent: int, user_id: int, now: datetime
) -> SurveySamplingRule:
    """Add or change the rule for a unit and/or category (one rule per pair)."""
    if unit_id is not None and await session.get(Unit, unit_id) is None:
        raise NotFound("单位不存在", f"unit {unit_id} not found")
    if category_id is not None and await session.get(Category, category_id) is None:
        raise NotFound("分类不存在", f"category {category_id} not found")
    same_unit = (
        col(SurveySamplingRule.unit_id).is_(None) if unit_id is None else col(SurveySamplingRule.unit_id) == unit_id
    )
    same_category = (
        col(SurveySamplingRule.category_id).is_(None)
        if category_id is None
        else col(SurveySamplingRule.category_id) == category_id
    )
    query = select(SurveySamplingRule).where(same_unit, same_category)
    rule = (await session.execute(query)).scalar_one_or_none() or SurveySamplingRule(percent=percent)
    rule.unit_id, rule.category_id, rule.percent = unit_id, category_id, percent
    rule.updated_by_id, rule.updated_at = user_id, now
    session.add(rule)
    await session.flush()
    return rule
