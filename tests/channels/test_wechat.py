"""WeChat official account: pushes encrypted by wechatpy, passive replies, events, and the customer-service API."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pytest
import xmltodict
from pydantic import SecretStr
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from wechatpy.exceptions import InvalidSignatureException

from hotline.channels import outbound
from hotline.channels.app import build_providers
from hotline.channels.models import Message
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.events.bus import InProcessEventBus
from hotline.outbox.service import deliver_due
from hotline.tickets.models import Ticket
from tests.channels.conftest import (
    WECHAT_APPID,
    counts,
    encrypted_push,
    running_app,
    stand_in,
    wechat_crypto,
    wechat_params,
    wechat_text_xml,
)

OPENID = "oCitizen_0001-abc"


def reply_content(response: httpx.Response) -> str:
    return str(xmltodict.parse(response.text)["xml"]["Content"])


async def test_server_verification_echoes_only_for_our_signature(client: httpx.AsyncClient) -> None:
    params = {**wechat_params(), "echostr": "8724562"}
    assert (await client.get("/channels/wechat", params=params)).text == "8724562"
    bad = await client.get("/channels/wechat", params={**params, "signature": "0" * 40})
    assert bad.status_code == 403


async def test_plain_text_push_gets_the_order_number_passively(client: httpx.AsyncClient, db: Database) -> None:
    xml = wechat_text_xml(OPENID, "公交站台广告牌松动有危险", 1001)
    response = await client.post("/channels/wechat", params=wechat_params(), content=xml)
    assert response.status_code == 200
    reply = xmltodict.parse(response.text)["xml"]
    assert reply["ToUserName"] == OPENID and reply["FromUserName"] == "gh_test" and reply["MsgType"] == "text"
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.number in reply["Content"] and ticket.channel == "wechat"


async def test_safe_mode_push_and_encrypted_reply(client: httpx.AsyncClient, db: Database) -> None:
    xml = wechat_text_xml(OPENID, "路面塌陷请尽快处理", 1002)
    params, body = encrypted_push(xml, nonce="n1002")
    response = await client.post("/channels/wechat", params=params, content=body.encode())
    assert response.status_code == 200
    envelope = xmltodict.parse(response.text)["xml"]
    plain = wechat_crypto().decrypt_message(
        response.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.number in xmltodict.parse(plain)["xml"]["Content"]
    assert ticket.content == "路面塌陷请尽快处理"


async def test_our_reply_signature_is_checked_by_wechatpy(client: httpx.AsyncClient) -> None:
    params, body = encrypted_push(wechat_text_xml(OPENID, "测试", 1003), nonce="n1003")
    response = await client.post("/channels/wechat", params=params, content=body.encode())
    envelope = xmltodict.parse(response.text)["xml"]
    with pytest.raises(InvalidSignatureException):
        wechat_crypto().decrypt_message(response.text, "0" * 40, envelope["TimeStamp"], envelope["Nonce"])


@pytest.mark.parametrize("tamper", ["msg_signature", "signature", "appid", "stale", "future"])
async def test_forged_or_replayed_pushes_are_refused_with_nothing_written(
    client: httpx.AsyncClient, db: Database, tamper: str
) -> None:
    xml = wechat_text_xml(OPENID, "伪造", 1004)
    params, body = encrypted_push(xml, app_id="wx0other00000000" if tamper == "appid" else WECHAT_APPID)
    if tamper in ("msg_signature", "signature"):
        params[tamper] = "0" * 40
    if tamper in ("stale", "future"):
        shifted = int(time.time()) + (-3600 if tamper == "stale" else 3600)
        params, body = encrypted_push(xml, nonce="old")
        stale = wechat_params("old", shifted)
        params = {**params, **stale}
    response = await client.post("/channels/wechat", params=params, content=body.encode())
    assert response.status_code == 403, response.text
    assert (await counts(db))["messages"] == 0


async def test_wechat_retries_get_the_same_reply_and_one_message(client: httpx.AsyncClient, db: Database) -> None:
    xml = wechat_text_xml(OPENID, "重试三次", 1005)
    responses = await asyncio.gather(
        *(client.post("/channels/wechat", params=wechat_params(f"r{i}"), content=xml) for i in range(4))
    )
    contents = {reply_content(r) for r in responses}
    assert len(contents) == 1
    assert {k: v for k, v in (await counts(db)).items() if k in ("messages", "tickets")} == {
        "messages": 1,
        "tickets": 1,
    }


def _media_xml(kind: str, extra: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>{extra}"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


async def test_image_voice_and_location_join_the_same_order(client: httpx.AsyncClient, db: Database) -> None:
    pushes = [
        _media_xml("image", "<PicUrl><![CDATA[http://mmbiz.qpic.cn/x.jpg]]></PicUrl><MediaId>m1</MediaId>", 2001),
        _media_xml("voice", "<MediaId>m2</MediaId><Format>amr</Format><Recognition>井盖丢了</Recognition>", 2002),
        _media_xml(
            "location",
            "<Location_X>34.414</Location_X><Location_Y>115.656</Location_Y><Scale>15</Scale>"
            "<Label><![CDATA[梁园区神火大道]]></Label>",
            2003,
        ),
    ]
    for xml in pushes:
        assert (await client.post("/channels/wechat", params=wechat_params(), content=xml)).status_code == 200
    async with db.read_session() as session:
        bodies = [m.body for m in (await session.execute(select(Message).order_by(Message.id))).scalars()]
        tickets = list((await session.execute(select(Ticket))).scalars())
    assert bodies == ["[图片] http://mmbiz.qpic.cn/x.jpg", "井盖丢了", "[位置] 梁园区神火大道 (34.414, 115.656)"]
    assert len(tickets) == 1 and tickets[0].content == "[图片] http://mmbiz.qpic.cn/x.jpg"


async def test_subscribe_sends_the_welcome_and_opens_no_order(
    client: httpx.AsyncClient, db: Database, channel_settings: Settings
) -> None:
    created = int(time.time())
    xml = (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[subscribe]]></Event></xml>"
    )
    first = await client.post("/channels/wechat", params=wechat_params(), content=xml)
    again = await client.post("/channels/wechat", params=wechat_params("again"), content=xml)
    assert reply_content(first) == reply_content(again) == channel_settings.wechat_welcome_text
    click = xml.replace("subscribe", "CLICK")
    assert (await client.post("/channels/wechat", params=wechat_params(), content=click)).text == "success"
    assert {k: v for k, v in (await counts(db)).items() if k in ("messages", "tickets")} == {
        "messages": 1,
        "tickets": 0,
    }


async def test_customer_service_reply_survives_provider_failures(
    client: httpx.AsyncClient, db: Database, channel_settings: Settings
) -> None:
    await client.post("/channels/wechat", params=wechat_params(), content=wechat_text_xml(OPENID, "供暖不热", 3001))
    async with db.read_session() as session:
        ticket = (await session.execute(select(Ticket))).scalar_one()
    assert ticket.id is not None
    sent: list[dict[str, object]] = []
    calls = {"send": 0, "token": 0}

    async def token(request: Request) -> JSONResponse:
        calls["token"] += 1
        assert request.query_params["appid"] == WECHAT_APPID and request.query_params["secret"] == "app-secret"
        return JSONResponse({"access_token": f"T{calls['token']}", "expires_in": 7200})

    async def send(request: Request) -> JSONResponse:
        calls["send"] += 1
        if calls["send"] <= 2:
            return JSONResponse({"errmsg": "busy"}, status_code=500)
        if request.query_params["access_token"] == "T1" and calls["token"] == 1:
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        sent.append(await request.json())
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": 99})

    stand = Starlette(
        routes=[Route("/cgi-bin/token", token), Route("/cgi-bin/message/custom/send", send, methods=["POST"])]
    )
    async with stand_in(stand) as base:
        settings = channel_settings.model_copy(
            update={"wechat_api_base_url": base, "wechat_app_secret": SecretStr("app-secret")}
        )
        providers = build_providers(settings, InProcessEventBus())
        async with db.session() as session:
            await outbound.notify_citizen(
                session, ticket_id=ticket.id, body="您反映的供暖问题已安排维修。", key="reply"
            )
        now = utcnow()
        for step in range(5):
            await deliver_due(db, providers, now=now + timedelta(hours=step))
    assert sent == [{"touser": OPENID, "msgtype": "text", "text": {"content": "您反映的供暖问题已安排维修。"}}]
    assert calls["token"] == 2  # renewed once after WeChat said the token expired


async def test_safe_mode_only_refuses_plain_pushes(channel_settings: Settings, db: Database) -> None:
    settings = channel_settings.model_copy(update={"wechat_require_safe_mode": True})
    async with running_app(settings) as client:
        plain = await client.post(
            "/channels/wechat", params=wechat_params(), content=wechat_text_xml(OPENID, "明文", 4001)
        )
        params, body = encrypted_push(wechat_text_xml(OPENID, "密文", 4002))
        safe = await client.post("/channels/wechat", params=params, content=body.encode())
    assert plain.status_code == 403 and safe.status_code == 200
    assert (await counts(db))["messages"] == 1
