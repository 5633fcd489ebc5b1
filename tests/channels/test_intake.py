"""The one intake: idempotent storage, the citizen's open order within the window, threading, the console event."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hotline.auth.models import User
from hotline.channels import intake
from hotline.channels.intake import Identity, InboundMessage
from hotline.channels.models import Channel, Message
from hotline.citizens.models import Citizen, IdentityKind
from hotline.db import Database, create_engine, is_sqlite
from hotline.db_types import utcnow
from hotline.errors import DomainError
from hotline.tickets.lifecycle import Action, Status
from hotline.tickets.models import Ticket, TicketEvent
from hotline.tickets.service import act
from tests.channels.conftest import counts
from tests.conftest import as_current

PHONE = Identity(IdentityKind.PHONE, "13900139000")


def sms(external_id: str, body: str = "小区路灯不亮", sender: Identity = PHONE) -> InboundMessage:
    return InboundMessage(Channel.SMS, external_id, body, {"Body": body}, sender=sender)


async def test_first_message_registers_an_order_by_the_system(db: Database) -> None:
    async with db.session() as session:
        receipt = await intake.receive(session, sms("SM1"))
    assert receipt.new_ticket and not receipt.duplicate and receipt.ticket_number
    async with db.read_session() as session:
        ticket = await session.get(Ticket, receipt.ticket_id)
        events = list((await session.execute(select(TicketEvent))).scalars())
        message = await session.get(Message, receipt.message_id)
    assert ticket is not None and ticket.status == Status.REGISTERED and ticket.channel == "sms"
    assert ticket.content == "小区路灯不亮" and ticket.citizen_id == receipt.citizen_id
    assert [(e.action, e.actor_role, e.actor_id) for e in events] == [("create", "system", None)]
    assert message is not None and message.ticket_id == ticket.id and message.direction == "inbound"


async def test_a_repeat_changes_nothing_and_points_at_the_same_order(db: Database) -> None:
    async with db.session() as session:
        first = await intake.receive(session, sms("SM1"))
    async with db.session() as session:
        again = await intake.receive(session, sms("SM1", "内容不同也算同一条"))
    assert again.duplicate and again.message_id == first.message_id and again.ticket_number == first.ticket_number
    assert (await counts(db))["messages"] == 1


async def test_next_message_joins_the_open_order_within_the_window_only(db: Database) -> None:
    now = utcnow()
    async with db.session() as session:
        first = await intake.receive(session, sms("SM1"), now=now)
    async with db.session() as session:
        second = await intake.receive(session, sms("SM2", "补充：在3号楼"), now=now + timedelta(hours=23))
    async with db.session() as session:  # 23 h after the last message: still the same conversation
        third = await intake.receive(session, sms("SM3", "还是没修"), now=now + timedelta(hours=46))
    async with db.session() as session:
        later = await intake.receive(
            session, sms("SM4", "另一件事"), now=now + timedelta(hours=71), attach_window=timedelta(hours=24)
        )
    assert not second.new_ticket and second.ticket_id == first.ticket_id
    assert third.ticket_id == first.ticket_id
    assert later.new_ticket and later.ticket_id != first.ticket_id


async def test_an_answered_order_is_not_reopened_by_a_new_message(db: Database, staff: dict[str, User]) -> None:
    async with db.session() as session:
        first = await intake.receive(session, sms("SM1"))
        assert first.ticket_id is not None
        operator = as_current(staff["operator1"])
        await act(session, ticket_id=first.ticket_id, user=operator, action=Action.ANSWER_DIRECTLY, text="已答复")
    async with db.session() as session:
        second = await intake.receive(session, sms("SM2", "新的问题"))
    assert second.new_ticket and second.ticket_id != first.ticket_id


async def test_concurrent_replays_store_one_message_and_one_order(db: Database) -> None:
    async def deliver() -> intake.Receipt:
        async with db.session() as session:
            return await intake.receive(session, sms("SMsame"))

    receipts = await asyncio.gather(*(deliver() for _ in range(4)))
    assert sum(not r.duplicate for r in receipts) == 1
    assert len({r.ticket_number for r in receipts}) == 1
    assert {k: v for k, v in (await counts(db)).items() if k in ("messages", "tickets")} == {
        "messages": 1,
        "tickets": 1,
    }


async def test_a_new_citizen_writing_twice_at_once_is_one_citizen_with_one_order(db: Database) -> None:
    async def deliver(n: int) -> intake.Receipt:
        async with db.session() as session:
            return await intake.receive(session, sms(f"SM{n}", f"第{n}条"))

    receipts = await asyncio.gather(*(deliver(n) for n in range(5)))
    async with db.read_session() as session:
        citizens = list((await session.execute(select(Citizen))).scalars())
    assert len(citizens) == 1
    assert len({r.ticket_id for r in receipts}) == 1


async def test_an_invalid_sender_writes_nothing(db: Database) -> None:
    with pytest.raises(DomainError):
        async with db.session() as session:
            await intake.receive(session, sms("SM1", sender=Identity(IdentityKind.PHONE, "not a phone")))
    assert (await counts(db))["messages"] == 0


async def test_a_reply_threads_into_the_referenced_order_of_the_same_citizen_only(db: Database) -> None:
    mail = Identity(IdentityKind.EMAIL, "citizen@example.cn")
    now = utcnow()
    async with db.session() as session:
        first = await intake.receive(session, InboundMessage(Channel.EMAIL, "a@x", "电梯故障", sender=mail), now=now)
    later = now + timedelta(days=5)
    async with db.session() as session:
        reply = await intake.receive(
            session, InboundMessage(Channel.EMAIL, "b@x", "补充", sender=mail, thread_refs=("a@x",)), now=later
        )
    stranger = Identity(IdentityKind.EMAIL, "other@example.cn")
    async with db.session() as session:
        hijack = await intake.receive(
            session,
            InboundMessage(Channel.EMAIL, "c@x", "冒充", sender=stranger, quoted_numbers=(first.ticket_number or "",)),
            now=later,
        )
    assert reply.ticket_id == first.ticket_id and not reply.new_ticket
    assert hijack.new_ticket and hijack.ticket_id != first.ticket_id


async def test_the_console_hears_of_each_message_after_the_commit(db: Database) -> None:
    assert db.bus is not None
    async with db.bus.subscribe("console") as subscription:
        async with db.session() as session:
            receipt = await intake.receive(session, sms("SM1"))
        event = await asyncio.wait_for(anext(aiter(subscription)), 1)
    assert event.payload["type"] == "message.received"
    assert event.payload["ticket_number"] == receipt.ticket_number and event.payload["new_ticket"] is True


async def test_after_postgresql_drops_every_connection_the_intake_takes_fresh_ones(db: Database) -> None:
    """A database restart: the requests caught by it fail, those after it get new connections, not dead ones."""
    if is_sqlite(db.engine):
        pytest.skip("SQLite has no server to lose")
    async with db.session() as session:  # both pools (the orders' and the order numbers') hold a connection now
        await intake.receive(session, sms("SM1", sender=Identity(IdentityKind.PHONE, "13900139001")))
    admin = create_engine(db.url, isolation_level="AUTOCOMMIT", pool_size=1)
    async with admin.connect() as connection:
        await connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    await admin.dispose()
    # SQLAlchemy's errors, its driver adapter's, and asyncpg's own (statements run on the driver)
    lost = (DBAPIError, db.engine.dialect.dbapi.Error, asyncpg.PostgresError, asyncpg.InterfaceError)
    outcomes = []
    for n in range(2, 7):
        try:
            async with db.session() as session:
                await intake.receive(session, sms(f"SM{n}", sender=Identity(IdentityKind.PHONE, f"1390013900{n}")))
            outcomes.append("stored")
        except lost:
            outcomes.append("failed")
    assert outcomes[-3:] == ["stored"] * 3
    assert (await counts(db))["messages"] == 1 + outcomes.count("stored")
