"""Outbound automated calls through the Twilio REST API: the call fetches its TwiML from our webhook."""

from __future__ import annotations

import httpx

from hotline.config import Settings
from hotline.outbox.providers import IDEMPOTENCY_HEADER, Delivery, DeliveryError

TIMEOUT_SECONDS = 10.0
RING_SECONDS = 40  # unanswered after this long: the call ends and the survey is retried later


class TwilioCallProvider:
    """``POST /2010-04-01/Accounts/{sid}/Calls.json``; the delivery's payload names the TwiML ``url``."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = settings.twilio_api_base_url.rstrip("/")
        self._sid = settings.twilio_account_sid
        self._token = settings.twilio_auth_token
        self._caller = settings.twilio_from_number
        self._transport = transport

    async def send(self, delivery: Delivery) -> str | None:
        if not (self._sid and self._token and self._caller):
            raise DeliveryError("voice provider not configured (HOTLINE_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER)")
        twiml_url = delivery.payload.get("url")
        if not isinstance(twiml_url, str) or not twiml_url:
            raise DeliveryError("a call needs the URL of its TwiML")
        form = {
            "To": delivery.recipient,
            "From": self._caller,
            "Url": twiml_url,
            "Method": "POST",
            "Timeout": str(RING_SECONDS),
        }
        url = f"{self._base}/2010-04-01/Accounts/{self._sid}/Calls.json"
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self._transport) as client:
                response = await client.post(
                    url,
                    data=form,
                    auth=(self._sid, self._token.get_secret_value()),
                    headers={IDEMPOTENCY_HEADER: delivery.idempotency_key},
                )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"Twilio unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"Twilio answered {response.status_code}: {response.text[:300]}")
        try:
            sid = response.json().get("sid")
        except ValueError as exc:
            raise DeliveryError("Twilio answered without JSON") from exc
        return str(sid) if sid else None
