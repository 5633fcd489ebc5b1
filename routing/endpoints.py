"""Routing API: suggestions for the console, classification by operators, the dispatch catalogue, the model."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.categories import Category, category_path
from hotline.db_types import utcnow
from hotline.deps import DB, User, audit, require_roles
from hotline.errors import NotFound
from hotline.tickets import repository as tickets
from hotline.tickets import views
from hotline.tickets.returns import RETURN_REASONS
from hotline.tickets.schemas import TicketDetail
from hotline.units.models import Unit
from hotline.units.repository import units_by_id
from routing import registry, repository, service
from routing.context import RoutingContext
from routing.models import DispatchRule, TicketSuggestion
from routing.schemas import (
    ClassifyIn,
    ModelStatus,
    ReturnReason,
    RuleIn,
    RuleUpdate,
    RuleVersionView,
    RuleView,
    StoredProposal,
    SuggestIn,
    Suggestion,
    UnitRef,
)
from routing.schemas import TicketSuggestion as TicketSuggestionView
from routing.suggest import suggest as propose

router = APIRouter(prefix="/api/v1", tags=["routing"])
Desk = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER))]
Hotline = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR))]
CatalogueReader = Annotated[
    CurrentUser,
    Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.SYSTEM_ADMIN, Role.AUDITOR)),
]
SystemAdmin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]


def routing_context(request: Request) -> RoutingContext:
    return request.app.state.routing  # type: ignore[no-any-return]


Routing = Annotated[RoutingContext, Depends(routing_context)]


@router.post("/routing/suggest", response_model=Suggestion)
async def suggest(body: SuggestIn, _: Desk, db: DB, routing: Routing) -> Suggestion:
    """Categories (top 3), request type, urgency, territory and the units to dispatch to, each with its reasons."""
    async with db.read_session() as session:
        index = await routing.index(session)
    return propose(index, routing.classifier, content=body.content, address=body.address)


@router.get("/tickets/{ticket_id}/suggestion", response_model=TicketSuggestionView)
async def ticket_suggestion(ticket_id: int, user: Hotline, db: DB, routing: Routing) -> TicketSuggestionView:
    """The proposal for an existing order, as of now, beside what was proposed when it came in."""
    async with db.read_session() as session:
        ticket = await tickets.get_visible(session, ticket_id=ticket_id, user=user)
        if ticket is None:
            raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
        stored = await repository.stored_suggestion(session, ticket_id=ticket_id)
        index = await routing.index(session)
    live = propose(index, routing.classifier, content=service.ticket_text(ticket), address=ticket.address)
    return TicketSuggestionView(**live.model_dump(), ticket_id=ticket_id, stored=_stored(stored))


def _stored(row: TicketSuggestion | None) -> StoredProposal | None:
    if row is None:
        return None
    return StoredProposal.model_validate(row, from_attributes=True)


@router.post("/tickets/{ticket_id}/classify", response_model=TicketDetail)
async def classify(ticket_id: int, body: ClassifyIn, user: Desk, db: DB, routing: Routing) -> TicketDetail:
    """Set or correct an order's category, request type and/or urgency; kept as training data (not a transition)."""
    async with db.session() as session:
        stored = await repository.stored_suggestion(session, ticket_id=ticket_id)
        if stored is not None:
            proposed = stored.detail
        else:
            ticket = await tickets.get_visible(session, ticket_id=ticket_id, user=user)
            if ticket is None:
                raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
            index = await routing.index(session)
            live = propose(index, routing.classifier, content=service.ticket_text(ticket), address=ticket.address)
            proposed = service.proposal_summary(live)
        ticket = await service.classify(
            session, ticket_id=ticket_id, user=user, data=body, proposed=proposed, now=utcnow()
        )
        return await views.detail(session, ticket, user, utcnow())


@router.get("/routing/return-reasons", response_model=list[ReturnReason])
async def return_reasons(_: User) -> list[ReturnReason]:
    """The reason codes a unit chooses from when it returns an order (退单原因)."""
    return [ReturnReason(code=code, label=label) for code, label in RETURN_REASONS.items()]


# The dispatch catalogue (派单目录).


@router.get("/routing/catalogue", response_model=list[RuleView])
async def list_rules(
    _: CatalogueReader,
    db: DB,
    category_id: int | None = None,
    territory_unit_id: int | None = None,
    include_inactive: Annotated[bool, Query(description="also the deactivated rules")] = False,
) -> list[RuleView]:
    """The catalogue's rules, by category."""
    async with db.read_session() as session:
        rules = await repository.rules(
            session, category_id=category_id, territory_unit_id=territory_unit_id, include_inactive=include_inactive
        )
        return await _rule_views(session, rules)


@router.post("/routing/catalogue", response_model=RuleView, status_code=201)
async def add_rule(body: RuleIn, request: Request, user: SystemAdmin, db: DB) -> RuleView:
    """Add a rule: a category, in a district or anywhere, goes to a lead unit (with assisting units)."""
    async with db.session() as session:
        rule = await service.add_rule(session, data=body, user_id=user.id, now=utcnow())
        _audit(session, request, user, "dispatch_rule.added", rule)
        return (await _rule_views(session, [rule]))[0]


@router.put("/routing/catalogue/{rule_id}", response_model=RuleView)
async def update_rule(rule_id: int, body: RuleUpdate, request: Request, user: SystemAdmin, db: DB) -> RuleView:
    """Change a rule's units or note; the previous version stays in its history."""
    async with db.session() as session:
        rule = await service.update_rule(session, rule_id=rule_id, data=body, user_id=user.id, now=utcnow())
        _audit(session, request, user, "dispatch_rule.updated", rule)
        return (await _rule_views(session, [rule]))[0]


@router.delete("/routing/catalogue/{rule_id}", response_model=RuleView)
async def deactivate_rule(
    rule_id: int,
    request: Request,
    user: SystemAdmin,
    db: DB,
    comment: Annotated[str | None, Query(max_length=255)] = None,
) -> RuleView:
    """Take a rule out of force; it keeps its number and history."""
    async with db.session() as session:
        rule = await service.deactivate_rule(session, rule_id=rule_id, comment=comment, user_id=user.id, now=utcnow())
        _audit(session, request, user, "dispatch_rule.deactivated", rule)
        return (await _rule_views(session, [rule]))[0]


@router.get("/routing/catalogue/{rule_id}/history", response_model=list[RuleVersionView])
async def rule_history(rule_id: int, _: CatalogueReader, db: DB) -> list[RuleVersionView]:
    """Every version of a rule: what it said, who changed it and when."""
    async with db.read_session() as session:
        history = await repository.rule_history(session, rule_id=rule_id)
    if not history:
        raise NotFound("派单规则不存在", f"rule {rule_id} not found")
    return [
        RuleVersionView(
            version=v.version,
            change=v.change,
            category_id=v.category_id,
            territory_unit_id=v.territory_unit_id,
            lead_unit_id=v.lead_unit_id,
            assisting_unit_ids=list(v.assisting_unit_ids),
            note=v.note,
            is_active=v.is_active,
            comment=v.comment,
            changed_by_id=v.changed_by_id,
            changed_by=name,
            changed_at=v.changed_at,
        )
        for v, name in history
    ]


def _audit(session: AsyncSession, request: Request, user: CurrentUser, action: str, rule: DispatchRule) -> None:
    audit(
        session,
        request,
        user,
        action=action,
        object_type="dispatch_rule",
        object_id=rule.id,
        detail={"version": rule.version, "lead_unit_id": rule.lead_unit_id, "assisting": rule.assisting_unit_ids},
    )


async def _rule_views(session: AsyncSession, rules: list[DispatchRule]) -> list[RuleView]:
    unit_ids = {i for r in rules for i in (r.territory_unit_id, r.lead_unit_id, *r.assisting_unit_ids)}
    units = await units_by_id(session, unit_ids)
    categories = {c.id: c for c in (await session.execute(select(Category).order_by(col(Category.id)))).scalars()}
    return [
        RuleView(
            id=rule.id or 0,
            category_id=rule.category_id,
            category_path=category_path(rule.category_id, categories),
            territory=_ref(units.get(rule.territory_unit_id)) if rule.territory_unit_id else None,
            lead_unit=_ref(units[rule.lead_unit_id]),
            assisting_units=[_ref(units[i]) for i in rule.assisting_unit_ids if i in units],
            note=rule.note,
            is_active=rule.is_active,
            version=rule.version,
            updated_by_id=rule.updated_by_id,
            updated_at=rule.updated_at,
        )
        for rule in rules
    ]


def _ref(unit: Unit | None) -> UnitRef:
    assert unit is not None and unit.id is not None
    return UnitRef(id=unit.id, name=unit.name, kind=unit.kind)


# The category model.


@router.get("/routing/model", response_model=ModelStatus)
async def model_status(_: CatalogueReader, routing: Routing) -> ModelStatus:
    """Which model version is active and which one this process answers with."""
    return _model_status(routing)


@router.post("/routing/model/reload", response_model=ModelStatus)
async def reload_model(_: SystemAdmin, routing: Routing) -> ModelStatus:
    """Look at the active-model pointer now (every process also does so by itself, now and then)."""
    await routing.registry.reload()
    return _model_status(routing)


def _model_status(routing: RoutingContext) -> ModelStatus:
    models = routing.registry
    loaded = models.loaded
    return ModelStatus(
        model_dir=str(models.model_dir),
        active_version=registry.active_version(models.model_dir),
        loaded_version=loaded.version if loaded else None,
        loaded_at=loaded.loaded_at if loaded else None,
        error=models.error,
        metrics=dict(loaded.classifier.metadata.get("metrics", {})) if loaded else {},
    )
