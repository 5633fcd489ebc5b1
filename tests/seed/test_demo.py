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
from hotline.units.models import Unit
from routing.registry import active_version
from tests.routing.conftest import synthetic_examples, write_jsonl

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


async def _orders_about(db: Database, words: str) -> tuple[list[Ticket], dict[int, Unit]]:
    async with db.read_session() as session:
        tickets = list((await session.execute(select(Ticket).where(Ticket.content.contains(words)))).scalars())
        units = {u.id: u for u in (await session.execute(select(Unit))).scalars() if u.id is not None}
    return tickets, units


async def test_demo_orders_carry_the_consoles_proposals(settings: Settings, db: Database) -> None:
    await seed(settings, orders=24, data_dir=Path("/nonexistent"))
    async with db.read_session() as session:
        tickets = list((await session.execute(select(Ticket))).scalars())
    assert sum(t.category_id is not None for t in tickets) >= 20  # keywords alone: no model was trained
    lifts, units = await _orders_about(db, "电梯一个月坏了三次")
    assert lifts and all(units[t.territory_unit_id or 0].code == "liangyuan_pingyuan" for t in lifts)
    # dispatched where the catalogue says: property matters in 梁园区 go to the district
    leads = {units[t.lead_unit_id].code for t in lifts if t.lead_unit_id is not None}
    assert leads == {"liangyuan"}


async def test_the_demo_can_train_its_classifier_first(settings: Settings, db: Database, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    missing = await seed(settings, orders=0, data_dir=data, classifier=True)
    assert missing["classifier"].startswith("not trained") and active_version(settings.model_dir) is None

    write_jsonl(data / "classify_train.jsonl", synthetic_examples(per_label=20))
    trained = await seed(settings, orders=12, data_dir=data, classifier=True)
    version = active_version(settings.model_dir)
    assert trained["classifier"].startswith("activated") and version is not None
    again = await seed(settings, orders=12, data_dir=data, classifier=True)
    assert again["classifier"] == f"model {version} already active"
