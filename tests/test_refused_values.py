"""Values in a request that the database cannot store (an id of 10^30, one beyond INTEGER on PostgreSQL, a
NUL character) or that name nothing are a client's mistake: the usual error body, never a 500, nothing written."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from hotline.db import Database, is_sqlite
from hotline.tickets.models import Ticket
from tests.conftest import City, login

PAST_64_BITS = 10**30  # SQLite's driver cannot bind it, nor asyncpg for any integer column
PAST_INTEGER = 2**40  # fits SQLite's integers, but not PostgreSQL's INTEGER columns


async def test_ids_and_offsets_past_64_bits_answer_422_and_write_nothing(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    supervisor = await login(app_client, "supervisor1")
    answers = [
        await app_client.get(f"/api/v1/tickets/{PAST_64_BITS}", headers=supervisor),
        await app_client.get("/api/v1/kb/entries", headers=supervisor, params={"offset": PAST_64_BITS}),
        await app_client.post(
            f"/api/v1/tickets/{PAST_64_BITS}/reject-extension", headers=supervisor, json={"reason": "无"}
        ),
    ]
    for answer in answers:
        assert answer.status_code == 422, (answer.request.url, answer.text)
        assert answer.json()["code"] == "invalid_input" and "超出范围" in answer.json()["message_zh"]
    async with db.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_an_id_past_integer_is_not_found_or_refused_as_out_of_range(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    supervisor = await login(app_client, "supervisor1")
    answer = await app_client.get(f"/api/v1/tickets/{PAST_INTEGER}", headers=supervisor)
    expected = (404, "not_found") if is_sqlite(db.engine) else (422, "invalid_input")
    assert (answer.status_code, answer.json()["code"]) == expected


async def test_a_nul_character_in_a_search_is_refused_not_a_500(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator = await login(app_client, "operator1")
    answer = await app_client.get("/api/v1/kb/entries", headers=operator, params={"q": "公积金\x00提取"})
    if is_sqlite(db.engine):
        assert answer.status_code == 200  # SQLite stores and compares it like any character
    else:
        assert answer.status_code == 422 and "无效字符" in answer.json()["message_zh"]


async def test_an_order_filed_under_a_category_that_does_not_exist_is_refused_and_not_registered(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator = await login(app_client, "operator1")
    order = {"citizen_phone": "13800138000", "content": "路灯不亮", "category_id": 987654}
    answer = await app_client.post("/api/v1/tickets", headers=operator, json=order)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"
    async with db.read_session() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == 0
