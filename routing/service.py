"""Routing services: editing the catalogue with its history, operators' classifications, stored proposals.

Services never commit; the caller's unit of work does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.service import CurrentUser
from hotline.categories import Category
from hotline.errors import Conflict, InvalidInput, NotFound
from hotline.tickets import repository as tickets
from hotline.tickets.history import record_history
from hotline.tickets.lifecycle import OPEN_STATUSES
from hotline.tickets.models import RequestType, Ticket
from hotline.tickets.service import actor_of
from hotline.units.models import Unit, UnitKind
from hotline.units.repository import units_by_id
from hotline.units.service import get_territory
from routing import repository
from routing.models import ClassificationExample, DispatchRule, DispatchRuleVersion, TicketSuggestion, scope_key
from routing.schemas import ClassifyIn, RuleIn, RuleUpdate, Suggestion

CLASSIFY_EVENT = "classify"
NOT_DISPATCHABLE = frozenset({UnitKind.HOTLINE_CENTER})


# The dispatch catalogue.


async def add_rule(session: AsyncSession, *, data: RuleIn, user_id: int | None, now: datetime) -> DispatchRule:
    """Add a rule for a scope (category × territory), or bring back the scope's deactivated rule.

    A scope has one rule for life, so its number stays the same; an active rule there is a conflict.
    """
    await _check_scope(session, data.category_id, data.territory_unit_id)
    assisting = await _check_units(session, data.lead_unit_id, data.assisting_unit_ids)
    scope = scope_key(data.category_id, data.territory_unit_id)
    rule = await repository.rule_by_scope(session, scope=scope)
    if rule is not None and rule.is_active:
        raise Conflict(
            f"该类别和属地已有派单规则 #{rule.id}，请修改该规则", f"scope {scope} already has rule {rule.id}"
        )
    change = "created" if rule is None else "reactivated"
    if rule is None:
        rule = DispatchRule(
            scope_key=scope,
            category_id=data.category_id,
            territory_unit_id=data.territory_unit_id,
            lead_unit_id=data.lead_unit_id,
            version=0,
        )
    _apply(rule, data.lead_unit_id, assisting, data.note, user_id, now)
    rule.is_active = True
    session.add(rule)
    await session.flush()
    _version(session, rule, change, data.comment)
    return rule


async def update_rule(
    session: AsyncSession, *, rule_id: int, data: RuleUpdate, user_id: int | None, now: datetime
) -> DispatchRule:
    """Change a rule's units or note; the old version stays in the history."""
    rule = await _rule(session, rule_id)
    if not rule.is_active:
        raise Conflict(f"派单规则 #{rule_id} 已停用，请重新添加", f"rule {rule_id} is deactivated; add it again")
    assisting = await _check_units(session, data.lead_unit_id, data.assisting_unit_ids)
    _apply(rule, data.lead_unit_id, assisting, data.note, user_id, now)
    _version(session, rule, "updated", data.comment)
    return rule


async def deactivate_rule(
    session: AsyncSession, *, rule_id: int, comment: str | None, user_id: int | None, now: datetime
) -> DispatchRule:
    """Take a rule out of force (it keeps its id and history; adding the scope again brings it back)."""
    rule = await _rule(session, rule_id)
    if not rule.is_active:
        raise Conflict(f"派单规则 #{rule_id} 已停用", f"rule {rule_id} is already deactivated")
    rule.is_active = False
    rule.version += 1
    rule.updated_by_id, rule.updated_at = user_id, now
    _version(session, rule, "deactivated", comment)
    return rule


async def _rule(session: AsyncSession, rule_id: int) -> DispatchRule:
    rule = await repository.rule_locked(session, rule_id=rule_id)
    if rule is None:
        raise NotFound("派单规则不存在", f"rule {rule_id} not found")
    return rule


def _apply(
    rule: DispatchRule, lead_unit_id: int, assisting: list[int], note: str | None, user_id: int | None, now: datetime
) -> None:
    rule.lead_unit_id, rule.assisting_unit_ids, rule.note = lead_unit_id, assisting, note
    rule.version += 1
    rule.updated_by_id, rule.updated_at = user_id, now


def _version(session: AsyncSession, rule: DispatchRule, change: str, comment: str | None) -> None:
    assert rule.id is not None
    session.add(
        DispatchRuleVersion(
            rule_id=rule.id,
            version=rule.version,
            change=change,
            category_id=rule.category_id,
            territory_unit_id=rule.territory_unit_id,
            lead_unit_id=rule.lead_unit_id,
            assisting_unit_ids=list(rule.assisting_unit_ids),
            note=rule.note,
            is_active=rule.is_active,
            comment=comment,
            changed_by_id=rule.updated_by_id,
            changed_at=rule.updated_at,
        )
    )


async def _check_scope(session: AsyncSession, category_id: int, territory_unit_id: int | None) -> None:
    category = await session.get(Category, category_id)
    if category is None or not category.is_active:
        raise InvalidInput(f"类别不存在：{category_id}", f"no such category {category_id}")
    if territory_unit_id is not None:
        territory = (await units_by_id(session, [territory_unit_id])).get(territory_unit_id)
        if territory is None or territory.kind != UnitKind.DISTRICT:
            raise InvalidInput("属地须为区县（留空表示全市）", "the territory must be a district (or empty: anywhere)")


async def _check_units(session: AsyncSession, lead_unit_id: int, assisting_unit_ids: list[int]) -> list[int]:
    """Refuse missing or inactive units; returns the assisting ids without repeats.

    The hotline itself may lead (its own matters, answered at first contact), never assist.
    """
    assisting = list(dict.fromkeys(assisting_unit_ids))
    if lead_unit_id in assisting:
        raise InvalidInput("主办单位不能同时是协办单位", "the lead unit cannot also be an assisting unit")
    units = await units_by_id(session, [lead_unit_id, *assisting])
    for unit_id, what in [(lead_unit_id, "主办单位"), *((i, "协办单位") for i in assisting)]:
        unit: Unit | None = units.get(unit_id)
        if unit is None or not unit.is_active:
            raise InvalidInput(f"{what}不存在：{unit_id}", f"{what}: no such unit {unit_id}")
        if unit_id != lead_unit_id and unit.kind in NOT_DISPATCHABLE:
            raise InvalidInput(f"{unit.name}不能作为协办单位", f"{unit.name} cannot assist")
    return assisting


# Operators' classifications (kept as training data).


def ticket_text(ticket: Ticket) -> str:
    """The text routing reads for an order: its title when it is not just the start of the content, and the content."""
    title = (ticket.title or "").rstrip("…")
    return ticket.content if not title or ticket.content.startswith(title) else f"{ticket.title}\n{ticket.content}"


async def classify(
    session: AsyncSession,
    *,
    ticket_id: int,
    user: CurrentUser,
    data: ClassifyIn,
    proposed: dict[str, Any],
    now: datetime,
) -> Ticket:
    """Set an order's category, type, urgency and/or territory, record it in the history and keep it as a
    labelled example."""
    if not data.model_dump(exclude_none=True):
        raise InvalidInput(
            "请至少选择类别、诉求类型、紧急程度或属地之一", "give a category, a request type, an urgency or a territory"
        )
    if data.territory_unit_id is not None:
        await get_territory(session, data.territory_unit_id)
    ticket = await tickets.get_visible(session, ticket_id=ticket_id, user=user, lock=True)
    if ticket is None:
        raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
    if ticket.status not in OPEN_STATUSES:
        raise Conflict("工单已不在办理中，不能修改分类", f"order {ticket.number} is not open")
    label = await _first_level_name(session, data.category_id) if data.category_id is not None else None
    changed: dict[str, list[Any]] = {}
    for field, value in (
        ("category_id", data.category_id),
        ("request_type", data.request_type),
        ("urgency", data.urgency),
        ("territory_unit_id", data.territory_unit_id),
    ):
        if value is not None and getattr(ticket, field) != value:
            changed[field] = [getattr(ticket, field), value if isinstance(value, int) else str(value)]
            setattr(ticket, field, value)
    if ticket.request_type == RequestType.REPORT:
        ticket.confidential = True  # a report's identity never reaches departments
    ticket.updated_at, ticket.version = now, ticket.version + 1
    if label is None and ticket.category_id is not None:
        label = await _first_level_name(session, ticket.category_id)
    session.add(
        ClassificationExample(
            ticket_id=ticket_id,
            text=ticket_text(ticket),
            category_id=ticket.category_id,
            category_label=label,
            request_type=ticket.request_type,
            urgency=ticket.urgency,
            changed=changed,
            proposed=proposed,
            model_version=proposed.get("model_version"),
            labelled_by_id=user.id,
            labelled_at=now,
        )
    )
    payload = {"changed": changed, "category_id": ticket.category_id, "proposed": proposed}
    await record_history(session, ticket=ticket, action=CLASSIFY_EVENT, actor=actor_of(user), payload=payload, at=now)
    return ticket


async def _first_level_name(session: AsyncSession, category_id: int) -> str:
    """The name of the first-level category above a category (the label the model learns)."""
    category = await session.get(Category, category_id)
    if category is None or not category.is_active:
        raise InvalidInput(f"类别不存在：{category_id}", f"no such category {category_id}")
    seen = {category.id}
    while category.parent_id is not None and category.parent_id not in seen:
        parent = await session.get(Category, category.parent_id)
        if parent is None:
            break
        category = parent
        seen.add(category.id)
    return category.name


# Proposals stored on orders.


def proposal_summary(suggestion: Suggestion) -> dict[str, Any]:
    """What was proposed, in short, to keep beside an operator's decision."""
    return {
        "categories": [
            {"category_id": c.category_id, "name": c.name, "confidence": c.confidence} for c in suggestion.categories
        ],
        "request_type": suggestion.request_type.value,
        "request_type_confidence": suggestion.request_type.confidence,
        "urgency": suggestion.urgency.value,
        "urgency_confidence": suggestion.urgency.confidence,
        "territory_unit_id": suggestion.territory.unit.id if suggestion.territory.unit else None,
        "lead_unit_id": suggestion.dispatch.lead_unit.id if suggestion.dispatch.lead_unit else None,
        "rule_id": suggestion.dispatch.rule_id,
        "model_version": suggestion.classifier.model_version,
    }


def proposal_row(ticket_id: int, suggestion: Suggestion, now: datetime) -> TicketSuggestion:
    """The stored form of an order's proposal."""
    top = suggestion.categories[0] if suggestion.categories else None
    dispatch, territory = suggestion.dispatch, suggestion.territory
    return TicketSuggestion(
        ticket_id=ticket_id,
        category_id=top.category_id if top else None,
        category_confidence=top.confidence if top else None,
        request_type=suggestion.request_type.value,
        request_type_confidence=suggestion.request_type.confidence,
        urgency=suggestion.urgency.value,
        urgency_confidence=suggestion.urgency.confidence,
        territory_unit_id=territory.unit.id if territory.unit else None,
        territory_score=territory.score if territory.unit else None,
        lead_unit_id=dispatch.lead_unit.id if dispatch.lead_unit else None,
        assisting_unit_ids=[u.id for u in dispatch.assisting_units],
        rule_id=dispatch.rule_id,
        basis=dispatch.basis,
        explanation=dispatch.explanation,
        model_version=suggestion.classifier.model_version,
        detail=proposal_summary(suggestion),
        created_at=now,
    )
