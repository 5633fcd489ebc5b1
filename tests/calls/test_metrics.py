"""Who may read the call metrics, and the periods they cover; the formulas are checked by the simulated morning."""

from __future__ import annotations

import httpx

from hotline.auth.models import User
from tests.conftest import login


async def test_metrics_are_for_supervisors_and_auditors(client: httpx.AsyncClient, staff: dict[str, User]) -> None:
    for who, status in (("supervisor1", 200), ("auditor1", 200), ("operator1", 403), ("dept_zhujian1", 403)):
        response = await client.get("/api/v1/calls/metrics", headers=await login(client, who))
        assert response.status_code == status, who
    today = (await client.get("/api/v1/calls/metrics", headers=await login(client, "supervisor1"))).json()
    assert today["rows"] == [] and today["total"]["offered"] == 0 and today["total"]["connection_rate"] is None
    assert today["start"].endswith("T00:00:00+08:00")


async def test_a_period_must_run_forwards_and_at_most_93_days(
    client: httpx.AsyncClient, staff: dict[str, User]
) -> None:
    headers = await login(client, "supervisor1")
    for start, end in (("2026-11-03T10:00:00", "2026-11-03T09:00:00"), ("2026-01-01T00:00:00", "2026-06-01T00:00:00")):
        response = await client.get("/api/v1/calls/metrics", params={"start": start, "end": end}, headers=headers)
        assert response.status_code == 422, response.text
