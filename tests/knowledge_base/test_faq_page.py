"""The public FAQ page: published answers only, matches marked, input escaped; case lookup without a platform."""

from __future__ import annotations

import httpx

from hotline.config import Settings
from hotline.db import Database
from knowledge_base.live_index import LiveIndex
from knowledge_base.seed import load_demo_knowledge
from tests.channels.conftest import running_app
from tests.conftest import City, login
from tests.knowledge_base.helpers import publish_entry
from tests.relay import cuttable_database


async def test_citizens_find_published_answers(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    await publish_entry(
        app_client, author, supervisor, question="住房公积金怎么提取？", answer="<p>携带<b>身份证</b>到中心办理。</p>"
    )
    await app_client.post("/api/v1/kb/entries", headers=author, json={"question": "公积金内部草稿", "answer": "草稿"})

    page = await app_client.get("/faq", params={"q": "公积金怎么提取"})
    assert page.status_code == 200 and "常见问题" in page.text
    assert "<mark>公积金</mark>" in page.text and "<b>身份证</b>" in page.text
    assert "内部草稿" not in page.text
    latest = await app_client.get("/faq")
    assert "住房公积金怎么提取？" in latest.text and "内部草稿" not in latest.text
    hostile = await app_client.get("/faq", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in hostile.text and "没有找到相关解答" in hostile.text


async def test_case_lookup_says_so_when_the_platform_is_not_linked(app_client: httpx.AsyncClient) -> None:
    page = await app_client.get("/faq/cases", params={"application_no": "SQ2026110100123"})
    assert page.status_code == 200 and "未配置政务服务平台接口" in page.text


async def test_the_demo_city_has_answers_to_search(db: Database, city: City) -> None:
    async with db.session() as session:
        assert (await load_demo_knowledge(session, city.units))["kb_entries_added"] > 0
    async with db.session() as session:
        assert await load_demo_knowledge(session, city.units) == {"kb_entries_added": 0, "service_items_added": 0}
    hits = await LiveIndex(db).search("租房能取公积金吗")
    assert hits and hits[0].question == "租房可以提取住房公积金吗？"


async def test_citizens_still_find_answers_while_the_database_is_away(
    settings: Settings, db: Database, staff: dict, city: City
) -> None:
    async with cuttable_database(db) as (relay, through_relay):
        async with running_app(
            settings.model_copy(update={"database_url": through_relay, "kb_index_poll_seconds": 0.0})
        ) as client:
            author, supervisor = await login(client, "dept_zhujian1"), await login(client, "supervisor1")
            await publish_entry(
                client, author, supervisor, question="住房公积金怎么提取？", answer="携带身份证到中心办理。"
            )
            assert "携带身份证到中心办理。" in (await client.get("/faq", params={"q": "公积金怎么提取"})).text
            await relay.cut()
            page = await client.get("/faq", params={"q": "公积金怎么提取"})
    assert page.status_code == 200 and "携带身份证到中心办理。" in page.text
