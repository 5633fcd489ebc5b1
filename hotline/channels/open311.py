"""Open311 GeoReport v2: our categories as services, requests filed into the intake, their status.

Privacy: the public API shows the description and place only of requests filed through Open311
and not confidential; any other order number answers with its status alone.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.categories import Category
from hotline.channels.inputs import Malformed, first, form_document
from hotline.channels.intake import Identity, InboundMessage, Receipt
from hotline.channels.models import Channel, Message
from hotline.citizens.models import IdentityKind
from hotline.db_types import utcnow
from hotline.errors import NotFound
from hotline.tickets.lifecycle import OPEN_STATUSES, STATUS_LABELS_ZH, Status
from hotline.tickets.models import Ticket
from hotline.timefmt import assume_china_time, to_local
from hotline.units.repository import units_by_id

MAX_DESCRIPTION = 4000
DEFAULT_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
SERVICE_NOTICE = "您的诉求已受理，可凭工单号查询办理进度。"


class Open311Error(Malformed):
    """A refusal in GeoReport's own error format."""


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    group: str
    category_id: int


async def services(session: AsyncSession) -> list[Service]:
    """The leaf categories of the active tree, each grouped under its top-level category."""
    rows = list((await session.execute(select(Category).where(col(Category.is_active)))).scalars())
    by_id = {c.id: c for c in rows}
    parents = {c.parent_id for c in rows if c.parent_id is not None}

    def root(category: Category) -> Category:
        while category.parent_id in by_id:
            category = by_id[category.parent_id]
        return category

    leaves = sorted((c for c in rows if c.id not in parents), key=lambda c: c.code)
    return [Service(c.code, c.name, root(c).name, c.id or 0) for c in leaves]


def service_documents(items: list[Service]) -> list[dict[str, Any]]:
    return [
        {
            "service_code": s.code,
            "service_name": s.name,
            "description": f"{s.group} · {s.name}",
            "metadata": False,
            "type": "realtime",
            "keywords": s.group,
            "group": s.group,
        }
        for s in items
    ]


def to_inbound(pairs: list[tuple[str, str]], service: Service, idempotency_key: str | None) -> InboundMessage:
    """The inbound message of a POST requests: a place is required, the reporter may stay anonymous."""
    lat, lon = _coordinate(first(pairs, "lat"), -90, 90), _coordinate(first(pairs, "long"), -180, 180)
    address = first(pairs, "address_string").strip() or first(pairs, "address_id").strip()
    if (lat is None or lon is None) and not address:
        raise Open311Error("需要提供位置：经纬度或地址", "lat/long, address_string or address_id is required")
    description = first(pairs, "description").strip()
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error("描述过长", f"description is longer than {MAX_DESCRIPTION} characters")
    name = (first(pairs, "last_name") + first(pairs, "first_name")).strip() or None
    phone, email = first(pairs, "phone").strip(), first(pairs, "email").strip()
    sender = (
        Identity(IdentityKind.PHONE, phone, name)
        if phone
        else Identity(IdentityKind.EMAIL, email, name)
        if email
        else None
    )
    raw = {**form_document([(k, v) for k, v in pairs if k != "api_key"]), "lat": lat, "long": lon}
    return InboundMessage(
        channel=Channel.OPEN311,
        external_id=_request_key(idempotency_key, pairs),
        body=description or service.name,
        raw=raw,
        sender=sender,
        title=f"{service.name}：{description}" if description else service.name,
        address=address or (f"{lat},{lon}" if lat is not None else None),
        category_id=service.category_id,
    )


def _request_key(idempotency_key: str | None, pairs: list[tuple[str, str]]) -> str:
    """A client's retry (same key, same fields) is one request; the same key with other fields is another."""
    if not idempotency_key:
        return uuid.uuid4().hex
    fields = "&".join(f"{k}={v}" for k, v in sorted(pairs) if k != "api_key")
    return "idem:" + hashlib.sha256(f"{idempotency_key}\n{fields}".encode()).hexdigest()


def _coordinate(value: str, low: float, high: float) -> float | None:
    if not value.strip():
        return None
    try:
        number = float(value)
    except ValueError as exc:
        raise Open311Error("经纬度格式不正确", f"not a coordinate: {value[:40]!r}") from exc
    if not math.isfinite(number) or not low <= number <= high:
        raise Open311Error("经纬度超出范围", f"coordinate out of range: {value[:40]!r}")
    return number


def receipt_document(receipt: Receipt) -> list[dict[str, Any]]:
    return [{"service_request_id": receipt.ticket_number, "service_notice": SERVICE_NOTICE, "account_id": None}]


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()
    service_code: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] = ()

    @classmethod
    def parse(cls, params: dict[str, str]) -> RequestQuery:
        statuses = tuple(s for s in params.get("status", "").split(",") if s)
        if any(s not in ("open", "closed") for s in statuses):
            raise Open311Error("status 只能是 open 或 closed", "status must be open or closed")
        return cls(
            ids=tuple(i.strip() for i in params.get("service_request_id", "").split(",") if i.strip())[:MAX_RESULTS],
            service_code=params.get("service_code") or None,
            start=_instant(params.get("start_date")),
            end=_instant(params.get("end_date")),
            statuses=statuses,
        )


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return assume_china_time(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise Open311Error("日期格式应为 ISO 8601", f"not an ISO 8601 date: {value[:40]!r}") from exc


async def find_requests(session: AsyncSession, query: RequestQuery) -> list[dict[str, Any]]:
    """Requests filed through Open311, newest first; by id, any order's status."""
    if query.ids:
        tickets = list((await session.execute(select(Ticket).where(col(Ticket.number).in_(list(query.ids))))).scalars())
    else:
        end = query.end or utcnow()
        start = query.start or end - DEFAULT_SPAN
        statement = select(Ticket).where(
            col(Ticket.channel) == Channel.OPEN311,
            col(Ticket.confidential).is_(False),
            col(Ticket.created_at) >= start,
            col(Ticket.created_at) <= end,
        )
        if query.service_code:
            statement = statement.join(Category, col(Category.id) == col(Ticket.category_id)).where(
                col(Category.code) == query.service_code
            )
        if query.statuses == ("open",):
            statement = statement.where(col(Ticket.status).in_(OPEN_STATUSES))
        elif query.statuses == ("closed",):
            statement = statement.where(col(Ticket.status).not_in(OPEN_STATUSES))
        statement = statement.order_by(col(Ticket.created_at).desc()).limit(MAX_RESULTS)
        tickets = list((await session.execute(statement)).scalars())
    return await request_documents(session, tickets)


async def one_request(session: AsyncSession, number: str) -> list[dict[str, Any]]:
    """The status of one request (any order number)."""
    found = await find_requests(session, RequestQuery(ids=(number,)))
    if not found:
        raise NotFound("没有这个工单号", f"no request {number[:40]!r}")
    return found


async def request_documents(session: AsyncSession, tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    """GeoReport request records, loading categories, units and the Open311 messages in bulk."""
    ids = [t.id for t in tickets if t.id is not None]
    categories = {
        c.id: c
        for c in (
            await session.execute(select(Category).where(col(Category.id).in_([t.category_id for t in tickets])))
        ).scalars()
    }
    units = await units_by_id(session, [t.lead_unit_id for t in tickets if t.lead_unit_id])
    messages: dict[int, Message] = {}
    query = select(Message).where(col(Message.ticket_id).in_(ids), col(Message.channel) == Channel.OPEN311)
    for message in (await session.execute(query.order_by(col(Message.id).desc()))).scalars():
        messages[message.ticket_id or 0] = message  # the earliest wins
    return [_request(t, categories.get(t.category_id), units, messages.get(t.id or 0)) for t in tickets]


def _request(
    ticket: Ticket, category: Category | None, units: dict[int, Any], message: Message | None
) -> dict[str, Any]:
    public = ticket.channel == Channel.OPEN311 and not ticket.confidential and message is not None
    raw = message.raw if public and message else {}
    lead = units.get(ticket.lead_unit_id) if ticket.lead_unit_id else None
    status = Status(ticket.status)
    return {
        "service_request_id": ticket.number,
        "status": "open" if status in OPEN_STATUSES else "closed",
        "status_notes": STATUS_LABELS_ZH[status],
        "service_name": category.name if category else None,
        "service_code": category.code if category else None,
        "description": ticket.content if public else None,
        "agency_responsible": lead.name if lead else None,
        "service_notice": None,
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated_at),
        "expected_datetime": _iso(ticket.due_at),
        "address": ticket.address if public else None,
        "address_id": raw.get("address_id") or None,
        "zipcode": None,
        "lat": raw.get("lat"),
        "long": raw.get("long"),
        "media_url": raw.get("media_url") or None,
    }


def _iso(value: datetime | None) -> str | None:
    return to_local(value).isoformat() if value else None


def to_xml(root: str, item: str, documents: list[dict[str, Any]]) -> bytes:
    """GeoReport's XML form of a list of records."""
    top = Element(root)
    for document in documents:
        node = SubElement(top, item)
        for key, value in document.items():
            SubElement(node, key).text = _xml_text(value)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="unicode").encode("utf-8")


def definition_xml(service_code: str) -> bytes:
    """A service definition without attributes, in XML."""
    top = Element("service_definition")
    SubElement(top, "service_code").text = service_code
    SubElement(top, "attributes")
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="unicode").encode("utf-8")


def _xml_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return XML_INVALID.sub("", str(value))


def error_documents(status_code: int, description: str) -> list[dict[str, Any]]:
    return [{"code": status_code, "description": description}]
