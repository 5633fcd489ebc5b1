"""The order API end to end: an operator creates an order, it is dispatched, accepted and replied."""

from __future__ import annotations

import httpx
from sqlmodel import select

from hotline.db import Database
from hotline.outbox.models import OutboxMessage
from tests.conftest import City, login


async def test_create_dispatch_accept_reply(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    operator = await login(app_client, "operator1")
    created = await app_client.post(
        "/api/v1/tickets",
        headers=operator,
        json={"citizen_phone": "13800138000", "content": "小区门口路灯不亮已经三天了", "address": "梁园区平原路"},
    )
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["status"] == "registered"
    assert [e["type"] for e in ticket["events"]] == ["create"]
    assert ticket["citizen"]["phones"] == ["+8613800138000"]

    lead = city.unit("liangyuan").id
    dispatched = await app_client.post(
        f"/api/v1/tickets/{ticket['id']}/dispatch", headers=operator, json={"lead_unit_id": lead}
    )
    assert dispatched.status_code == 200, dispatched.text
    assert dispatched.json()["due_at"].endswith("+08:00")

    dept = await login(app_client, "dept_liangyuan1")
    accepted = await app_client.post(f"/api/v1/tickets/{ticket['id']}/accept", headers=dept, json={})
    assert accepted.json()["status"] == "in_progress"
    replied = await app_client.post(f"/api/v1/tickets/{ticket['id']}/reply", headers=dept, json={"reply": "已修复路灯"})
    assert replied.json()["status"] == "reply_review"
    assert [e["type"] for e in replied.json()["events"]] == ["create", "dispatch", "accept", "reply"]


async def test_replying_withdraws_a_pending_extension_request(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    operator = await login(app_client, "operator1")
    dept = await login(app_client, "dept_zhujian1")
    ticket = (await app_client.post("/api/v1/tickets", headers=operator, json={"content": "电梯困人后仍未检修"})).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    await app_client.post(f"{url}/dispatch", headers=operator, json={"lead_unit_id": city.unit("zhujian").id})
    await app_client.post(f"{url}/accept", headers=dept)
    asked = await app_client.post(
        f"{url}/request-extension",
        headers=dept,
        json={"reason": "需厂家检修", "requested_due_at": "2099-01-05T17:00:00"},
    )
    assert asked.json()["extension_pending"] is True
    assert asked.json()["extension_requested_due_at"] == "2099-01-05T17:00:00+08:00"  # no offset means China time
    replied = (await app_client.post(f"{url}/reply", headers=dept, json={"reply": "已完成检修"})).json()
    assert replied["extension_pending"] is False and replied["extension_requested_due_at"] is None
    assert (
        await app_client.post(f"{url}/approve-extension", headers=await login(app_client, "supervisor1"))
    ).status_code == 409


async def test_the_citizen_gets_the_approved_result_by_sms(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator, dept = await login(app_client, "operator1"), await login(app_client, "dept_liangyuan1")
    ticket = (
        await app_client.post(
            "/api/v1/tickets", headers=operator, json={"citizen_phone": "13800138000", "content": "路灯不亮"}
        )
    ).json()
    url = f"/api/v1/tickets/{ticket['id']}"
    await app_client.post(f"{url}/dispatch", headers=operator, json={"lead_unit_id": city.unit("liangyuan").id})
    await app_client.post(f"{url}/accept", headers=dept)
    await app_client.post(f"{url}/reply", headers=dept, json={"reply": "路灯已于今日修复"})
    async with db.read_session() as session:
        assert (await session.execute(select(OutboxMessage))).first() is None  # not before the review
    approved = await app_client.post(f"{url}/approve-reply", headers=await login(app_client, "supervisor1"))
    assert approved.json()["events"][-1]["payload"]["citizen_notified"] is True
    async with db.read_session() as session:
        sms = (await session.execute(select(OutboxMessage))).scalar_one()
    assert (sms.channel, sms.recipient) == ("sms", "+8613800138000")
    assert ticket["number"] in sms.body and "路灯已于今日修复" in sms.body
