"""New orders get a stored proposal from the background job, after intake: once, restart-safe, for the console."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlmodel import select

from hotline.channels import intake
from hotline.channels.intake import Identity, InboundMessage
from hotline.channels.models import Channel
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.jobs import run_once
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import TicketCreate
from hotline.tickets.service import SYSTEM_ACTOR, create_ticket
from routing.context import RoutingContext
from routing.models import TicketSuggestion
from routing.tasks import classify_job, classify_new_orders
from tests.conftest import City, login

RECENT = timedelta(hours=24)


def _sms(external_id: str, body: str, phone: str) -> InboundMessage:
    return InboundMessage(Channel.SMS, external_id, body, {"Body": body}, sender=Identity(IdentityKind.PHONE, phone))


async def _stored(db: Database) -> dict[int, TicketSuggestion]:
    async with db.read_session() as session:
        return {s.ticket_id: s for s in (await session.execute(select(TicketSuggestion))).scalars()}


async def test_orders_from_intake_get_a_proposal_once(
    active_model: str, settings: Settings, db: Database, city: City, catalogue: int
) -> None:
    async with db.session() as session:
        water = await intake.receive(session, _sms("SM1", "睢阳区宋城路天祥花园停水一整天了", "13900139001"))
        property_ = await intake.receive(session, _sms("SM2", "梁园区平原路金色小区物业乱收费", "13900139002"))
    assert await _stored(db) == {}  # intake itself proposes nothing: the webhook answers at once
    result = await run_once(db, classify_job(db, settings), reraise=True)
    assert result is not None and (result["orders"], result["stored"], result["model_version"]) == (2, 2, active_model)
    stored = await _stored(db)
    water_proposal, property_proposal = stored[water.ticket_id or 0], stored[property_.ticket_id or 0]
    assert (water_proposal.urgency, water_proposal.lead_unit_id) == ("utility_outage", city.unit("zilaishui").id)
    assert water_proposal.territory_unit_id == city.unit("suiyang_songcheng").id
    assert property_proposal.lead_unit_id == city.unit("liangyuan").id and property_proposal.rule_id is not None
    assert property_proposal.model_version == active_model and property_proposal.basis == "rule"
    again = await classify_new_orders(db, RoutingContext.from_settings(settings), batch_size=10, recent=RECENT)
    assert (again["orders"], again["stored"]) == (0, 0)  # a new process (a restart) finds nothing left to do


async def test_old_orders_already_handled_are_left_alone_and_batches_cover_the_rest(
    settings: Settings, db: Database, city: City, catalogue: int
) -> None:
    long_ago = utcnow() - timedelta(days=30)
    async with db.session() as session:
        old = await create_ticket(session, data=TicketCreate(content="路灯不亮"), actor=SYSTEM_ACTOR, now=long_ago)
        old.status = "closed"
        waiting = [
            await create_ticket(
                session, data=TicketCreate(content=f"第{i}个停水诉求"), actor=SYSTEM_ACTOR, now=long_ago
            )
            for i in range(5)
        ]
    routing = RoutingContext.from_settings(settings)
    result = await classify_new_orders(db, routing, batch_size=2, recent=RECENT)
    assert (result["orders"], result["stored"], result["model_version"]) == (5, 5, None)
    stored = await _stored(db)
    assert set(stored) == {t.id for t in waiting}  # registered ones, however old; not the closed one
    assert all(s.category_id is not None and s.urgency == "utility_outage" for s in stored.values())


async def test_the_console_sees_the_stored_proposal_beside_the_current_one(
    settings: Settings, app_client: httpx.AsyncClient, staff: dict, db: Database, city: City, catalogue: int
) -> None:
    operator = await login(app_client, "operator1")
    order = (
        await app_client.post(
            "/api/v1/tickets", headers=operator, json={"content": "银行网点排队太久", "address": "睢阳区"}
        )
    ).json()
    url = f"/api/v1/tickets/{order['id']}/suggestion"
    before = (await app_client.get(url, headers=operator)).json()
    assert before["stored"] is None and before["dispatch"]["lead_unit"]["name"] == "睢阳区人民政府"
    await classify_new_orders(db, RoutingContext.from_settings(settings), batch_size=10, recent=RECENT)
    after = (await app_client.get(url, headers=await login(app_client, "supervisor1"))).json()
    assert after["ticket_id"] == order["id"]
    assert (after["stored"]["basis"], after["stored"]["lead_unit_id"]) == ("territory", city.unit("suiyang").id)
    assert after["stored"]["explanation"] == after["dispatch"]["explanation"]
    assert (await app_client.get(url, headers=await login(app_client, "dept_suiyang1"))).status_code == 403
    async with db.read_session() as session:
        assert (await session.get(Ticket, order["id"])).version == order["version"]  # type: ignore[union-attr]
