"""The event bus interface and its in-process implementation (the embedded default)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

SUBSCRIBER_QUEUE_SIZE = 1000
# Sent to a channel's subscribers when their link to the bus was lost and is back: what was published in
# between never reached them, so whatever they show from events should be loaded again.
BUS_RESUMED = "bus.resumed"


@dataclass(frozen=True)
class BusEvent:
    """One message on a channel, e.g. ``tickets`` / ``{"type": "ticket.dispatched", ...}``."""

    channel: str
    payload: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def as_json(self) -> str:
        """The event as one JSON text frame, ``{"channel": ..., **payload}``: encoded once for every console."""
        return json.dumps({"channel": self.channel, **self.payload}, default=_json_default, ensure_ascii=False)


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class BusUnavailable(ConnectionError):
    """The bus's server could not be reached: the events were not delivered."""


class Subscription(Protocol):
    def __aiter__(self) -> AsyncIterator[BusEvent]: ...


class EventBus(Protocol):
    """What a bus does; a Redis implementation fills the same shape for several instances."""

    async def publish(self, event: BusEvent) -> None: ...

    async def publish_all(self, events: Sequence[BusEvent]) -> None:
        """Publish events in order (a transaction's events, in one round trip where the bus has one)."""
        ...

    def subscribe(self, *channels: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[BusEvent]) -> None:
        self._queue = queue

    async def __aiter__(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self._queue.get()


class InProcessEventBus:
    """Fan-out to subscribers of this process; a slow subscriber drops its oldest events, not the bus."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[BusEvent]]] = {}

    async def publish(self, event: BusEvent) -> None:
        for queue in list(self._subscribers.get(event.channel, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    async def publish_all(self, events: Sequence[BusEvent]) -> None:
        for event in events:
            await self.publish(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        queue: asyncio.Queue[BusEvent] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(queue)
        try:
            yield _QueueSubscription(queue)
        finally:
            for channel in channels:
                self._subscribers.get(channel, set()).discard(queue)


def create_bus(redis_url: str | None) -> EventBus:
    """Redis pub/sub when a Redis URL is configured (several instances), else the in-process bus."""
    if redis_url:
        from hotline.events.redis_bus import RedisEventBus

        return RedisEventBus(redis_url)
    return InProcessEventBus()


PENDING_KEY = "hotline_pending_events"


def publish_after_commit(session: AsyncSession, event: BusEvent) -> None:
    """Queue an event that the unit of work publishes only once its transaction committed."""
    session.info.setdefault(PENDING_KEY, []).append(event)


def take_pending(session: AsyncSession) -> list[BusEvent]:
    """The events queued on this session, removed from it."""
    pending: list[BusEvent] = session.info.pop(PENDING_KEY, [])
    return pending
