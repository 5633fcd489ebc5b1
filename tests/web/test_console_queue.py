"""The console's queue holds everything waiting for the hotline: messages, and orders that have none of their own."""

from __future__ import annotations

import httpx

from tests.conftest import City, login


async def _queue(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[int, dict]:
    response = await client.get("/api/v1/console/queue", headers=headers)
    assert response.status_code == 200, response.text
    return {item["ticket_id"]: item for item in response.json()}


async def test_a_phone_order_left_unsent_and_an_order_back_from_a_return_wait_in_the_queue(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    operator, dispatcher = await login(app_client, "operator1"), await login(app_client, "dispatcher1")
    created = await app_client.post(
        "/api/v1/tickets", headers=operator, json={"citizen_phone": "13800138000", "content": "梁园区平原路路灯不亮"}
    )
    order = created.json()
    waiting = (await _queue(app_client, operator))[order["id"]]  # saved, but neither dispatched nor answered
    assert (waiting["message_id"], waiting["ticket_number"]) == (None, order["number"])
    assert waiting["channel_label"] == "电话"
    assert waiting["preview"] == "【待派单】梁园区平原路路灯不亮"

    url = f"/api/v1/tickets/{order['id']}"
    await app_client.post(f"{url}/dispatch", headers=dispatcher, json={"lead_unit_id": city.unit("liangyuan").id})
    assert order["id"] not in await _queue(app_client, operator)

    liangyuan = await login(app_client, "dept_liangyuan1")
    returned = {"reason": "路灯归城管", "reason_code": "not_our_remit"}
    await app_client.post(f"{url}/return", headers=liangyuan, json=returned)
    assert order["id"] not in await _queue(app_client, operator)  # the dispatcher judges it first
    approved = await app_client.post(f"{url}/approve-return", headers=dispatcher)
    assert approved.json()["status"] == "registered"
    back = (await _queue(app_client, dispatcher))[order["id"]]  # to be sent to another unit (改派)
    assert back["message_id"] is None and back["preview"].startswith("【退单待改派】")
