"""The hotline's own SMTP server (aiosmtpd on the service's event loop): every accepted mail goes to the intake."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from hotline.channels import email_inbound
from hotline.channels.inputs import PayloadTooLarge
from hotline.config import Settings
from hotline.db import Database
from hotline.errors import DomainError

log = logging.getLogger(__name__)

IDLE_TIMEOUT_SECONDS = 60


class IntakeHandler:
    """aiosmtpd hooks: take mail for our domains, and answer DATA only once it is stored."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings
        self.domains = {d.lower() for d in settings.smtp_accept_domains}

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        domain = address.rpartition("@")[2].lower()
        if self.domains and domain not in self.domains:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        try:
            _, receipt = await email_inbound.deliver(self.db, self.settings, raw, envelope_from=envelope.mail_from)
        except PayloadTooLarge:
            return "552 5.3.4 Message too big"
        except DomainError as exc:  # the mail itself is unacceptable: a permanent refusal, nothing stored
            return f"550 5.6.0 {exc.message_en[:200]}"
        except Exception:  # our side failed (e.g. the database): the sender keeps the mail and retries
            log.exception("storing an email failed; answered 451 so that the sender retries")
            return "451 4.3.0 Temporary failure, please retry"
        return f"250 2.0.0 OK, order {receipt.ticket_number or '-'}"


async def start_server(db: Database, settings: Settings) -> asyncio.Server:
    """Listen on ``HOTLINE_SMTP_HOST:HOTLINE_SMTP_PORT`` on the running event loop."""
    handler = IntakeHandler(db, settings)
    hostname = settings.email_address.rpartition("@")[2] or "localhost"
    loop = asyncio.get_running_loop()

    def protocol() -> Any:
        return SMTP(
            handler,
            data_size_limit=settings.email_max_message_bytes,
            enable_SMTPUTF8=True,
            hostname=hostname,
            timeout=IDLE_TIMEOUT_SECONDS,
            loop=loop,
        )

    # reuse_port: each process of `hotline serve --workers N` listens, and the kernel spreads connections
    server = await loop.create_server(protocol, host=settings.smtp_host, port=settings.smtp_port, reuse_port=True)
    log.info("SMTP intake listening on %s:%s", settings.smtp_host, settings.smtp_port)
    return server
