"""The outbox channel "platform": an order's result pushed to its platform case, retried until it is taken."""

from __future__ import annotations

import json

from hotline.config import Settings
from hotline.errors import DomainError
from hotline.outbox.providers import Delivery, DeliveryError
from knowledge_base.platform.client import PlatformClient

PLATFORM_CHANNEL = "platform"


class PlatformResultProvider:
    """Delivers outbox messages whose recipient is an application number and whose body is the JSON result."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def send(self, delivery: Delivery) -> str | None:
        try:
            client = PlatformClient(self._settings)
            return await client.push_result(delivery.recipient, json.loads(delivery.body), delivery.idempotency_key)
        except DomainError as exc:  # not configured, unreachable, refused: the outbox retries with backoff
            raise DeliveryError(exc.message_en) from exc
