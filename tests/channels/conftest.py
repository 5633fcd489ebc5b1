"""Channel fixtures: the app with every channel configured, and the real peers' ways of signing traffic."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from wechatpy.crypto import WeChatCrypto

from hotline.channels.models import Message, MessageAttachment
from hotline.config import Settings
from hotline.db import Database
from hotline.main import create_app
from hotline.outbox.models import OutboxMessage
from hotline.tickets.models import Ticket

PUBLIC_URL = "https://hotline.example.gov.cn"  # behind a TLS proxy: the app itself sees http://testserver
TWILIO_TOKEN = "test-twilio-auth-token"
WECHAT_TOKEN = "testwechattoken"
WECHAT_AES = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_APPID = "wx0test000000001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def channel_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "public_url": PUBLIC_URL,
            "twilio_auth_token": SecretStr(TWILIO_TOKEN),
            "wechat_token": SecretStr(WECHAT_TOKEN),
            "wechat_aes_key": SecretStr(WECHAT_AES),
            "wechat_app_id": WECHAT_APPID,
            "public_submit_per_minute": 100_000,
        }
    )


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (and so the SMTP server, when enabled), and a client talking to it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def client(channel_settings: Settings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(channel_settings) as client:
        yield client


def sms_form(sid: str, body: str, sender: str = "+8613900139000", **extra: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+8612345000000",
        "Body": body,
        "NumMedia": "0",
        **extra,
    }


def sms_sid(n: int) -> str:
    return "SM" + f"{n:032x}"


def twilio_signature(form: dict[str, Any], url: str = PUBLIC_URL + "/channels/twilio/sms") -> str:
    """What Twilio puts in X-Twilio-Signature, computed by Twilio's own library."""
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(url, form))


async def post_sms(client: httpx.AsyncClient, form: dict[str, str]) -> httpx.Response:
    return await client.post("/channels/twilio/sms", data=form, headers={"X-Twilio-Signature": twilio_signature(form)})


def wechat_text_xml(openid: str, content: str, msg_id: int, created: int | None = None, kind: str = "text") -> str:
    created = created or int(time.time())
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def wechat_params(nonce: str = "nonce1", timestamp: int | None = None) -> dict[str, str]:
    ts = str(timestamp or int(time.time()))
    sig = hashlib.sha1("".join(sorted([WECHAT_TOKEN, ts, nonce])).encode()).hexdigest()
    return {"timestamp": ts, "nonce": nonce, "signature": sig}


def wechat_crypto(app_id: str = WECHAT_APPID) -> WeChatCrypto:
    return WeChatCrypto(WECHAT_TOKEN, WECHAT_AES, app_id)


def encrypted_push(xml: str, nonce: str = "nonce1", app_id: str = WECHAT_APPID) -> tuple[dict[str, str], str]:
    """Query parameters and body of a safe-mode push, encrypted by wechatpy."""
    import xmltodict

    params = wechat_params(nonce)
    envelope = wechat_crypto(app_id).encrypt_message(xml, nonce, params["timestamp"])
    signed = xmltodict.parse(envelope)["xml"]
    return {**params, "encrypt_type": "aes", "msg_signature": signed["MsgSignature"]}, envelope


async def counts(db: Database) -> dict[str, int]:
    """How many messages, orders, attachments and outbox rows exist."""
    async with db.read_session() as session:
        return {
            name: (await session.execute(select(func.count()).select_from(table))).scalar_one()
            for name, table in (
                ("messages", Message),
                ("tickets", Ticket),
                ("attachments", MessageAttachment),
                ("outbox", OutboxMessage),
            )
        }


@asynccontextmanager
async def stand_in(app: Callable[..., Any]) -> AsyncIterator[str]:
    """Serve an ASGI app on a free local port (a provider's stand-in) and yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
