"""The dispatch catalogue: resolution and fallbacks, the demo city's rules, administrators' edits and history."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from hotline.db import Database
from routing.catalogue import Catalogue, Rule
from routing.models import DispatchRuleVersion
from tests.conftest import City, login

# Categories 1 > 2 > 3 (a chain), districts 100 and 200; units 11.. lead.
CATALOGUE = Catalogue(
    [
        Rule(1, category_id=1, territory_unit_id=None, lead_unit_id=11),
        Rule(2, category_id=2, territory_unit_id=100, lead_unit_id=100, assisting_unit_ids=(12,)),
        Rule(3, category_id=3, territory_unit_id=None, lead_unit_id=13),
    ]
)


def test_the_most_specific_category_wins_and_a_district_rule_beats_a_city_wide_one() -> None:
    assert CATALOGUE.resolve(category_chain=[3, 2, 1], district_id=100).rule.id == 3  # type: ignore[union-attr]
    in_district = CATALOGUE.resolve(category_chain=[2, 1], district_id=100)
    assert (in_district.rule.id, in_district.lead_unit_id, in_district.assisting_unit_ids) == (2, 100, (12,))  # type: ignore[union-attr]


def test_a_rule_covers_the_categories_below_it() -> None:
    elsewhere = CATALOGUE.resolve(category_chain=[2, 1], district_id=200)
    assert (elsewhere.basis, elsewhere.rule.id, elsewhere.rule_category_id) == ("rule", 1, 1)  # type: ignore[union-attr]
    assert CATALOGUE.resolve(category_chain=[2, 1], district_id=None).rule.id == 1  # type: ignore[union-attr]


def test_no_rule_goes_to_the_territory_and_no_territory_to_the_desk() -> None:
    by_territory = CATALOGUE.resolve(category_chain=[9], district_id=200)
    assert (by_territory.basis, by_territory.lead_unit_id, by_territory.rule) == ("territory", 200, None)
    desk = CATALOGUE.resolve(category_chain=[], district_id=None)
    assert (desk.basis, desk.lead_unit_id) == ("desk", None)


async def _rules(client: httpx.AsyncClient, headers: dict[str, str], **params: object) -> list[dict]:
    response = await client.get("/api/v1/routing/catalogue", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_demo_catalogue_follows_the_default_units_and_territories(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int
) -> None:
    assert catalogue > 50
    rules = await _rules(app_client, await login(app_client, "dispatcher1"))
    by_scope = {(r["category_path"], r["territory"]["name"] if r["territory"] else None): r for r in rules}
    assert by_scope[("城乡建设", None)]["lead_unit"]["name"] == "市住房和城乡建设局"
    assert by_scope[("城乡建设 / 市容环卫", None)]["lead_unit"]["name"] == "市城市管理局"
    assert by_scope[("水电气暖 / 供水", None)]["lead_unit"]["name"] == "商丘市自来水公司"
    assert ("水电气暖", None) not in by_scope  # no owner for the whole: its children name theirs
    assert ("城乡建设 / 物业管理", None) not in by_scope  # inherits 城乡建设's rule
    assert by_scope[("社区服务", "梁园区人民政府")]["lead_unit"]["name"] == "梁园区人民政府"
    assert by_scope[("城乡建设 / 规划与违法建设", None)]["assisting_units"][0]["name"] == "市城市管理局"
    assert ("金融服务 / 银行服务", None) not in by_scope and ("金融服务", None) not in by_scope  # no owner: territory
    assert by_scope[("金融服务 / 非法集资", None)]["lead_unit"]["name"] == "市公安局"


async def test_administrators_edit_rules_and_every_version_is_kept(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int, db: Database, category_ids: dict[str, int]
) -> None:
    admin = await login(app_client, "admin1")
    (rule,) = await _rules(
        app_client, admin, territory_unit_id=city.unit("liangyuan").id, category_id=category_ids["community"]
    )
    url = f"/api/v1/routing/catalogue/{rule['id']}"
    changed = await app_client.put(
        url,
        headers=admin,
        json={
            "lead_unit_id": city.unit("liangyuan_pingyuan").id,
            "assisting_unit_ids": [city.unit("minzheng").id],
            "note": "权责清单第12项",
            "comment": "平原街道承接社区服务",
        },
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["lead_unit"]["name"]) == (2, "梁园区平原街道办事处")
    removed = await app_client.delete(url, headers=admin, params={"comment": "并入全市规则"})
    assert removed.json()["is_active"] is False
    assert rule["id"] not in [r["id"] for r in await _rules(app_client, admin)]
    again = await app_client.post(
        "/api/v1/routing/catalogue",
        headers=admin,
        json={
            "category_id": rule["category_id"],
            "territory_unit_id": city.unit("liangyuan").id,
            "lead_unit_id": city.unit("liangyuan").id,
        },
    )
    assert again.status_code == 201 and again.json()["id"] == rule["id"]  # a scope keeps its rule number
    history = (await app_client.get(f"{url}/history", headers=await login(app_client, "auditor1"))).json()
    assert [(h["version"], h["change"], h["changed_by"]) for h in history] == [
        (1, "created", None),
        (2, "updated", "admin1"),
        (3, "deactivated", "admin1"),
        (4, "reactivated", "admin1"),
    ]
    assert (
        history[1]["lead_unit_id"] == city.unit("liangyuan_pingyuan").id
        and history[1]["comment"] == "平原街道承接社区服务"
    )
    assert history[0]["lead_unit_id"] == city.unit("liangyuan").id  # the old version is still there
    async with db.session() as session:  # and the database refuses to rewrite it
        with pytest.raises(DBAPIError):
            await session.execute(update(DispatchRuleVersion).values(comment="改写历史"))
    async with db.session() as session:
        with pytest.raises(DBAPIError):
            await session.execute(text("DELETE FROM dispatch_rule_versions"))


async def test_only_system_administrators_edit_and_bad_rules_are_refused(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int, category_ids: dict[str, int]
) -> None:
    body = {"category_id": category_ids["finance"], "lead_unit_id": city.unit("caizheng").id}
    for who in ("dispatcher1", "supervisor1", "security1", "dept_zhujian1"):
        response = await app_client.post("/api/v1/routing/catalogue", headers=await login(app_client, who), json=body)
        assert response.status_code == 403, who
    admin = await login(app_client, "admin1")
    cases = [
        ({**body, "territory_unit_id": city.unit("liangyuan_pingyuan").id}, 422),  # a street is not a territory here
        ({**body, "lead_unit_id": 999_999}, 422),
        ({**body, "assisting_unit_ids": [city.unit("caizheng").id]}, 422),  # the lead cannot also assist
        ({**body, "assisting_unit_ids": [city.unit("szsj").id]}, 422),  # the hotline does not assist
        (
            {"category_id": category_ids["urban_rural"], "lead_unit_id": city.unit("chengguan").id},
            409,
        ),  # scope has a rule
    ]
    for payload, status in cases:
        response = await app_client.post("/api/v1/routing/catalogue", headers=admin, json=payload)
        assert response.status_code == status, (payload, response.text)
    created = await app_client.post("/api/v1/routing/catalogue", headers=admin, json=body)
    assert created.status_code == 201 and created.json()["category_path"] == "金融服务"
