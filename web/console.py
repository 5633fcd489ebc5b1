"""The live screens' feeds: the console's queue of waiting messages and its websocket, and the department
workbench's websocket.

Only hotline staff (operators, dispatchers, supervisors) connect to the console's socket; only department
staff to the workbench's, which tells them about their own units' orders. A page that loses its socket
reconnects and reloads what it shows, so nothing that happened meanwhile is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Coroutine
from collections.abc import Set as AbstractSet
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth import service as auth_service
from hotline.auth.models import HOTLINE_ROLES, Role
from hotline.auth.service import CurrentUser
from hotline.channels.models import CHANNEL_LABELS_ZH, Channel, Direction, Message
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.deps import DB, User, bearer_or_cookie
from hotline.errors import Forbidden, InvalidInput, NotFound
from hotline.events.bus import BUS_RESUMED, EventBus, Subscription
from hotline.tickets.history import TICKETS_CHANNEL
from hotline.tickets.lifecycle import Action, Status
from hotline.tickets.models import Ticket, TicketEvent
from hotline.timefmt import LocalDateTime
from hotline.units.models import Unit
from web.similar import SimilarOrder, citizen_by_phone, similar_open_orders

CONSOLE_CHANNELS = ("console", TICKETS_CHANNEL)
WORKBENCH_FIELDS = ("type", "ticket_id", "number", "status")  # nothing of the order's content
QUEUE_LENGTH = 50
PREVIEW_LENGTH = 120
RETURNED_ZH = "【退单待改派】"  # an order a unit returned and the dispatcher agreed: it waits for another unit
NOT_SENT_ZH = "【待派单】"  # an order taken by phone and saved, but neither dispatched nor answered
MAX_SIMILAR = 20
POLICY_VIOLATION = 1008
SERVICE_RESTART = 1012  # the client reconnects (common.js), then reloads what it shows

router = APIRouter(tags=["console"])


class QueueItem(BaseModel):
    message_id: int | None = Field(
        description="the waiting message; null for an order with no message of its own (taken by phone and not "
        "sent on, or back from a unit's return to be re-dispatched)"
    )
    ticket_id: int
    ticket_number: str
    channel: str
    channel_label: str
    preview: str
    received_at: LocalDateTime


async def waiting_items(session: AsyncSession, *, limit: int = QUEUE_LENGTH) -> list[QueueItem]:
    """What waits for the hotline (registered orders), newest first: their latest inbound messages, and the
    orders that have no message of their own."""
    rows = await session.execute(
        select(Message, Ticket.number)
        .join(Ticket, col(Ticket.id) == col(Message.ticket_id))
        .where(col(Message.direction) == Direction.INBOUND, col(Ticket.status) == Status.REGISTERED)
        .order_by(col(Message.id).desc())
        .limit(limit)
    )
    items = [
        QueueItem(
            message_id=m.id or 0,
            ticket_id=m.ticket_id or 0,
            ticket_number=number,
            channel=m.channel,
            channel_label=_channel_label(m.channel),
            preview=m.body[:PREVIEW_LENGTH],
            received_at=m.created_at,
        )
        for m, number in rows
    ]
    items += await _orders_without_messages(session, limit)
    return sorted(items, key=lambda item: item.received_at, reverse=True)[:limit]


async def _orders_without_messages(session: AsyncSession, limit: int) -> list[QueueItem]:
    own_message = (
        select(Message.id)
        .where(col(Message.ticket_id) == col(Ticket.id), col(Message.direction) == Direction.INBOUND)
        .exists()
    )
    returned = (
        select(TicketEvent.id)
        .where(col(TicketEvent.ticket_id) == col(Ticket.id), col(TicketEvent.action) == Action.APPROVE_RETURN)
        .exists()
    )
    orders = await session.execute(
        select(Ticket, returned)
        .where(col(Ticket.status) == Status.REGISTERED, ~own_message)
        .order_by(col(Ticket.updated_at).desc())
        .limit(limit)
    )
    return [
        QueueItem(
            message_id=None,
            ticket_id=t.id or 0,
            ticket_number=t.number,
            channel=t.channel,
            channel_label=_channel_label(t.channel),
            preview=(RETURNED_ZH if was_returned else NOT_SENT_ZH) + t.content[:PREVIEW_LENGTH],
            received_at=t.updated_at,
        )
        for t, was_returned in orders.all()
    ]


def _channel_label(channel: str) -> str:
    return CHANNEL_LABELS_ZH.get(Channel(channel), channel) if channel in Channel.__members__.values() else channel


@router.get("/api/v1/console/queue", response_model=list[QueueItem])
async def queue(user: User, db: DB) -> list[QueueItem]:
    """Messages and orders waiting for an operator, newest first (what the console shows, and reloads after a
    reconnect)."""
    if user.role not in HOTLINE_ROLES:
        raise Forbidden("仅热线人员可使用受理台", "only hotline staff use the console")
    async with db.read_session() as session:
        return await waiting_items(session)


@router.get("/api/v1/console/similar", response_model=list[SimilarOrder])
async def similar(
    user: User,
    db: DB,
    ticket_id: int | None = None,
    text: Annotated[str | None, Query(max_length=5000, description="the request as typed so far")] = None,
    phone: Annotated[str | None, Query(max_length=32, description="the caller's number")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SIMILAR)] = 5,
) -> list[SimilarOrder]:
    """Open orders that may be the same matter as an order (or as the text being typed), to merge into (并单)."""
    if user.role not in HOTLINE_ROLES:
        raise Forbidden("仅热线人员可使用受理台", "only hotline staff use the console")
    async with db.read_session() as session:
        citizen_id = await citizen_by_phone(session, phone) if phone else None
        if ticket_id is not None:
            ticket = await session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound("工单不存在", f"order {ticket_id} not found")
            text = f"{ticket.title} {ticket.content} {text or ''}"
            citizen_id = citizen_id or ticket.citizen_id
        if not (text or "").strip() and citizen_id is None:
            raise InvalidInput("请提供工单、诉求内容或来电号码", "give ticket_id, text or phone")
        return await similar_open_orders(
            session, text=text or "", citizen_id=citizen_id, exclude_id=ticket_id, now=utcnow(), limit=limit
        )


def _same_origin(websocket: WebSocket) -> bool:
    """Refuse cross-site websocket hijacking: the page must come from this host."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def _socket_user(websocket: WebSocket, roles: AbstractSet[Role]) -> CurrentUser | None:
    """The logged-in user of a same-origin socket, if their role may open it."""
    token = bearer_or_cookie(websocket)  # the page's cookie, or a bearer header from other clients
    if not token or not _same_origin(websocket):
        return None
    db: Database = websocket.app.state.db
    async with db.read_session() as session:
        resolved = await auth_service.resolve(session, settings=websocket.app.state.settings, token=token)
    if resolved is None or resolved[0].role not in roles:
        return None
    return resolved[0]


@router.websocket("/ws/console")
async def console_socket(websocket: WebSocket) -> None:
    """Push every console and order event to a logged-in hotline member, as JSON text frames."""
    user = await _socket_user(websocket, HOTLINE_ROLES)
    if user is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    bus: EventBus = websocket.app.state.bus
    async with bus.subscribe(*CONSOLE_CHANNELS) as subscription:
        await _serve(websocket, user, _forward(websocket, subscription))


@router.websocket("/ws/workbench")
async def workbench_socket(websocket: WebSocket) -> None:
    """Tell department staff at once that an order with their unit, or a unit below it, changed.

    An order is with a unit that leads it, assists on it or had it handed down. A frame carries the event's
    type and the order's id, number and status; the page reloads its list. An order announced on this
    socket stays followed after it moves to another unit, so it leaves the list at once too.
    """
    user = await _socket_user(websocket, {Role.DEPARTMENT_STAFF})
    if user is None or not user.unit_path:
        await websocket.close(code=POLICY_VIOLATION)
        return
    db: Database = websocket.app.state.db
    async with db.read_session() as session:
        units = set(await session.scalars(select(Unit.id).where(col(Unit.path).startswith(user.unit_path))))
    await websocket.accept()
    bus: EventBus = websocket.app.state.bus
    async with bus.subscribe(TICKETS_CHANNEL) as subscription:
        await _serve(websocket, user, _forward_to_units(websocket, subscription, units))


async def _serve(websocket: WebSocket, user: CurrentUser, forward: Coroutine[Any, Any, None]) -> None:
    """Greet the client, forward events until it goes away, then stop forwarding."""
    await websocket.send_text(json.dumps({"type": "hello", "user": user.username}))
    task = asyncio.create_task(forward)
    try:
        while True:  # the client only pings; reading also notices when it goes away
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _forward_to_units(websocket: WebSocket, subscription: Subscription, units: set[int]) -> None:
    followed: set[int] = set()
    async for event in subscription:
        if event.payload.get("type") == BUS_RESUMED:
            await _ask_to_reconnect(websocket)
            return
        ticket_id = event.payload.get("ticket_id")
        if not isinstance(ticket_id, int):
            continue
        if event.payload.get("lead_unit_id") in units or units.intersection(event.payload.get("unit_ids") or ()):
            followed.add(ticket_id)
        elif ticket_id not in followed:
            continue
        await websocket.send_text(json.dumps({key: event.payload.get(key) for key in WORKBENCH_FIELDS}))


async def _forward(websocket: WebSocket, subscription: Subscription) -> None:
    async for event in subscription:
        if event.payload.get("type") == BUS_RESUMED:
            await _ask_to_reconnect(websocket)
            return
        await websocket.send_text(event.as_json)  # encoded once per event, not once per console


async def _ask_to_reconnect(websocket: WebSocket) -> None:
    """Events were lost on the way here: close, and the page reconnects and reloads what it shows."""
    await websocket.close(code=SERVICE_RESTART)
