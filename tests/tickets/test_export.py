"""Exporting orders as a table: what the user may see, with the list's filters; citizens masked, reporters hidden."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import httpx
import pytest
from openpyxl import load_workbook
from sqlmodel import select

from hotline.audit.models import AuditEntry
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.tickets import endpoints
from hotline.timefmt import to_local
from tests.conftest import City, login

EXPORT = "/api/v1/tickets/export"


async def _orders(client: httpx.AsyncClient, city: City) -> dict[str, dict]:
    operator, dispatcher = await login(client, "operator1"), await login(client, "dispatcher1")
    bodies = {
        "lamp": {"content": "梁园区平原路路灯不亮", "citizen_phone": "13800138000", "citizen_name": "张三"},
        "report": {
            "content": "举报某饭店使用地沟油",
            "citizen_phone": "13900139000",
            "citizen_name": "李四",
            "request_type": "report",
        },
        "noise": {"content": "睢阳区工地夜间施工", "citizen_phone": "13700137000"},
    }
    made = {}
    for key, body in bodies.items():
        response = await client.post("/api/v1/tickets", headers=operator, json=body)
        assert response.status_code == 201, response.text
        made[key] = response.json()
    for key in ("lamp", "report"):
        url = f"/api/v1/tickets/{made[key]['id']}/dispatch"
        await client.post(url, headers=dispatcher, json={"lead_unit_id": city.unit("liangyuan").id})
    return made


def _sheet(content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None and sheet.title == "工单"
    return [[cell if cell is not None else "" for cell in row] for row in sheet.iter_rows(values_only=True)]


async def test_a_supervisor_exports_every_order_with_citizens_masked_and_reporters_hidden(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    made = await _orders(app_client, city)
    supervisor = await login(app_client, "supervisor1")
    response = await app_client.get(EXPORT, headers=supervisor)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith('attachment; filename="orders-')
    header, *rows = _sheet(response.content)
    assert header[:4] == ["工单编号", "受理时间", "渠道", "诉求类型"] and "联系电话" in header
    by_number = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_number) == [made[k]["number"] for k in ("lamp", "report", "noise")]  # oldest first
    lamp = by_number[made["lamp"]["number"]]
    assert (lamp["诉求人"], lamp["联系电话"], lamp["状态"], lamp["主办单位"]) == (
        "张**",
        "+86138****8000",
        "已派单",
        "梁园区人民政府",
    )
    created = datetime.fromisoformat(made["lamp"]["created_at"])  # China time, to the minute
    assert lamp["受理时间"] == created.strftime("%Y-%m-%d %H:%M") and created.utcoffset() == timedelta(hours=8)
    report = by_number[made["report"]["number"]]
    assert (report["诉求类型"], report["诉求人"], report["联系电话"]) == ("举报", "（保密）", "（保密）")
    assert "13900139000" not in response.text and "李四" not in str(rows)

    csv_response = await app_client.get(EXPORT, headers=supervisor, params={"format": "csv", "q": "路灯"})
    assert csv_response.content.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    table = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert [row[0] for row in table[1:]] == [made["lamp"]["number"]]

    async with db.read_session() as session:
        entries = (await session.execute(select(AuditEntry).where(AuditEntry.action == "tickets.exported"))).scalars()
        details = [e.detail for e in entries]
    assert details == [
        {"format": "xlsx", "orders": 3, "filters": {}},
        {"format": "csv", "orders": 1, "filters": {"q": "路灯"}},
    ]


async def test_a_unit_exports_only_its_own_orders_and_never_a_reporter(
    app_client: httpx.AsyncClient, staff: dict, city: City
) -> None:
    made = await _orders(app_client, city)
    response = await app_client.get(EXPORT, headers=await login(app_client, "dept_liangyuan1"))
    header, *rows = _sheet(response.content)
    assert sorted(row[0] for row in rows) == sorted(made[k]["number"] for k in ("lamp", "report"))
    assert "13900139000" not in str(rows) and "李四" not in str(rows) and "（保密）" in str(rows)
    other = await app_client.get(EXPORT, headers=await login(app_client, "dept_suiyang1"))
    assert _sheet(other.content) == [header]  # another district: the header alone


async def test_dates_limits_and_roles(
    app_client: httpx.AsyncClient, staff: dict, city: City, monkeypatch: pytest.MonkeyPatch, db: Database
) -> None:
    await _orders(app_client, city)
    supervisor = await login(app_client, "supervisor1")
    today = to_local(utcnow()).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert (
        len(_sheet((await app_client.get(EXPORT, headers=supervisor, params={"created_to": yesterday})).content)) == 1
    )
    span = {"created_from": today.isoformat(), "created_to": today.isoformat()}
    assert len(_sheet((await app_client.get(EXPORT, headers=supervisor, params=span)).content)) == 4
    listed = await app_client.get("/api/v1/tickets", headers=supervisor, params={"created_to": yesterday})
    assert listed.json()["total"] == 0  # the list takes the same filters
    backwards = await app_client.get(
        EXPORT, headers=supervisor, params={"created_from": today, "created_to": yesterday}
    )
    assert backwards.status_code == 422 and "开始日期" in backwards.json()["message_zh"]

    monkeypatch.setattr(endpoints, "MAX_EXPORT_ROWS", 2)
    too_many = await app_client.get(EXPORT, headers=supervisor)
    assert too_many.status_code == 422 and "3 件" in too_many.json()["message_zh"]
    async with db.read_session() as session:
        recorded = (await session.execute(select(AuditEntry).where(AuditEntry.action == "tickets.exported"))).all()
    assert len(recorded) == 2  # the refused export left no trace but the refusal
    assert (await app_client.get(EXPORT, headers=await login(app_client, "admin1"))).status_code == 403
    assert (await app_client.get(EXPORT)).status_code == 401
