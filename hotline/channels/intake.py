"""The one intake of every channel (一号对外、统一受理).

A channel adapter authenticates the sender and turns its payload into an ``InboundMessage``;
``receive`` then stores it idempotently, identifies the citizen, attaches it to the citizen's
open order or registers a new one, and returns what the acknowledgement needs. Classification,
the knowledge base's automatic answer and notifications are background jobs that find the new order
in the database after the commit, so they never delay the acknowledgement; the live console hears of
it through the ``message.received`` event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels import repository
from hotline.channels.models import AttachmentKind, Channel
from hotline.channels.text import clean, clean_json, clean_or_none, external_key
from hotline.citizens import service as citizens
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.db_types import utcnow
from hotline.errors import Conflict, InvalidInput
from hotline.events.bus import BusEvent, publish_after_commit
from hotline.surveys import inbound as survey_answers
from hotline.tickets.models import RequestType, Ticket
from hotline.tickets.schemas import MAX_CONTENT, TicketCreate
from hotline.tickets.service import SYSTEM_ACTOR, Registered, register_ticket

CONSOLE_CHANNEL = "console"
DEFAULT_ATTACH_WINDOW = timedelta(hours=24)
MAX_BODY = 20_000  # characters kept of one message
MAX_NAME = 64
MAX_TITLE = 200
MAX_ADDRESS = 255
MAX_IDENTITY = 255
PREVIEW_LENGTH = 80


@dataclass(frozen=True)
class Identity:
    """Who sent a message, as the channel knows them."""

    kind: IdentityKind
    value: str
    name: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes
    kind: AttachmentKind = AttachmentKind.ATTACHMENT


@dataclass(frozen=True)
class InboundMessage:
    """One message from any channel, already authenticated by its adapter."""

    channel: Channel
    external_id: str  # the channel's own id: MessageSid, MsgId, Message-ID, a client request id
    body: str
    raw: dict[str, Any] = field(default_factory=dict)
    sender: Identity | None = None  # None: anonymous, always a new order
    title: str | None = None
    address: str | None = None
    category_id: int | None = None
    request_type: RequestType | None = None  # what the citizen chose, if the channel asks (web form)
    confidential: bool = False  # the citizen asked to stay anonymous to departments (保密)
    thread_refs: tuple[str, ...] = ()  # external ids of earlier messages of this channel it answers
    quoted_numbers: tuple[str, ...] = ()  # order numbers it refers to (e.g. in an email subject)
    attachments: tuple[Attachment, ...] = ()
    opens_ticket: bool = True  # False for events such as a WeChat subscribe: stored, never an order
    received_at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    """What the acknowledgement needs: the stored message and the order it is on."""

    message_id: int
    duplicate: bool
    ticket_id: int | None = None
    ticket_number: str | None = None
    new_ticket: bool = False
    citizen_id: int | None = None
    survey_reply: str | None = None  # the message answered a callback survey: what to tell the citizen


def attach_window(settings: Settings) -> timedelta:
    """How far back a citizen's open order still takes their new messages."""
    return timedelta(hours=settings.intake_attach_window_hours)


async def receive(
    session: AsyncSession,
    message: InboundMessage,
    *,
    attach_window: timedelta = DEFAULT_ATTACH_WINDOW,
    now: datetime | None = None,
) -> Receipt:
    """Store a message once, find its citizen, and put it on an order; a repeat changes nothing."""
    now = now or message.received_at or utcnow()
    body = clean(message.body, MAX_BODY).strip()
    if message.opens_ticket and not body:
        raise InvalidInput("消息内容为空", "the message is empty")
    external_id = external_key(message.external_id)
    if not external_id:
        raise InvalidInput("缺少消息编号", "the message has no id")
    message_id = await repository.insert_inbound(
        session, channel=message.channel, external_id=external_id, body=body, raw=clean_json(message.raw), at=now
    )
    if message_id is None:
        return await _repeat(session, message.channel, external_id)
    citizen_id, first_contact = await _citizen(session, message.sender)
    if message.opens_ticket and citizen_id is not None and not first_contact:
        answer = await survey_answers.take_message(
            session, channel=message.channel, citizen_id=citizen_id, message_id=message_id, body=body, now=now
        )
        if answer is not None:  # kept on the surveyed order, never a new one
            await repository.link_message(
                session, message_id=message_id, citizen_id=citizen_id, ticket_id=answer.ticket_id
            )
            return Receipt(
                message_id=message_id,
                duplicate=False,
                ticket_id=answer.ticket_id,
                ticket_number=answer.ticket_number,
                citizen_id=citizen_id,
                survey_reply=answer.reply,
            )
    ticket, new_ticket = None, False
    if message.opens_ticket:
        known = None if first_contact else citizen_id  # a first contact has no orders to attach to yet
        ticket, new_ticket = await _attach_or_register(
            session, message, message_id, body, citizen_id, known, now - attach_window, now
        )
    if not new_ticket:  # a new order was linked to its message as it was stored
        await repository.link_message(
            session, message_id=message_id, citizen_id=citizen_id, ticket_id=ticket.id if ticket else None
        )
    for attachment in message.attachments:
        await repository.add_attachment(
            session,
            message_id=message_id,
            kind=attachment.kind,
            filename=clean(attachment.filename, 255) or "attachment",
            content_type=clean(attachment.content_type, 127),
            content=attachment.content,
        )
    receipt = Receipt(
        message_id=message_id,
        duplicate=False,
        ticket_id=ticket.id if ticket else None,
        ticket_number=ticket.number if ticket else None,
        new_ticket=new_ticket,
        citizen_id=citizen_id,
    )
    _announce(session, message.channel, receipt, body)
    return receipt


async def _repeat(session: AsyncSession, channel: str, external_id: str) -> Receipt:
    """The receipt of a message delivered before (a webhook retry or replay)."""
    earlier = await repository.message_by_external_id(session, channel=channel, external_id=external_id)
    if earlier is None or earlier.id is None:  # only if the first writer rolled back in between; let it retry
        raise Conflict("消息正在处理，请稍后重试", "the message is being processed; retry later")
    ticket = await session.get(Ticket, earlier.ticket_id) if earlier.ticket_id else None
    return Receipt(
        message_id=earlier.id,
        duplicate=True,
        ticket_id=earlier.ticket_id,
        ticket_number=ticket.number if ticket else None,
        citizen_id=earlier.citizen_id,
        survey_reply=await survey_answers.reply_to_repeat(session, message_id=earlier.id),
    )


async def _citizen(session: AsyncSession, sender: Identity | None) -> tuple[int | None, bool]:
    """The sender's citizen, locked for this intake (or just created by it), and whether it is their first contact."""
    if sender is None:
        return None, False
    value = clean(sender.value, MAX_IDENTITY).strip()
    if not value:
        raise InvalidInput("缺少发送方", "the sender is missing")
    name = clean_or_none(sender.name, MAX_NAME)
    return await citizens.identify_locked(session, kind=sender.kind, value=value, name=name)


async def _attach_or_register(
    session: AsyncSession,
    message: InboundMessage,
    message_id: int,
    body: str,
    citizen_id: int | None,
    known: int | None,
    since: datetime,
    now: datetime,
) -> tuple[Ticket | Registered, bool]:
    """The order this message belongs to: a threaded one, the known citizen's recent open one, or a new one."""
    if known is not None:
        threaded = await _threaded(session, message, known)
        if threaded is not None:
            return threaded, False
        recent = await repository.recent_open_ticket(session, citizen_id=known, since=since)
        if recent is not None:
            return recent, False
    data = TicketCreate(
        content=body[:MAX_CONTENT],
        title=clean_or_none(message.title, MAX_TITLE),
        address=clean_or_none(message.address, MAX_ADDRESS),
        channel=message.channel,
        category_id=message.category_id,
        request_type=message.request_type or RequestType.CONSULTATION,
        confidential=message.confidential,
    )
    registered = await register_ticket(
        session, data=data, actor=SYSTEM_ACTOR, citizen_id=citizen_id, message_id=message_id, now=now
    )
    return registered, True


async def _threaded(session: AsyncSession, message: InboundMessage, citizen_id: int) -> Ticket | None:
    """The order a reply refers to, if it is this citizen's (a quoted number alone proves nothing)."""
    candidates = await repository.tickets_of_messages(
        session, channel=message.channel, external_ids=[external_key(r) for r in message.thread_refs]
    )
    candidates += await repository.tickets_by_number(session, numbers=list(message.quoted_numbers))
    for ticket_id in sorted(set(candidates), reverse=True):
        ticket = await repository.follow_merges(session, ticket_id=ticket_id)
        if ticket is not None and ticket.citizen_id == citizen_id:
            return ticket
    return None


def _announce(session: AsyncSession, channel: str, receipt: Receipt, body: str) -> None:
    """Tell the live console (and the background listeners) once the transaction has committed."""
    if receipt.ticket_id is None:
        return
    publish_after_commit(
        session,
        BusEvent(
            CONSOLE_CHANNEL,
            {
                "type": "message.received",
                "message_id": receipt.message_id,
                "channel": channel,
                "ticket_id": receipt.ticket_id,
                "ticket_number": receipt.ticket_number,
                "new_ticket": receipt.new_ticket,
                "preview": body[:PREVIEW_LENGTH],
            },
        ),
    )
