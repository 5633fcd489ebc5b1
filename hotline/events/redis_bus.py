"""The event bus over Redis pub/sub, for several app instances: a console on any instance sees all events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import redis.asyncio as redis

from hotline.events.bus import SUBSCRIBER_QUEUE_SIZE, BusEvent, Subscription

log = logging.getLogger(__name__)
PREFIX = "hotline:bus:"
SUBSCRIBE_TIMEOUT_SECONDS = 5


class _RedisSubscription:
    def __init__(self, queue: asyncio.Queue[BusEvent]) -> None:
        self._queue = queue

    async def __aiter__(self) -> AsyncIterator[BusEvent]:
        while True:
            yield await self._queue.get()


class RedisEventBus:
    """Publishes to Redis channels ``hotline:bus:<channel>``; each subscription has its own pub/sub."""

    def __init__(self, url: str) -> None:
        self._client = redis.from_url(url)

    async def publish(self, event: BusEvent) -> None:
        await self._client.publish(PREFIX + event.channel, json.dumps(event.payload, ensure_ascii=False, default=str))

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        pubsub = self._client.pubsub()
        await pubsub.subscribe(*(PREFIX + c for c in channels))
        await self._confirmed(pubsub, len(channels))
        queue: asyncio.Queue[BusEvent] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        reader = asyncio.create_task(self._read(pubsub, queue))
        try:
            yield _RedisSubscription(queue)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _confirmed(self, pubsub: redis.client.PubSub, count: int) -> None:
        """Wait until Redis confirms every channel, so nothing published after this returns is missed."""
        confirmed = 0
        while confirmed < count:
            message = await pubsub.get_message(timeout=SUBSCRIBE_TIMEOUT_SECONDS)
            if message is None:
                raise TimeoutError("Redis did not confirm the subscription")
            confirmed += message.get("type") == "subscribe"

    async def _read(self, pubsub: redis.client.PubSub, queue: asyncio.Queue[BusEvent]) -> None:
        async for message in pubsub.listen():
            if message.get("type") != "message":
                continue
            channel = message["channel"].decode()[len(PREFIX) :]
            if queue.full():  # a slow console drops its oldest events, not the bus
                queue.get_nowait()
            queue.put_nowait(BusEvent(channel, json.loads(message["data"])))

    async def ping(self) -> bool:
        return bool(await self._client.ping())

    async def close(self) -> None:
        await self._client.aclose()
