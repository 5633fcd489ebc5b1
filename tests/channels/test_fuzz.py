"""1,000 malformed bodies across the channel endpoints: never a 5xx, and nothing written for what is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import smtplib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from hotline.config import Settings
from hotline.db import Database
from tests.channels.conftest import (
    PUBLIC_URL,
    TWILIO_TOKEN,
    WECHAT_TOKEN,
    counts,
    encrypted_push,
    free_port,
    running_app,
    sms_form,
    sms_sid,
    wechat_params,
    wechat_text_xml,
)
from tests.conftest import City

CASES = 1000
SEED = 12345
FORM = {"content-type": "application/x-www-form-urlencoded"}


@dataclass
class Case:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


class Multi(dict[str, list[str]]):
    def getall(self, name: str) -> list[str]:
        return self[name]


def signed_sms(pairs: list[tuple[str, str]], raw: bytes | None = None) -> Case:
    grouped = Multi()
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/channels/twilio/sms", grouped)
    body = raw if raw is not None else urlencode(pairs).encode()
    return Case("/channels/twilio/sms", body, {**FORM, "X-Twilio-Signature": signature})


def junk(rng: random.Random, size: int) -> bytes:
    return bytes(rng.randrange(256) for _ in range(size))


def weird_text(rng: random.Random) -> str:
    pieces = [
        "\x00",
        "\u202e",
        "<![CDATA[",
        "]]>",
        "&amp;",
        "%s%n",
        "'; DROP TABLE messages;--",
        "😀",
        "\ufeff",
        "工单",
    ]
    return "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 8)))


def sms_cases(rng: random.Random, n: int) -> Iterator[Case]:
    base = list(sms_form(sms_sid(10**6 + n), "正常内容").items())
    mutations: list[Callable[[], Case]] = [
        lambda: signed_sms([p for p in base if p[0] != "MessageSid"]),
        lambda: signed_sms([p for p in base if p[0] != "From"]),
        lambda: signed_sms([(k, "x" * 300 if k == "MessageSid" else v) for k, v in base]),
        lambda: signed_sms([(k, weird_text(rng) if k == "From" else v) for k, v in base]),
        lambda: signed_sms([(k, rng.choice(["-1", "abc", "99", "1e9"]) if k == "NumMedia" else v) for k, v in base]),
        lambda: signed_sms([(k, "" if k == "Body" else v) for k, v in base]),
        lambda: signed_sms(base + [(f"F{i}", "v") for i in range(250)]),
        lambda: signed_sms(base, raw=b"Body=%ED%A0%80&" + junk(rng, 40)),
        lambda: signed_sms([(k, "长" * 70_000 if k == "Body" else v) for k, v in base]),
        lambda: Case("/channels/twilio/sms", junk(rng, rng.randrange(0, 300)), {**FORM, "X-Twilio-Signature": "x"}),
        lambda: Case("/channels/twilio/sms", urlencode(base).encode(), FORM),  # unsigned
    ]
    yield rng.choice(mutations)()


def wechat_plain(body: bytes) -> Case:
    return Case("/channels/wechat", body, params=wechat_params(f"n{random.random()}"))


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><xml><Content>&c;</Content></xml>'
)
XXE = '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Content>&x;</Content></xml>'


def wechat_cases(rng: random.Random, n: int) -> Iterator[Case]:
    openid = f"oFuzz{n}"
    good = wechat_text_xml(openid, "正常", 10**9 + n)
    mutations: list[Callable[[], Case]] = [
        lambda: wechat_plain(BILLION_LAUGHS.encode()),
        lambda: wechat_plain(XXE.encode()),
        lambda: wechat_plain(good[: rng.randrange(1, len(good))].encode()),
        lambda: wechat_plain(junk(rng, rng.randrange(0, 400))),
        lambda: wechat_plain(good.replace("<xml>", "<notxml>").replace("</xml>", "</notxml>").encode()),
        lambda: wechat_plain(good.replace(openid, weird_text(rng) or "x").encode("utf-8", "surrogatepass")),
        lambda: wechat_plain(good.replace("<MsgId>", "<MsgId>abc").encode()),
        lambda: wechat_plain(good.replace("text", rng.choice(["shortvideo2", "miniprogrampage", ""])).encode()),
        lambda: wechat_plain(good.replace("正常", "长" * 9000).encode()),
        lambda: wechat_plain(("<xml>" + "<A>1</A>" * 100 + "</xml>").encode()),
        lambda: wechat_plain(("<xml>" + "<a>" * 5000 + "</a>" * 5000 + "</xml>").encode()),
        lambda: wechat_plain(b'<?xml version="1.0" encoding="bogus"?><xml/>'),
        lambda: wechat_plain(good.encode("utf-16")),
        lambda: wechat_plain(good.replace("<CreateTime>", "<CreateTime>-").encode()),
        lambda: wechat_plain(b"<xml>" + b"x" * 70_000 + b"</xml>"),
        lambda: _safe(good, rng, "garbage"),
        lambda: _safe(good, rng, "short"),
        lambda: _safe(BILLION_LAUGHS, rng, "inner"),
        lambda: _safe(XXE, rng, "inner"),
        lambda: Case("/channels/wechat", good.encode(), params={"timestamp": "x", "nonce": "1", "signature": "s"}),
    ]
    yield rng.choice(mutations)()


def _safe(xml: str, rng: random.Random, how: str) -> Case:
    """A safe-mode push, validly signed, whose ciphertext or decrypted content is broken."""
    params, envelope = encrypted_push(xml, nonce=f"s{rng.random()}")
    if how == "inner":
        return Case("/channels/wechat", envelope.encode(), params=params)
    encrypt = base64.b64encode(junk(rng, 48)).decode() if how == "garbage" else "QUJD"
    sig = hashlib.sha1("".join(sorted([WECHAT_TOKEN, params["timestamp"], params["nonce"], encrypt])).encode())
    body = f"<xml><ToUserName>gh</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode()
    return Case("/channels/wechat", body, params={**params, "msg_signature": sig.hexdigest()})


MIME_SAMPLES = [
    b"",
    b"\r\n\r\n\r\n",
    b"From: a@b.cn\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nx",
    b"From: a@b.cn\r\nContent-Type: multipart/mixed\r\n\r\nno boundary",
    b"From: a@b.cn\r\nContent-Type: text/plain; charset=base64\r\n\r\nhello",
    b"From: a@b.cn\r\nContent-Type: text/plain; charset=unicode_escape\r\n\r\n\\N{x}",
    b"From: a@b.cn\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!",
    b"From: =?utf-8?B?!!!?= <a@b.cn>\r\nSubject: =?gbk?Q?=ZZ?=\r\n\r\nbody",
    b"From: a@b.cn\r\nSubject: " + b"x" * 20_000 + b"\r\n\r\nbody",
    b"From: a@b.cn\r\nContent-Type: message/rfc822\r\n\r\nFrom: b@c.cn\r\nContent-Type: message/rfc822\r\n\r\n",
    b"From: \xff\xfe@\xfa.cn\r\n\r\nbody",
    b"From: <script>@x\r\n\r\n<script>",
    b"Subject: only a subject\r\n\r\n",
]


def email_cases(rng: random.Random, n: int) -> Iterator[Case]:
    mutations: list[Callable[[], bytes]] = [
        lambda: rng.choice(MIME_SAMPLES),
        lambda: junk(rng, rng.randrange(0, 2000)),
        lambda: rng.choice(MIME_SAMPLES).replace(b"a@b.cn", f"f{n}@b.cn".encode()) + junk(rng, 50),
        lambda: b"From: a@b.cn\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + b"--b\r\n\r\nx\r\n" * 300,
        lambda: b"From: a@b.cn\r\n\r\n" + b"y" * 300_000,  # over the fuzz run's size limit
    ]
    yield Case("/channels/email/inbound", rng.choice(mutations)(), {"content-type": "message/rfc822"})


def open311_cases(rng: random.Random, n: int) -> Iterator[Case]:
    fields = ["service_code", "lat", "long", "address_string", "description", "phone", "email", "first_name"]
    values = ["", "nan", "inf", "-91", "1e400", "商丘", "x" * 5000, "13800138000", "a@b", weird_text(rng)]
    pairs = [(rng.choice(fields), rng.choice(values)) for _ in range(rng.randrange(0, 8))]
    if rng.random() < 0.2:
        yield Case("/open311/v2/requests.json", junk(rng, rng.randrange(1, 200)), FORM)
    else:
        yield Case(f"/open311/v2/requests.{rng.choice(['json', 'xml'])}", urlencode(pairs).encode(), FORM)


def webform_cases(rng: random.Random, n: int) -> Iterator[Case]:
    fields = ["phone", "content", "request_type", "address", "name", "client_request_id", "website", "confidential"]
    values = ["", "abc", "13800138000", "complaint", "x" * 3000, weird_text(rng), "0" * 32]
    pairs = [(rng.choice(fields), rng.choice(values)) for _ in range(rng.randrange(0, 8))]
    body = urlencode(pairs).encode() if rng.random() < 0.8 else junk(rng, 100)
    path = rng.choice(["/citizen/requests", "/citizen/track"])
    yield Case(path, body, FORM)


GENERATORS = [sms_cases, wechat_cases, email_cases, open311_cases, webform_cases]


def all_cases() -> list[Case]:
    rng = random.Random(SEED)
    return [case for n in range(CASES) for case in GENERATORS[n % len(GENERATORS)](rng, n)]


@pytest.fixture
async def fuzz_client(channel_settings: Settings, db: Database, city: City) -> AsyncIterator[httpx.AsyncClient]:
    settings = channel_settings.model_copy(update={"email_max_message_bytes": 200_000})
    async with running_app(settings) as client:
        yield client


async def test_a_thousand_malformed_bodies_give_no_5xx_and_write_nothing_when_refused(
    fuzz_client: httpx.AsyncClient, db: Database
) -> None:
    cases = all_cases()
    assert len(cases) == CASES
    statuses: dict[int, int] = {}
    before = await counts(db)
    for case in cases:
        response = await fuzz_client.post(case.path, content=case.body, headers=case.headers, params=case.params)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        assert response.status_code < 500, (case.path, case.body[:200], response.text[:300])
        after = await counts(db)
        if response.status_code >= 400:
            assert after == before, (case.path, case.body[:200], response.status_code)
        before = after
    refused = sum(n for code, n in statuses.items() if code >= 400)
    assert refused > CASES * 0.8, statuses  # the bodies are malformed: most must be refused


async def test_broken_mail_over_smtp_is_refused_permanently_never_451(channel_settings: Settings, db: Database) -> None:
    port = free_port()
    rng = random.Random(SEED)
    settings = channel_settings.model_copy(update={"smtp_enabled": True, "smtp_port": port})
    async with running_app(settings):

        def deliver(raw: bytes) -> int:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                try:
                    client.sendmail("x@example.cn", ["12345@hotline.example.cn"], raw)
                except smtplib.SMTPDataError as exc:
                    return int(exc.smtp_code)
                return 250

        codes = [await asyncio.to_thread(deliver, raw) for raw in [*MIME_SAMPLES[:8], junk(rng, 500)]]
    assert all(code in (250, 550, 552) for code in codes), codes
    assert 550 in codes
