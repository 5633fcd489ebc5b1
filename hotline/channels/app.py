"""What the application wires in from the channels: routers, the SMTP server's start and stop, providers."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI

from hotline.channels import smtp_server, webform
from hotline.channels.endpoints import open311_api, webhooks
from hotline.channels.providers.smtp import SmtpProvider
from hotline.channels.providers.twilio_rest import TwilioSmsProvider
from hotline.channels.providers.twilio_voice import TwilioCallProvider
from hotline.channels.providers.wechat_api import WeChatCustomerServiceProvider
from hotline.config import Settings
from hotline.events.bus import EventBus
from hotline.outbox.providers import Provider

log = logging.getLogger(__name__)

routers: list[APIRouter] = [webhooks, open311_api, webform.router]


async def start(app: FastAPI) -> None:
    """Start the SMTP server (unless disabled, as in tests) on ``app.state.db`` and ``app.state.settings``."""
    settings: Settings = app.state.settings
    app.state.smtp_server = None
    if not settings.smtp_server_enabled:
        return
    try:
        app.state.smtp_server = await smtp_server.start_server(app.state.db, settings)
    except OSError as exc:  # e.g. the port is taken: the HTTP channels still work, and the log says why
        log.error("SMTP intake not started on %s:%s: %s", settings.smtp_host, settings.smtp_port, exc)


async def stop(app: FastAPI) -> None:
    """Stop accepting mail."""
    server = getattr(app.state, "smtp_server", None)
    if server is not None:
        server.close()
        await server.wait_closed()
        app.state.smtp_server = None


def build_providers(settings: Settings, bus: EventBus) -> dict[str, Provider]:
    """The outbound adapters of the outbox channels "sms", "voice" (automated calls), "wechat" and "email"."""
    return {
        "sms": TwilioSmsProvider(settings),
        "voice": TwilioCallProvider(settings),
        "wechat": WeChatCustomerServiceProvider(settings),
        "email": SmtpProvider(settings),
    }
