"""The unit tree changes with the city: units added where the tree allows, renamed, taken out of use once idle."""

from __future__ import annotations

import httpx
from sqlalchemy import func
from sqlmodel import col, select

from hotline.audit.models import AuditEntry
from hotline.db import Database
from hotline.units.models import Unit
from tests.conftest import City, login

UNITS = "/api/v1/units"


async def _audit(db: Database, action: str) -> list[AuditEntry]:
    async with db.read_session() as session:
        return list((await session.execute(select(AuditEntry).where(col(AuditEntry.action) == action))).scalars())


async def _count(db: Database) -> int:
    async with db.read_session() as session:
        return int(await session.scalar(select(func.count()).select_from(Unit)) or 0)


async def test_a_new_street_is_found_in_citizens_addresses_and_its_creation_is_audited(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    operator = await login(app_client, "operator1")
    letter = {"content": "星河街道幸福小区门口的路灯坏了一个月", "address": "梁园区星河街道幸福小区"}
    before = (await app_client.post("/api/v1/routing/suggest", json=letter, headers=operator)).json()
    assert before["territory"]["street"] is None  # the routing index is built, without the new street
    street = {
        "code": "liangyuan_xinghe",
        "name": "梁园区星河街道办事处",
        "kind": "street",
        "parent_id": city.unit("liangyuan").id,
        "short_names": ["星河街道", " 星河街道 ", "星河办"],
    }
    created = await app_client.post(UNITS, json=street, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["short_names"] == ["星河街道", "星河办"] and created.json()["is_active"]
    listed = await app_client.get(UNITS, headers=operator)
    assert "梁园区星河街道办事处" in [u["name"] for u in listed.json()]

    after = (await app_client.post("/api/v1/routing/suggest", json=letter, headers=operator)).json()
    assert after["territory"]["street"]["name"] == "梁园区星河街道办事处"  # no restart: the index was rebuilt

    [entry] = await _audit(db, "unit.added")
    assert entry.actor_username == "admin1" and entry.detail["code"] == "liangyuan_xinghe"


async def test_units_go_only_where_the_tree_allows_and_a_refusal_writes_nothing(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    before = await _count(db)
    refused = [
        ({"code": "lonely_street", "name": "无上级街道", "kind": "street"}, 422, "上级"),
        (
            {"code": "misplaced", "name": "错位社区", "kind": "community", "parent_id": city.unit("liangyuan").id},
            422,
            "乡镇街道",
        ),
        ({"code": "second_desk", "name": "第二热线中心", "kind": "hotline_center"}, 422, "热线中心"),
        ({"code": "zhujian", "name": "重复编码局", "kind": "city_bureau"}, 409, "编码"),
        ({"code": "copy_bureau", "name": city.unit("zhujian").name, "kind": "city_bureau"}, 409, "同名"),
        ({"code": "Bad Code", "name": "编码不合规局", "kind": "city_bureau"}, 422, None),
    ]
    for body, status, words in refused:
        response = await app_client.post(UNITS, json=body, headers=admin)
        assert response.status_code == status, (body, response.text)
        if words:
            assert words in response.json()["message_zh"]
    operator = await app_client.post(
        UNITS,
        json={"code": "ok_bureau", "name": "新设局", "kind": "city_bureau"},
        headers=await login(app_client, "operator1"),
    )
    assert operator.status_code == 403
    assert await _count(db) == before


async def test_a_unit_is_taken_out_of_use_only_once_its_work_has_moved(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    district = city.unit("liangyuan").id
    busy = await app_client.patch(f"{UNITS}/{district}", json={"is_active": False}, headers=admin)
    assert busy.status_code == 409 and "下级单位" in busy.json()["message_zh"]  # its streets are in use

    bureau = (
        await app_client.post(
            UNITS, json={"code": "new_bureau", "name": "市新设局", "kind": "city_bureau"}, headers=admin
        )
    ).json()
    rule = await app_client.post(
        "/api/v1/routing/catalogue",
        json={"category_id": await _a_category(app_client, admin), "lead_unit_id": bureau["id"], "comment": "测试"},
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    named = await app_client.patch(f"{UNITS}/{bureau['id']}", json={"is_active": False}, headers=admin)
    assert named.status_code == 409 and "派单目录" in named.json()["message_zh"]

    await app_client.delete(f"/api/v1/routing/catalogue/{rule.json()['id']}", headers=admin)
    renamed = await app_client.patch(
        f"{UNITS}/{bureau['id']}", json={"name": "市新设管理局", "is_active": False}, headers=admin
    )
    assert renamed.status_code == 200 and renamed.json() == renamed.json() | {
        "name": "市新设管理局",
        "is_active": False,
    }
    assert bureau["id"] not in [u["id"] for u in (await app_client.get(UNITS, headers=admin)).json()]
    everything = await app_client.get(UNITS, params={"include_inactive": "true"}, headers=admin)
    assert bureau["id"] in [u["id"] for u in everything.json()]
    back = await app_client.patch(f"{UNITS}/{bureau['id']}", json={"is_active": True}, headers=admin)
    assert back.json()["is_active"] is True
    [change, *_] = await _audit(db, "unit.changed")
    assert change.detail["name"] == {"from": "市新设局", "to": "市新设管理局"}


async def test_a_unit_with_accounts_or_open_orders_stays_in_use(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    admin = await login(app_client, "admin1")
    zhujian = await app_client.patch(f"{UNITS}/{city.unit('zhujian').id}", json={"is_active": False}, headers=admin)
    assert zhujian.status_code == 409 and "账号" in zhujian.json()["message_zh"]  # dept_zhujian1 works there

    bureau = (
        await app_client.post(
            UNITS, json={"code": "new_bureau", "name": "市新设局", "kind": "city_bureau"}, headers=admin
        )
    ).json()
    operator = await login(app_client, "operator1")
    order = (
        await app_client.post("/api/v1/tickets", json={"content": "新设局办事窗口排队太久"}, headers=operator)
    ).json()
    dispatched = await app_client.post(
        f"/api/v1/tickets/{order['id']}/dispatch", json={"lead_unit_id": bureau["id"]}, headers=operator
    )
    assert dispatched.status_code == 200, dispatched.text
    busy = await app_client.patch(f"{UNITS}/{bureau['id']}", json={"is_active": False}, headers=admin)
    assert busy.status_code == 409 and "未办结工单" in busy.json()["message_zh"]

    hours = await app_client.put(
        f"{UNITS}/{bureau['id']}/business-hours", json={"spans": ["09:00-17:00"]}, headers=admin
    )
    assert hours.status_code == 200
    [entry] = await _audit(db, "unit.business_hours_set")
    assert entry.detail == {"from": None, "to": ["09:00-17:00"]}


async def _a_category(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    categories = (await client.get("/api/v1/categories", headers=headers)).json()
    return int(categories[0]["id"])
