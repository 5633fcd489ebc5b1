"""Administrators see dead letters and put one back in line once the cause is fixed."""

from __future__ import annotations

import httpx
from sqlmodel import select

from hotline.auth.models import User
from hotline.db import Database
from hotline.outbox import service
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.outbox.providers import Delivery, DeliveryError
from tests.conftest import login


class RefusingProvider:
    async def send(self, delivery: Delivery) -> str | None:
        raise DeliveryError("Twilio answered 401: authenticate")


async def test_a_dead_message_is_listed_for_the_system_admin_and_can_be_sent_again(
    app_client: httpx.AsyncClient, db: Database, staff: dict[str, User]
) -> None:
    async with db.session() as session:
        await service.enqueue(
            session, dedupe_key="citizen:7:result:2", channel="sms", recipient="+8613800138000", body="已办结"
        )
        message = (await session.execute(select(OutboxMessage))).scalar_one()
        message.attempts = service.MAX_ATTEMPTS - 1
    await service.deliver_due(db, {"sms": RefusingProvider()})

    admin = await login(app_client, "admin1")
    [dead] = (await app_client.get("/api/v1/admin/outbox", headers=admin)).json()
    assert (dead["status"], dead["attempts"], dead["recipient"]) == ("dead", service.MAX_ATTEMPTS, "+8613800138000")
    assert "401" in dead["last_error"]
    operator = await login(app_client, "operator1")
    assert (await app_client.get("/api/v1/admin/outbox", headers=operator)).status_code == 403

    retried = await app_client.post(f"/api/v1/admin/outbox/{dead['id']}/retry", headers=admin)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert (await app_client.get("/api/v1/admin/outbox", headers=admin)).json() == []
    assert (await app_client.post(f"/api/v1/admin/outbox/{dead['id']}/retry", headers=admin)).status_code == 409

    sent: list[Delivery] = []

    class Accepting:
        async def send(self, delivery: Delivery) -> str | None:
            sent.append(delivery)
            return "SM1"

    assert await service.deliver_due(db, {"sms": Accepting()}) == 1
    assert [d.body for d in sent] == ["已办结"]
    async with db.read_session() as session:
        assert (await session.execute(select(OutboxMessage))).scalar_one().status == OutboxStatus.SENT
