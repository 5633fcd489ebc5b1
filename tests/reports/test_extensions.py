"""Extension requests waiting for a supervisor: listed with what the unit asked for, gone once decided."""

from __future__ import annotations

from datetime import timedelta

import httpx

from hotline.db import Database
from hotline.db_types import utcnow
from hotline.timefmt import to_local
from tests.conftest import City, login
from tests.supervision.helpers import dispatched_order


async def test_a_units_request_for_more_time_waits_for_the_supervisor(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    asking = await dispatched_order(db, city, staff, at=utcnow())
    await dispatched_order(db, city, staff, at=utcnow())  # no request: not listed
    unit = await login(app_client, "dept_liangyuan1")
    wanted = to_local(utcnow() + timedelta(days=30)).replace(microsecond=0)
    body = {"reason": "需协调供电公司迁改线路", "requested_due_at": wanted.isoformat()}
    assert (
        await app_client.post(f"/api/v1/tickets/{asking}/request-extension", json=body, headers=unit)
    ).status_code == 200
    supervisor = await login(app_client, "supervisor1")
    listed = (await app_client.get("/api/v1/reports/extension-requests", headers=supervisor)).json()
    assert [(r["ticket_id"], r["reason"], r["requested_due_at"]) for r in listed] == [
        (asking, "需协调供电公司迁改线路", wanted.isoformat())
    ]
    assert listed[0]["lead_unit_name"] == city.unit("liangyuan").name
    assert (await app_client.post(f"/api/v1/tickets/{asking}/approve-extension", headers=supervisor)).status_code == 200
    assert (await app_client.get("/api/v1/reports/extension-requests", headers=supervisor)).json() == []
    assert (await app_client.get("/api/v1/reports/extension-requests", headers=unit)).status_code == 403
