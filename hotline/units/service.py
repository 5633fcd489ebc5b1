"""Changing the unit tree: a new unit under its parent, a new name, a unit taken out of use.

Units change with the city's reorganisations (a street office split, a bureau merged). A unit that still
has work (open orders assigned to it, catalogue rules naming it, active accounts, active units below it)
cannot be taken out of use: the administrator moves that work first, so no order is left with nobody.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.tickets.lifecycle import OPEN_STATUSES
from hotline.tickets.models import Ticket, TicketAssignment
from hotline.units.models import TERRITORY_KINDS, Unit, UnitKind
from hotline.units.repository import add_unit, units_by_id
from routing.models import DispatchRule

# The kind a unit's parent must have; the other kinds stand at the top of the tree.
PARENT_KIND = {UnitKind.STREET: UnitKind.DISTRICT, UnitKind.COMMUNITY: UnitKind.STREET}
KIND_LABELS_ZH = {
    UnitKind.HOTLINE_CENTER: "热线中心",
    UnitKind.CITY_BUREAU: "市直部门",
    UnitKind.DISTRICT: "区县",
    UnitKind.STREET: "乡镇街道",
    UnitKind.COMMUNITY: "社区",
    UnitKind.UTILITY: "公共企业",
}


async def create_unit(
    session: AsyncSession, *, code: str, name: str, kind: UnitKind, parent_id: int | None, short_names: list[str]
) -> Unit:
    """Add a unit where the tree allows it; codes are unique, and so are the names of active units."""
    if kind is UnitKind.HOTLINE_CENTER:
        raise InvalidInput("热线中心只有一个，不能新增", "there is one hotline center; it cannot be added")
    parent = await _parent(session, kind, parent_id)
    if await session.scalar(select(func.count()).select_from(Unit).where(col(Unit.code) == code)):
        raise Conflict(f"单位编码已存在：{code}", f"unit code {code} exists")
    await _check_name_free(session, name, exclude_id=None)
    unit = Unit(code=code, name=name, kind=kind, short_names=_clean(short_names))
    return await add_unit(session, unit=unit, parent=parent)


async def update_unit(
    session: AsyncSession,
    *,
    unit_id: int,
    name: str | None,
    short_names: list[str] | None,
    is_active: bool | None,
) -> Unit:
    """Rename a unit, change how people call it, or take it out of use (or back into use)."""
    unit = await get_unit(session, unit_id)
    if name is not None and name != unit.name:
        await _check_name_free(session, name, exclude_id=unit_id)
        unit.name = name
    if short_names is not None:
        unit.short_names = _clean(short_names)
    if is_active is False and unit.is_active:
        await _check_no_work(session, unit)
        unit.is_active = False
    elif is_active is True and not unit.is_active:
        if unit.parent_id is not None and not (await get_unit(session, unit.parent_id)).is_active:
            raise Conflict("上级单位已停用，请先启用上级单位", "the parent unit is out of use: bring it back first")
        await _check_name_free(session, unit.name, exclude_id=unit_id)
        unit.is_active = True
    return unit


async def get_unit(session: AsyncSession, unit_id: int) -> Unit:
    unit = (await units_by_id(session, [unit_id])).get(unit_id)
    if unit is None:
        raise NotFound("单位不存在", f"unit {unit_id} not found")
    return unit


async def get_territory(session: AsyncSession, unit_id: int) -> Unit:
    """The district, street or community an order lies in (属地); other units are refused."""
    unit = (await units_by_id(session, [unit_id])).get(unit_id)
    if unit is None or not unit.is_active:
        raise NotFound("属地不存在或已停用", f"territory unit {unit_id} not found")
    if unit.kind not in TERRITORY_KINDS:
        raise InvalidInput(
            f"{unit.name}不是属地：属地须为区县、乡镇街道或社区", f"unit {unit_id} is a {unit.kind}, not a territory"
        )
    return unit


async def _parent(session: AsyncSession, kind: UnitKind, parent_id: int | None) -> Unit | None:
    wanted = PARENT_KIND.get(kind)
    if wanted is None:
        if parent_id is not None:
            raise InvalidInput(f"{KIND_LABELS_ZH[kind]}没有上级单位", f"a {kind} unit has no parent")
        return None
    if parent_id is None:
        raise InvalidInput(f"请选择上级{KIND_LABELS_ZH[wanted]}", f"a {kind} unit needs a {wanted} parent")
    parent = (await units_by_id(session, [parent_id])).get(parent_id)
    if parent is None or not parent.is_active:
        raise InvalidInput("上级单位不存在或已停用", f"parent unit {parent_id} not found or out of use")
    if parent.kind != wanted:
        raise InvalidInput(
            f"{KIND_LABELS_ZH[kind]}的上级须为{KIND_LABELS_ZH[wanted]}", f"a {kind} unit's parent must be a {wanted}"
        )
    return parent


async def _check_name_free(session: AsyncSession, name: str, *, exclude_id: int | None) -> None:
    query = select(func.count()).select_from(Unit).where(col(Unit.name) == name, col(Unit.is_active))
    if exclude_id is not None:
        query = query.where(col(Unit.id) != exclude_id)
    if await session.scalar(query):
        raise Conflict(f"已有同名单位：{name}", f"an active unit is named {name}")


async def _check_no_work(session: AsyncSession, unit: Unit) -> None:
    """Refuse to take out of use a unit that still has work; the message says what to move first."""
    assert unit.id is not None
    children = await session.scalar(
        select(func.count()).select_from(Unit).where(col(Unit.parent_id) == unit.id, col(Unit.is_active))
    )
    if children:
        raise Conflict(f"请先停用下级单位（{children} 个）", f"{children} active units below it")
    accounts = await session.scalar(
        select(func.count()).select_from(User).where(col(User.unit_id) == unit.id, col(User.is_active))
    )
    if accounts:
        raise Conflict(f"该单位还有 {accounts} 个启用的账号", f"{accounts} active accounts belong to it")
    orders = await session.scalar(
        select(func.count(func.distinct(col(TicketAssignment.ticket_id))))
        .join(Ticket, col(Ticket.id) == col(TicketAssignment.ticket_id))
        .where(
            col(TicketAssignment.unit_id) == unit.id,
            col(TicketAssignment.active),
            col(Ticket.status).in_(OPEN_STATUSES),
        )
    )
    if orders:
        raise Conflict(f"该单位还有 {orders} 件未办结工单，请先改派", f"{orders} open orders are assigned to it")
    rules = await session.scalars(select(DispatchRule).where(col(DispatchRule.is_active)))
    named = [
        rule.id
        for rule in rules
        if unit.id in (rule.lead_unit_id, rule.territory_unit_id) or unit.id in rule.assisting_unit_ids
    ]
    if named:
        numbers = "、".join(f"#{n}" for n in named[:5])
        raise Conflict(f"派单目录规则 {numbers} 仍指向该单位，请先修改", f"catalogue rules {named} name it")


def _clean(short_names: list[str]) -> list[str]:
    return list(dict.fromkeys(name.strip() for name in short_names if name.strip()))
