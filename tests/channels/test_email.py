"""Email: smtplib delivers to the running SMTP server; a gateway posts raw MIME; replies thread; SMTP out."""

from __future__ import annotations

import asyncio
import base64
import smtplib
from collections.abc import AsyncIterator
from datetime import timedelta
from email import message_from_bytes
from email.header import Header
from email.message import EmailMessage
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default as default_policy
from typing import Any

import httpx
import pytest
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session
from pydantic import SecretStr
from sqlmodel import col, select

from hotline.channels.app import build_providers
from hotline.channels.models import Message, MessageAttachment
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.events.bus import InProcessEventBus
from hotline.outbox.models import OutboxMessage
from hotline.outbox.service import deliver_due
from hotline.tickets.models import Ticket
from tests.channels.conftest import counts, free_port, running_app

HTML_MAIL = "<html><style>p{}</style><body><p>工地夜间施工</p><p>噪音&amp;灰尘</p><script>x()</script></body></html>"
HOTLINE = "12345@hotline.example.cn"
CITIZEN = "citizen@example.cn"


@pytest.fixture
async def smtp(channel_settings: Settings, db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """The app with its SMTP server listening on a free port."""
    port = free_port()
    settings = channel_settings.model_copy(update={"smtp_enabled": True, "smtp_port": port})
    async with running_app(settings) as client:
        yield client, port


async def send(port: int, message: Any) -> None:
    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(message)

    await asyncio.to_thread(deliver)


def gbk_mail(message_id: str, body: str = "您好，我们小区电梯经常故障，物业不处理。") -> MIMEText:
    mail = MIMEText(body, "plain", "gbk")
    mail["Subject"] = Header("电梯故障投诉", "gbk")
    mail["From"] = f"{Header('张三', 'gb2312').encode()} <{CITIZEN}>"
    mail["To"] = HOTLINE
    mail["Message-ID"] = f"<{message_id}>"
    return mail


async def messages(db: Database) -> list[Message]:
    async with db.read_session() as session:
        return list((await session.execute(select(Message).order_by(col(Message.id)))).scalars())


async def test_smtp_gbk_mail_attachment_and_threaded_reply_each_one_message_on_the_right_order(
    smtp: tuple[httpx.AsyncClient, int], db: Database
) -> None:
    _, port = smtp
    await send(port, gbk_mail("first@example.cn"))

    with_file = MIMEMultipart()
    with_file["Subject"] = "井盖缺失（附照片）"
    with_file["From"] = "另一位市民 <second@example.cn>"
    with_file["To"] = HOTLINE
    with_file["Message-ID"] = "<photo@example.cn>"
    with_file.attach(MIMEText("睢阳区南京路井盖丢失，见附件照片。", "plain", "utf-8"))
    photo = MIMEApplication(b"\xff\xd8\xff\xe0" + b"jpeg" * 100, "jpeg", Name="井盖.jpg")
    photo.replace_header("Content-Type", 'image/jpeg; name="jinggai.jpg"')
    photo.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "井盖.jpg"))
    with_file.attach(photo)
    await send(port, with_file)

    reply = MIMEText("补充：是2号楼的电梯。", "plain", "utf-8")
    reply["Subject"] = "Re: 电梯故障投诉"
    reply["From"] = CITIZEN
    reply["To"] = HOTLINE
    reply["Message-ID"] = "<reply@example.cn>"
    reply["In-Reply-To"] = "<first@example.cn>"
    reply["References"] = "<first@example.cn>"
    await send(port, reply)

    stored = await messages(db)
    assert [m.external_id for m in stored] == ["first@example.cn", "photo@example.cn", "reply@example.cn"]
    first, photo_mail, threaded = stored
    assert first.body == "您好，我们小区电梯经常故障，物业不处理。"
    assert first.raw["subject"] == "电梯故障投诉"
    assert threaded.ticket_id == first.ticket_id and photo_mail.ticket_id != first.ticket_id
    async with db.read_session() as session:
        ticket = await session.get(Ticket, first.ticket_id)
        files = list(
            (
                await session.execute(select(MessageAttachment).where(MessageAttachment.message_id == photo_mail.id))
            ).scalars()
        )
        acks = list((await session.execute(select(OutboxMessage))).scalars())
    assert ticket is not None and ticket.title == "电梯故障投诉" and ticket.channel == "email"
    assert sorted((f.kind, f.filename, f.content_type) for f in files) == [
        ("attachment", "井盖.jpg", "image/jpeg"),
        ("source", "message.eml", "message/rfc822"),
    ]
    photo_file = next(f for f in files if f.kind == "attachment")
    assert photo_file.content.startswith(b"\xff\xd8") and photo_file.size == 404
    assert sorted(a.recipient for a in acks) == [CITIZEN, "second@example.cn"]  # one acknowledgement per new order
    assert all("工单号 " in (a.subject or "") for a in acks)


async def test_the_same_mail_twice_is_one_message(smtp: tuple[httpx.AsyncClient, int], db: Database) -> None:
    _, port = smtp
    await send(port, gbk_mail("again@example.cn"))
    await send(port, gbk_mail("again@example.cn"))
    assert {k: v for k, v in (await counts(db)).items() if k in ("messages", "tickets")} == {
        "messages": 1,
        "tickets": 1,
    }


async def gateway(client: httpx.AsyncClient, raw: bytes, **headers: str) -> httpx.Response:
    return await client.post(
        "/channels/email/inbound", content=raw, headers={"content-type": "message/rfc822", **headers}
    )


async def test_gateway_decodes_gb2312_labelled_gbk_raw_8bit_headers_and_html_only_mail(
    client: httpx.AsyncClient, db: Database
) -> None:
    mislabelled = (
        (  # 镕 is in GBK but not in GB2312: mailers label such text gb2312 all the same
            "From: =?gb2312?B?" + base64.b64encode("朱镕".encode("gbk")).decode() + "?= <zhu@example.cn>\r\n"
            "To: 12345@hotline.example.cn\r\nSubject: =?GB2312?Q?=C2=B7=B5=C6?=\r\nMessage-ID: <gb@x>\r\n"
            'Content-Type: text/plain; charset="gb2312"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        ).encode()
        + base64.b64encode("路灯坏了，镕字测试".encode("gbk"))
    )
    raw_8bit = (
        b"From: li@example.cn\r\nTo: 12345@hotline.example.cn\r\nSubject: "
        + "噪音扰民".encode("gbk")
        + b"\r\nMessage-ID: <raw@x>\r\nContent-Type: text/html; charset=gbk\r\n\r\n"
        + HTML_MAIL.encode("gbk")
    )
    for raw in (mislabelled, raw_8bit):
        response = await gateway(client, raw)
        assert response.status_code == 201, response.text
    first, second = await messages(db)
    assert first.body == "路灯坏了，镕字测试" and first.raw["subject"] == "路灯"
    assert second.raw["subject"] == "噪音扰民" and second.body == "工地夜间施工\n噪音&灰尘"
    async with db.read_session() as session:
        names = {t.title for t in (await session.execute(select(Ticket))).scalars()}
    assert names == {"路灯", "噪音扰民"}


async def test_gateway_keeps_allowed_attachments_and_records_refused_ones(
    client: httpx.AsyncClient, db: Database
) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"], mail["Message-ID"] = CITIZEN, HOTLINE, "材料", "<files@x>"
    mail.set_content("见附件")
    mail.add_attachment(b"%PDF-1.4 test", maintype="application", subtype="pdf", filename="证明.pdf")
    mail.add_attachment(b"MZ\x90\x00", maintype="application", subtype="x-msdownload", filename="run.exe")
    mail.add_attachment(b"x" * 2048, maintype="image", subtype="png", filename="big.png")
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.app.state.settings = settings.model_copy(update={"email_max_attachment_bytes": 1024})  # type: ignore[attr-defined]
    response = await gateway(client, mail.as_bytes())
    assert response.status_code == 201
    (stored,) = await messages(db)
    assert [(a["filename"], a["reason"]) for a in stored.raw["refused_attachments"]] == [
        ("run.exe", "type"),
        ("big.png", "size"),
    ]
    assert [a["filename"] for a in stored.raw["attachments"]] == ["证明.pdf"]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not a mail at all",
        b"From: \r\nSubject: x\r\n\r\nbody",
        b"From: <@>\r\n\r\nbody",
        b"Subject: no sender\r\n\r\nbody",
    ],
)
async def test_gateway_refuses_unreadable_mail_with_nothing_written(
    client: httpx.AsyncClient, db: Database, raw: bytes
) -> None:
    response = await gateway(client, raw)
    assert 400 <= response.status_code < 500
    assert (await counts(db))["messages"] == 0


async def test_gateway_token_when_configured(channel_settings: Settings, db: Database) -> None:
    settings = channel_settings.model_copy(update={"email_gateway_token": SecretStr("gw-secret")})
    raw = gbk_mail("tok@x").as_bytes()
    async with running_app(settings) as client:
        assert (await gateway(client, raw)).status_code == 403
        assert (await gateway(client, raw, **{"x-hotline-gateway-token": "wrong"})).status_code == 403
        assert (await gateway(client, raw, **{"x-hotline-gateway-token": "gw-secret"})).status_code == 201


async def test_order_number_in_the_subject_threads_a_later_mail(client: httpx.AsyncClient, db: Database) -> None:
    await gateway(client, gbk_mail("orig@x").as_bytes())
    (first,) = await messages(db)
    async with db.session() as session:  # a week later: outside the attach window
        ticket = await session.get(Ticket, first.ticket_id)
        assert ticket is not None
        ticket.created_at = ticket.created_at - timedelta(days=7)
        stored = await session.get(Message, first.id)
        assert stored is not None
        stored.created_at = stored.created_at - timedelta(days=7)
        number = ticket.number
    later = MIMEText("还没有人来修。", "plain", "utf-8")
    later["From"], later["To"], later["Message-ID"] = CITIZEN, HOTLINE, "<later@x>"
    later["Subject"] = f"关于工单 {number}"
    await gateway(client, later.as_bytes())
    stranger = MIMEText("我也要催一下", "plain", "utf-8")
    stranger["From"], stranger["To"], stranger["Message-ID"] = "x@example.cn", HOTLINE, "<stranger@x>"
    stranger["Subject"] = f"工单号 {number}"
    await gateway(client, stranger.as_bytes())
    _, threaded, separate = await messages(db)
    assert threaded.ticket_id == first.ticket_id and separate.ticket_id != first.ticket_id


async def test_auto_replies_get_no_acknowledgement(client: httpx.AsyncClient, db: Database) -> None:
    mail = gbk_mail("auto@x")
    mail["Auto-Submitted"] = "auto-replied"
    await gateway(client, mail.as_bytes())
    assert (await counts(db))["outbox"] == 0 and (await counts(db))["tickets"] == 1


class FlakyRelay:
    """A stand-in SMTP relay: refuses the first ``failures`` mails with 451, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls, self.received = failures, 0, []

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.calls += 1
        if self.calls <= self.failures:
            return "451 4.3.0 try again later"
        self.received.append(envelope.original_content or b"")
        return "250 OK"


async def test_outbound_reply_by_smtp_survives_relay_failures_and_threads(
    client: httpx.AsyncClient, db: Database, channel_settings: Settings
) -> None:
    await gateway(client, gbk_mail("needs-ack@example.cn").as_bytes())
    relay, port = FlakyRelay(failures=2), free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTPServer(relay, hostname="relay", loop=loop), "127.0.0.1", port)
    try:
        settings = channel_settings.model_copy(update={"smtp_relay_host": "127.0.0.1", "smtp_relay_port": port})
        providers = build_providers(settings, InProcessEventBus())
        now = utcnow()
        for step in range(5):
            await deliver_due(db, providers, now=now + timedelta(hours=step))
    finally:
        server.close()
        await server.wait_closed()
    assert relay.calls == 3 and len(relay.received) == 1
    sent = message_from_bytes(relay.received[0], policy=default_policy)
    async with db.read_session() as session:
        number = (await session.execute(select(Ticket))).scalar_one().number
    assert sent["To"] == CITIZEN and number in str(sent["Subject"])
    assert str(sent["Message-ID"]).startswith(f"<ticket.{number}.")
    assert number in sent.get_content()
