"""The console's one call: categories, type, urgency, territory and units with reasons; fast; model or not."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import httpx

from hotline.config import Settings
from routing.registry import activate
from tests.conftest import City, login

SUGGEST = "/api/v1/routing/suggest"
PROPERTY_COMPLAINT = {
    "content": "平原路金色小区物业乱收费，电梯故障半个月没人修，投诉物业公司不作为。",
    "address": "梁园区平原路金色小区3号楼",
}


async def test_one_call_proposes_categories_type_urgency_territory_and_units(
    active_model: str, app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int
) -> None:
    response = await app_client.post(SUGGEST, headers=await login(app_client, "operator1"), json=PROPERTY_COMPLAINT)
    assert response.status_code == 200, response.text
    s = response.json()
    assert s["classifier"] == {"ready": True, "model_version": active_model, "message": None}
    top = s["categories"][0]
    assert (top["path"], top["source"], top["evidence"]) == (
        "城乡建设 / 物业管理 / 电梯故障",
        "model",
        ["物业", "电梯故障"],
    )
    assert 1 <= len(s["categories"]) <= 3
    confidences = [c["confidence"] for c in s["categories"]]
    assert confidences == sorted(confidences, reverse=True) and 0 < sum(confidences) <= 1.0001
    assert (s["request_type"]["value"], s["request_type"]["label"]) == ("complaint", "投诉")
    assert "投诉" in s["request_type"]["evidence"]
    assert s["urgency"]["value"] == "general"
    territory = s["territory"]
    assert (territory["district"]["name"], territory["street"]["name"]) == ("梁园区人民政府", "梁园区平原街道办事处")
    assert [(m["field"], m["text"]) for m in territory["matches"] if m["agrees"]][:2] == [
        ("address", "梁园区"),
        ("address", "平原路"),
    ]
    match = territory["matches"][0]
    assert PROPERTY_COMPLAINT["address"][match["start"] : match["end"]] == match["text"]
    dispatch = s["dispatch"]
    assert (dispatch["basis"], dispatch["lead_unit"]["name"]) == ("rule", "梁园区人民政府")
    rule = dispatch["rule_id"]
    assert dispatch["explanation"] == (
        f"类别“电梯故障”（按上级类别“物业管理”的规则）位于梁园区 → 梁园区人民政府（派单目录规则 #{rule}）"
    )


async def test_without_a_model_type_urgency_territory_and_units_are_still_proposed(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int
) -> None:
    body = {"content": "从昨天晚上开始停水，到现在还没有来水，家里有老人", "address": "睢阳区宋城路天祥花园"}
    s = (await app_client.post(SUGGEST, headers=await login(app_client, "dispatcher1"), json=body)).json()
    assert s["classifier"]["ready"] is False and "尚未训练" in s["classifier"]["message"]
    assert [(c["path"], c["source"]) for c in s["categories"]] == [("水电气暖 / 供水 / 停水", "keywords")]
    assert s["urgency"]["value"] == "utility_outage" and "停水" in s["urgency"]["evidence"]
    assert s["territory"]["street"]["name"] == "睢阳区宋城街道办事处"
    assert s["dispatch"]["lead_unit"]["name"] == "商丘市自来水公司"
    assert s["dispatch"]["explanation"].startswith("类别“停水”（按上级类别“供水”的规则）（全市） → 商丘市自来水公司")


async def test_no_owner_goes_to_the_district_and_no_territory_to_the_dispatcher_desk(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int
) -> None:
    operator = await login(app_client, "operator1")
    ownerless = await app_client.post(
        SUGGEST, headers=operator, json={"content": "银行网点排队两个小时", "address": "睢阳区"}
    )
    dispatch = ownerless.json()["dispatch"]
    assert (dispatch["basis"], dispatch["lead_unit"]["name"], dispatch["rule_id"]) == (
        "territory",
        "睢阳区人民政府",
        None,
    )
    assert dispatch["explanation"] == "类别“银行服务”在派单目录中无归口单位，位于睢阳区，按属地管理 → 睢阳区人民政府"
    unknown = await app_client.post(SUGGEST, headers=operator, json={"content": "我想问一下那个事情怎么样了"})
    dispatch = unknown.json()["dispatch"]
    assert (dispatch["basis"], dispatch["lead_unit"], dispatch["assisting_units"]) == ("desk", None, [])
    assert "市政务服务和大数据管理局派单席" in dispatch["explanation"]
    assert unknown.json()["territory"]["explanation"] == "未识别出属地"


async def test_the_hotlines_own_matters_are_answered_directly(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int
) -> None:
    body = {"content": "想问一下政务服务网上怎么查办件进度"}
    dispatch = (await app_client.post(SUGGEST, headers=await login(app_client, "operator1"), json=body)).json()[
        "dispatch"
    ]
    assert dispatch["answer_directly"] is True and "由热线直接答复" in dispatch["explanation"]


async def test_only_the_desk_asks_and_input_is_checked(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int
) -> None:
    for who in ("dept_liangyuan1", "admin1", "auditor1"):
        response = await app_client.post(SUGGEST, headers=await login(app_client, who), json=PROPERTY_COMPLAINT)
        assert response.status_code == 403, who
    operator = await login(app_client, "operator1")
    assert (await app_client.post(SUGGEST, headers=operator, json={"content": ""})).status_code == 422
    assert (await app_client.post(SUGGEST, headers=operator, json={"content": "x" * 5001})).status_code == 422


async def test_a_newly_activated_model_is_used_without_a_restart(
    app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int, model_dir: Path, trained_model_dir: Path
) -> None:
    operator, admin = await login(app_client, "operator1"), await login(app_client, "admin1")
    assert (await app_client.post(SUGGEST, headers=operator, json=PROPERTY_COMPLAINT)).json()["classifier"][
        "ready"
    ] is False
    shutil.copytree(trained_model_dir, model_dir / trained_model_dir.name)
    activate(model_dir, trained_model_dir.name, by="test")
    status = (await app_client.post("/api/v1/routing/model/reload", headers=admin)).json()
    assert status["active_version"] == status["loaded_version"] == trained_model_dir.name
    s = (await app_client.post(SUGGEST, headers=operator, json=PROPERTY_COMPLAINT)).json()
    assert s["classifier"]["model_version"] == trained_model_dir.name


async def test_every_process_looks_for_a_new_model_by_itself(
    settings: Settings, app_client: httpx.AsyncClient, staff: dict, city: City, model_dir: Path, trained_model_dir: Path
) -> None:
    app_client.app.state.routing.registry.check_seconds = 0  # type: ignore[attr-defined]
    shutil.copytree(trained_model_dir, model_dir / trained_model_dir.name)
    activate(model_dir, trained_model_dir.name, by="test")
    operator = await login(app_client, "operator1")
    for _ in range(100):  # the first request starts the load in a thread; later ones get the new model
        s = (await app_client.post(SUGGEST, headers=operator, json=PROPERTY_COMPLAINT)).json()
        if s["classifier"]["ready"]:
            break
        await asyncio.sleep(0.1)
    assert s["classifier"]["model_version"] == trained_model_dir.name
