"""Twilio Voice: what its webhooks say, and the REST calls that move a call (the ``Switch`` adapter).

Webhooks are checked like the SMS webhook (``X-Twilio-Signature`` over ``HOTLINE_PUBLIC_URL`` +
path + query). The queue state lives in our database; Twilio's own queue (``<Enqueue>``) only holds
the caller with music until we redirect the call (``POST …/Calls/{CallSid}.json``) to ring the
operator the queue chose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import httpx

from hotline.calls import prompts, twiml
from hotline.calls.policy import CallPolicy
from hotline.calls.switch import CallBack, Route, SwitchError
from hotline.channels.inputs import ChannelNotConfigured, Malformed, first
from hotline.channels.twilio_sms import authenticate
from hotline.config import Settings

TIMEOUT_SECONDS = 10.0
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
MAX_NUMBER = 64
ANSWERED = frozenset({"in-progress", "answered"})
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
RECORDING_URL = re.compile(r"^https://[^\s<>\"']{1,480}$")


def check_signature(settings: Settings, *, url: str, form: list[tuple[str, str]], headers: Mapping[str, str]) -> None:
    """Refuse (403) a voice request Twilio did not sign for our public URL."""
    if settings.twilio_auth_token is None:
        raise ChannelNotConfigured("电话渠道未配置", "the phone channel is not configured")
    authenticate(settings, url=url, params=form, headers=headers)


@dataclass(frozen=True)
class VoiceRequest:
    """The fields of a voice webhook we use."""

    call_sid: str
    caller: str
    callee: str
    call_status: str
    parent_call_sid: str | None
    dial_status: str | None
    recording_url: str | None
    recording_seconds: int | None
    queue_result: str | None
    dial_seconds: int | None

    @classmethod
    def parse(cls, form: list[tuple[str, str]]) -> VoiceRequest:
        sid = first(form, "CallSid")
        if not CALL_SID.match(sid):
            raise Malformed("缺少或无效的 CallSid", "missing or invalid CallSid")
        parent = first(form, "ParentCallSid") or None
        seconds, dialled = first(form, "RecordingDuration"), first(form, "DialCallDuration")
        return cls(
            call_sid=sid,
            caller=first(form, "From").strip()[:MAX_NUMBER],
            callee=first(form, "To").strip()[:MAX_NUMBER],
            call_status=first(form, "CallStatus").strip().lower(),
            parent_call_sid=parent if parent and CALL_SID.match(parent) else None,
            dial_status=first(form, "DialCallStatus").strip().lower() or None,
            recording_url=_recording_url(first(form, "RecordingUrl")),
            recording_seconds=int(seconds) if seconds.isdigit() and len(seconds) < 7 else None,
            queue_result=first(form, "QueueResult").strip().lower() or None,
            dial_seconds=int(dialled) if dialled.isdigit() and len(dialled) < 7 else None,
        )


def _recording_url(value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if not RECORDING_URL.match(value):
        raise Malformed("录音地址无效", "RecordingUrl is not an https URL")
    return value


def query_int(query: Mapping[str, str], name: str) -> int | None:
    """A numeric query parameter of our own callback URLs."""
    value = query.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


class TwilioSwitch:
    """Moves calls with Twilio's Calls resource; the base URL is configurable (a stand-in in tests)."""

    def __init__(self, settings: Settings, policy: CallPolicy, transport: httpx.AsyncBaseTransport | None = None):
        self._base = settings.twilio_api_base_url.rstrip("/")
        self._sid = settings.twilio_account_sid
        self._token = settings.twilio_auth_token
        self._caller_id = settings.twilio_from_number
        self._policy = policy
        self._transport = transport

    async def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        if not (self._sid and self._token):
            raise SwitchError("Twilio not configured (HOTLINE_TWILIO_ACCOUNT_SID, _AUTH_TOKEN)")
        target = f"{self._base}/2010-04-01/Accounts/{self._sid}/{path}"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self._transport) as client:
                response = await client.post(target, data=form, auth=(self._sid, self._token.get_secret_value()))
        except httpx.HTTPError as exc:
            raise SwitchError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise SwitchError(f"Twilio answered {response.status_code}: {response.text[:300]}")
        try:
            document = response.json()
        except ValueError as exc:
            raise SwitchError("Twilio answered without JSON") from exc
        return document if isinstance(document, dict) else {}

    async def _redirect(self, route: Route) -> None:
        """Point the live call at /next, which answers with the TwiML of the call's state."""
        if not route.external_id:
            raise SwitchError(f"call {route.call_id} has no CallSid")
        next_url = twiml.url(self._policy, twiml.NEXT, call=route.call_id, offer=route.offer_seq)
        await self._post(f"Calls/{route.external_id}.json", {"Url": next_url, "Method": "POST"})

    async def connect(self, route: Route) -> None:
        await self._redirect(route)

    async def hold(self, route: Route) -> None:
        await self._redirect(route)

    async def voicemail(self, route: Route) -> None:
        await self._redirect(route)

    async def dial(self, call_back: CallBack) -> str | None:
        """Ring the operator; when they answer, Twilio dials the citizen (the citizen's leg reports its answer)."""
        if not self._caller_id:
            raise SwitchError("no caller id for call-backs (HOTLINE_TWILIO_FROM_NUMBER)")
        status = twiml.url(self._policy, twiml.STATUS, call=call_back.call_id)
        citizen_leg = twiml.url(self._policy, twiml.STATUS, call=call_back.call_id, leg="citizen")
        number = (
            f'<Number statusCallback={quoteattr(citizen_leg)} statusCallbackMethod="POST" '
            f'statusCallbackEvent="answered completed">{escape(call_back.citizen_phone)}</Number>'
        )
        document = twiml.response(
            twiml.say(prompts.CALL_BACK_WHISPER), f"<Dial callerId={quoteattr(self._caller_id)}>{number}</Dial>"
        )
        form = {
            "To": call_back.operator_endpoint,
            "From": self._caller_id,
            "Twiml": document,
            "StatusCallback": status,
            "StatusCallbackMethod": "POST",
            "StatusCallbackEvent": "completed",
        }
        sid = (await self._post("Calls.json", form)).get("sid")
        return str(sid) if sid else None
