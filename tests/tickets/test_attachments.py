"""Files with a unit's reply: uploaded to the order, sent with the reply, downloaded by who may see the order."""

from __future__ import annotations

import httpx

from hotline.db import Database
from hotline.db_types import utcnow
from tests.conftest import City, login
from tests.supervision.helpers import dispatched_order

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _upload(client: httpx.AsyncClient, ticket_id: int, headers: dict, name: str, data: bytes, kind: str):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/api/v1/tickets/{ticket_id}/attachments", files={"file": (name, data, kind)}, headers=headers
    )


async def test_a_unit_replies_with_a_photo_that_the_hotline_can_download(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=utcnow())
    unit = await login(app_client, "dept_liangyuan1")
    uploaded = await _upload(app_client, ticket_id, unit, "修复后.png", PNG, "image/png")
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()
    assert photo["filename"] == "修复后.png" and photo["size"] == len(PNG)
    reply = await app_client.post(
        f"/api/v1/tickets/{ticket_id}/reply", json={"reply": "已修复", "attachment_ids": [photo["id"]]}, headers=unit
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["events"][-1]["payload"]["attachment_ids"] == [photo["id"]]
    supervisor = await login(app_client, "supervisor1")
    listed = await app_client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=supervisor)
    assert [a["id"] for a in listed.json()] == [photo["id"]]
    file = await app_client.get(photo["url"], headers=supervisor)
    assert file.status_code == 200 and file.content == PNG
    assert file.headers["content-disposition"].startswith("attachment;")
    assert file.headers["x-content-type-options"] == "nosniff"


async def test_a_reply_naming_another_orders_file_is_refused_and_changes_nothing(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    mine = await dispatched_order(db, city, staff, at=utcnow())
    other = await dispatched_order(db, city, staff, at=utcnow())
    unit = await login(app_client, "dept_liangyuan1")
    foreign = (await _upload(app_client, other, unit, "a.pdf", b"%PDF-1.4", "application/pdf")).json()
    reply = await app_client.post(
        f"/api/v1/tickets/{mine}/reply", json={"reply": "已办", "attachment_ids": [foreign["id"]]}, headers=unit
    )
    assert reply.status_code == 422 and "不属于该工单" in reply.json()["message_zh"]
    order = (await app_client.get(f"/api/v1/tickets/{mine}", headers=unit)).json()
    assert order["status"] == "in_progress" and order["reply"] is None


async def test_bad_files_are_refused(app_client: httpx.AsyncClient, db: Database, city: City, staff: dict) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=utcnow())
    unit = await login(app_client, "dept_liangyuan1")
    app_client.app.state.settings.email_max_attachment_bytes = 1000  # type: ignore[attr-defined]
    for name, data, kind in (
        ("page.html", b"<script>alert(1)</script>", "text/html"),
        ("empty.png", b"", "image/png"),
        ("big.png", PNG * 20, "image/png"),
    ):
        response = await _upload(app_client, ticket_id, unit, name, data, kind)
        assert response.status_code == 422, name
    assert (await app_client.get(f"/api/v1/tickets/{ticket_id}/attachments", headers=unit)).json() == []


async def test_only_who_may_see_the_order_gets_its_files(
    app_client: httpx.AsyncClient, db: Database, city: City, staff: dict
) -> None:
    ticket_id = await dispatched_order(db, city, staff, at=utcnow())
    photo = (
        await _upload(app_client, ticket_id, await login(app_client, "dept_liangyuan1"), "p.png", PNG, "image/png")
    ).json()
    stranger = await login(app_client, "dept_zhujian1")
    assert (await _upload(app_client, ticket_id, stranger, "p.png", PNG, "image/png")).status_code == 404
    assert (await app_client.get(photo["url"], headers=stranger)).status_code == 404
    admin = await login(app_client, "admin1")
    assert (await app_client.get(photo["url"], headers=admin)).status_code == 403
    assert (await app_client.get(photo["url"])).status_code == 401
