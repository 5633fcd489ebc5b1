"""Channel edges: the SMS, WeChat and email-gateway webhooks, and the Open311 GeoReport v2 API."""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from hotline.channels import email_inbound, intake, open311, spool, twilio_sms, wechat
from hotline.channels.inputs import client_key, first, limiter_for, parse_form, public_url, read_body
from hotline.config import Settings
from hotline.deps import DB, AppSettings
from hotline.errors import DomainError, Forbidden
from knowledge_base import auto_answer

webhooks = APIRouter(prefix="/channels", tags=["channels"])
open311_api = APIRouter(prefix="/open311/v2", tags=["open311"])

XML = "application/xml; charset=utf-8"
GATEWAY_TOKEN_HEADER = "x-hotline-gateway-token"


@webhooks.post("/twilio/sms")
async def twilio_sms_webhook(request: Request, db: DB, settings: AppSettings) -> Response:
    """An SMS from Twilio: checked against our public URL, stored once, answered with the order number.

    A knowledge-base answer to a new order follows as a separate message (``knowledge_base.auto_answer``).
    """
    twilio_sms.require_signature(settings, request.headers)
    params = parse_form(await read_body(request, settings.channel_max_body_bytes))
    twilio_sms.authenticate(
        settings, url=public_url(settings.public_url, request), params=params, headers=request.headers
    )
    message = twilio_sms.to_inbound(params)
    receipt = await spool.receive_or_spool(db, settings, message, kind=spool.SMS, fields=params)
    if receipt is None:
        return Response(twilio_sms.twiml(f"【12345】{spool.SPOOLED_REPLY}"), media_type=XML)
    reply = auto_answer.with_handoff(message, receipt, twilio_sms.acknowledgement(receipt))
    return Response(twilio_sms.twiml(reply), media_type=XML)


@webhooks.get("/wechat")
async def wechat_verification(request: Request, settings: AppSettings) -> Response:
    """WeChat's server verification: echo ``echostr`` when the signature is ours."""
    return PlainTextResponse(wechat.verify_server(settings, request.query_params))


@webhooks.post("/wechat")
async def wechat_push(request: Request, db: DB, settings: AppSettings) -> Response:
    """A message or event from the official account, answered passively (within WeChat's 5 seconds)."""
    body = await read_body(request, settings.channel_max_body_bytes)
    push = wechat.open_push(settings, request.query_params, body)
    message = wechat.to_inbound(push.fields)
    if message is None:
        return PlainTextResponse("success")
    receipt = await spool.receive_or_spool(db, settings, message, kind=spool.WECHAT, fields=push.fields)
    if receipt is None:
        spooled = spool.SPOOLED_REPLY if message.opens_ticket else None
        return _wechat_reply(settings, push, spooled)
    return _wechat_reply(
        settings, push, auto_answer.with_handoff(message, receipt, wechat.reply_text(settings, message, receipt))
    )


def _wechat_reply(settings: Settings, push: wechat.Push, content: str | None) -> Response:
    """A passive text reply, or WeChat's "success" for none."""
    if content is None:
        return PlainTextResponse("success")
    return Response(wechat.render_reply(settings, push, content), media_type=XML)


@webhooks.post("/email/inbound")
async def email_gateway(request: Request, db: DB, settings: AppSettings) -> JSONResponse:
    """Raw MIME from a mail gateway; the same intake as the SMTP server."""
    if settings.email_gateway_token is not None:
        given = request.headers.get(GATEWAY_TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode(), settings.email_gateway_token.get_secret_value().encode()):
            raise Forbidden("邮件网关令牌无效", f"missing or wrong {GATEWAY_TOKEN_HEADER}")
    raw = await read_body(request, settings.email_max_message_bytes)
    _, receipt = await email_inbound.deliver(db, settings, raw, envelope_from=request.headers.get("x-envelope-from"))
    document = {
        "message_id": receipt.message_id,
        "ticket_number": receipt.ticket_number,
        "new_ticket": receipt.new_ticket,
        "duplicate": receipt.duplicate,
    }
    return JSONResponse(document, status_code=200 if receipt.duplicate else 201)


class Format(StrEnum):
    JSON = "json"
    XML = "xml"


def _render(fmt: Format, root: str, item: str, documents: list[dict[str, Any]], status_code: int = 200) -> Response:
    if fmt is Format.XML:
        return Response(open311.to_xml(root, item, documents), status_code=status_code, media_type=XML)
    body = json.dumps(documents, ensure_ascii=False)
    return Response(body, status_code=status_code, media_type="application/json")


async def _georeport(
    fmt: Format, root: str, item: str, produce: Callable[[], Awaitable[list[dict[str, Any]]]]
) -> Response:
    """Run one Open311 call; refusals come back in GeoReport's error format."""
    try:
        return _render(fmt, root, item, await produce())
    except DomainError as exc:
        errors = open311.error_documents(exc.status_code, f"{exc.message_en} / {exc.message_zh}")
        return _render(fmt, "errors", "error", errors, exc.status_code)


@open311_api.get("/services.{fmt}")
async def open311_services(fmt: Format, db: DB) -> Response:
    """Our request categories as Open311 services."""

    async def produce() -> list[dict[str, Any]]:
        async with db.read_session() as session:
            return open311.service_documents(await open311.services(session))

    return await _georeport(fmt, "services", "service", produce)


@open311_api.get("/services/{service_code}.{fmt}")
async def open311_service_definition(service_code: str, fmt: Format, db: DB) -> Response:
    """A service's definition: ours ask for no extra attributes."""
    async with db.read_session() as session:
        known = any(s.code == service_code for s in await open311.services(session))
    if not known:
        errors = open311.error_documents(404, f"no service {service_code[:64]!r} / 没有这个服务类别")
        return _render(fmt, "errors", "error", errors, 404)
    if fmt is Format.XML:
        return Response(open311.definition_xml(service_code), media_type=XML)
    return JSONResponse({"service_code": service_code, "attributes": []})


@open311_api.post("/requests.{fmt}")
async def open311_create_request(fmt: Format, request: Request, db: DB, settings: AppSettings) -> Response:
    """File a request (an order); ``Idempotency-Key`` makes a client's retry return the same order."""

    async def produce() -> list[dict[str, Any]]:
        limiter_for(request).check(client_key(request))
        pairs = parse_form(await read_body(request, settings.channel_max_body_bytes))
        code = first(pairs, "service_code")
        async with db.session() as session:
            service = next((s for s in await open311.services(session) if s.code == code), None)
            if service is None:
                raise open311.Open311Error("service_code 无效", f"unknown service_code {code[:64]!r}")
            message = open311.to_inbound(pairs, service, request.headers.get("idempotency-key"))
            receipt = await intake.receive(session, message, attach_window=intake.attach_window(settings))
        return open311.receipt_document(receipt)

    return await _georeport(fmt, "service_requests", "request", produce)


@open311_api.get("/requests.{fmt}")
async def open311_requests(fmt: Format, request: Request, db: DB) -> Response:
    """Requests filed through Open311, newest first, filtered as GeoReport v2 describes."""

    async def produce() -> list[dict[str, Any]]:
        query = open311.RequestQuery.parse(dict(request.query_params))
        async with db.read_session() as session:
            return await open311.find_requests(session, query)

    return await _georeport(fmt, "service_requests", "request", produce)


@open311_api.get("/requests/{number}.{fmt}")
async def open311_request(number: str, fmt: Format, db: DB) -> Response:
    """One request's status, by its order number."""

    async def produce() -> list[dict[str, Any]]:
        async with db.read_session() as session:
            return await open311.one_request(session, number)

    return await _georeport(fmt, "service_requests", "request", produce)
