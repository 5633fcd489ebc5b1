"""Queries of the intake: idempotent message insert, threading look-ups, the citizen's open order."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.models import Direction, Message, MessageAttachment
from hotline.db import DriverStatement
from hotline.tickets.lifecycle import OPEN_STATUSES
from hotline.tickets.models import Ticket

MERGE_CHAIN_LIMIT = 10  # an order merged into one that was merged again, and so on
_MESSAGES: Any = Message.__table__  # type: ignore[attr-defined]


async def insert_inbound(
    session: AsyncSession, *, channel: str, external_id: str, body: str, raw: dict[str, Any], at: datetime
) -> int | None:
    """Store a message unless the channel already delivered it; its id, or None for a repeat.

    ``INSERT … ON CONFLICT DO NOTHING`` on (channel, external_id): concurrent repeats wait for the
    first writer and then insert nothing, on SQLite and PostgreSQL alike.
    """
    params = {"m_channel": channel, "m_external_id": external_id, "m_body": body, "m_raw": raw, "m_at": at}
    if session.get_bind().dialect.name == "postgresql":
        rows = await _INSERT_INBOUND_ON_DRIVER.fetch(session, params)
        return rows[0][0] if rows else None
    return (await session.execute(_INSERT_INBOUND_SQLITE, params)).scalar_one_or_none()


def _insert_inbound(insert: Any) -> Any:
    """Built once with bound parameters: building it for every message cost more CPU than running it."""
    values = {
        name: bindparam(f"m_{name}", type_=_MESSAGES.c[name].type) for name in ("channel", "external_id", "body", "raw")
    }
    return (
        insert(_MESSAGES)
        .values(
            **values, direction=Direction.INBOUND.value, created_at=bindparam("m_at", type_=_MESSAGES.c.created_at.type)
        )
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(_MESSAGES.c.id)
    )


_INSERT_INBOUND_ON_DRIVER = DriverStatement(_insert_inbound(pg_insert))
_INSERT_INBOUND_SQLITE = _insert_inbound(sqlite_insert)


async def message_by_external_id(session: AsyncSession, *, channel: str, external_id: str) -> Message | None:
    """The message a channel delivered under this id."""
    query = select(Message).where(col(Message.channel) == channel, col(Message.external_id) == external_id)
    return (await session.execute(query)).scalar_one_or_none()


async def link_message(
    session: AsyncSession, *, message_id: int, citizen_id: int | None, ticket_id: int | None
) -> None:
    """Attach a stored message to its citizen and order."""
    params = {"message_id": message_id, "to_citizen": citizen_id, "to_ticket": ticket_id}
    await session.execute(_LINK_MESSAGE, params)


_LINK_MESSAGE = (
    _MESSAGES.update()
    .where(_MESSAGES.c.id == bindparam("message_id"))
    .values(citizen_id=bindparam("to_citizen"), ticket_id=bindparam("to_ticket"))
)


async def add_attachment(
    session: AsyncSession, *, message_id: int, kind: str, filename: str, content_type: str, content: bytes
) -> None:
    """Keep one file of a message."""
    session.add(
        MessageAttachment(
            message_id=message_id,
            kind=kind,
            filename=filename,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content=content,
        )
    )


async def attachments_of(session: AsyncSession, *, message_id: int) -> list[MessageAttachment]:
    """The files of a message, in the order they came."""
    query = select(MessageAttachment).where(col(MessageAttachment.message_id) == message_id)
    return list((await session.execute(query.order_by(col(MessageAttachment.id)))).scalars())


async def tickets_of_messages(session: AsyncSession, *, channel: str, external_ids: Sequence[str]) -> list[int]:
    """The orders that earlier messages of a channel belong to (email threading by Message-ID)."""
    if not external_ids:
        return []
    query = select(col(Message.ticket_id)).where(
        col(Message.channel) == channel, col(Message.external_id).in_(list(external_ids))
    )
    return [t for t in (await session.execute(query)).scalars() if t is not None]


async def tickets_by_number(session: AsyncSession, *, numbers: Sequence[str]) -> list[int]:
    """The ids of orders with these numbers."""
    if not numbers:
        return []
    query = select(col(Ticket.id)).where(col(Ticket.number).in_(list(numbers)))
    return [t for t in (await session.execute(query)).scalars() if t is not None]


async def follow_merges(session: AsyncSession, *, ticket_id: int) -> Ticket | None:
    """The order that now carries this one: itself, or the order it was merged into (并单)."""
    ticket = await session.get(Ticket, ticket_id)
    for _ in range(MERGE_CHAIN_LIMIT):
        if ticket is None or ticket.merged_into_id is None:
            return ticket
        ticket = await session.get(Ticket, ticket.merged_into_id)
    return ticket


async def recent_open_ticket(session: AsyncSession, *, citizen_id: int, since: datetime) -> Ticket | None:
    """The citizen's newest open order that was registered or written to since ``since``."""
    recent_message = exists(
        select(col(Message.id)).where(
            col(Message.ticket_id) == col(Ticket.id),
            col(Message.direction) == Direction.INBOUND,
            col(Message.created_at) >= since,
        )
    )
    query = (
        select(Ticket)
        .where(
            col(Ticket.citizen_id) == citizen_id,
            col(Ticket.status).in_(OPEN_STATUSES),
            or_(col(Ticket.created_at) >= since, recent_message),
        )
        .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def first_message(session: AsyncSession, *, ticket_id: int, channel: str) -> Message | None:
    """The earliest message of a channel on an order (e.g. the Open311 request that opened it)."""
    query = (
        select(Message)
        .where(col(Message.ticket_id) == ticket_id, col(Message.channel) == channel)
        .order_by(col(Message.id))
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()
