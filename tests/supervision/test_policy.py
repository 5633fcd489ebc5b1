"""Time-limit policies: the sourced defaults, the most specific rule winning, and administrators' changes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from hotline.db import Database
from hotline.supervision import policy
from hotline.supervision.policy import Limit, limit_for
from hotline.tickets import service
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import RequestType, Urgency
from hotline.timefmt import CHINA_TZ
from tests.conftest import City, as_current, login
from tests.supervision.helpers import department, dispatched_order, ticket

TUESDAY = datetime(2026, 11, 3, 10, 0, tzinfo=CHINA_TZ)


@pytest.fixture(autouse=True)
def default_policies() -> Iterator[None]:
    yield
    policy.install({})  # rules are process-wide: leave none behind


@pytest.mark.parametrize(
    ("request_type", "urgency", "expected"),
    [
        (RequestType.CONSULTATION, Urgency.GENERAL, Limit(2, "working_days")),
        (RequestType.COMPLAINT, Urgency.GENERAL, Limit(15, "working_days")),
        (RequestType.REPORT, Urgency.GENERAL, Limit(15, "working_days")),
        (RequestType.HELP, Urgency.GENERAL, Limit(10, "working_days")),
        (RequestType.COMPLAINT, Urgency.URGENT, Limit(2, "natural_hours")),  # urgency before type
        (RequestType.HELP, Urgency.UTILITY_OUTAGE, Limit(24, "natural_hours")),
        (RequestType.CONSULTATION, Urgency.COMPLEX, Limit(15, "working_days")),
    ],
)
def test_sourced_handling_defaults(request_type: str, urgency: str, expected: Limit) -> None:
    assert limit_for("handling", request_type, urgency) == expected


def test_acceptance_review_and_callback_defaults() -> None:
    assert limit_for("acceptance", RequestType.HELP, Urgency.GENERAL) == Limit(2, "working_hours")
    assert limit_for("acceptance", RequestType.HELP, Urgency.URGENT) == Limit(30, "natural_minutes")
    assert limit_for("reply_review", RequestType.HELP, Urgency.GENERAL) == Limit(2, "working_hours")
    assert limit_for("callback", RequestType.HELP, Urgency.GENERAL) == Limit(1, "working_days")


async def test_an_administrator_changes_a_limit_for_new_orders(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    rule = {
        "stage": "handling",
        "request_type": "consultation",
        "amount": 3,
        "unit": "working_days",
        "source": "市政数局〔2026〕12号",
    }
    assert (
        await app_client.put("/api/v1/time-limits", headers=await login(app_client, "supervisor1"), json=rule)
    ).status_code == 403
    assert (
        await app_client.put("/api/v1/time-limits", headers=admin, json={**rule, "urgency": "whenever"})
    ).status_code == 422
    rules = (await app_client.put("/api/v1/time-limits", headers=admin, json=rule)).json()
    changed = next(
        r for r in rules if (r["stage"], r["request_type"], r["urgency"]) == ("handling", "consultation", "*")
    )
    assert (changed["amount"], changed["is_default"]) == (3, False)
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY)
    assert (await ticket(db, ticket_id)).due_at == datetime(2026, 11, 6, 10, 0, tzinfo=CHINA_TZ)  # 3 working days


async def test_reply_review_and_callback_deadlines(db: Database, city: City, staff: dict) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=TUESDAY)
    replied_at = datetime(2026, 11, 3, 16, 0, tzinfo=CHINA_TZ)
    async with db.session() as session:
        await service.act(
            session,
            ticket_id=ticket_id,
            user=department(staff, city, "liangyuan"),
            action=Action.REPLY,
            text="已修复",
            now=replied_at,
        )
    # 2 working hours from 16:00: 1.5 h on Tuesday, then half an hour on Wednesday morning.
    assert (await ticket(db, ticket_id)).reply_review_due_at == datetime(2026, 11, 4, 9, 30, tzinfo=CHINA_TZ)
    async with db.session() as session:
        await service.act(
            session,
            ticket_id=ticket_id,
            user=as_current(staff["supervisor1"]),
            action=Action.APPROVE_REPLY,
            now=datetime(2026, 11, 4, 9, 0, tzinfo=CHINA_TZ),
        )
    order = await ticket(db, ticket_id)
    assert order.reply_review_due_at is None
    # One working day (7 working hours) from 09:00 ends at 17:30 the same day.
    assert order.callback_due_at == datetime(2026, 11, 4, 17, 30, tzinfo=CHINA_TZ)


async def test_a_units_own_business_hours_set_its_deadlines(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    unit_id = city.unit("liangyuan").id
    url = f"/api/v1/units/{unit_id}/business-hours"
    assert (await app_client.put(url, headers=admin, json={"spans": ["8:30 to 12"]})).status_code == 422
    assert (
        await app_client.put(url, headers=await login(app_client, "dept_liangyuan1"), json={"spans": ["08:00-12:00"]})
    ).status_code == 403
    summer = {"spans": ["08:30-12:00", "15:00-18:00"]}  # 6.5 hours a day
    assert (await app_client.put(url, headers=admin, json=summer)).json()["business_hours"] == summer["spans"]
    # 2 working days = 13 of the unit's hours from Tuesday 14:00 (its lunch break): 3 on Tuesday from 15:00,
    # 6.5 on Wednesday, and 3.5 on Thursday morning, ending at noon.
    tuesday_afternoon = datetime(2026, 11, 3, 14, 0, tzinfo=CHINA_TZ)
    ticket_id = await dispatched_order(db, city, staff, at=tuesday_afternoon)
    assert (await ticket(db, ticket_id)).due_at == datetime(2026, 11, 5, 12, 0, tzinfo=CHINA_TZ)
    # A unit on the hotline's hours (7 a day) gets 14 hours: due Thursday 14:00.
    other = await dispatched_order(db, city, staff, at=tuesday_afternoon, unit="suiyang")
    assert (await ticket(db, other)).due_at == datetime(2026, 11, 5, 14, 0, tzinfo=CHINA_TZ)
