"""Survey fixtures: replied orders at chosen instants, the survey policy, and stand-ins for Twilio and WeChat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hotline.auth.models import User
from hotline.channels.app import build_providers
from hotline.channels.models import Channel
from hotline.citizens import service as citizens
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.db import Database
from hotline.events.bus import InProcessEventBus
from hotline.outbox.providers import Provider
from hotline.surveys.models import CallbackSurvey
from hotline.surveys.service import SurveyPolicy, policy_from
from hotline.tickets import service
from hotline.tickets.lifecycle import Action
from hotline.tickets.models import Ticket
from hotline.tickets.schemas import TicketCreate
from hotline.timefmt import CHINA_TZ
from tests.channels.conftest import channel_settings, client, stand_in  # noqa: F401  (fixtures shared with channels)
from tests.conftest import City, as_current
from tests.supervision.helpers import OPERATOR, department

PHONE = "+8613900139000"
OPENID = "oCitizen_0001-abc"
TUESDAY = datetime(2026, 11, 3, 10, 0, tzinfo=CHINA_TZ)  # an ordinary week, no holidays


@dataclass
class Steps:
    """When each step of an order happens, relative to its registration (None: the step is not taken)."""

    accept: timedelta | None = timedelta(minutes=30)
    reply: timedelta | None = timedelta(days=1)
    approve: timedelta | None = timedelta(days=1, hours=1)


async def citizen_id(db: Database, *, phone: str | None = PHONE, openid: str | None = None) -> int | None:
    """The citizen with this phone number or WeChat openid (None: an anonymous requester)."""
    if not (phone or openid):
        return None
    async with db.session() as session:
        citizen = None
        for kind, value in ((IdentityKind.PHONE, phone), (IdentityKind.WECHAT, openid)):
            if value:
                found = await citizens.identify(session, kind=kind, value=value)
                if citizen is not None and found.id != citizen.id:  # tie the second identity to the same citizen
                    raise AssertionError("use one identity per citizen in these tests")
                citizen = found
        assert citizen is not None and citizen.id is not None
        return citizen.id


async def replied_order(
    db: Database,
    city: City,
    staff: dict[str, User],
    *,
    at: datetime = TUESDAY,
    channel: Channel = Channel.SMS,
    phone: str | None = PHONE,
    openid: str | None = None,
    unit: str = "liangyuan",
    steps: Steps | None = None,
    direct: bool = False,
    category_id: int | None = None,
    staff_of: str | None = None,
) -> int:
    """An order registered at ``at``, then answered directly or dispatched, accepted, replied and approved."""
    steps = steps or Steps()
    who = await citizen_id(db, phone=phone, openid=openid)
    async with db.session() as session:
        ticket = await service.create_ticket(
            session,
            data=TicketCreate(content="小区路灯不亮", channel=channel, category_id=category_id),
            actor=OPERATOR,
            citizen_id=who,
            now=at,
        )
        ticket_id = ticket.id or 0
    operator, supervisor = as_current(staff["operator1"]), as_current(staff["supervisor1"])
    if direct:
        await act(db, ticket_id, operator, Action.ANSWER_DIRECTLY, at + timedelta(minutes=5), text="已告知办理地点")
        return ticket_id
    await act(db, ticket_id, operator, Action.DISPATCH, at, lead_unit_id=city.unit(unit).id)
    dept = department(staff, city, staff_of or unit)  # staff of the unit, or of a parent unit
    if steps.accept is not None:
        await act(db, ticket_id, dept, Action.ACCEPT, at + steps.accept)
    if steps.accept is not None and steps.reply is not None:
        await act(db, ticket_id, dept, Action.REPLY, at + steps.reply, text="已更换路灯灯泡")
        if steps.approve is not None:
            await act(db, ticket_id, supervisor, Action.APPROVE_REPLY, at + steps.approve)
    return ticket_id


async def act(
    db: Database, ticket_id: int, user: Any, action: Action, now: datetime, text: str | None = None, **params: Any
) -> None:
    async with db.session() as session:
        await service.act(session, ticket_id=ticket_id, user=user, action=action, text=text, params=params, now=now)


async def order(db: Database, ticket_id: int) -> Ticket:
    async with db.read_session() as session:
        found = await session.get(Ticket, ticket_id)
        assert found is not None
        return found


async def surveys_of(db: Database, ticket_id: int) -> list[CallbackSurvey]:
    async with db.read_session() as session:
        query = (
            select(CallbackSurvey).where(col(CallbackSurvey.ticket_id) == ticket_id).order_by(col(CallbackSurvey.round))
        )
        return list((await session.execute(query)).scalars())


@pytest.fixture
def survey_policy(channel_settings: Settings) -> SurveyPolicy:  # noqa: F811
    """Surveys go out at any hour in these tests (the calling window has its own test)."""
    return policy_from(channel_settings.model_copy(update={"survey_calling_hours": "00:00-24:00"}))


@dataclass
class Peers:
    """What the stand-ins of Twilio's REST API and WeChat's customer-service API received."""

    sms: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    wechat: list[dict[str, Any]] = field(default_factory=list)


def peers_app(peers: Peers) -> Starlette:
    async def messages(request: Request) -> JSONResponse:
        peers.sms.append({k: str(v) for k, v in (await request.form()).items()})
        return JSONResponse({"sid": f"SM{len(peers.sms):032d}"}, status_code=201)

    async def calls(request: Request) -> JSONResponse:
        peers.calls.append({k: str(v) for k, v in (await request.form()).items()})
        return JSONResponse({"sid": f"CA{len(peers.calls):032d}"}, status_code=201)

    async def token(request: Request) -> JSONResponse:
        return JSONResponse({"access_token": "token-1", "expires_in": 7200})

    async def send(request: Request) -> JSONResponse:
        peers.wechat.append(await request.json())
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": len(peers.wechat)})

    return Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{sid}/Messages.json", messages, methods=["POST"]),
            Route("/2010-04-01/Accounts/{sid}/Calls.json", calls, methods=["POST"]),
            Route("/cgi-bin/token", token),
            Route("/cgi-bin/message/custom/send", send, methods=["POST"]),
        ]
    )


@pytest.fixture
async def providers(channel_settings: Settings) -> AsyncIterator[tuple[dict[str, Provider], Peers]]:  # noqa: F811
    """The real outbound adapters, pointed at local stand-ins of Twilio and WeChat."""
    peers = Peers()
    async with stand_in(peers_app(peers)) as base:
        settings = channel_settings.model_copy(
            update={
                "twilio_api_base_url": base,
                "twilio_account_sid": "AC" + "0" * 32,
                "twilio_from_number": "+8612345000000",
                "wechat_api_base_url": base,
                "wechat_app_secret": SecretStr("app-secret"),
            }
        )
        yield build_providers(settings, InProcessEventBus()), peers


def ago(**delta: float) -> datetime:
    """An instant this long before now (webhooks take the real clock, so survey timelines end at now)."""
    from hotline.db_types import utcnow

    return utcnow() - timedelta(**delta)


def recent_steps() -> tuple[datetime, Steps]:
    """An order registered five days ago whose reply was approved an hour ago."""
    start = ago(days=5)
    return start, Steps(approve=timedelta(days=5) - timedelta(hours=1))
