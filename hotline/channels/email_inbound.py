"""Email: raw MIME (from the SMTP server or a mail gateway) into the intake, threaded, with its attachments."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from dataclasses import dataclass
from email.message import Message as MimeMessage
from email.parser import BytesParser
from email.policy import compat32
from email.utils import parseaddr
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.channels import intake
from hotline.channels.inputs import Malformed, PayloadTooLarge
from hotline.channels.intake import Attachment, Identity, InboundMessage, Receipt
from hotline.channels.mime import decode_bytes, header_text, html_to_text, message_ids, raw_header
from hotline.channels.models import AttachmentKind, Channel
from hotline.citizens.models import IdentityKind
from hotline.config import Settings
from hotline.db import Database
from hotline.outbox.service import enqueue

MAX_PARTS = 200
MAX_REFERENCES = 50
ADDRESS = re.compile(r"^[^@\s<>\"]{1,64}@[^@\s<>\"]{1,190}\.[A-Za-z0-9-]{1,63}$")
ORDER_NUMBER = re.compile(r"(?<!\d)(20\d{11,12})(?!\d)")  # yyyymmdd + sequence, e.g. 2026112100042
OWN_MESSAGE_ID = re.compile(r"^ticket\.(20\d{11,12})\.")  # Message-IDs of our replies carry the order
AUTOMATED_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int
    max_attachment_bytes: int
    max_attachments: int
    allowed_types: tuple[str, ...]

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            settings.email_max_message_bytes,
            settings.email_max_attachment_bytes,
            settings.email_max_attachments,
            tuple(settings.email_attachment_types),
        )

    def allows(self, content_type: str) -> bool:
        main = content_type.split("/")[0]
        return content_type in self.allowed_types or f"{main}/*" in self.allowed_types


@dataclass
class _Content:
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] | None = None
    refused: list[dict[str, Any]] | None = None


def parse(raw: bytes, limits: Limits, *, envelope_from: str | None = None) -> InboundMessage:
    """The inbound message of one email; refuses what cannot be read or is too large."""
    if len(raw) > limits.max_message_bytes:
        raise PayloadTooLarge("邮件过大", f"the email exceeds {limits.max_message_bytes} bytes")
    try:
        mime = BytesParser(policy=compat32).parsebytes(raw)
        name, address = _sender(mime, envelope_from)
        content = _content(mime, limits)
    except (Malformed, PayloadTooLarge):
        raise
    except Exception as exc:  # hostile MIME: any parser failure is the sender's, never a 5xx
        raise Malformed("邮件格式无法解析", f"unreadable MIME: {type(exc).__name__}") from exc
    subject = header_text(mime, "Subject")[:500]
    references = (
        message_ids(raw_header(mime, "In-Reply-To") or "") + message_ids(raw_header(mime, "References") or "")
    )[:MAX_REFERENCES]
    own = [m.group(1) for m in (OWN_MESSAGE_ID.match(r) for r in references) if m]
    body = _body(content, subject)
    message_id = next(iter(message_ids(raw_header(mime, "Message-ID") or "")), None)
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=message_id or "sha256:" + hashlib.sha256(raw).hexdigest(),
        body=body,
        raw=_document(mime, subject, address, references, content, len(raw)),
        sender=Identity(IdentityKind.EMAIL, address, name or None),
        title=subject or None,
        thread_refs=tuple(references),
        quoted_numbers=tuple(dict.fromkeys(own + ORDER_NUMBER.findall(subject))),
        attachments=(
            Attachment("message.eml", "message/rfc822", raw, AttachmentKind.SOURCE),
            *(content.attachments or []),
        ),
    )


def _sender(mime: MimeMessage, envelope_from: str | None) -> tuple[str, str]:
    name, address = parseaddr(header_text(mime, "From"))
    address = address.strip() or (envelope_from or "").strip()
    if not ADDRESS.match(address):
        raise Malformed("发件人地址无效", "the From address is missing or invalid")
    return name.strip(), address.lower()


def _content(mime: MimeMessage, limits: Limits) -> _Content:
    content = _Content(attachments=[], refused=[])
    for index, part in enumerate(mime.walk()):
        if index >= MAX_PARTS:
            raise Malformed("邮件分段过多", "too many MIME parts")
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        filename = part.get_filename()
        disposition = str(part.get("Content-Disposition", "")).lower()
        if filename or disposition.startswith("attachment") or not content_type.startswith("text/"):
            _attachment(part, content_type, filename, limits, content)
        elif content_type == "text/plain" and content.plain is None:
            content.plain = _text(part)
        elif content_type == "text/html" and content.html is None:
            content.html = _text(part)
    return content


def _text(part: MimeMessage) -> str:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    return decode_bytes(data, part.get_content_charset()).replace("\r\n", "\n").strip()


def _attachment(part: MimeMessage, content_type: str, filename: str | None, limits: Limits, content: _Content) -> None:
    """Keep an attachment within the limits; note what was refused and why."""
    assert content.attachments is not None and content.refused is not None
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    name = decode_bytes(filename.encode("utf-8", "surrogateescape"), None) if filename else "attachment"
    if content_type == "application/octet-stream":
        content_type = mimetypes.guess_type(name)[0] or content_type
    reason = None
    if not limits.allows(content_type):
        reason = "type"
    elif len(data) > limits.max_attachment_bytes:
        reason = "size"
    elif len(content.attachments) >= limits.max_attachments:
        reason = "count"
    if reason:
        content.refused.append({"filename": name, "content_type": content_type, "size": len(data), "reason": reason})
    else:
        content.attachments.append(Attachment(name, content_type, data))


def _body(content: _Content, subject: str) -> str:
    body = content.plain or (html_to_text(content.html) if content.html else "")
    if not body and content.attachments:
        body = f"[邮件附件 {len(content.attachments)} 个]"
    return body or subject


def _document(
    mime: MimeMessage, subject: str, address: str, references: list[str], content: _Content, size: int
) -> dict[str, Any]:
    """What is kept of the headers in the message record (the whole MIME is kept as a source attachment)."""
    return {
        "message_id": raw_header(mime, "Message-ID"),
        "from": address,
        "to": header_text(mime, "To")[:1000],
        "subject": subject,
        "date": header_text(mime, "Date")[:100],
        "references": references,
        "authentication_results": header_text(mime, "Authentication-Results")[:1000],
        "received_spf": header_text(mime, "Received-SPF")[:1000],
        "automated": _automated(mime),
        "size": size,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": len(a.content)}
            for a in content.attachments or []
        ],
        "refused_attachments": content.refused or [],
    }


def _automated(mime: MimeMessage) -> bool:
    """Whether the mail came from a machine (bounce, auto-reply, list): never auto-answer those (no mail loops)."""
    auto = header_text(mime, "Auto-Submitted").lower()
    precedence = header_text(mime, "Precedence").lower()
    sender = header_text(mime, "From").lower()
    return (
        (auto not in ("", "no"))
        or precedence in AUTOMATED_PRECEDENCE
        or bool(header_text(mime, "List-Id"))
        or "mailer-daemon" in sender
    )


async def acknowledge(session: AsyncSession, settings: Settings, message: InboundMessage, receipt: Receipt) -> None:
    """Queue the reply with the order number (sent by SMTP from the outbox), in the intake's transaction."""
    if not receipt.new_ticket or receipt.ticket_number is None or message.raw.get("automated") or not message.sender:
        return
    subject = message.title or "您的来信"
    await enqueue(
        session,
        dedupe_key=f"email:ack:{receipt.message_id}",
        channel="email",
        recipient=message.sender.value,
        subject=f"Re: {subject[:120]} [工单号 {receipt.ticket_number}]",
        body=(
            f"您好：\n\n您的来信已受理，工单号 {receipt.ticket_number}。我们将按时限办理并回复。"
            "如需补充材料，请直接回复本邮件。\n\n12345 政务服务便民热线"
        ),
        ticket_id=receipt.ticket_id,
        payload={"in_reply_to": message.external_id, "references": [*message.thread_refs, message.external_id]},
    )


async def deliver(
    db: Database, settings: Settings, raw: bytes, *, envelope_from: str | None = None
) -> tuple[InboundMessage, Receipt]:
    """One email through the intake in one transaction: the unit of work of the SMTP server and the gateway."""
    message = parse(raw, Limits.of(settings), envelope_from=envelope_from)
    async with db.session() as session:
        receipt = await intake.receive(session, message, attach_window=intake.attach_window(settings))
        if not receipt.duplicate:
            await acknowledge(session, settings, message, receipt)
    return message, receipt
