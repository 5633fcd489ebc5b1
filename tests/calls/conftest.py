"""Call fixtures: the app with the phone channel on, a local stand-in of Twilio's REST API and of a local
switch, Twilio's own request validator to sign webhooks, and helpers to follow the TwiML we answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import httpx
import pytest
from pydantic import SecretStr
from sqlmodel import col, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from hotline.auth.models import Role, User
from hotline.calls import cti
from hotline.calls.models import Call, CallEvent, MissedCallback
from hotline.config import Settings
from hotline.db import Database
from hotline.events.bus import BusEvent
from hotline.timefmt import CHINA_TZ
from tests.channels.conftest import running_app, stand_in
from tests.conftest import add_user, login

PUBLIC_URL = "https://hotline.example.gov.cn"
TWILIO_TOKEN = "test-twilio-auth-token"
ACCOUNT_SID = "AC" + "0" * 32
HOTLINE_NUMBER = "+8637012345"
CALLER = "+8613900139000"
CTI_SECRET = "cti-test-secret"
OPERATORS = {"op_a": "sip:8001@pbx.hotline.example.cn", "op_b": "+8613700000002", "op_c": "client:op_c"}


def call_sid(n: int) -> str:
    return "CA" + f"{n:032x}"


def outside_service_hours() -> str:
    """A one-hour service window that does not include the present moment."""
    hour = datetime.now(CHINA_TZ).hour
    return "13:00-14:00" if hour < 12 else "01:00-02:00"


@dataclass
class Peers:
    """What the stand-ins of Twilio's REST API and of the local switch received."""

    redirects: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    commands: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False  # answer every request with a 500

    def redirected(self, sid: str) -> list[str]:
        return [form["Url"] for s, form in self.redirects if s == sid]


def peers_app(peers: Peers) -> Starlette:
    async def redirect(request: Request) -> JSONResponse:
        if peers.refuse:
            return JSONResponse({"message": "unavailable"}, status_code=500)
        form = {k: str(v) for k, v in (await request.form()).items()}
        peers.redirects.append((request.path_params["sid"], form))
        return JSONResponse({"sid": request.path_params["sid"], "status": "in-progress"})

    async def create(request: Request) -> JSONResponse:
        form = await request.form()
        peers.created.append({k: form.getlist(k) if len(form.getlist(k)) > 1 else str(form[k]) for k in form})
        return JSONResponse({"sid": call_sid(0xC0FFEE + len(peers.created)), "status": "queued"}, status_code=201)

    async def command(request: Request) -> JSONResponse:
        body = await request.body()
        cti.verify(_cti_settings(), request.headers, body)  # our commands are signed like the switch's events
        document = json.loads(body)
        peers.commands.append(document)
        if peers.refuse:
            return JSONResponse({"error": "busy"}, status_code=503)
        return JSONResponse({"call_id": f"out-{len(peers.commands)}"} if document["command"] == "dial" else {})

    return Starlette(
        routes=[
            Route("/2010-04-01/Accounts/{account}/Calls/{sid}.json", redirect, methods=["POST"]),
            Route("/2010-04-01/Accounts/{account}/Calls.json", create, methods=["POST"]),
            Route("/cti/commands", command, methods=["POST"]),
        ]
    )


def _cti_settings() -> Settings:
    return Settings(cti_hmac_secret=SecretStr(CTI_SECRET), environment="test")


@pytest.fixture
async def peers() -> AsyncIterator[tuple[Peers, str]]:
    found = Peers()
    async with stand_in(peers_app(found)) as base:
        yield found, base


@pytest.fixture
def call_settings(settings: Settings, peers: tuple[Peers, str]) -> Settings:
    _, base = peers
    return settings.model_copy(
        update={
            "public_url": PUBLIC_URL,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_from_number": HOTLINE_NUMBER,
            "twilio_api_base_url": base,
            "call_operator_endpoints": OPERATORS,
            "call_wrap_up_seconds": 0,
            "cti_hmac_secret": SecretStr(CTI_SECRET),
            "cti_command_url": base + "/cti/commands",
        }
    )


@pytest.fixture
async def client(call_settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(call_settings) as client:
        yield client


@pytest.fixture
async def operators(db: Database, staff: dict[str, User]) -> dict[str, User]:
    """Three operators whose phones are a SIP address, a mobile number and a Twilio Client."""
    found = {}
    async with db.session() as session:
        for name in OPERATORS:
            found[name] = await add_user(session, name, Role.OPERATOR)
    return found


async def presence(client: httpx.AsyncClient, username: str, value: str, **extra: str) -> dict[str, Any]:
    headers = await login(client, username)
    response = await client.put("/api/v1/seats/me", json={"presence": value, **extra}, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def sign(url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature as Twilio computes it, by Twilio's own library."""
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(url, form))


async def twilio_post(client: httpx.AsyncClient, url: str, form: dict[str, str]) -> httpx.Response:
    """Post what Twilio posts to one of our absolute URLs (from TwiML or configuration), signed."""
    parts = urlsplit(url if url.startswith("http") else PUBLIC_URL + url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return await client.post(path, data=form, headers={"X-Twilio-Signature": sign(PUBLIC_URL + path, form)})


def voice_form(sid: str, status: str = "ringing", caller: str = CALLER, **extra: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": caller,
        "To": HOTLINE_NUMBER,
        "CallStatus": status,
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **extra,
    }


async def incoming(client: httpx.AsyncClient, sid: str, caller: str = CALLER) -> ElementTree.Element:
    response = await twilio_post(client, "/channels/twilio/voice", voice_form(sid, caller=caller))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return parse(response.text)


def parse(twiml: str) -> ElementTree.Element:
    """A TwiML answer as XML (its root must be <Response>)."""
    document = ElementTree.fromstring(twiml)
    assert document.tag == "Response", twiml
    return document


def verbs(document: ElementTree.Element) -> list[str]:
    return [child.tag for child in document]


async def call_of(db: Database, sid: str) -> Call:
    async with db.read_session() as session:
        found = (await session.execute(select(Call).where(col(Call.external_id) == sid))).scalar_one()
        return found


async def events_of(db: Database, call_id: int) -> list[str]:
    async with db.read_session() as session:
        query = select(CallEvent).where(col(CallEvent.call_id) == call_id).order_by(col(CallEvent.id))
        return [e.kind for e in (await session.execute(query)).scalars()]


async def callbacks_in_queue(db: Database) -> list[MissedCallback]:
    async with db.read_session() as session:
        return list((await session.execute(select(MissedCallback).order_by(col(MissedCallback.id)))).scalars())


class ConsoleFeed:
    """The console channel of the app's bus, as a list of what was pushed."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]


@pytest.fixture
async def console(client: httpx.AsyncClient) -> AsyncIterator[ConsoleFeed]:
    feed = ConsoleFeed()
    bus = client.app.state.bus  # type: ignore[attr-defined]
    ready = asyncio.Event()

    async def listen() -> None:
        async with bus.subscribe("console") as subscription:
            ready.set()
            async for event in subscription:
                assert isinstance(event, BusEvent)
                feed.events.append(event.payload)

    task = asyncio.create_task(listen())
    await ready.wait()
    yield feed
    task.cancel()


async def settle() -> None:
    """Let the bus deliver what was published."""
    for _ in range(5):
        await asyncio.sleep(0)
