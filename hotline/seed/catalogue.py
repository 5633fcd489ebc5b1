"""The demo city's dispatch catalogue (派单目录): from the categories' default units, plus territorial rules.

Every category whose default unit differs from what it inherits gets a city-wide rule (the
children of 城乡建设 go to 市住建局 unless they name another unit; 水电气暖's children go to the
utilities). Matters a district handles itself (社区服务, 民政救助, 三农服务, 扶贫脱贫, 物业管理) get
a rule per district sending them to that district's government. Categories without an owner
(金融服务, 邮电通信, ...) get no rule: such orders go to the district of their territory.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from hotline.categories import Category
from hotline.db_types import utcnow
from hotline.seed.city import load_json
from hotline.units.models import Unit, UnitKind
from routing import repository
from routing.models import scope_key
from routing.schemas import RuleIn
from routing.service import add_rule

TERRITORIAL_CATEGORIES = ("community", "civil_aid", "agriculture", "poverty", "urban_rural.property_management")
ASSISTING = {  # category code -> assisting unit codes, where two bureaus share a matter
    "urban_rural.planning_illegal": ("chengguan",),
    "environment.noise.social_life": ("gongan",),
    "travel.parking": ("gongan",),
    "public_safety.hazards.gas": ("zhujian",),
}
DEFAULT_COMMENT = "演示数据：按类别默认承办单位生成"
TERRITORIAL_COMMENT = "演示数据：属地管理，由区县政府办理"


def _default_rules(nodes: list[dict[str, Any]], inherited: str | None = None) -> Iterator[tuple[str, str]]:
    """(category code, unit code) for every category whose default unit differs from its parent's."""
    for node in nodes:
        unit = node.get("default_unit")
        if unit and unit != inherited:
            yield node["code"], unit
        yield from _default_rules(node.get("children", []), unit or inherited)


async def load_catalogue(session: AsyncSession, units: dict[str, Unit], *, now: datetime | None = None) -> int:
    """Add the demo rules whose scope has no rule yet (an administrator's edits and removals stay); returns how many."""
    now = now or utcnow()
    categories = {c.code: c for c in (await session.execute(select(Category))).scalars()}
    planned: list[RuleIn] = []
    for code, unit in _default_rules(load_json("categories.json")):
        if code in categories and unit in units:
            assisting = [units[a].id for a in ASSISTING.get(code, ()) if a in units]
            planned.append(_rule(categories[code], None, units[unit], assisting, DEFAULT_COMMENT))
    districts = [u for u in units.values() if u.kind == UnitKind.DISTRICT]
    for code in TERRITORIAL_CATEGORIES:
        if code in categories:
            planned += [_rule(categories[code], d.id, d, [], TERRITORIAL_COMMENT) for d in districts]
    added = 0
    for rule in planned:
        if await repository.rule_by_scope(session, scope=scope_key(rule.category_id, rule.territory_unit_id)) is None:
            await add_rule(session, data=rule, user_id=None, now=now)
            added += 1
    return added


def _rule(category: Category, territory: int | None, lead: Unit, assisting: list[int | None], comment: str) -> RuleIn:
    assert category.id is not None and lead.id is not None
    return RuleIn(
        category_id=category.id,
        territory_unit_id=territory,
        lead_unit_id=lead.id,
        assisting_unit_ids=[i for i in assisting if i is not None],
        comment=comment,
    )
