"""Administration: the security admin manages accounts and roles (audited), categories, masked channel settings."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import select

from hotline.audit.models import AuditEntry
from hotline.db import Database
from tests.conftest import PASSWORD, City, login

NEW = {"username": "op_new", "display_name": "新话务员", "role": "operator", "password": "Fresh-Passw0rd!"}


async def test_the_security_admin_opens_an_account_that_can_log_in_and_it_is_audited(
    app_client: httpx.AsyncClient, db: Database, staff: dict
) -> None:
    headers = await login(app_client, "security1")
    created = await app_client.post("/api/v1/admin/users", json=NEW, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["role_label"] == "话务员" and created.json()["is_active"]
    await login(app_client, "op_new", "Fresh-Passw0rd!")
    listed = await app_client.get("/api/v1/admin/users", headers=headers)
    assert "op_new" in [u["username"] for u in listed.json()]
    async with db.read_session() as session:
        entry = (await session.execute(select(AuditEntry).where(AuditEntry.action == "user.created"))).scalar_one()
    assert entry.actor_username == "security1" and entry.detail["username"] == "op_new"


async def test_a_deactivated_account_can_no_longer_log_in_or_use_its_session(
    app_client: httpx.AsyncClient, staff: dict
) -> None:
    headers = await login(app_client, "security1")
    victim = await login(app_client, "operator1")
    user_id = staff["operator1"].id
    response = await app_client.patch(f"/api/v1/admin/users/{user_id}", json={"is_active": False}, headers=headers)
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert (await app_client.get("/api/v1/auth/me", headers=victim)).status_code == 401
    again = await app_client.post("/api/v1/auth/login", json={"username": "operator1", "password": PASSWORD})
    assert again.status_code == 401


async def test_department_staff_need_a_unit_and_others_none(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    headers = await login(app_client, "security1")
    no_unit = await app_client.post("/api/v1/admin/users", json=NEW | {"role": "department_staff"}, headers=headers)
    assert no_unit.status_code == 422 and "单位" in no_unit.json()["message_zh"]
    with_unit = NEW | {"unit_id": city.unit("zhujian").id}
    assert (await app_client.post("/api/v1/admin/users", json=with_unit, headers=headers)).status_code == 422
    moved = await app_client.patch(
        f"/api/v1/admin/users/{staff['operator1'].id}",
        json={"role": "department_staff", "unit_id": city.unit("zhujian").id},
        headers=headers,
    )
    assert moved.json()["unit_name"] == city.unit("zhujian").name and moved.json()["role"] == "department_staff"


async def test_a_field_sent_as_null_is_left_as_it_is(app_client: httpx.AsyncClient, staff: dict) -> None:
    headers = await login(app_client, "security1")
    operator = staff["operator1"].id
    kept = await app_client.patch(
        f"/api/v1/admin/users/{operator}",
        json={"display_name": None, "role": None, "is_active": None, "unit_id": None},
        headers=headers,
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["role"], kept.json()["is_active"], kept.json()["display_name"]) == (
        "operator",
        True,
        "operator1",
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"username": "operator1"}, 409),  # taken
        ({"username": "a b"}, 422),
        ({"password": "short"}, 422),
        ({"role": "system"}, 422),
        ({"role": "king"}, 422),
    ],
)
async def test_bad_accounts_are_refused_and_nothing_is_created(
    app_client: httpx.AsyncClient, staff: dict, change: dict, status: int
) -> None:
    headers = await login(app_client, "security1")
    before = len((await app_client.get("/api/v1/admin/users", headers=headers)).json())
    response = await app_client.post("/api/v1/admin/users", json=NEW | change, headers=headers)
    assert response.status_code == status
    assert len((await app_client.get("/api/v1/admin/users", headers=headers)).json()) == before


async def test_a_security_admin_cannot_lock_themselves_out(app_client: httpx.AsyncClient, staff: dict) -> None:
    headers = await login(app_client, "security1")
    me = staff["security1"].id
    for change in ({"is_active": False}, {"role": "operator"}):
        response = await app_client.patch(f"/api/v1/admin/users/{me}", json=change, headers=headers)
        assert response.status_code == 409


@pytest.mark.parametrize("who", ["admin1", "operator1", "supervisor1", "dept_zhujian1"])
async def test_only_the_security_admin_manages_accounts(app_client: httpx.AsyncClient, staff: dict, who: str) -> None:
    headers = await login(app_client, who)
    assert (await app_client.post("/api/v1/admin/users", json=NEW, headers=headers)).status_code == 403
    assert (await app_client.get("/api/v1/admin/users", headers=headers)).status_code == 403


async def test_the_auditor_reads_accounts_but_changes_nothing(app_client: httpx.AsyncClient, staff: dict) -> None:
    headers = await login(app_client, "auditor1")
    assert (await app_client.get("/api/v1/admin/users", headers=headers)).status_code == 200
    user_id = staff["operator1"].id
    response = await app_client.patch(f"/api/v1/admin/users/{user_id}", json={"is_active": False}, headers=headers)
    assert response.status_code == 403


async def test_categories_come_as_a_tree_with_paths(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    response = await app_client.get("/api/v1/categories", headers=await login(app_client, "operator1"))
    paths = {c["code"]: c["path"] for c in response.json()}
    assert paths["environment.noise.construction"] == "环境保护 / 噪声污染 / 施工噪声"


async def test_channel_settings_show_what_is_configured_with_secrets_masked(
    app_client: httpx.AsyncClient, staff: dict
) -> None:
    settings = app_client.app.state.settings  # type: ignore[attr-defined]
    settings.twilio_auth_token = SecretStr("twilio-secret-token-123")
    response = await app_client.get("/api/v1/admin/channels", headers=await login(app_client, "admin1"))
    assert response.status_code == 200
    assert "twilio-secret-token-123" not in response.text
    channels = {c["channel"]: c for c in response.json()}
    assert channels["sms"]["configured"] and not channels["wechat"]["configured"]
    token = next(s for s in channels["sms"]["settings"] if s["name"] == "HOTLINE_TWILIO_AUTH_TOKEN")
    assert token == {"name": "HOTLINE_TWILIO_AUTH_TOKEN", "value": "tw••••23", "secret": True}
    response = await app_client.get("/api/v1/admin/channels", headers=await login(app_client, "operator1"))
    assert response.status_code == 403


async def test_the_system_admin_grows_the_category_tree_and_takes_a_node_out_of_use(
    app_client: httpx.AsyncClient, db: Database, staff: dict, city: City
) -> None:
    headers = await login(app_client, "admin1")
    tree = {c["code"]: c for c in (await app_client.get("/api/v1/categories", headers=headers)).json()}
    noise = tree["environment.noise"]
    body = {"parent_id": noise["id"], "code": "environment.noise.square_dance", "name": "广场舞噪音"}
    created = await app_client.post(
        "/api/v1/categories", json=body | {"default_unit_id": city.unit("liangyuan").id}, headers=headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["path"] == "环境保护 / 噪声污染 / 广场舞噪音" and created.json()["level"] == 3
    off = await app_client.patch(
        f"/api/v1/categories/{created.json()['id']}", json={"is_active": False}, headers=headers
    )
    assert off.status_code == 200 and off.json()["is_active"] is False
    async with db.read_session() as session:
        actions = list(
            (await session.execute(select(AuditEntry.action).where(AuditEntry.object_type == "category"))).scalars()
        )
    assert actions == ["category.created", "category.updated"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"parent_id": "level3", "code": "environment.noise.construction.night", "name": "夜间"}, 422),  # a 4th level
        ({"parent_id": None, "code": "environment", "name": "重复"}, 409),
        ({"parent_id": 999999, "code": "nowhere.child", "name": "无上级"}, 422),
        ({"parent_id": None, "code": "Bad Code", "name": "格式"}, 422),
        ({"parent_id": None, "code": "orphan.unit", "name": "单位", "default_unit_id": 999999}, 422),
    ],
)
async def test_bad_categories_are_refused_and_nothing_is_added(
    app_client: httpx.AsyncClient, staff: dict, city: City, body: dict, status: int
) -> None:
    headers = await login(app_client, "admin1")
    before = (await app_client.get("/api/v1/categories", headers=headers)).json()
    if body["parent_id"] == "level3":
        body = body | {"parent_id": next(c["id"] for c in before if c["code"] == "environment.noise.construction")}
    response = await app_client.post("/api/v1/categories", json=body, headers=headers)
    assert response.status_code == status, response.text
    assert len((await app_client.get("/api/v1/categories", headers=headers)).json()) == len(before)


async def test_only_the_system_admin_changes_categories(app_client: httpx.AsyncClient, staff: dict, city: City) -> None:
    for who in ("security1", "supervisor1", "operator1"):
        response = await app_client.post(
            "/api/v1/categories", json={"code": "x.y", "name": "测试"}, headers=await login(app_client, who)
        )
        assert response.status_code == 403
