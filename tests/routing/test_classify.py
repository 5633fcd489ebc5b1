"""Operators set or correct an order's category, type and urgency: history, training data, and the rules around it."""

from __future__ import annotations

import httpx
from sqlmodel import select

from hotline.db import Database
from routing.models import ClassificationExample
from tests.conftest import City, login


async def _order(client: httpx.AsyncClient, headers: dict[str, str], **fields: object) -> dict:
    body = {
        "citizen_phone": "13800138000",
        "content": "小区物业乱收费，还不给开发票",
        "address": "梁园区平原路",
        **fields,
    }
    response = await client.post("/api/v1/tickets", headers=headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_correction_is_recorded_on_the_order_and_kept_as_a_labelled_example(
    active_model: str,
    app_client: httpx.AsyncClient,
    staff: dict,
    city: City,
    catalogue: int,
    db: Database,
    category_ids: dict[str, int],
) -> None:
    operator = await login(app_client, "operator1")
    order = await _order(app_client, operator)
    fees = category_ids["urban_rural.property_management.service_fees"]
    response = await app_client.post(
        f"/api/v1/tickets/{order['id']}/classify",
        headers=operator,
        json={"category_id": fees, "request_type": "complaint"},
    )
    assert response.status_code == 200, response.text
    detail = response.json()
    assert (detail["category_id"], detail["request_type"], detail["urgency"]) == (fees, "complaint", "general")
    assert (detail["status"], detail["version"]) == ("registered", order["version"] + 1)  # not a transition
    event = detail["events"][-1]
    assert (event["type"], event["label"], event["from_status"], event["to_status"]) == (
        "classify",
        "分类",
        "registered",
        "registered",
    )
    assert event["payload"]["changed"] == {
        "category_id": [None, fees],
        "request_type": ["consultation", "complaint"],
    }
    assert event["payload"]["proposed"]["model_version"] == active_model
    async with db.read_session() as session:
        example = (await session.execute(select(ClassificationExample))).scalar_one()
    assert (example.text, example.category_label, example.request_type) == (order["content"], "城乡建设", "complaint")
    assert example.labelled_by_id == staff["operator1"].id and example.model_version == active_model
    assert example.proposed["categories"][0]["name"] in {"物业管理", "物业服务收费", "城乡建设"}


async def test_classifying_as_a_report_hides_the_reporter_from_departments(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    operator = await login(app_client, "operator1")
    order = await _order(app_client, operator)
    classified = await app_client.post(
        f"/api/v1/tickets/{order['id']}/classify",
        headers=operator,
        json={"request_type": "report", "urgency": "urgent"},
    )
    assert classified.json()["confidential"] is True


async def test_who_may_classify_and_what_is_refused(
    app_client: httpx.AsyncClient, staff: dict, city: City, category_ids: dict[str, int]
) -> None:
    operator, dispatcher = await login(app_client, "operator1"), await login(app_client, "dispatcher1")
    order = await _order(app_client, operator)
    url = f"/api/v1/tickets/{order['id']}/classify"
    for who in ("supervisor1", "dept_liangyuan1", "admin1", "auditor1"):
        response = await app_client.post(url, headers=await login(app_client, who), json={"urgency": "complex"})
        assert response.status_code == 403, who
    assert (await app_client.post(url, headers=dispatcher, json={})).status_code == 422
    assert (await app_client.post(url, headers=dispatcher, json={"category_id": 999_999})).status_code == 422
    assert (await app_client.post(url, headers=dispatcher, json={"urgency": "soon"})).status_code == 422
    assert (
        await app_client.post("/api/v1/tickets/999999/classify", headers=dispatcher, json={"urgency": "complex"})
    ).status_code == 404
    answered = await app_client.post(
        f"/api/v1/tickets/{order['id']}/answer-directly", headers=operator, json={"answer": "已答复"}
    )
    assert answered.json()["status"] == "replied"
    closed = await app_client.post(url, headers=dispatcher, json={"category_id": category_ids["urban_rural"]})
    assert closed.status_code == 409 and "不能修改分类" in closed.json()["message_zh"]


async def test_the_operator_records_where_the_order_lies(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    operator = await login(app_client, "operator1")
    street = city.unit("liangyuan_pingyuan").id
    order = await _order(app_client, operator, territory_unit_id=street)
    assert (order["territory_unit_id"], order["territory_name"]) == (street, "梁园区平原街道办事处")

    district = city.unit("suiyang").id
    url = f"/api/v1/tickets/{order['id']}/classify"
    moved = await app_client.post(url, headers=operator, json={"territory_unit_id": district})
    assert moved.status_code == 200, moved.text
    assert moved.json()["territory_name"] == "睢阳区人民政府"
    assert moved.json()["events"][-1]["payload"]["changed"] == {"territory_unit_id": [street, district]}

    # a bureau is no place, and an unknown unit is refused; neither changes the order or makes one
    for bad, status, words in ((city.unit("zhujian").id, 422, "不是属地"), (999_999, 404, "属地不存在")):
        refused = await app_client.post(url, headers=operator, json={"territory_unit_id": bad, "urgency": "urgent"})
        assert (refused.status_code, words in refused.json()["message_zh"]) == (status, True), refused.text
        created = await app_client.post(
            "/api/v1/tickets", headers=operator, json={"content": "路灯不亮", "territory_unit_id": bad}
        )
        assert created.status_code == status, created.text
    after = (await app_client.get(f"/api/v1/tickets/{order['id']}", headers=operator)).json()
    assert (after["territory_unit_id"], after["urgency"], after["version"]) == (
        district,
        "general",
        moved.json()["version"],
    )
    listed = (await app_client.get("/api/v1/tickets", headers=operator)).json()
    assert listed["total"] == 1
