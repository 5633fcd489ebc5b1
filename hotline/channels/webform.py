"""The citizens' web form (网上诉求): file a request, get the order number and a tracking link, check progress."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

import web
from hotline.channels import intake
from hotline.channels.inputs import Malformed, client_key, first, limiter_for, parse_form, read_body
from hotline.channels.intake import Identity, InboundMessage
from hotline.channels.models import Channel
from hotline.citizens.models import ChannelIdentity, IdentityKind
from hotline.citizens.service import normalize_phone
from hotline.config import Settings
from hotline.deps import DB, AppSettings
from hotline.errors import DomainError
from hotline.outage import OUTAGE_MESSAGE_ZH, RETRY_AFTER_SECONDS, is_outage
from hotline.tickets.lifecycle import STATUS_LABELS_ZH, Status
from hotline.tickets.models import REQUEST_TYPE_LABELS_ZH, RequestType, Ticket
from hotline.timefmt import to_local

log = logging.getLogger(__name__)
router = APIRouter(prefix="/citizen", include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=Path(web.__file__).parent / "templates")
MAX_CONTENT = 2000
CLIENT_REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")
ANSWERED = {Status.REPLIED, Status.CLOSED, Status.ARCHIVED}
TIME_FORMAT = "%Y-%m-%d %H:%M"


def tracking_token(settings: Settings, number: str) -> str:
    """The secret part of an order's tracking link."""
    key = settings.secret_key.get_secret_value().encode("utf-8")
    return hmac.new(key, f"track:{number}".encode(), hashlib.sha256).hexdigest()[:24]


def tracking_path(settings: Settings, number: str) -> str:
    return f"/citizen/orders/{number}?t={tracking_token(settings, number)}"


def to_inbound(pairs: list[tuple[str, str]]) -> InboundMessage:
    """The inbound message of a submitted form; the hidden request id makes a double submit one order."""
    if first(pairs, "website"):  # a field people never see: only bots fill it in
        raise Malformed("提交未通过校验", "rejected by the form's bot check")
    content, phone = first(pairs, "content").strip(), first(pairs, "phone").strip()
    if not content or not phone:
        raise Malformed("请填写手机号码和诉求内容", "phone and content are required")
    if len(content) > MAX_CONTENT:
        raise Malformed(f"诉求内容请勿超过{MAX_CONTENT}字", f"content is longer than {MAX_CONTENT} characters")
    kind = first(pairs, "request_type", RequestType.CONSULTATION)
    if kind not in set(RequestType):
        raise Malformed("诉求类型无效", "unknown request type")
    request_id = first(pairs, "client_request_id")
    request_id = request_id if CLIENT_REQUEST_ID.match(request_id) else uuid.uuid4().hex
    return InboundMessage(
        channel=Channel.WEB,
        external_id=f"{request_id}:{phone}",  # a double submit is one order; another phone is another order
        body=content,
        raw={k: v for k, v in pairs if k in ("name", "phone", "address", "request_type", "confidential")},
        sender=Identity(IdentityKind.PHONE, phone, first(pairs, "name").strip() or None),
        address=first(pairs, "address").strip() or None,
        request_type=RequestType(kind),
        confidential=first(pairs, "confidential") == "on",
    )


def _form(
    request: Request, values: dict[str, str] | None = None, error: str | None = None, status: int = 200
) -> Response:
    context = {
        "values": values or {},
        "error": error,
        "request_types": REQUEST_TYPE_LABELS_ZH,
        "client_request_id": (values or {}).get("client_request_id") or uuid.uuid4().hex,
    }
    return TEMPLATES.TemplateResponse(request, "citizen/form.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
async def form_page(request: Request) -> Response:
    """The form to file a request."""
    return _form(request)


@router.post("/requests")
async def submit(request: Request, db: DB, settings: AppSettings) -> Response:
    """File the request and show its order number (a tracking link); errors come back on the form."""
    values: dict[str, str] = {}
    try:
        limiter_for(request).check(client_key(request))
        pairs = parse_form(await read_body(request, settings.channel_max_body_bytes))
        values = {k: v[:MAX_CONTENT] for k, v in pairs}
        message = to_inbound(pairs)
        async with db.session() as session:
            receipt = await intake.receive(session, message, attach_window=intake.attach_window(settings))
    except DomainError as exc:
        return _form(request, values, exc.message_zh, exc.status_code)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("web form: the database is unreachable: %r", exc)
        kept = _form(request, values, OUTAGE_MESSAGE_ZH + "。您填写的内容仍在下方，请稍后再次提交。", 503)
        kept.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)  # the request id makes a second submit one order
        return kept
    assert receipt.ticket_number is not None
    return RedirectResponse(tracking_path(settings, receipt.ticket_number), status_code=303)


@router.get("/orders/{number}", response_class=HTMLResponse)
async def order_status(number: str, request: Request, db: DB, settings: AppSettings, t: str = "") -> Response:
    """An order's progress, for whoever holds its tracking link."""
    ticket = None
    if hmac.compare_digest(t.encode(), tracking_token(settings, number).encode()):
        async with db.read_session() as session:
            ticket = await _ticket(session, number)
    if ticket is None:
        return TEMPLATES.TemplateResponse(request, "citizen/track.html", {"error": "未找到该工单"}, status_code=404)
    return TEMPLATES.TemplateResponse(request, "citizen/status.html", {"order": _status(ticket)})


@router.get("/track", response_class=HTMLResponse)
async def track_page(request: Request) -> Response:
    """Look an order up by its number and the phone number it was filed with."""
    return TEMPLATES.TemplateResponse(request, "citizen/track.html", {"error": None})


@router.post("/track")
async def track(request: Request, db: DB, settings: AppSettings) -> Response:
    """Send the citizen to the tracking link when the number and phone match (no hint otherwise)."""
    try:
        limiter_for(request).check(client_key(request))
        pairs = parse_form(await read_body(request, settings.channel_max_body_bytes))
        number, phone = first(pairs, "number").strip()[:20], normalize_phone(first(pairs, "phone")[:32])
        async with db.read_session() as session:
            found = await _owned(session, number, phone)
    except DomainError as exc:
        return TEMPLATES.TemplateResponse(request, "citizen/track.html", {"error": exc.message_zh}, exc.status_code)
    if not found:
        return TEMPLATES.TemplateResponse(request, "citizen/track.html", {"error": "未找到匹配的工单"}, 404)
    return RedirectResponse(tracking_path(settings, number), status_code=303)


async def _ticket(session: AsyncSession, number: str) -> Ticket | None:
    return (await session.execute(select(Ticket).where(col(Ticket.number) == number))).scalar_one_or_none()


async def _owned(session: AsyncSession, number: str, phone: str) -> bool:
    query = (
        select(col(Ticket.id))
        .join(ChannelIdentity, col(ChannelIdentity.citizen_id) == col(Ticket.citizen_id))
        .where(
            col(Ticket.number) == number,
            col(ChannelIdentity.kind) == IdentityKind.PHONE,
            col(ChannelIdentity.value) == phone,
        )
    )
    return (await session.execute(query)).first() is not None


def _status(ticket: Ticket) -> dict[str, Any]:
    status = Status(ticket.status)
    return {
        "number": ticket.number,
        "title": ticket.title,
        "status": STATUS_LABELS_ZH[status],
        "created_at": to_local(ticket.created_at).strftime(TIME_FORMAT),
        "due_at": to_local(ticket.due_at).strftime(TIME_FORMAT) if ticket.due_at else None,
        "answer": ticket.answer if status in ANSWERED else None,
    }
