"""The supervision sweep: tiers at the right instants, exactly once, replayable, restart- and race-safe."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta

from sqlmodel import col, select

from hotline.auth.models import User
from hotline.db import Database
from hotline.outbox.models import OutboxMessage
from hotline.supervision import service as supervision
from hotline.supervision.models import SupervisionOrder
from hotline.supervision.sweep import sweep
from hotline.tickets import repository, service
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import RequestType, Urgency
from hotline.timefmt import CHINA_TZ
from tests.conftest import City, as_current
from tests.supervision.helpers import department, dispatched_order, fired, ticket

TUESDAY = datetime(2026, 11, 3, 10, 0, tzinfo=CHINA_TZ)  # an ordinary week, no holidays


async def test_tier_instants_follow_working_time(db: Database, city: City, staff: dict[str, User]) -> None:
    # A consultation has 2 working days (14 working hours at 09:00-12:00, 13:30-17:30): due Thursday 10:00.
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY)
    order = await ticket(db, ticket_id)
    assert order.due_at == datetime(2026, 11, 5, 10, 0, tzinfo=CHINA_TZ)
    # 80% of 14 h is 11 h 12 min of working time: Tuesday 6 h, Wednesday 3 h + 2 h 12 min from 13:30.
    assert order.next_alert_tier == "warning"
    assert order.next_alert_at == datetime(2026, 11, 4, 15, 42, tzinfo=CHINA_TZ)

    await sweep(db, now=datetime(2026, 11, 4, 15, 41, tzinfo=CHINA_TZ))
    assert not await fired(db, ticket_id)
    await sweep(db, now=datetime(2026, 11, 4, 15, 42, tzinfo=CHINA_TZ))
    assert (await fired(db, ticket_id))["warning"] == 1
    order = await ticket(db, ticket_id)
    assert (order.alert_level, order.next_alert_tier) == ("warning", "yellow_card")
    assert order.next_alert_at == datetime(2026, 11, 5, 10, 0, tzinfo=CHINA_TZ)
    await sweep(db, now=datetime(2026, 11, 5, 10, 0, tzinfo=CHINA_TZ))
    order = await ticket(db, ticket_id)
    # Red card when overdue by more than 5 working days: the following Thursday at 10:00.
    assert (order.alert_level, order.next_alert_at) == ("yellow_card", datetime(2026, 11, 12, 10, 0, tzinfo=CHINA_TZ))


async def test_replaying_every_instant_twice_fires_each_tier_once(db: Database, city: City, staff: dict) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY, request_type=RequestType.COMPLAINT)
    instants = [TUESDAY + timedelta(hours=h) for h in range(0, 24 * 40, 7)]
    for instant in instants:
        for _ in range(2):
            await sweep(db, now=instant)
    counts = await fired(db, ticket_id)
    assert counts == {
        "warning": 1,
        "yellow_card": 1,
        "red_card": 1,
        "event:sla_warning": 1,
        "event:sla_yellow_card": 1,
        "event:sla_red_card": 1,
    }
    order = await ticket(db, ticket_id)
    assert order.alert_level == "red_card" and order.next_alert_at is None


async def test_a_late_first_sweep_fires_every_missed_tier_in_order(db: Database, city: City, staff: dict) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY)
    result = await sweep(db, now=TUESDAY + timedelta(days=60))  # the service was down for weeks
    assert result.fired == {"warning": 1, "yellow_card": 1, "red_card": 1}
    async with db.read_session() as session:
        history = [e.action for e in await repository.events(session, ticket_id=ticket_id)]
    assert history[-4:] == ["sla_warning", "sla_yellow_card", "sla_red_card", "supervise"]


async def test_concurrent_sweeps_fire_each_tier_once(database_url: str, city: City, staff: dict) -> None:
    first, second = Database(database_url), Database(database_url)
    try:
        ids = [await dispatched_order(first, city, staff, at=TUESDAY) for _ in range(12)]
        later = TUESDAY + timedelta(days=30)
        await asyncio.gather(sweep(first, now=later, batch_size=5), sweep(second, now=later, batch_size=5))
        for ticket_id in ids:
            counts = await fired(first, ticket_id)
            assert (counts["warning"], counts["yellow_card"], counts["red_card"]) == (1, 1, 1)
            assert counts["event:sla_red_card"] == 1
    finally:
        await first.dispose()
        await second.dispose()


async def test_an_approved_extension_gets_its_own_tiers(db: Database, city: City, staff: dict) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY)
    await sweep(db, now=datetime(2026, 11, 5, 10, 0, tzinfo=CHINA_TZ))  # warning and yellow for the first deadline
    dept, supervisor = department(staff, city, "liangyuan"), as_current(staff["supervisor1"])
    new_due = datetime(2026, 11, 10, 17, 30, tzinfo=CHINA_TZ)
    async with db.session() as session:
        await service.act(
            session,
            ticket_id=ticket_id,
            user=dept,
            action=Action.REQUEST_EXTENSION,
            text="需多部门会商",
            params={"requested_due_at": new_due},
            now=datetime(2026, 11, 5, 11, 0, tzinfo=CHINA_TZ),
        )
        await service.act(
            session,
            ticket_id=ticket_id,
            user=supervisor,
            action=Action.APPROVE_EXTENSION,
            now=datetime(2026, 11, 5, 11, 30, tzinfo=CHINA_TZ),
        )
    order = await ticket(db, ticket_id)
    assert order.due_at == new_due and order.alert_level is None
    await sweep(db, now=new_due)
    counts = await fired(db, ticket_id)
    assert (counts["warning"], counts["yellow_card"], counts["red_card"]) == (2, 2, 0)


async def test_a_paused_clock_is_not_swept_and_resuming_moves_the_deadline(
    db: Database, city: City, staff: dict
) -> None:

    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY)
    dept = department(staff, city, "liangyuan")
    async with db.session() as session:
        await supervision.pause_clock(
            session,
            ticket_id=ticket_id,
            user=dept,
            reason="等待诉求人补充材料",
            now=datetime(2026, 11, 3, 14, 0, tzinfo=CHINA_TZ),
        )
    assert (await ticket(db, ticket_id)).next_alert_at is None
    assert (await sweep(db, now=TUESDAY + timedelta(days=30))).orders == 0
    async with db.session() as session:
        await supervision.resume_clock(
            session, ticket_id=ticket_id, user=dept, now=datetime(2026, 11, 4, 14, 0, tzinfo=CHINA_TZ)
        )
    order = await ticket(db, ticket_id)
    # Paused for one working day (7 h): the deadline moves from Thursday 10:00 to Friday 10:00.
    assert order.due_at == datetime(2026, 11, 6, 10, 0, tzinfo=CHINA_TZ)
    assert order.next_alert_tier == "warning"


async def test_red_card_opens_a_supervision_order_and_notifies_each_channel_once(
    db: Database, city: City, staff: dict
) -> None:
    async with db.session() as session:
        dept_user = await session.get(User, staff["dept_liangyuan1"].id)
        assert dept_user is not None
        dept_user.phone, dept_user.email = "+8613900000001", "liangyuan@hotline.example.cn"
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY, urgency=Urgency.URGENT)
    await sweep(db, now=TUESDAY + timedelta(days=20))
    await sweep(db, now=TUESDAY + timedelta(days=21))
    async with db.read_session() as session:
        orders = list((await session.execute(select(SupervisionOrder))).scalars())
        outbox = list(
            (
                await session.execute(
                    select(OutboxMessage).where(
                        col(OutboxMessage.recipient).in_(
                            ["+8613900000001", "liangyuan@hotline.example.cn", f"user:{staff['dept_liangyuan1'].id}"]
                        )
                    )
                )
            ).scalars()
        )
    assert [(o.ticket_id, o.kind, o.status) for o in orders] == [(ticket_id, "red_card", "open")]
    assert sorted(m.channel for m in outbox) == sorted(["app", "sms", "email"] * 3)  # 3 tiers x 3 channels
    assert all("井盖缺失" in m.body for m in outbox)


SWEEP_IN_A_PROCESS = """
import asyncio, sys
from datetime import datetime
from hotline.db import Database
from hotline.supervision.sweep import sweep

async def main():
    db = Database(sys.argv[1])
    await sweep(db, now=datetime.fromisoformat(sys.argv[2]), batch_size=3)
    await db.dispose()

asyncio.run(main())
"""


async def test_two_processes_sweeping_at_once_fire_each_tier_once(
    database_url: str, db: Database, city: City, staff: dict
) -> None:
    ids = [await dispatched_order(db, city, staff, at=TUESDAY) for _ in range(10)]
    later = (TUESDAY + timedelta(days=30)).isoformat()
    processes = [
        await asyncio.create_subprocess_exec(sys.executable, "-c", SWEEP_IN_A_PROCESS, database_url, later)
        for _ in range(2)
    ]
    assert [await p.wait() for p in processes] == [0, 0]
    for ticket_id in ids:
        counts = await fired(db, ticket_id)
        assert (counts["warning"], counts["yellow_card"], counts["red_card"]) == (1, 1, 1)
        assert (counts["event:sla_warning"], counts["event:sla_red_card"]) == (1, 1)
