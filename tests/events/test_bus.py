"""Events reach subscribers only once their transaction committed."""

from __future__ import annotations

import asyncio

import pytest

from hotline.auth.models import Role
from hotline.db import Database
from hotline.events.bus import BusEvent, InProcessEventBus, publish_after_commit
from hotline.tickets import service
from hotline.tickets.lifecycle import Actor
from hotline.tickets.schemas import TicketCreate


async def _next(subscription: object) -> BusEvent:
    return await asyncio.wait_for(anext(aiter(subscription)), timeout=2)  # type: ignore[call-overload]


async def test_subscribers_get_published_events_on_their_channels() -> None:
    bus = InProcessEventBus()
    async with bus.subscribe("tickets") as tickets, bus.subscribe("calls") as calls:
        await bus.publish(BusEvent("tickets", {"n": 1}))
        await bus.publish(BusEvent("calls", {"n": 2}))
        assert (await _next(tickets)).payload == {"n": 1}
        assert (await _next(calls)).payload == {"n": 2}


async def test_a_committed_order_is_announced(db: Database) -> None:
    assert db.bus is not None
    async with db.bus.subscribe("tickets") as subscription:
        async with db.session() as session:
            ticket = await service.create_ticket(
                session, data=TicketCreate(content="楼道灯坏了"), actor=Actor(role=Role.OPERATOR)
            )
        event = await _next(subscription)
    assert event.payload["type"] == "ticket.create"
    assert event.payload["number"] == ticket.number


async def test_a_rolled_back_transaction_announces_nothing(db: Database) -> None:
    assert db.bus is not None
    async with db.bus.subscribe("tickets") as subscription:
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                publish_after_commit(session, BusEvent("tickets", {"type": "ghost"}))
                raise RuntimeError("the request failed")
        async with db.session() as session:
            publish_after_commit(session, BusEvent("tickets", {"type": "real"}))
        assert (await _next(subscription)).payload == {"type": "real"}
