"""The outbox: enqueued once per key, delivered at least once, retried with backoff, dead after the limit."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.outbox import service
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.outbox.providers import Delivery, DeliveryError


class FlakyProvider:
    """A stand-in provider that fails a given number of times, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures, self.received = failures, []

    async def send(self, delivery: Delivery) -> str | None:
        if self.failures:
            self.failures -= 1
            raise DeliveryError("provider answered 500")
        self.received.append(delivery)
        return f"msg-{len(self.received)}"


async def _enqueue(db: Database, key: str = "reply:1") -> bool:
    async with db.session() as session:
        return await service.enqueue(
            session,
            dedupe_key=key,
            channel="sms",
            recipient="+8613800138000",
            body="您的诉求已受理，工单号 2026112100001。",
        )


async def _message(db: Database) -> OutboxMessage:
    async with db.read_session() as session:
        return (await session.execute(select(OutboxMessage))).scalar_one()


async def test_the_same_key_is_enqueued_once(db: Database) -> None:
    assert await _enqueue(db) is True
    assert await _enqueue(db) is False
    async with db.read_session() as session:
        assert len((await session.execute(select(OutboxMessage))).all()) == 1


async def test_a_failing_provider_is_retried_and_the_citizen_gets_one_message(db: Database) -> None:
    await _enqueue(db)
    provider = FlakyProvider(failures=2)
    now = utcnow()
    for _ in range(2):
        assert await service.deliver_due(db, {"sms": provider}, now=now) == 1
        message = await _message(db)
        assert message.status == OutboxStatus.PENDING and message.next_attempt_at > now  # backing off
        assert await service.deliver_due(db, {"sms": provider}, now=now) == 0  # not due yet
        now = message.next_attempt_at
    assert await service.deliver_due(db, {"sms": provider}, now=now) == 1
    assert await service.deliver_due(db, {"sms": provider}, now=now + timedelta(days=1)) == 0
    message = await _message(db)
    assert (message.status, message.attempts, message.provider_message_id) == (OutboxStatus.SENT, 3, "msg-1")
    assert len(provider.received) == 1


async def test_a_message_is_dead_after_the_retry_limit(db: Database) -> None:
    await _enqueue(db)
    provider = FlakyProvider(failures=100)
    now = utcnow()
    for _ in range(service.MAX_ATTEMPTS):
        await service.deliver_due(db, {"sms": provider}, now=now)
        now += service.MAX_RETRY
    message = await _message(db)
    assert message.status == OutboxStatus.DEAD and message.attempts == service.MAX_ATTEMPTS
    assert "500" in (message.last_error or "")


async def test_a_sender_that_died_mid_send_is_retried_after_its_lease(db: Database) -> None:
    await _enqueue(db)
    now = utcnow()
    async with db.session() as session:
        assert len(await service.claim_due(session, now=now)) == 1  # claimed, then the process died
    provider = FlakyProvider(failures=0)
    assert await service.deliver_due(db, {"sms": provider}, now=now) == 0
    assert await service.deliver_due(db, {"sms": provider}, now=now + service.LEASE) == 1
    assert len(provider.received) == 1
