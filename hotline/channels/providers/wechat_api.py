"""Later replies to WeChat users through the official account's customer-service message API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from hotline.config import Settings
from hotline.outbox.providers import Delivery, DeliveryError

TIMEOUT_SECONDS = 10.0
TOKEN_MARGIN_SECONDS = 300  # renew the access token this long before WeChat says it expires
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid or expired access token: fetch a new one and retry once


class WeChatCustomerServiceProvider:
    """``POST /cgi-bin/message/custom/send`` with a cached access token from ``/cgi-bin/token``."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base = settings.wechat_api_base_url.rstrip("/")
        self._app_id = settings.wechat_app_id
        self._secret = settings.wechat_app_secret
        self._transport = transport
        self._token: str | None = None
        self._token_expires = 0.0
        self._lock = asyncio.Lock()

    async def send(self, delivery: Delivery) -> str | None:
        if not (self._app_id and self._secret):
            raise DeliveryError("WeChat provider not configured (HOTLINE_WECHAT_APP_ID, _APP_SECRET)")
        message = _message(delivery)
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, transport=self._transport) as client:
            for attempt in range(2):
                token = await self._access_token(client, renew=attempt > 0)
                answer = await self._call(client, "POST", "/cgi-bin/message/custom/send", token, json=message)
                code = int(answer.get("errcode", 0) or 0)
                if code == 0:
                    msgid = answer.get("msgid")
                    return str(msgid) if msgid is not None else None
                if code not in TOKEN_ERRORS:
                    break
        raise DeliveryError(f"WeChat refused the message: {answer.get('errcode')} {answer.get('errmsg')}")

    async def _access_token(self, client: httpx.AsyncClient, *, renew: bool) -> str:
        async with self._lock:
            if renew or self._token is None or time.monotonic() >= self._token_expires:
                assert self._app_id and self._secret
                params = {
                    "grant_type": "client_credential",
                    "appid": self._app_id,
                    "secret": self._secret.get_secret_value(),
                }
                answer = await self._call(client, "GET", "/cgi-bin/token", None, params=params)
                if "access_token" not in answer:
                    raise DeliveryError(f"WeChat gave no access token: {answer.get('errcode')} {answer.get('errmsg')}")
                self._token = str(answer["access_token"])
                expires_in = int(answer.get("expires_in", 7200) or 7200)
                self._token_expires = time.monotonic() + max(expires_in - TOKEN_MARGIN_SECONDS, 60)
            return self._token

    async def _call(
        self, client: httpx.AsyncClient, method: str, path: str, token: str | None, **kwargs: Any
    ) -> dict[str, Any]:
        params = dict(kwargs.pop("params", {}))
        if token:
            params["access_token"] = token
        try:
            response = await client.request(method, self._base + path, params=params, **kwargs)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"WeChat unreachable: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 300:
            raise DeliveryError(f"WeChat answered {response.status_code}: {response.text[:300]}")
        try:
            answer = response.json()
        except ValueError as exc:
            raise DeliveryError("WeChat answered without JSON") from exc
        if not isinstance(answer, dict):
            raise DeliveryError("WeChat answered an unexpected document")
        return answer


def _message(delivery: Delivery) -> dict[str, Any]:
    """A text message, or a menu of choices (msgmenu) when the delivery carries one, e.g. a survey's."""
    menu = delivery.payload.get("msgmenu")
    if isinstance(menu, dict):
        return {"touser": delivery.recipient, "msgtype": "msgmenu", "msgmenu": menu}
    return {"touser": delivery.recipient, "msgtype": "text", "text": {"content": delivery.body}}
