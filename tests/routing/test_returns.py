"""Returns (退单) with reason codes and evidence, and the re-dispatch loop: who is judged wrong each time."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import col, select

from hotline.channels import intake
from hotline.channels.intake import Attachment, Identity, InboundMessage
from hotline.channels.models import Channel, MessageAttachment
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.db import Database
from hotline.tickets.models import TicketReturn
from routing.context import RoutingContext
from routing.models import TicketSuggestion
from routing.tasks import classify_new_orders
from tests.conftest import City, login

PHOTO = Attachment("现场.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 photo")


async def _order_from_sms(db: Database, external_id: str, body: str) -> tuple[int, int]:
    """An order registered from an SMS with a photo; returns the order id and the photo's attachment id."""
    message = InboundMessage(
        Channel.SMS,
        external_id,
        body,
        {"Body": body},
        sender=Identity(IdentityKind.PHONE, f"1390013{external_id[-4:]}"),
        attachments=(PHOTO,),
    )
    async with db.session() as session:
        receipt = await intake.receive(session, message)
    async with db.read_session() as session:
        rows = await session.execute(
            select(MessageAttachment.id).where(col(MessageAttachment.message_id) == receipt.message_id)
        )
        attachment_id = rows.scalar_one()
    assert receipt.ticket_id is not None and attachment_id is not None
    return receipt.ticket_id, attachment_id


async def _returns(db: Database, ticket_id: int) -> list[TicketReturn]:
    async with db.read_session() as session:
        rows = await session.execute(
            select(TicketReturn).where(col(TicketReturn.ticket_id) == ticket_id).order_by(col(TicketReturn.id))
        )
        return list(rows.scalars())


async def test_the_return_and_redispatch_loop_records_who_was_wrong(
    settings: Settings, app_client: httpx.AsyncClient, staff: dict, city: City, catalogue: int, db: Database
) -> None:
    ticket_id, photo = await _order_from_sms(db, "SM0001", "梁园区平原路金色小区物业乱收费，还不开发票")
    await classify_new_orders(db, RoutingContext.from_settings(settings), batch_size=10, recent=timedelta(hours=1))
    async with db.read_session() as session:
        proposal = await session.get(TicketSuggestion, ticket_id)
    assert proposal is not None and proposal.lead_unit_id == city.unit("liangyuan").id and proposal.rule_id
    dispatcher = await login(app_client, "dispatcher1")
    url = f"/api/v1/tickets/{ticket_id}"

    # 1. Dispatched as the catalogue proposed; the district returns it with evidence; approved: the catalogue was wrong.
    await app_client.post(f"{url}/dispatch", headers=dispatcher, json={"lead_unit_id": city.unit("liangyuan").id})
    liangyuan = await login(app_client, "dept_liangyuan1")
    returned = await app_client.post(
        f"{url}/return",
        headers=liangyuan,
        json={
            "reason": "该小区位于睢阳区，不属本区管辖",
            "reason_code": "wrong_territory",
            "evidence": "不动产登记显示该小区坐落于睢阳区",
            "attachment_ids": [photo],
        },
    )
    assert returned.status_code == 200, returned.text
    event = returned.json()["events"][-1]
    assert (returned.json()["status"], event["reason"]) == ("return_review", "该小区位于睢阳区，不属本区管辖")
    assert {k: event["payload"][k] for k in ("reason_code", "reason_label", "attachment_ids", "unit_id")} == {
        "reason_code": "wrong_territory",
        "reason_label": "属地错误",
        "attachment_ids": [photo],
        "unit_id": city.unit("liangyuan").id,
    }
    approved = await app_client.post(f"{url}/approve-return", headers=dispatcher, json={"reason": "属地确有错误"})
    assert approved.json()["status"] == "registered"
    assert approved.json()["events"][-1]["payload"]["judged_wrong"] == "catalogue"

    # 2. Re-dispatched (改派) by the dispatcher's own choice; returned and approved: the dispatcher was wrong.
    await app_client.post(f"{url}/dispatch", headers=dispatcher, json={"lead_unit_id": city.unit("suiyang").id})
    suiyang = await login(app_client, "dept_suiyang1")
    await app_client.post(
        f"{url}/return", headers=suiyang, json={"reason": "物业收费归住建部门", "reason_code": "not_our_remit"}
    )
    await app_client.post(f"{url}/approve-return", headers=dispatcher)

    # 3. Re-dispatched; the bureau returns it, the dispatcher rejects: the unit was wrong, keeps it, clock running.
    dispatched = await app_client.post(
        f"{url}/dispatch", headers=dispatcher, json={"lead_unit_id": city.unit("zhujian").id}
    )
    due_at = dispatched.json()["due_at"]
    zhujian = await login(app_client, "dept_zhujian1")
    await app_client.post(f"{url}/return", headers=zhujian, json={"reason": "请转城管", "reason_code": "not_ours"})
    rejected = await app_client.post(
        f"{url}/reject-return", headers=dispatcher, json={"reason": "物业服务收费属住建局职责"}
    )
    assert (rejected.json()["status"], rejected.json()["due_at"]) == ("dispatched", due_at)
    assert rejected.json()["events"][-1]["payload"]["judged_wrong"] == "unit"

    judged = [
        (r.unit_id, r.reason_code, r.status, r.judged_wrong, r.wrong_unit_id, r.wrong_user_id, r.rule_id)
        for r in await _returns(db, ticket_id)
    ]
    dispatcher_id = staff["dispatcher1"].id
    assert judged == [
        (city.unit("liangyuan").id, "wrong_territory", "approved", "catalogue", None, dispatcher_id, proposal.rule_id),
        (city.unit("suiyang").id, "not_our_remit", "approved", "dispatcher", None, dispatcher_id, None),
        (
            city.unit("zhujian").id,
            "not_our_remit",
            "rejected",
            "unit",
            city.unit("zhujian").id,
            None,
            None,
        ),  # legacy code
    ]


async def test_a_return_needs_a_known_reason_code_and_evidence_from_the_order(
    app_client: httpx.AsyncClient, staff: dict, city: City, db: Database
) -> None:
    ticket_id, photo = await _order_from_sms(db, "SM0002", "平原路路灯不亮")
    _, other_photo = await _order_from_sms(db, "SM0003", "另一个诉求")
    url = f"/api/v1/tickets/{ticket_id}"
    await app_client.post(
        f"{url}/dispatch",
        headers=await login(app_client, "operator1"),
        json={"lead_unit_id": city.unit("liangyuan").id},
    )
    dept = await login(app_client, "dept_liangyuan1")
    refused = [
        {"reason": "不是我们的"},  # no code
        {"reason": "不是我们的", "reason_code": "because"},
        {"reason": "不是我们的", "reason_code": "other", "attachment_ids": [other_photo]},  # not this order's
        {"reason": "", "reason_code": "other"},
    ]
    for body in refused:
        response = await app_client.post(f"{url}/return", headers=dept, json=body)
        assert response.status_code == 422, (body, response.text)
    assert await _returns(db, ticket_id) == []
    assert (await app_client.get(url, headers=dept)).json()["status"] == "dispatched"
    ok = await app_client.post(
        f"{url}/return",
        headers=dept,
        json={"reason": "信息不全，无法联系诉求人", "reason_code": "insufficient_info", "attachment_ids": [photo]},
    )
    assert ok.status_code == 200, ok.text


async def test_the_reason_codes_are_listed_in_chinese(app_client: httpx.AsyncClient, staff: dict) -> None:
    response = await app_client.get("/api/v1/routing/return-reasons", headers=await login(app_client, "dept_zhujian1"))
    assert response.json() == [
        {"code": "not_our_remit", "label": "非本单位职责"},
        {"code": "wrong_territory", "label": "属地错误"},
        {"code": "insufficient_info", "label": "信息不全"},
        {"code": "duplicate", "label": "重复工单"},
        {"code": "other", "label": "其他"},
    ]
