"""Concurrent requests: numbers stay unique, and of two racing transitions exactly one wins."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import City, login


async def test_parallel_creation_gives_unique_numbers(app_client: httpx.AsyncClient, staff: dict) -> None:
    operator = await login(app_client, "operator1")

    async def create(i: int) -> httpx.Response:
        return await app_client.post("/api/v1/tickets", headers=operator, json={"content": f"并发受理 {i}"})

    responses = await asyncio.gather(*(create(i) for i in range(20)))
    assert [r.status_code for r in responses] == [201] * 20
    assert len({r.json()["number"] for r in responses}) == 20


async def test_racing_dispatches_one_wins_one_conflicts(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    operator = await login(app_client, "operator1")
    dispatcher = await login(app_client, "dispatcher1")
    ticket = (await app_client.post("/api/v1/tickets", headers=operator, json={"content": "路面塌陷"})).json()
    url = f"/api/v1/tickets/{ticket['id']}/dispatch"
    first, second = await asyncio.gather(
        app_client.post(url, headers=operator, json={"lead_unit_id": city.unit("liangyuan").id}),
        app_client.post(url, headers=dispatcher, json={"lead_unit_id": city.unit("suiyang").id}),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    detail = (await app_client.get(f"/api/v1/tickets/{ticket['id']}", headers=operator)).json()
    assert [e["type"] for e in detail["events"]] == ["create", "dispatch"]
    assert len([a for a in detail["assignments"] if a["active"]]) == 1
