"""``seed-demo`` builds the demo city with orders in every state, and is safe to run twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.config import Settings
from hotline.db import Database
from hotline.seed.demo import seed
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket, TicketEvent

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


async def _states(db: Database) -> dict[str, int]:
    async with db.read_session() as session:
        rows = await session.execute(select(Ticket.status, func.count()).group_by(Ticket.status))
        return {row[0]: row[1] for row in rows}


async def test_builtin_demo_has_every_state_and_all_accounts(settings: Settings, db: Database) -> None:
    settings.demo_password = None
    first = await seed(settings, orders=60, data_dir=Path("/nonexistent"))
    assert first["orders_created"] == 60 and first["units"] > 100
    assert "demo_password" in first  # made up and shown once, since none was configured
    assert set(await _states(db)) == set(Status)
    async with db.read_session() as session:
        names = set((await session.execute(select(User.username))).scalars())
        events = (await session.execute(select(func.count()).select_from(TicketEvent))).scalar_one()
    assert {"operator1", "dispatcher1", "supervisor1", "admin1", "dept_zhujian1", "dept_liangyuan1"} <= names
    assert events > 60

    again = await seed(settings, orders=60, data_dir=Path("/nonexistent"))
    assert again["orders_created"] == 0 and again["accounts_created"] == 0
    assert sum((await _states(db)).values()) == 60


@pytest.mark.skipif(not (SHARED_DATA / "teddycup2020_c_replies.jsonl").is_file(), reason="public data set absent")
async def test_demo_orders_come_from_real_messages(settings: Settings, db: Database) -> None:
    await seed(settings, orders=30, data_dir=SHARED_DATA)
    async with db.read_session() as session:
        contents = list((await session.execute(select(Ticket.content))).scalars())
    assert len(contents) == 30
    assert not any("A市" in c for c in contents)  # the anonymised city became the demo city
