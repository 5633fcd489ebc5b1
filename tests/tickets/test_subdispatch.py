"""Multi-level dispatch (四级联动): district → street → community, each child order due no later than its parent."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from hotline.auth.models import Role
from hotline.db import Database
from tests.conftest import City, add_user, login


async def _in_progress_at_district(client: httpx.AsyncClient, city: City) -> tuple[str, dict]:
    operator = await login(client, "operator1")
    order = (
        await client.post(
            "/api/v1/tickets",
            headers=operator,
            json={"content": "长征社区楼道堆物，影响通行", "address": "梁园区长征街道", "request_type": "complaint"},
        )
    ).json()
    url = f"/api/v1/tickets/{order['id']}"
    await client.post(f"{url}/dispatch", headers=operator, json={"lead_unit_id": city.unit("liangyuan").id})
    accepted = await client.post(f"{url}/accept", headers=await login(client, "dept_liangyuan1"))
    assert accepted.json()["status"] == "in_progress"
    return url, accepted.json()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_each_level_hands_down_with_a_deadline_inside_its_parents(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    async with db.session() as session:
        await add_user(session, "dept_changzheng1", Role.DEPARTMENT_STAFF, city.unit("liangyuan_changzheng"))
    url, parent = await _in_progress_at_district(app_client, city)
    district = await login(app_client, "dept_liangyuan1")
    handed = await app_client.post(
        f"{url}/sub-dispatch",
        headers=district,
        json={"unit_id": city.unit("liangyuan_changzheng").id, "note": "请长征街道现场核实"},
    )
    assert handed.status_code == 200, handed.text
    payload = handed.json()["events"][-1]["payload"]
    child = (await app_client.get(f"/api/v1/tickets/{payload['child_id']}", headers=district)).json()
    assert (child["status"], child["parent_id"], child["lead_unit_name"]) == (
        "dispatched",
        parent["id"],
        "梁园区长征街道办事处",
    )
    assert _at(child["due_at"]) == _at(parent["due_at"])  # its own 15 working days would end later: capped
    assert _at(child["accept_due_at"]) <= _at(child["due_at"])
    assert child["content"].endswith("【下派说明】请长征街道现场核实")

    street = await login(app_client, "dept_changzheng1")
    child_url = f"/api/v1/tickets/{child['id']}"
    await app_client.post(f"{child_url}/accept", headers=street)
    sooner = _at(parent["due_at"]) - timedelta(days=3)
    grandchild_event = await app_client.post(
        f"{child_url}/sub-dispatch",
        headers=street,
        json={"unit_id": city.unit("liangyuan_changzheng_changzheng").id, "due_at": sooner.isoformat()},
    )
    assert grandchild_event.status_code == 200, grandchild_event.text
    grandchild_id = grandchild_event.json()["events"][-1]["payload"]["child_id"]
    grandchild = (await app_client.get(f"/api/v1/tickets/{grandchild_id}", headers=street)).json()
    assert (_at(grandchild["due_at"]), grandchild["parent_id"]) == (sooner, child["id"])
    assert grandchild["lead_unit_name"] == "长征街道长征社区居民委员会"


async def test_a_child_cannot_outlast_its_parent_nor_go_sideways(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    url, parent = await _in_progress_at_district(app_client, city)
    district = await login(app_client, "dept_liangyuan1")
    later = (_at(parent["due_at"]) + timedelta(hours=1)).isoformat()
    too_late = await app_client.post(
        f"{url}/sub-dispatch", headers=district, json={"unit_id": city.unit("liangyuan_pingyuan").id, "due_at": later}
    )
    assert too_late.status_code == 422 and "不能晚于上级工单" in too_late.json()["message_zh"]
    sideways = await app_client.post(f"{url}/sub-dispatch", headers=district, json={"unit_id": city.unit("suiyang").id})
    assert sideways.status_code == 422
    after = (await app_client.get(url, headers=district)).json()
    assert after["children"] == [] and after["version"] == parent["version"]  # nothing was written
