"""The event bus over Redis pub/sub, for several app instances: a console on any instance sees all events.

Each process holds one pub/sub connection, whatever the number of its subscribers, and fans the
events out locally (through an ``InProcessEventBus``): 1,000 consoles on an instance cost Redis one
connection and one decoded message per event, not 1,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from hotline.events.bus import BUS_RESUMED, BusEvent, BusUnavailable, InProcessEventBus, Subscription

log = logging.getLogger(__name__)
PREFIX = "hotline:bus:"
SUBSCRIBE_TIMEOUT_SECONDS = 5
RECONNECT_PAUSE_SECONDS = 1.0


def _encoded(event: BusEvent) -> str:
    return json.dumps(event.payload, ensure_ascii=False, default=str)


@contextlib.contextmanager
def _reaching_redis() -> Iterator[None]:
    """Turn Redis being unreachable into the bus's own ``BusUnavailable``."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise BusUnavailable(f"Redis: {exc}") from exc


class RedisEventBus:
    """Publishes to Redis channels ``hotline:bus:<channel>``; listens to them on one connection per process."""

    def __init__(self, url: str) -> None:
        self._client = redis.from_url(url)
        self._pubsub = self._client.pubsub()
        self._local = InProcessEventBus()
        self._confirmed: dict[str, asyncio.Future[None]] = {}  # channel → Redis confirmed the subscription
        self._lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None

    async def publish(self, event: BusEvent) -> None:
        with _reaching_redis():
            await self._client.publish(PREFIX + event.channel, _encoded(event))

    async def publish_all(self, events: Sequence[BusEvent]) -> None:
        if len(events) == 1:
            await self.publish(events[0])
            return
        with _reaching_redis():
            async with self._client.pipeline(transaction=False) as pipe:  # one round trip, order kept
                for event in events:
                    pipe.publish(PREFIX + event.channel, _encoded(event))
                await pipe.execute()

    @contextlib.asynccontextmanager
    async def subscribe(self, *channels: str) -> AsyncIterator[Subscription]:
        """Events of these channels from every instance, from the moment this returns."""
        await self._listen_to(channels)
        async with self._local.subscribe(*channels) as subscription:
            yield subscription

    async def _listen_to(self, channels: Iterable[str]) -> None:
        """Subscribe the process's connection to channels it does not listen to yet, and wait for Redis."""
        wanted = list(channels)
        async with self._lock:
            new = [c for c in wanted if c not in self._confirmed]
            if new:
                loop = asyncio.get_running_loop()
                for channel in new:
                    self._confirmed[channel] = loop.create_future()
                await self._pubsub.subscribe(*(PREFIX + c for c in new))
                if self._reader is None:
                    self._reader = asyncio.create_task(self._read(), name="redis-bus-reader")
        waiting = [asyncio.shield(self._confirmed[c]) for c in wanted]
        try:
            await asyncio.wait_for(asyncio.gather(*waiting), SUBSCRIBE_TIMEOUT_SECONDS)
        except TimeoutError:
            raise TimeoutError("Redis did not confirm the subscription") from None

    async def _read(self) -> None:
        """Hand every message to this process's subscribers; a lost connection is re-made and re-subscribed.

        After a cut, every subscriber is told (``BUS_RESUMED``): events published meanwhile are gone.
        """
        interrupted = False
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarted or the network blinked: redis-py reconnects on the next read
                log.warning("Redis event bus: %s: %s; reconnecting", type(exc).__name__, exc)
                interrupted = True
                await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
                continue
            if interrupted:
                interrupted = False
                log.warning("Redis event bus: listening again; subscribers reload what they show")
                for channel in list(self._confirmed):
                    await self._local.publish(BusEvent(channel, {"type": BUS_RESUMED}))
            if message is not None:
                await self._dispatch(message)

    async def _dispatch(self, message: dict[str, object]) -> None:
        channel_name = message.get("channel")
        if not isinstance(channel_name, bytes):
            return
        channel = channel_name.decode()[len(PREFIX) :]
        if message.get("type") == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
        elif message.get("type") == "message" and isinstance(message.get("data"), bytes):
            await self._local.publish(BusEvent(channel, json.loads(message["data"])))  # type: ignore[arg-type]

    async def ping(self) -> bool:
        return bool(await self._client.ping())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._client.aclose()
