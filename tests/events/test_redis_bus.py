"""Scaled out: an event published on one instance reaches a console on another, through Redis."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from hotline.events.bus import BUS_RESUMED, BusEvent
from hotline.events.redis_bus import RedisEventBus
from tests.relay import relay_to

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL")
pytestmark = pytest.mark.skipif(not REDIS_URL, reason="HOTLINE_TEST_REDIS_URL not set")


async def test_an_event_on_one_instance_reaches_a_subscriber_on_another() -> None:
    assert REDIS_URL is not None
    instance_a, instance_b = RedisEventBus(REDIS_URL), RedisEventBus(REDIS_URL)
    channel = f"console-{uuid.uuid4().hex[:8]}"  # runs sharing the server do not see each other
    try:
        async with instance_b.subscribe(channel) as subscription:
            await instance_a.publish(BusEvent(channel, {"type": "message.received", "preview": "噪音扰民"}))
            event = await asyncio.wait_for(anext(aiter(subscription)), timeout=5)  # type: ignore[call-overload]
        assert event == BusEvent(channel, {"type": "message.received", "preview": "噪音扰民"})
    finally:
        await instance_a.close()
        await instance_b.close()


async def test_every_console_of_an_instance_gets_the_event_and_channels_can_be_added_later() -> None:
    assert REDIS_URL is not None
    instance_a, instance_b = RedisEventBus(REDIS_URL), RedisEventBus(REDIS_URL)
    first, second = (f"console-{uuid.uuid4().hex[:8]}" for _ in range(2))
    try:
        async with (
            instance_b.subscribe(first) as one,
            instance_b.subscribe(first) as two,
            instance_b.subscribe(second) as later,  # a channel added while the instance already listens
        ):
            await instance_a.publish(BusEvent(first, {"n": 1}))
            await instance_a.publish(BusEvent(second, {"n": 2}))
            received = [
                await asyncio.wait_for(anext(aiter(s)), timeout=5)  # type: ignore[call-overload]
                for s in (one, two, later)
            ]
        assert received == [BusEvent(first, {"n": 1}), BusEvent(first, {"n": 1}), BusEvent(second, {"n": 2})]
    finally:
        await instance_a.close()
        await instance_b.close()


async def test_a_transactions_events_reach_the_other_instance_in_order() -> None:
    assert REDIS_URL is not None
    instance_a, instance_b = RedisEventBus(REDIS_URL), RedisEventBus(REDIS_URL)
    orders, console = (f"channel-{uuid.uuid4().hex[:8]}" for _ in range(2))
    events = [BusEvent(orders, {"type": "ticket.create"}), BusEvent(console, {"type": "message.received"})]
    try:
        async with instance_b.subscribe(orders, console) as subscription:
            await instance_a.publish_all([*events, BusEvent(orders, {"type": "ticket.dispatch"})])
            stream = aiter(subscription)
            received = [await asyncio.wait_for(anext(stream), timeout=5) for _ in range(3)]  # type: ignore[call-overload]
        assert received == [*events, BusEvent(orders, {"type": "ticket.dispatch"})]
    finally:
        await instance_a.close()
        await instance_b.close()


async def test_after_a_cut_from_redis_subscribers_are_told_to_reload_and_hear_new_events_again() -> None:
    assert REDIS_URL is not None
    relay, through_relay = await relay_to(REDIS_URL)
    listening = RedisEventBus(through_relay)
    publishing = RedisEventBus(REDIS_URL)
    channel = f"console-{uuid.uuid4().hex[:8]}"
    try:
        async with listening.subscribe(channel) as subscription:
            stream = aiter(subscription)
            await relay.cut()
            await publishing.publish(BusEvent(channel, {"type": "message.received", "n": 1}))  # lost in the cut
            await relay.up()
            resumed = await asyncio.wait_for(anext(stream), timeout=10)  # type: ignore[call-overload]
            await publishing.publish(BusEvent(channel, {"type": "message.received", "n": 2}))
            after = await asyncio.wait_for(anext(stream), timeout=5)  # type: ignore[call-overload]
        assert resumed == BusEvent(channel, {"type": BUS_RESUMED})
        assert after.payload["n"] == 2
    finally:
        await listening.close()
        await publishing.close()
        await relay.cut()
