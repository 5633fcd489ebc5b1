"""A local switch's CTI link: signed events in (``POST /channels/cti/events``), signed commands out.

Both directions carry ``X-Hotline-Timestamp`` (Unix seconds) and ``X-Hotline-Signature: sha256=<hex>``,
an HMAC-SHA256 with ``HOTLINE_CTI_HMAC_SECRET`` over ``"{timestamp}." + body``; a request outside
``HOTLINE_CTI_TIMESTAMP_WINDOW_SECONDS`` is refused, so a captured one cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from hotline.calls.switch import CallBack, Route, SwitchError
from hotline.channels.inputs import ChannelNotConfigured, Malformed
from hotline.config import Settings
from hotline.errors import Forbidden

TIMESTAMP_HEADER = "x-hotline-timestamp"
SIGNATURE_HEADER = "x-hotline-signature"
SIGNATURE_PREFIX = "sha256="
TIMEOUT_SECONDS = 5.0
CALL_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")
MAX_FIELD = 64
MAX_URL = 500


class CtiEvent(StrEnum):
    INCOMING = "incoming"
    ANSWERED = "answered"
    HANGUP = "hangup"
    RECORDING = "recording"


ALIASES = {"hung_up": CtiEvent.HANGUP, "hangup": CtiEvent.HANGUP, "recording_ready": CtiEvent.RECORDING}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers that sign ``body`` now."""
    timestamp = str(int(time.time() if now is None else now))
    return {"X-Hotline-Timestamp": timestamp, "X-Hotline-Signature": sign(secret, timestamp, body)}


def verify(settings: Settings, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """Refuse (403) an event the switch did not sign just now."""
    if settings.cti_hmac_secret is None:
        raise ChannelNotConfigured("CTI 接口未配置", "the CTI link is not configured")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    if not timestamp.isdigit() or not given:
        raise Forbidden("CTI 签名缺失", "missing X-Hotline-Timestamp or X-Hotline-Signature")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > settings.cti_timestamp_window_seconds:
        raise Forbidden("CTI 请求已过期", "X-Hotline-Timestamp is outside the allowed window")
    expected = sign(settings.cti_hmac_secret.get_secret_value(), timestamp, body)
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forbidden("CTI 签名校验失败", "X-Hotline-Signature does not match")


@dataclass(frozen=True)
class SwitchEvent:
    """One event of the local switch."""

    event: CtiEvent
    call_id: str
    caller: str
    callee: str
    seat: str | None
    recording_url: str | None
    recording_seconds: int | None
    reference: int | None  # our id of a call-back the switch placed for us

    @classmethod
    def parse(cls, body: bytes) -> SwitchEvent:
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise Malformed("CTI 事件不是 JSON", "the CTI event is not JSON") from exc
        if not isinstance(document, dict):
            raise Malformed("CTI 事件格式不正确", "the CTI event must be a JSON object")
        name = _text(document, "event").lower()
        try:
            event = ALIASES.get(name) or CtiEvent(name)
        except ValueError as exc:
            raise Malformed("未知的 CTI 事件", f"unknown event {name[:32]!r}") from exc
        call_id = _text(document, "call_id")
        if not CALL_ID.match(call_id):
            raise Malformed("缺少或无效的 call_id", "missing or invalid call_id")
        seconds = document.get("recording_seconds")
        reference = document.get("reference")
        return cls(
            event=event,
            call_id=call_id,
            caller=_text(document, "caller"),
            callee=_text(document, "callee"),
            seat=_text(document, "seat") or None,
            recording_url=_url(_text(document, "recording_url", MAX_URL)),
            recording_seconds=seconds if isinstance(seconds, int) and 0 <= seconds < 86_400 else None,
            reference=reference if isinstance(reference, int) and reference > 0 else None,
        )


def _text(document: dict[str, Any], name: str, limit: int = MAX_FIELD) -> str:
    value = document.get(name)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Malformed(f"字段 {name} 格式不正确", f"{name} must be a string")
    text = str(value).strip()
    if len(text) > limit:
        raise Malformed(f"字段 {name} 过长", f"{name} is longer than {limit}")
    return text


def _url(value: str) -> str | None:
    if not value:
        return None
    if not re.match(r"^https?://[^\s<>\"']+$", value):
        raise Malformed("录音地址无效", "recording_url is not an http(s) URL")
    return value


class CtiSwitch:
    """Commands to the local switch: ``POST HOTLINE_CTI_COMMAND_URL`` with a signed JSON body."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._url = settings.cti_command_url
        self._secret = settings.cti_hmac_secret
        self._transport = transport

    async def _send(self, command: dict[str, Any]) -> dict[str, Any]:
        if not (self._url and self._secret):
            raise SwitchError("the local switch is not configured (HOTLINE_CTI_COMMAND_URL, _HMAC_SECRET)")
        body = json.dumps(command, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json", **signed_headers(self._secret.get_secret_value(), body)}
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self._transport) as client:
                response = await client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SwitchError(f"local switch unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise SwitchError(f"local switch answered {response.status_code}: {response.text[:300]}")
        try:
            document = response.json() if response.content else {}
        except ValueError:
            document = {}
        return document if isinstance(document, dict) else {}

    def _command(self, name: str, route: Route) -> dict[str, Any]:
        return {"command": name, "call_id": route.external_id, "reference": route.call_id, "offer": route.offer_seq}

    async def connect(self, route: Route) -> None:
        await self._send({**self._command("connect", route), "seat": route.endpoint})

    async def hold(self, route: Route) -> None:
        await self._send(self._command("hold", route))

    async def voicemail(self, route: Route) -> None:
        await self._send(self._command("voicemail", route))

    async def dial(self, call_back: CallBack) -> str | None:
        command = {
            "command": "dial",
            "reference": call_back.call_id,
            "seat": call_back.operator_endpoint,
            "number": call_back.citizen_phone,
        }
        call_id = (await self._send(command)).get("call_id")
        return str(call_id) if call_id else None
