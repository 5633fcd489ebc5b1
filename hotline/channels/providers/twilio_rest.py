"""Outbound SMS through the Twilio REST API (or any gateway that speaks its Messages resource)."""

from __future__ import annotations

import httpx

from hotline.config import Settings
from hotline.outbox.providers import IDEMPOTENCY_HEADER, Delivery, DeliveryError

TIMEOUT_SECONDS = 10.0


class TwilioSmsProvider:
    """``POST /2010-04-01/Accounts/{sid}/Messages.json`` with basic auth; the base URL is configurable."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = settings.twilio_api_base_url.rstrip("/")
        self._sid = settings.twilio_account_sid
        self._token = settings.twilio_auth_token
        self._sender = settings.twilio_from_number
        self._transport = transport

    async def send(self, delivery: Delivery) -> str | None:
        if not (self._sid and self._token and self._sender):
            raise DeliveryError("SMS provider not configured (HOTLINE_TWILIO_ACCOUNT_SID, _AUTH_TOKEN, _FROM_NUMBER)")
        url = f"{self._base}/2010-04-01/Accounts/{self._sid}/Messages.json"
        form = {"To": delivery.recipient, "From": self._sender, "Body": delivery.body}
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
