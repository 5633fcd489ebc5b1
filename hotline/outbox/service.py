"""Enqueueing in the caller's transaction, and delivering with retries, backoff and a dead letter."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.outbox.providers import Delivery, DeliveryError, Provider

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
BATCH_SIZE = 100


async def enqueue(
    session: AsyncSession,
    *,
    dedupe_key: str,
    channel: str,
    recipient: str,
    body: str,
    subject: str | None = None,
    ticket_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> bool:
    """Add a message unless one with the same key exists; True if it was added."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OutboxMessage)
        .values(
            dedupe_key=dedupe_key,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            ticket_id=ticket_id,
            payload=payload or {},
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Add many messages at once (keys already present are skipped); returns how many were added."""
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    values = [
        {
            "subject": None,
            "ticket_id": None,
            "payload": {},
            **row,
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for row in rows
    ]
    statement = (
        insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(col(OutboxMessage.id))
    )
    return len((await session.execute(statement, values)).all())  # executemany, batched by the driver


def backoff(attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt (doubling, capped)."""
    return min(FIRST_RETRY * float(2 ** max(attempts - 1, 0)), MAX_RETRY)


LEASE = timedelta(minutes=2)  # a claimed message is retried by others if its sender dies mid-send


@dataclass(frozen=True)
class Outcome:
    message_id: int
    attempts: int
    provider_message_id: str | None = None
    error: str | None = None


async def claim_due(
    session: AsyncSession, *, now: datetime, limit: int = BATCH_SIZE, lease: timedelta = LEASE
) -> list[OutboxMessage]:
    """Lease due messages to this sender: locked rows are skipped by other workers, the lease by later ones."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status) == OutboxStatus.PENDING, col(OutboxMessage.next_attempt_at) <= now)
        .order_by(col(OutboxMessage.next_attempt_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    messages = list((await session.execute(query)).scalars())
    for message in messages:
        message.attempts += 1
        message.next_attempt_at = now + lease
    return messages


async def send_one(message: Delivery, attempts: int, message_id: int, providers: Mapping[str, Provider]) -> Outcome:
    """One attempt at one message, outside any transaction."""
    provider = providers.get(message.channel)
    try:
        if provider is None:
            raise DeliveryError(f"no provider configured for channel {message.channel!r}")
        return Outcome(message_id, attempts, provider_message_id=await provider.send(message))
    except DeliveryError as exc:
        return Outcome(message_id, attempts, error=str(exc)[:2000])


def record(message: OutboxMessage, outcome: Outcome, *, now: datetime) -> None:
    """Mark a message sent, due for a retry with backoff, or dead after the retry limit."""
    if outcome.error is None:
        message.status, message.sent_at, message.last_error = OutboxStatus.SENT, now, None
        message.provider_message_id = outcome.provider_message_id
        return
    message.last_error = outcome.error
    if outcome.attempts >= MAX_ATTEMPTS:
        message.status = OutboxStatus.DEAD
        log.warning("outbox message %s is dead after %s attempts: %s", message.id, outcome.attempts, outcome.error)
    else:
        message.next_attempt_at = now + backoff(outcome.attempts)


async def deliver_due(
    db: Database, providers: Mapping[str, Provider], *, now: datetime | None = None, lease: timedelta = LEASE
) -> int:
    """Deliver one batch of due messages: claim briefly, send outside the transaction, record briefly.

    Several workers may run this at once: ``SKIP LOCKED`` and the lease give each message to one of
    them. A worker that dies after sending and before recording leaves the lease to run out; the
    message is then sent again under the same ``dedupe_key``, which providers use as the idempotency
    key of the request, so that one honouring it delivers once (see docs/DEPLOY.md).
    """
    now = now or utcnow()
    async with db.session() as session:
        claimed = [
            (Delivery(m.channel, m.recipient, m.subject, m.body, m.dedupe_key, dict(m.payload)), m.attempts, m.id or 0)
            for m in await claim_due(session, now=now, lease=lease)
        ]
    outcomes = [await send_one(delivery, attempts, message_id, providers) for delivery, attempts, message_id in claimed]
    if outcomes:
        async with db.session() as session:
            for outcome in outcomes:
                message = await session.get(OutboxMessage, outcome.message_id)
                if message is not None and message.status == OutboxStatus.PENDING:
                    record(message, outcome, now=utcnow())
    return len(outcomes)
