"""Supervisors urge and supervise, units reply; administrators load a new year's holiday schedule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from hotline.calendar.holidays import HolidaySchedule
from hotline.db import Database
from hotline.supervision import calendars
from hotline.tickets.models import RequestType
from hotline.timefmt import CHINA_TZ
from tests.conftest import City, login
from tests.supervision.helpers import dispatched_order, ticket

SPRING_FESTIVAL_2027 = {
    "holidays": [f"2027-02-{d:02d}" for d in range(6, 13)],
    "workdays": ["2027-02-13"],
    "source": "国务院办公厅关于2027年部分节假日安排的通知（演示）",
}


@pytest.fixture(autouse=True)
def library_calendar() -> Iterator[None]:
    yield
    calendars.install(HolidaySchedule())  # loaded years are process-wide: leave none behind


async def test_urge_reaches_the_unit_which_replies(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=datetime.now(CHINA_TZ))
    supervisor, dept = await login(app_client, "supervisor1"), await login(app_client, "dept_liangyuan1")
    assert (
        await app_client.post(f"/api/v1/tickets/{ticket_id}/urge", headers=dept, json={"content": "请加快办理"})
    ).status_code == 403
    urged = await app_client.post(
        f"/api/v1/tickets/{ticket_id}/urge", headers=supervisor, json={"content": "群众反映强烈，请加快办理"}
    )
    assert urged.status_code == 201 and urged.json()["kind_label"] == "催办"
    order_id = urged.json()["id"]
    assert [o["id"] for o in (await app_client.get("/api/v1/supervision-orders?status=open", headers=dept)).json()] == [
        order_id
    ]
    other = await login(app_client, "dept_zhujian1")
    assert (await app_client.get("/api/v1/supervision-orders", headers=other)).json() == []
    assert (
        await app_client.post(
            f"/api/v1/supervision-orders/{order_id}/reply", headers=other, json={"reply": "不是我们的"}
        )
    ).status_code == 404
    replied = await app_client.post(
        f"/api/v1/supervision-orders/{order_id}/reply", headers=dept, json={"reply": "已安排人员今日处理"}
    )
    assert replied.json()["status"] == "replied"
    again = await app_client.post(f"/api/v1/supervision-orders/{order_id}/reply", headers=dept, json={"reply": "x"})
    assert again.status_code == 409
    history = (await app_client.get(f"/api/v1/tickets/{ticket_id}", headers=supervisor)).json()["events"]
    assert [e["label"] for e in history][-2:] == ["催办", "督办回复"]


async def test_pause_and_resume_through_the_api(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=datetime.now(CHINA_TZ))
    dept = await login(app_client, "dept_liangyuan1")
    url = f"/api/v1/tickets/{ticket_id}"
    paused = await app_client.post(f"{url}/pause-clock", headers=dept, json={"reason": "等待诉求人提供照片"})
    assert paused.status_code == 200 and paused.json()["paused_at"] is not None
    assert (await app_client.post(f"{url}/pause-clock", headers=dept, json={"reason": "再次"})).status_code == 409
    other = await login(app_client, "dept_zhujian1")
    assert (await app_client.post(f"{url}/resume-clock", headers=other)).status_code == 404
    resumed = await app_client.post(f"{url}/resume-clock", headers=dept)
    assert resumed.json()["paused_at"] is None
    assert [e["type"] for e in resumed.json()["events"]][-2:] == ["clock_paused", "clock_resumed"]


async def test_a_loaded_year_moves_deadlines_across_its_holidays(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    before = (await app_client.get("/api/v1/calendar", headers=admin)).json()
    assert 2027 not in before["loaded_years"]
    assert (
        await app_client.put(
            "/api/v1/calendar/years/2027", headers=await login(app_client, "supervisor1"), json=SPRING_FESTIVAL_2027
        )
    ).status_code == 403
    bad = {**SPRING_FESTIVAL_2027, "workdays": ["2027-02-08"]}  # a Monday cannot be a make-up working day
    assert (await app_client.put("/api/v1/calendar/years/2027", headers=admin, json=bad)).status_code == 422
    loaded = await app_client.put("/api/v1/calendar/years/2027", headers=admin, json=SPRING_FESTIVAL_2027)
    assert loaded.status_code == 200 and loaded.json()["loaded_years"] == [2027]

    # A consultation dispatched on Friday 2027-02-05 10:00 has 14 working hours: 6 on Friday, 7 on the
    # make-up Saturday 02-13, and the last one on Monday 02-15, after the Spring Festival week.
    ticket_id = await dispatched_order(
        db, city, staff, at=datetime(2027, 2, 5, 10, 0, tzinfo=CHINA_TZ), request_type=RequestType.CONSULTATION
    )
    assert (await ticket(db, ticket_id)).due_at == datetime(2027, 2, 15, 10, 0, tzinfo=CHINA_TZ)


async def test_without_a_loaded_year_only_weekends_count(db: Database, city: City, staff: dict) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=datetime(2027, 2, 5, 10, 0, tzinfo=CHINA_TZ))
    assert (await ticket(db, ticket_id)).due_at == datetime(2027, 2, 9, 10, 0, tzinfo=CHINA_TZ)
