"""The approval-platform link against a local stand-in: signed events become orders, case lookup, results pushed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.outbox.models import OutboxMessage
from hotline.outbox.service import deliver_due
from hotline.tickets.models import Ticket
from knowledge_base.models import PlatformEvent, ServiceItem
from knowledge_base.platform.provider import PlatformResultProvider
from tests.channels.conftest import running_app, stand_in
from tests.conftest import City, login
from tests.knowledge_base.platform_standin import PlatformStandIn

EVENT = {
    "event_id": "EVT-20261121-0001",
    "type": "bad_review",
    "application_no": "SQ2026110100123",
    "item_code": "11411400MB1234567X4000117001",
    "item_name": "公共场所卫生许可",
    "unit_name": "市卫健委",
    "applicant": {"name": "张三", "phone": "13800138000"},
    "rating": 1,
    "content": "材料已经交齐，窗口还让我跑了三次。",
}


@pytest.fixture
async def platform() -> AsyncIterator[tuple[PlatformStandIn, str]]:
    peer = PlatformStandIn()
    async with stand_in(peer.app()) as url:
        yield peer, url


@pytest.fixture
async def client(
    settings: Settings, db: Database, platform: tuple[PlatformStandIn, str]
) -> AsyncIterator[httpx.AsyncClient]:
    peer, url = platform
    linked = settings.model_copy(update={"platform_base_url": url, "platform_secret": SecretStr(peer.secret)})
    async with running_app(linked) as app_client:
        yield app_client


async def post_event(
    client: httpx.AsyncClient, peer: PlatformStandIn, event: dict[str, Any], **kw: Any
) -> httpx.Response:
    body, headers = peer.sign_event(event, **kw)
    return await client.post("/channels/platform/events", content=body, headers=headers)


async def counts(db: Database) -> tuple[int, int]:
    async with db.read_session() as session:
        tickets = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
        events = (await session.execute(select(func.count()).select_from(PlatformEvent))).scalar_one()
    return tickets, events


async def test_a_signed_bad_review_becomes_an_order_linked_to_the_case_once(
    client: httpx.AsyncClient, platform: tuple[PlatformStandIn, str], staff: dict, db: Database
) -> None:
    peer, _ = platform
    first = await post_event(client, peer, EVENT)
    assert first.status_code == 200, first.text
    assert first.json()["duplicate"] is False
    replay = await post_event(client, peer, EVENT)
    assert replay.json() == {**first.json(), "duplicate": True}
    assert await counts(db) == (1, 1)

    operator = await login(client, "operator1")
    ticket = (await client.get(f"/api/v1/tickets/{first.json()['ticket_id']}", headers=operator)).json()
    assert ticket["channel"] == "platform" and ticket["request_type"] == "complaint"
    assert "窗口还让我跑了三次" in ticket["content"] and "SQ2026110100123" in ticket["content"]
    cases = (await client.get(f"/api/v1/tickets/{ticket['id']}/platform-cases", headers=operator)).json()
    assert [case["application_no"] for case in cases] == ["SQ2026110100123"]

    later = {**EVENT, "event_id": "EVT-20261121-0002", "type": "cannot_handle", "content": "至今仍未办成。"}
    followed = await post_event(client, peer, later)
    assert followed.json()["ticket_id"] == ticket["id"]  # the same case joins the order open for it
    assert await counts(db) == (1, 2)


async def test_unsigned_forged_stale_and_malformed_events_are_refused_and_change_nothing(
    client: httpx.AsyncClient, platform: tuple[PlatformStandIn, str], staff: dict, db: Database
) -> None:
    peer, _ = platform
    body, headers = peer.sign_event(EVENT)
    unsigned = await client.post(
        "/channels/platform/events", content=body, headers={"Content-Type": "application/json"}
    )
    assert unsigned.status_code == 401 and "签名" in unsigned.json()["detail"]
    forged = await client.post(
        "/channels/platform/events", content=body.replace("三次".encode(), "一次".encode()), headers=headers
    )
    assert forged.status_code == 401
    stale = await post_event(client, peer, EVENT, now=time.time() - 3600)
    assert stale.status_code == 401 and "过期" in stale.json()["detail"]
    malformed = await post_event(client, peer, {**EVENT, "type": "praise", "content": ""})
    assert malformed.status_code == 422 and "type" in malformed.json()["message_en"]
    assert await counts(db) == (0, 0)


async def test_case_status_lookup_through_the_adapter(
    client: httpx.AsyncClient, platform: tuple[PlatformStandIn, str], staff: dict, settings: Settings
) -> None:
    operator = await login(client, "operator1")
    found = await client.get("/api/v1/platform/cases/SQ2026110100123", headers=operator)
    assert found.status_code == 200, found.text
    assert found.json()["status_label"] == "审查中"
    assert [step["name"] for step in found.json()["steps"]] == ["受理", "审查"]
    missing = await client.get("/api/v1/platform/cases/SQ0000", headers=operator)
    assert missing.status_code == 404 and "没有该办件" in missing.json()["detail"]
    assert (await client.get("/api/v1/platform/cases/SQ2026110100123")).status_code == 401

    peer, _ = platform
    peer.secret = "rotated-on-their-side"  # our signature no longer verifies: a clear 502, not a crash
    refused = await client.get("/api/v1/platform/cases/SQ2026110100123", headers=operator)
    assert refused.status_code == 502 and "HTTP 401" in refused.json()["message_en"]


async def test_the_result_is_pushed_back_through_the_outbox_and_retried(
    client: httpx.AsyncClient, platform: tuple[PlatformStandIn, str], staff: dict, db: Database, settings: Settings
) -> None:
    peer, url = platform
    ticket_id = (await post_event(client, peer, EVENT)).json()["ticket_id"]
    operator = await login(client, "operator1")
    early = await client.post(f"/api/v1/tickets/{ticket_id}/platform-result", headers=operator)
    assert early.status_code == 409  # nothing to push before the order is answered
    answer = {"answer": "已联系市卫健委窗口，材料齐全当场受理，并向您致歉。"}
    assert (await client.post(f"/api/v1/tickets/{ticket_id}/answer-directly", headers=operator, json=answer)).is_success
    async with db.read_session() as session:  # answering queued the push by itself, in the same transaction
        platform_rows = select(OutboxMessage).where(OutboxMessage.channel == "platform")
        assert [row.recipient for row in (await session.execute(platform_rows)).scalars()] == ["SQ2026110100123"]
    pushed = await client.post(f"/api/v1/tickets/{ticket_id}/platform-result", headers=operator)  # staff again: one
    assert pushed.status_code == 200 and pushed.json()[0]["result_pushed_at"]
    assert (await client.post(f"/api/v1/tickets/{ticket_id}/platform-result", headers=operator)).status_code == 200

    linked = settings.model_copy(update={"platform_base_url": url, "platform_secret": SecretStr(peer.secret)})
    providers = {"platform": PlatformResultProvider(linked)}
    peer.push_failures_left = 1
    await deliver_due(db, providers)  # the platform answers 503: the message stays queued for a retry
    assert peer.results == {}
    async with db.read_session() as session:
        queued = (await session.execute(select(OutboxMessage).where(OutboxMessage.channel == "platform"))).scalar_one()
    assert (queued.status, queued.attempts, queued.recipient) == ("pending", 1, "SQ2026110100123")
    await deliver_due(db, providers, now=utcnow() + timedelta(hours=2))
    [result] = peer.results.values()
    assert result["application_no"] == "SQ2026110100123"
    assert result["result"] == answer["answer"] and result["status"] == "replied"


async def test_service_items_imported_from_the_platform_are_searched_and_linked(
    client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    admin = await login(client, "admin1")
    operator = await login(client, "operator1")
    assert (await client.post("/api/v1/service-items/import-from-platform", headers=operator)).status_code == 403
    imported = await client.post("/api/v1/service-items/import-from-platform", headers=admin)
    assert imported.json() == {"created": 2, "updated": 0}
    again = await client.post("/api/v1/service-items/import-from-platform", headers=admin)
    assert again.json() == {"created": 0, "updated": 2}

    found = (await client.get("/api/v1/service-items", headers=operator, params={"q": "公积金怎么提取"})).json()
    item = found["items"][0]
    assert item["name"] == "住房公积金提取" and item["materials"] == ["身份证", "银行卡", "购房合同或租房合同"]
    assert item["unit_name"] == "市住房公积金管理中心"
    guide = (await client.get(f"/api/v1/service-items/{item['id']}", headers=operator)).json()
    assert guide["time_limit"] == "即办" and guide["code"] == "11411400MB0987654X4000217002"

    created = await client.post(
        "/api/v1/tickets", headers=operator, json={"citizen_phone": "13800138000", "content": "公积金提取要带什么"}
    )
    ticket_id = created.json()["id"]
    link = {"service_item_id": item["id"]}
    linked = await client.post(f"/api/v1/tickets/{ticket_id}/service-items", headers=operator, json=link)
    assert linked.status_code == 201 and [i["name"] for i in linked.json()["items"]] == ["住房公积金提取"]
    twice = await client.post(f"/api/v1/tickets/{ticket_id}/service-items", headers=operator, json=link)
    assert len(twice.json()["items"]) == 1
    bad = await client.post(
        f"/api/v1/tickets/{ticket_id}/service-items", headers=operator, json={"service_item_id": 999}
    )
    assert bad.status_code == 422
    async with db.read_session() as session:
        assert (await session.execute(select(func.count()).select_from(ServiceItem))).scalar_one() == 2
