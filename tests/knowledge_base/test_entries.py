"""Entries through the API: the review workflow, versions with diffs and rollback, and what search serves."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import httpx
from sqlalchemy import func, select

from hotline.db import Database
from hotline.timefmt import CHINA_TZ
from knowledge_base.models import KbEntry, KbEntryVersion
from tests.conftest import City, login
from tests.knowledge_base.helpers import publish_entry, search

FUND = {
    "question": "住房公积金怎么提取？",
    "similar_questions": ["租房可以取公积金吗"],
    "answer": "<p>职工租房、购房可申请提取，携带身份证到<b>公积金中心</b>办理。</p><script>alert(1)</script>",
    "source_document": "商公积金〔2024〕3号",
}


async def test_a_published_entry_is_found_with_highlights_and_a_draft_is_not(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    operator = await login(app_client, "operator1")
    draft = await app_client.post("/api/v1/kb/entries", headers=author, json={**FUND, "question": "公积金贷款额度"})
    assert draft.json()["status"] == "draft"
    assert draft.json()["owner_unit_id"] == city.unit("zhujian").id  # department staff write for their unit
    entry = await publish_entry(app_client, author, supervisor, **FUND)

    items = await search(app_client, operator, "租房怎么提取公积金")
    assert [item["id"] for item in items] == [entry["id"]]
    assert "<mark>公积金</mark>" in items[0]["question_html"]
    assert "<script>" not in items[0]["answer"] and "<b>公积金中心</b>" in items[0]["answer"]
    assert "<mark>" in items[0]["snippet_html"]
    assert (await search(app_client, operator, "公积金贷款额度"))[0]["id"] == entry["id"]  # the draft is not served
    assert await search(app_client, operator, "租房提取公积金", unit_id=city.unit("liangyuan").id) == []


async def test_versions_diff_and_rollback(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    operator = await login(app_client, "operator1")
    entry = await publish_entry(app_client, author, supervisor, **FUND)
    url = f"/api/v1/kb/entries/{entry['id']}"

    edited = await app_client.put(url, headers=author, json={**FUND, "answer": "现已全部改为线上办理，请使用手机APP。"})
    assert edited.json()["version"] == 2 and edited.json()["status"] == "draft"
    assert edited.json()["published_version"] == 1
    served = await search(app_client, operator, "公积金提取")
    assert "公积金中心" in served[0]["answer"]  # the published version stays in search while v2 is a draft

    await app_client.post(f"{url}/submit", headers=author, json={})
    await app_client.post(f"{url}/publish", headers=supervisor, json={})
    assert "手机APP" in (await search(app_client, operator, "公积金提取"))[0]["answer"]

    diff = (await app_client.get(f"{url}/diff", headers=operator, params={"from": 1, "to": 2})).json()
    assert [change["field"] for change in diff["changes"]] == ["answer"]
    assert any(line.startswith("+现已全部改为线上办理") for line in diff["changes"][0]["diff"])

    rolled = await app_client.post(f"{url}/rollback", headers=author, json={"version": 1})
    assert rolled.json()["version"] == 3 and rolled.json()["status"] == "draft"
    await app_client.post(f"{url}/submit", headers=author, json={})
    await app_client.post(f"{url}/publish", headers=supervisor, json={})
    assert "公积金中心" in (await search(app_client, operator, "公积金提取"))[0]["answer"]

    history = (await app_client.get(f"{url}/versions", headers=operator)).json()
    assert [(v["version"], v["change"]) for v in history] == [(3, "rolled_back"), (2, "edited"), (1, "created")]
    assert history[0]["answer"] == history[2]["answer"]


async def test_expired_and_retired_entries_leave_search(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    operator = await login(app_client, "operator1")
    today = date.today()
    expiring = await publish_entry(app_client, author, supervisor, **FUND, expires_on=str(today + timedelta(days=30)))
    assert [item["id"] for item in await search(app_client, operator, "公积金提取")] == [expiring["id"]]

    index = app_client.app.state.kb_index  # type: ignore[attr-defined]
    from datetime import datetime, time

    after_expiry = datetime.combine(today + timedelta(days=31), time(9), CHINA_TZ)
    assert await index.search("公积金提取", now=after_expiry) == []  # the day after its last day, no restart

    url = f"/api/v1/kb/entries/{expiring['id']}"
    await app_client.put(url, headers=author, json={**FUND, "expires_on": str(today - timedelta(days=1))})
    await app_client.post(f"{url}/submit", headers=author, json={})
    await app_client.post(f"{url}/publish", headers=supervisor, json={})
    assert await search(app_client, operator, "公积金提取") == []
    assert (await app_client.get(url, headers=operator)).json()["searchable"] is False

    other = await publish_entry(app_client, author, supervisor, **{**FUND, "question": "公积金提取要带什么"})
    assert await search(app_client, operator, "公积金提取")
    retired = await app_client.post(f"/api/v1/kb/entries/{other['id']}/retire", headers=supervisor, json={})
    assert retired.json()["status"] == "retired"
    assert await search(app_client, operator, "公积金提取") == []


async def test_who_may_do_what(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    author = await login(app_client, "dept_zhujian1")
    other_unit = await login(app_client, "dept_liangyuan1")
    supervisor = await login(app_client, "supervisor1")
    operator = await login(app_client, "operator1")
    created = (await app_client.post("/api/v1/kb/entries", headers=author, json=FUND)).json()
    url = f"/api/v1/kb/entries/{created['id']}"

    assert (await app_client.put(url, headers=other_unit, json=FUND)).status_code == 403
    assert (await app_client.post("/api/v1/kb/entries", headers=operator, json=FUND)).status_code == 403
    foreign = {**FUND, "owner_unit_id": city.unit("liangyuan").id}
    assert (await app_client.post("/api/v1/kb/entries", headers=author, json=foreign)).status_code == 403
    refused = await app_client.post(f"{url}/publish", headers=supervisor, json={})
    assert refused.status_code == 409 and "待审核" in refused.json()["detail"]  # a draft is not published
    await app_client.post(f"{url}/submit", headers=author, json={})
    assert (await app_client.post(f"{url}/publish", headers=author, json={})).status_code == 403
    sent_back = await app_client.post(f"{url}/send-back", headers=supervisor, json={})
    assert sent_back.json()["status"] == "draft"


async def test_bad_input_is_refused_and_writes_nothing(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    author = await login(app_client, "dept_zhujian1")
    for body in (
        {**FUND, "answer": "<script>x</script>"},
        {**FUND, "category_id": 999999},
        {**FUND, "valid_from": "2026-05-01", "expires_on": "2026-04-01"},
        {**FUND, "question": ""},
    ):
        response = await app_client.post("/api/v1/kb/entries", headers=author, json=body)
        assert response.status_code == 422, response.text
    created = (await app_client.post("/api/v1/kb/entries", headers=author, json=FUND)).json()
    unchanged = await app_client.put(f"/api/v1/kb/entries/{created['id']}", headers=author, json=FUND)
    assert unchanged.status_code == 409
    missing = await app_client.post("/api/v1/kb/entries/424242/rollback", headers=author, json={"version": 1})
    assert missing.status_code == 404 and " / " in missing.json()["detail"]
    async with db.session() as session:
        assert (await session.execute(select(func.count()).select_from(KbEntry))).scalar_one() == 1
        assert (await session.execute(select(func.count()).select_from(KbEntryVersion))).scalar_one() == 1


async def test_operators_feedback_lifts_an_entry_among_equals(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    operator = await login(app_client, "operator1")
    twins = [
        await publish_entry(app_client, author, supervisor, question="公积金提取", answer=f"第{n}种说法：到中心办理。")
        for n in (1, 2)
    ]
    before = [item["id"] for item in await search(app_client, operator, "公积金提取")]
    underdog = before[-1]
    created = await app_client.post(
        "/api/v1/tickets", headers=operator, json={"citizen_phone": "13800138000", "content": "公积金提取"}
    )
    feedback = {"kind": "answered", "ticket_id": created.json()["id"]}
    answered = await app_client.post(f"/api/v1/kb/entries/{underdog}/feedback", headers=operator, json=feedback)
    assert answered.status_code == 204
    clicked = await app_client.post(f"/api/v1/kb/entries/{underdog}/feedback", headers=operator, json={"kind": "click"})
    assert clicked.status_code == 204
    after = [item["id"] for item in await search(app_client, operator, "公积金提取")]
    assert after[0] == underdog and sorted(after) == sorted(e["id"] for e in twins)
    bad = await app_client.post(f"/api/v1/kb/entries/{underdog}/feedback", headers=operator, json={"kind": "like"})
    assert bad.status_code == 422


async def test_owner_units_see_which_entries_expire_soon_soonest_first(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    author = await login(app_client, "dept_zhujian1")
    supervisor = await login(app_client, "supervisor1")
    today = datetime.now(CHINA_TZ).date()
    made = {}
    for name, days in [("later", 20), ("soon", 5), ("far", 90), ("past", -3)]:
        body = {**FUND, "question": f"公积金提取{name}", "expires_on": str(today + timedelta(days=days))}
        made[name] = (await publish_entry(app_client, author, supervisor, **body))["id"]
    listed = await app_client.get("/api/v1/kb/entries", params={"expiring_within_days": 30}, headers=author)
    assert listed.status_code == 200
    assert [e["id"] for e in listed.json()["items"]] == [made["soon"], made["later"]]
    refused = await app_client.get("/api/v1/kb/entries", params={"expiring_within_days": -1}, headers=author)
    assert refused.status_code == 422
