"""Service items over HTTP: search and guides for the console, import, and the items an order is about."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from sqlmodel import col, select

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings, User, require_roles
from hotline.errors import InvalidInput, NotFound
from hotline.tickets import repository as tickets
from knowledge_base import service_items
from knowledge_base.models import ServiceItem, TicketServiceItem
from knowledge_base.platform.client import PlatformClient

router = APIRouter(prefix="/api/v1", tags=["service items"])
Admin = Annotated[CurrentUser, Depends(require_roles(Role.SYSTEM_ADMIN))]
Desk = Annotated[CurrentUser, Depends(require_roles(Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR))]
MAX_LIMIT = 50


class ServiceItemView(BaseModel):
    id: int
    code: str
    name: str
    unit_name: str
    unit_id: int | None
    item_type: str | None
    basis: str | None
    applicants: str | None
    conditions: str | None
    materials: list[str]
    process: str | None
    fees: str | None
    time_limit: str | None
    contact: str | None
    supervising_unit: str | None
    source: str
    updated_at: datetime


class ServiceItemPage(BaseModel):
    items: list[ServiceItemView]


class LinkIn(BaseModel):
    service_item_id: int


class ImportResult(BaseModel):
    created: int
    updated: int


def item_search(request: Request) -> service_items.ItemSearch:
    state = request.app.state
    if getattr(state, "service_item_search", None) is None:
        state.service_item_search = service_items.ItemSearch()
    return state.service_item_search  # type: ignore[no-any-return]


Search = Annotated[service_items.ItemSearch, Depends(item_search)]


@router.get("/service-items", response_model=ServiceItemPage)
async def search_items(
    _: User,
    db: DB,
    finder: Search,
    q: Annotated[str, Query(max_length=200)] = "",
    unit_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
) -> ServiceItemPage:
    """Service items best matching the query (by name, code, conditions, materials); all, by name, without one."""
    async with db.read_session() as session:
        if q.strip():
            ids = await finder.search(session, q, limit=limit, unit_id=unit_id)
            rows = {
                i.id: i
                for i in (await session.execute(select(ServiceItem).where(col(ServiceItem.id).in_(ids)))).scalars()
            }
            found = [rows[i] for i in ids if i in rows]
        else:
            query = select(ServiceItem).where(col(ServiceItem.is_active))
            if unit_id is not None:
                query = query.where(col(ServiceItem.unit_id) == unit_id)
            found = list((await session.execute(query.order_by(col(ServiceItem.name)).limit(limit))).scalars())
    return ServiceItemPage(items=[ServiceItemView.model_validate(item, from_attributes=True) for item in found])


@router.get("/service-items/{item_id}", response_model=ServiceItemView)
async def get_item(item_id: int, _: User, db: DB) -> ServiceItemView:
    """One service item with its whole guide (办事指南)."""
    async with db.read_session() as session:
        item = await session.get(ServiceItem, item_id)
    if item is None:
        raise NotFound("政务服务事项不存在", f"service item {item_id} not found")
    return ServiceItemView.model_validate(item, from_attributes=True)


@router.post("/service-items/import-from-platform", response_model=ImportResult)
async def import_from_platform(_: Admin, db: DB, settings: AppSettings) -> ImportResult:
    """Fetch the platform's whole catalogue and bring ours up to date (matched by item code)."""
    rows = await PlatformClient(settings).service_items()
    items = service_items.validate_rows(rows)
    async with db.session() as session:
        counts = await service_items.import_items(session, items, source="platform", now=utcnow())
    return ImportResult(**counts)


@router.get("/tickets/{ticket_id}/service-items", response_model=ServiceItemPage)
async def ticket_items(ticket_id: int, user: User, db: DB) -> ServiceItemPage:
    """The service items an order is about."""
    async with db.read_session() as session:
        if await tickets.get_visible(session, ticket_id=ticket_id, user=user) is None:
            raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
        rows = await session.execute(
            select(ServiceItem)
            .join(TicketServiceItem, col(TicketServiceItem.service_item_id) == col(ServiceItem.id))
            .where(col(TicketServiceItem.ticket_id) == ticket_id)
            .order_by(col(TicketServiceItem.linked_at))
        )
        items = list(rows.scalars())
    return ServiceItemPage(items=[ServiceItemView.model_validate(item, from_attributes=True) for item in items])


@router.post("/tickets/{ticket_id}/service-items", response_model=ServiceItemPage, status_code=201)
async def link_item(ticket_id: int, body: LinkIn, user: Desk, db: DB) -> ServiceItemPage:
    """Link a service item to an order (linking it again changes nothing)."""
    async with db.session() as session:
        if await tickets.get_visible(session, ticket_id=ticket_id, user=user) is None:
            raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
        if await session.get(ServiceItem, body.service_item_id) is None:
            raise InvalidInput("政务服务事项不存在", f"service item {body.service_item_id} not found")
        if await session.get(TicketServiceItem, (ticket_id, body.service_item_id)) is None:
            session.add(
                TicketServiceItem(ticket_id=ticket_id, service_item_id=body.service_item_id, linked_by_id=user.id)
            )
    return await ticket_items(ticket_id, user, db)


@router.delete("/tickets/{ticket_id}/service-items/{item_id}", response_model=ServiceItemPage)
async def unlink_item(ticket_id: int, item_id: int, user: Desk, db: DB) -> ServiceItemPage:
    """Remove a service item from an order."""
    async with db.session() as session:
        if await tickets.get_visible(session, ticket_id=ticket_id, user=user) is None:
            raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
        link = await session.get(TicketServiceItem, (ticket_id, item_id))
        if link is None:
            raise NotFound("该工单未关联此事项", f"order {ticket_id} is not linked to item {item_id}")
        await session.delete(link)
    return await ticket_items(ticket_id, user, db)
