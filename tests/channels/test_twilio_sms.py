"""SMS through Twilio's webhook, signed by twilio's own RequestValidator; outbound through a stand-in REST API."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
from datetime import timedelta
from urllib.parse import urlencode

import httpx
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from hotline.auth.models import User
from hotline.channels import outbound
from hotline.channels.app import build_providers
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.events.bus import InProcessEventBus
from hotline.outbox.models import OutboxMessage
from hotline.outbox.service import deliver_due
from hotline.tickets.models import Ticket
from tests.channels.conftest import (
    PUBLIC_URL,
    TWILIO_TOKEN,
    counts,
    post_sms,
    running_app,
    sms_form,
    sms_sid,
    stand_in,
    twilio_signature,
)
from tests.conftest import login

URL = PUBLIC_URL + "/channels/twilio/sms"


async def test_a_signed_sms_is_answered_with_the_order_number(client: httpx.AsyncClient, db: Database) -> None:
    response = await post_sms(client, sms_form(sms_sid(1), "我家楼下垃圾好几天没人清运"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    number = re.search(r"<Response><Message>.*工单号(\d{13})", response.text)
    assert number, response.text
    assert (await counts(db))["tickets"] == 1


async def test_the_order_shows_the_sms_to_operators(client: httpx.AsyncClient, staff: dict[str, User]) -> None:
    await post_sms(client, sms_form(sms_sid(1), "公交站台广告牌松动"))
    operator = await login(client, "operator1")
    listed = (await client.get("/api/v1/tickets", params={"channel": "sms"}, headers=operator)).json()["items"]
    detail = (await client.get(f"/api/v1/tickets/{listed[0]['id']}", headers=operator)).json()
    assert [(m["channel"], m["body"]) for m in detail["messages"]] == [("sms", "公交站台广告牌松动")]
    assert detail["citizen"]["phones"] == ["+8613900139000"]


async def test_four_concurrent_replays_make_one_message_and_one_order(client: httpx.AsyncClient, db: Database) -> None:
    form = sms_form(sms_sid(7), "重复推送")
    responses = await asyncio.gather(*(post_sms(client, form) for _ in range(4)))
    assert [r.status_code for r in responses] == [200] * 4
    assert sum("<Message>" in r.text for r in responses) == 1  # the citizen gets one acknowledgement
    assert {k: v for k, v in (await counts(db)).items() if k in ("messages", "tickets")} == {
        "messages": 1,
        "tickets": 1,
    }


async def test_bad_or_missing_signatures_are_403_with_nothing_written(client: httpx.AsyncClient, db: Database) -> None:
    form = sms_form(sms_sid(2), "伪造")
    http_url = "http://testserver/channels/twilio/sms"  # what the app sees behind the proxy: not what Twilio signed
    attempts = [
        {"X-Twilio-Signature": "AAAA"},
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": twilio_signature(form, http_url)},
        {"X-Twilio-Signature": twilio_signature({**form, "Body": "原文"})},
    ]
    for headers in attempts:
        response = await client.post("/channels/twilio/sms", data=form, headers=headers)
        assert response.status_code == 403, (headers, response.text)
    assert (await counts(db))["messages"] == 0


async def test_signature_with_port_repeated_fields_and_sha256(client: httpx.AsyncClient, db: Database) -> None:
    pairs = [*sms_form(sms_sid(3), "彩信两张").items(), ("NumMedia", "2")]
    pairs = [p for p in pairs if p != ("NumMedia", "0")]
    pairs += [("MediaUrl0", "https://api.twilio.com/m/0"), ("MediaUrl1", "https://api.twilio.com/m/1")]
    pairs += [("Tag", "b"), ("Tag", "a")]  # a repeated field

    class Multi(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    grouped = Multi()
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    body = urlencode(pairs)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with_port = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + ":443/channels/twilio/sms", grouped)
    response = await client.post(
        "/channels/twilio/sms", content=body, headers={**headers, "X-Twilio-Signature": with_port}
    )
    assert response.status_code == 200, response.text

    pairs2 = [(k, v if k != "MessageSid" else sms_sid(4)) for k, v in pairs]
    grouped2 = Multi()
    for name, value in pairs2:
        grouped2.setdefault(name, []).append(value)
    sha256 = RequestValidator(TWILIO_TOKEN).compute_signature(URL, grouped2, algorithm="HMAC_SHA256")
    response = await client.post(
        "/channels/twilio/sms",
        content=urlencode(pairs2),
        headers={
            **headers,
            "X-Twilio-Signature": sha256,
            "X-Twilio-Webhooks-Signature-Settings": "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256",
        },
    )
    assert response.status_code == 200, response.text
    assert (await counts(db))["messages"] == 2


async def test_a_query_string_is_part_of_the_signed_url(client: httpx.AsyncClient) -> None:
    form = sms_form(sms_sid(5), "带查询参数")
    signed = twilio_signature(form, URL + "?site=shangqiu")
    response = await client.post(
        "/channels/twilio/sms?site=shangqiu", data=form, headers={"X-Twilio-Signature": signed}
    )
    assert response.status_code == 200


async def test_unconfigured_channel_refuses(settings: Settings, db: Database) -> None:
    async with running_app(settings) as plain:
        form = sms_form(sms_sid(6), "未配置")
        response = await plain.post("/channels/twilio/sms", data=form, headers={"X-Twilio-Signature": "x"})
    assert response.status_code == 403
    assert (await counts(db))["messages"] == 0


def _flaky_twilio(failures: int) -> tuple[Starlette, list[dict[str, str]], list[int]]:
    """A stand-in for Twilio's Messages resource that fails ``failures`` times with a 500, then accepts."""
    delivered: list[dict[str, str]] = []
    calls = [0]

    async def messages(request: Request) -> JSONResponse:
        calls[0] += 1
        expected = "Basic " + base64.b64encode(f"AC{'1' * 32}:{TWILIO_TOKEN}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"message": "auth"}, status_code=401)
        if calls[0] <= failures:
            return JSONResponse({"message": "internal error"}, status_code=500)
        form = dict(await request.form())
        delivered.append({k: str(v) for k, v in form.items()})
        sid = "SM" + hashlib.sha1(str(len(delivered)).encode()).hexdigest()[:32]
        return JSONResponse({"sid": sid, "status": "queued"}, status_code=201)

    app = Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", messages, methods=["POST"])])
    return app, delivered, calls


async def test_outbound_sms_survives_two_provider_failures_and_arrives_once(
    client: httpx.AsyncClient, channel_settings: Settings, db: Database
) -> None:
    response = await post_sms(client, sms_form(sms_sid(9), "噪音扰民"))
    number = re.search(r"工单号(\d{13})", response.text)
    assert number
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.id is not None
    stand_in_app, delivered, calls = _flaky_twilio(failures=2)
    async with stand_in(stand_in_app) as base:
        settings = channel_settings.model_copy(
            update={"twilio_api_base_url": base, "twilio_account_sid": "AC" + "1" * 32, "twilio_from_number": "+12345"}
        )
        providers = build_providers(settings, InProcessEventBus())
        async with db.session() as session:
            for _ in range(2):  # a repeated notification with the same key is queued once
                assert await outbound.notify_citizen(
                    session, ticket_id=ticket.id, body="您反映的噪音问题已处理。", key="r1"
                )
        now = utcnow()
        for step in range(5):  # the job runner's ticks, each past the previous backoff
            await deliver_due(db, providers, now=now + timedelta(hours=step))
    assert calls[0] == 3
    assert delivered == [{"To": "+8613900139000", "From": "+12345", "Body": "您反映的噪音问题已处理。"}]
    async with db.read_session() as session:
        sent = (await session.execute(select(OutboxMessage))).scalar_one()
    assert sent.status == "sent" and sent.attempts == 3 and sent.provider_message_id


def test_our_signature_matches_twilios_library() -> None:
    from hotline.channels.twilio_sms import compute_signature

    pairs = [("B", "2"), ("A", "1"), ("A", "0"), ("A", "1")]
    ours = compute_signature(TWILIO_TOKEN, URL, pairs)

    class Multi(dict[str, list[str]]):
        def getall(self, name: str) -> list[str]:
            return self[name]

    theirs = RequestValidator(TWILIO_TOKEN).compute_signature(URL, Multi(A=["1", "0", "1"], B=["2"]))
    assert hmac.compare_digest(ours, theirs)
