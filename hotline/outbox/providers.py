"""Delivery adapters: one small interface per channel, so a local provider can replace a foreign one."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.events.bus import BusEvent, BusUnavailable, EventBus


@dataclass(frozen=True)
class Delivery:
    """What a provider needs to send one message."""

    channel: str
    recipient: str
    subject: str | None
    body: str
    dedupe_key: str
    payload: dict[str, Any] = field(default_factory=dict)  # channel extras, e.g. an email's In-Reply-To

    @property
    def idempotency_key(self) -> str:
        """The same for every attempt at this message: a provider honouring it sends a retry only once."""
        return hashlib.sha256(self.dedupe_key.encode("utf-8")).hexdigest()[:40]


IDEMPOTENCY_HEADER = "Idempotency-Key"


class DeliveryError(Exception):
    """A failed attempt; the outbox retries it later."""


class Provider(Protocol):
    """Sends one message and returns the provider's id for it, or raises ``DeliveryError``."""

    async def send(self, delivery: Delivery) -> str | None: ...


NOTIFICATIONS_CHANNEL = "notifications"


class InAppProvider:
    """Staff notifications shown live in the web app, through the event bus."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus

    async def send(self, delivery: Delivery) -> str | None:
        notice = {
            "recipient": delivery.recipient,
            "subject": delivery.subject,
            "body": delivery.body,
            "key": delivery.dedupe_key,
        }
        try:
            await self._bus.publish(BusEvent(NOTIFICATIONS_CHANNEL, notice))
        except BusUnavailable as exc:
            raise DeliveryError(str(exc)) from exc
        return None
