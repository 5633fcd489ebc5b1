"""Outbound email by SMTP through a relay, threaded by Message-ID / In-Reply-To / References."""

from __future__ import annotations

import asyncio
import hashlib
import re
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from hotline.config import Settings
from hotline.outbox.providers import Delivery, DeliveryError

TIMEOUT_SECONDS = 20.0
ORDER_IN_SUBJECT = re.compile(r"工单号 (20\d{11,12})")


def message_id_for(delivery: Delivery, domain: str) -> str:
    """A Message-ID fixed by the outbox key (a retry resends the same mail); it carries the order number,
    so that the citizen's reply threads back into the order even without our earlier mail."""
    digest = hashlib.sha256(delivery.dedupe_key.encode("utf-8")).hexdigest()[:20]
    match = ORDER_IN_SUBJECT.search(delivery.subject or "")
    local = f"ticket.{match.group(1)}.{digest}" if match else f"hotline.{digest}"
    return f"<{local}@{domain}>"


def compose(delivery: Delivery, sender: str) -> EmailMessage:
    """The MIME message of one delivery (UTF-8)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.recipient
    message["Subject"] = delivery.subject or "12345 政务服务便民热线"
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id_for(delivery, sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-replied"
    thread: dict[str, Any] = delivery.payload
    if thread.get("in_reply_to"):
        message["In-Reply-To"] = f"<{thread['in_reply_to']}>"
    references = [r for r in thread.get("references", []) if isinstance(r, str)]
    if references:
        message["References"] = " ".join(f"<{r}>" for r in references[-20:])
    message.set_content(delivery.body, charset="utf-8")
    return message


class SmtpProvider:
    """Sends through ``HOTLINE_SMTP_RELAY_HOST``; smtplib runs in a worker thread."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, delivery: Delivery) -> str | None:
        settings = self._settings
        if not settings.smtp_relay_host:
            raise DeliveryError("email provider not configured (HOTLINE_SMTP_RELAY_HOST)")
        message = compose(delivery, settings.email_address)
        try:
            await asyncio.to_thread(self._send, message)
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP relay refused or unreachable: {type(exc).__name__}: {exc}") from exc
        return str(message["Message-ID"])

    def _send(self, message: EmailMessage) -> None:
        settings = self._settings
        assert settings.smtp_relay_host
        with smtplib.SMTP(settings.smtp_relay_host, settings.smtp_relay_port, timeout=TIMEOUT_SECONDS) as client:
            if settings.smtp_relay_starttls:
                client.starttls()
            if settings.smtp_relay_username and settings.smtp_relay_password:
                client.login(settings.smtp_relay_username, settings.smtp_relay_password.get_secret_value())
            client.send_message(message)
