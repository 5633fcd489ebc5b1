"""Each role lands on its own screen, may open only the screens of its role, and the console finds similar orders."""

from __future__ import annotations

import httpx
import pytest

from hotline.auth.models import Role
from hotline.channels.models import Channel
from hotline.db import Database
from hotline.tickets import service
from hotline.tickets.lifecycle import Actor
from hotline.tickets.schemas import TicketCreate
from tests.conftest import PASSWORD, login

LANDING = {
    "operator1": "待受理消息",
    "dispatcher1": "待受理消息",
    "supervisor1": "待审核回复",
    "dept_zhujian1": "本单位工单",
    "admin1": "系统管理",
    "security1": "用户与角色",
    "auditor1": "审计日志",
}


async def _web_login(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303
    return {"Cookie": f"hotline_session={response.cookies['hotline_session']}"}


@pytest.mark.parametrize(("who", "landmark"), LANDING.items())
async def test_the_role_decides_the_landing_screen(
    app_client: httpx.AsyncClient, staff: dict, who: str, landmark: str
) -> None:
    page = await app_client.get("/", headers=await _web_login(app_client, who))
    assert page.status_code == 200 and landmark in page.text


async def test_screens_of_other_roles_are_refused_and_strangers_go_to_the_login(
    app_client: httpx.AsyncClient, staff: dict
) -> None:
    cookie = await _web_login(app_client, "dept_zhujian1")
    for path in ("/console", "/dashboard", "/admin", "/audit"):
        refused = await app_client.get(path, headers=cookie)
        assert refused.status_code == 403 and "无权访问" in refused.text
    assert (await app_client.get("/workbench", headers=cookie)).status_code == 200
    app_client.cookies.clear()
    stranger = await app_client.get("/dashboard")
    assert stranger.status_code == 303 and stranger.headers["location"] == "/"


async def test_every_screen_uses_only_the_products_own_scripts_and_styles(
    app_client: httpx.AsyncClient, staff: dict
) -> None:
    cookie = await _web_login(app_client, "supervisor1")
    for path in ("/dashboard", "/console", "/audit"):
        page = (await app_client.get(path, headers=cookie)).text
        assert "http://" not in page.replace("http://testserver", "") and "https://" not in page and "//cdn" not in page
    script = await app_client.get("/static/vendor/echarts/echarts.common.min.js")
    assert script.status_code == 200 and "echarts" in script.text[:2000].lower()
    assert 'rel="icon"' in page  # the tab's icon is the product's own too, also where a browser guesses it
    icon = await app_client.get("/favicon.ico", follow_redirects=True)
    assert (icon.status_code, icon.headers["content-type"]) == (200, "image/svg+xml")


async def _order(db: Database, content: str, phone: str) -> int:
    async with db.session() as session:
        ticket = await service.create_ticket(
            session,
            data=TicketCreate(content=content, citizen_phone=phone, channel=Channel.PHONE),
            actor=Actor(role=Role.OPERATOR),
        )
        return ticket.id or 0


async def test_the_console_finds_open_orders_by_the_same_citizen_or_about_the_same_matter(
    app_client: httpx.AsyncClient, db: Database, staff: dict
) -> None:
    noise = await _order(db, "建设路小区楼下夜间施工噪音扰民", "13600136000")
    other = await _order(db, "公积金提取需要哪些材料", "13700137000")
    headers = await login(app_client, "operator1")
    by_text = await app_client.get(
        "/api/v1/console/similar", params={"text": "建设路小区夜间施工噪音太吵"}, headers=headers
    )
    assert [s["ticket_id"] for s in by_text.json()] == [noise]
    by_phone = await app_client.get("/api/v1/console/similar", params={"phone": "13700137000"}, headers=headers)
    assert [(s["ticket_id"], s["same_citizen"]) for s in by_phone.json()] == [(other, True)]
    itself = await app_client.get("/api/v1/console/similar", params={"ticket_id": noise}, headers=headers)
    assert itself.json() == []  # an order is not similar to itself
    assert (await app_client.get("/api/v1/console/similar", headers=headers)).status_code == 422
    assert (await app_client.get("/api/v1/console/similar?ticket_id=999999", headers=headers)).status_code == 404
    dept = await login(app_client, "dept_zhujian1")
    assert (await app_client.get("/api/v1/console/similar?text=噪音", headers=dept)).status_code == 403


async def test_the_audit_log_is_read_by_auditors_newest_first_and_filtered(
    app_client: httpx.AsyncClient, staff: dict
) -> None:
    await login(app_client, "operator1")
    failed = await app_client.post("/api/v1/auth/login", json={"username": "operator1", "password": "wrong"})
    assert failed.status_code == 401
    headers = await login(app_client, "auditor1")
    log = await app_client.get("/api/v1/audit", params={"action": "login.", "actor": "operator1"}, headers=headers)
    assert log.status_code == 200
    actions = [e["action"] for e in log.json()["items"]]
    assert actions == ["login.failed", "login.succeeded"] and log.json()["total"] == 2
    for who, status in (("supervisor1", 200), ("operator1", 403), ("admin1", 403), ("security1", 403)):
        response = await app_client.get("/api/v1/audit", headers=await login(app_client, who))
        assert response.status_code == status
