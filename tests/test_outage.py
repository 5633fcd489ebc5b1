"""Backing services that cannot be reached: a lost database answers 503 with Retry-After and the service
works again once it is back; a lost Redis costs the live notices of the work done, never the work."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import IntegrityError

from hotline.auth.models import User
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.events.redis_bus import RedisEventBus
from hotline.outage import RETRY_AFTER_SECONDS, answer_outages, is_outage
from hotline.outbox.models import OutboxMessage, OutboxStatus
from hotline.outbox.providers import InAppProvider
from hotline.outbox.service import deliver_due
from hotline.tickets.models import Ticket
from tests.channels.conftest import running_app
from tests.channels.test_webform import FORM
from tests.conftest import PASSWORD, login
from tests.relay import cuttable_database, relay_to

REDIS_URL = os.environ.get("HOTLINE_TEST_REDIS_URL")
WEB_FORM = {**FORM, "client_request_id": "0" * 31 + "7"}


async def test_requests_answer_503_while_postgresql_is_unreachable_and_work_once_it_is_back(
    settings: Settings, db: Database, staff: dict[str, User]
) -> None:
    async with cuttable_database(db) as (relay, through_relay):
        async with running_app(settings.model_copy(update={"database_url": through_relay})) as client:
            headers = await login(client, "operator1")
            assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 200

            await relay.cut()
            for _ in range(2):  # on the pool's dead connections, then on connections refused
                refused = await client.get("/api/v1/tickets", headers=headers)
                assert refused.status_code == 503
                assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
                assert refused.json()["code"] == "service_unavailable"
                assert "稍后重试" in refused.json()["message_zh"]
            signing_in = await client.post("/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD})
            assert signing_in.status_code == 503

            await relay.up()  # the same address again
            assert (await client.get("/api/v1/tickets", headers=headers)).status_code == 200


async def test_citizens_see_a_page_not_json_and_the_web_form_keeps_what_they_wrote_while_postgresql_is_away(
    settings: Settings, db: Database
) -> None:
    page = {"Accept": "text/html,application/xhtml+xml"}
    async with cuttable_database(db) as (relay, through_relay):
        async with running_app(settings.model_copy(update={"database_url": through_relay})) as client:
            await relay.cut()
            filed = await client.post("/citizen/requests", data=WEB_FORM, headers=page)
            lookup = {"number": "2026112100001", "phone": "13712345678"}
            track = await client.post("/citizen/track", data=lookup, headers=page)

            await relay.up()
            again = await client.post("/citizen/requests", data=WEB_FORM, headers=page)
    assert filed.status_code == 503 and filed.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "稍后再次提交" in filed.text and WEB_FORM["content"] in filed.text
    assert WEB_FORM["client_request_id"] in filed.text  # so sending it again files one order
    assert track.status_code == 503 and track.headers["content-type"].startswith("text/html")
    assert "系统暂时无法使用" in track.text and "<script" not in track.text and "http" not in track.text
    assert again.status_code == 303  # the same form, sent again once the database is back, files the request
    async with db.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


async def test_an_error_of_the_drivers_adapter_over_a_lost_connection_answers_503() -> None:
    app = FastAPI()
    answer_outages(app)

    @app.get("/api/v1/probe")
    async def probe() -> None:
        try:
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
        except asyncpg.PostgresError as lost:
            raise AsyncAdapt_asyncpg_dbapi.Error(str(lost)) from lost  # as the adapter raises it, unwrapped

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        answer = await client.get("/api/v1/probe")
    assert answer.status_code == 503 and answer.json()["code"] == "service_unavailable"


@pytest.mark.skipif(not REDIS_URL, reason="HOTLINE_TEST_REDIS_URL not set")
async def test_an_order_taken_while_redis_is_unreachable_is_stored_once_and_answered_as_created(
    settings: Settings, db: Database, staff: dict[str, User]
) -> None:
    assert REDIS_URL is not None
    relay, through_relay = await relay_to(REDIS_URL)
    try:
        async with running_app(settings.model_copy(update={"redis_url": through_relay})) as client:
            headers = await login(client, "operator1")
            await relay.cut()
            created = await client.post("/api/v1/tickets", headers=headers, json={"content": "路灯不亮，已经一周了"})
            assert created.status_code == 201, created.text
    finally:
        await relay.cut()
    async with db.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 1


@pytest.mark.skipif(not REDIS_URL, reason="HOTLINE_TEST_REDIS_URL not set")
async def test_a_staff_notification_due_while_redis_is_unreachable_waits_and_goes_out_once_it_is_back(
    db: Database,
) -> None:
    assert REDIS_URL is not None
    relay, through_relay = await relay_to(REDIS_URL)
    bus = RedisEventBus(through_relay)
    providers = {"app": InAppProvider(bus)}
    now = utcnow()
    async with db.session() as session:
        session.add(
            OutboxMessage(
                dedupe_key="warn-1", channel="app", recipient="dispatcher1", body="即将超期", next_attempt_at=now
            )
        )
    try:
        await relay.cut()
        assert await deliver_due(db, providers, now=now) == 1
        async with db.read_session() as session:
            waiting = (await session.execute(select(OutboxMessage))).scalar_one()
        assert waiting.status == OutboxStatus.PENDING and "Redis" in (waiting.last_error or "")

        await relay.up()
        async with bus.subscribe("notifications") as notices:
            assert await deliver_due(db, providers, now=now + timedelta(hours=1)) == 1
            notice = await asyncio.wait_for(anext(aiter(notices)), 5)  # type: ignore[call-overload]
        assert notice.payload["key"] == "warn-1"
        async with db.read_session() as session:
            assert (await session.execute(select(OutboxMessage))).scalar_one().status == OutboxStatus.SENT
    finally:
        await bus.close()
        await relay.cut()


def test_a_write_lock_held_past_the_busy_timeout_is_an_outage_and_a_broken_rule_is_not(tmp_path: Path) -> None:
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        holder.execute("INSERT INTO t VALUES (1)")
    holder.close()
    waiter.close()

    assert is_outage(locked.value)
    assert not is_outage(IntegrityError("INSERT", {}, duplicate.value))
    assert not is_outage(ValueError("bad input"))
