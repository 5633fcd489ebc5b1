"""The supervisor dashboard's aggregates: orders per local day by channel, category and district; hot topics."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from hotline.categories import Category
from hotline.db import Database
from hotline.reports import service
from hotline.tickets.lifecycle import Status
from hotline.tickets.models import Ticket
from hotline.timefmt import CHINA_TZ
from routing.models import TicketSuggestion
from tests.conftest import City, login

NOW = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)  # 10:00 in China, a Saturday


async def _categories(db: Database) -> dict[str, int]:
    async with db.read_session() as session:
        return {c.code: c.id or 0 for c in (await session.execute(select(Category))).scalars()}


async def _order(
    db: Database,
    number: int,
    *,
    at: datetime,
    channel: str = "sms",
    category: int | None = None,
    territory: int | None = None,
    lead: int | None = None,
    status: Status = Status.REGISTERED,
    due_at: datetime | None = None,
    alert_level: str | None = None,
) -> None:
    async with db.session() as session:
        session.add(
            Ticket(
                number=f"20261121{number:05d}",
                channel=channel,
                title="测试工单",
                content="测试",
                status=status,
                category_id=category,
                territory_unit_id=territory,
                lead_unit_id=lead,
                created_at=at,
                due_at=due_at,
                alert_level=alert_level,
            )
        )


async def _located(db: Database, number: str, unit_id: int) -> None:
    """Store routing's proposal for an order, as the background job does, with the place it found."""
    async with db.session() as session:
        ticket = (await session.execute(select(Ticket).where(Ticket.number == number))).scalar_one()
        assert ticket.id is not None
        session.add(
            TicketSuggestion(
                ticket_id=ticket.id,
                request_type="complaint",
                request_type_confidence=0.9,
                urgency="general",
                urgency_confidence=0.9,
                territory_unit_id=unit_id,
                basis="territory",
                explanation="测试",
            )
        )


async def test_volumes_count_each_local_day_by_channel_top_category_and_district(db: Database, city: City) -> None:
    codes = await _categories(db)
    street = city.unit("liangyuan_pingyuan").id
    # 23:30 UTC on the 19th is already the 20th in China; the merged order never counts.
    await _order(
        db,
        1,
        at=datetime(2026, 11, 19, 23, 30, tzinfo=UTC),
        category=codes["environment.noise.construction"],
        territory=street,
    )
    await _order(
        db, 2, at=datetime(2026, 11, 20, 3, 0, tzinfo=UTC), channel="wechat", category=codes["environment.noise"]
    )
    await _located(db, "2026112100002", city.unit("xiayi").id)  # routing found 夏邑县 in its text
    await _order(db, 3, at=datetime(2026, 11, 21, 1, 0, tzinfo=UTC), lead=city.unit("suiyang").id)
    await _order(db, 4, at=datetime(2026, 11, 21, 1, 0, tzinfo=UTC), status=Status.MERGED)
    await _order(db, 5, at=datetime(2026, 11, 17, 15, 59, tzinfo=UTC))  # the 17th in China: before the window
    async with db.read_session() as session:
        volumes = await service.volumes(session, first=date(2026, 11, 18), last=date(2026, 11, 21))
    assert volumes.days == [date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
    assert volumes.total == 3
    assert {s.key: s.counts for s in volumes.by_channel} == {"sms": [0, 0, 1, 1], "wechat": [0, 0, 1, 0]}
    assert {s.label: s.counts for s in volumes.by_category} == {"环境保护": [0, 0, 2, 0], "未分类": [0, 0, 0, 1]}
    # territory first, else where routing located it, else the lead unit's district; districts' short names
    assert {s.label: s.counts for s in volumes.by_territory} == {
        "梁园区": [0, 0, 1, 0],
        "夏邑县": [0, 0, 1, 0],
        "睢阳区": [0, 0, 0, 1],
    }


async def test_hot_topics_rank_second_level_categories_against_the_period_before(db: Database, city: City) -> None:
    codes = await _categories(db)
    noise, construction = codes["environment.noise"], codes["environment.noise.construction"]
    for n in range(3):
        await _order(db, 10 + n, at=NOW - timedelta(days=1), category=construction)
    await _order(db, 20, at=NOW - timedelta(days=9), category=noise)
    async with db.read_session() as session:
        topics = await service.hot_topics(session, now=NOW, days=7)
    assert [(t.path, t.count, t.previous, t.growth) for t in topics][0] == ("环境保护 / 噪声污染", 3, 1, 2.0)


async def test_the_dashboard_is_for_supervisors_and_counts_open_overdue_and_warned_orders(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    now = datetime.now(UTC)
    await _order(db, 30, at=now, status=Status.IN_PROGRESS, due_at=now - timedelta(hours=1), alert_level="red_card")
    await _order(db, 31, at=now, status=Status.DISPATCHED, due_at=now + timedelta(days=1), alert_level="warning")
    await _order(db, 32, at=now, status=Status.CLOSED, due_at=now - timedelta(days=1))
    response = await app_client.get("/api/v1/reports/dashboard?days=3", headers=await login(app_client, "supervisor1"))
    assert response.status_code == 200
    body = response.json()
    assert body["workload"] == {"open": 2, "overdue": 1, "warning": 1, "yellow_card": 0, "red_card": 1}
    assert len(body["volumes"]["days"]) == 3
    assert body["volumes"]["days"][-1] == now.astimezone(CHINA_TZ).date().isoformat()
    assert body["volumes"]["total"] == 3


@pytest.mark.parametrize("who", ["operator1", "dept_liangyuan1", "admin1"])
async def test_others_may_not_read_the_dashboard(app_client: httpx.AsyncClient, staff: dict, who: str) -> None:
    response = await app_client.get("/api/v1/reports/dashboard", headers=await login(app_client, who))
    assert response.status_code == 403


async def test_a_period_out_of_range_is_refused(app_client: httpx.AsyncClient, staff: dict) -> None:
    headers = await login(app_client, "supervisor1")
    for days in ("0", "93", "x"):
        response = await app_client.get(f"/api/v1/reports/dashboard?days={days}", headers=headers)
        assert response.status_code == 422
