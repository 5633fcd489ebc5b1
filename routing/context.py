"""A process's routing state: the index (kept fresh) and the active model.

Every suggestion asks the database one cheap question (has any catalogue rule changed?) so that a
rule edited on one instance is used by all of them at once; units, the category tree and the
gazetteer are re-read every ``HOTLINE_ROUTING_REFRESH_SECONDS``.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.config import Settings
from routing import repository
from routing.catalogue import Catalogue
from routing.classifier.model import CategoryClassifier
from routing.index import RoutingIndex
from routing.registry import ModelRegistry, registry_for


@cache
def _gazetteer_document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


class RoutingContext:
    """The index and the model this process proposes with."""

    def __init__(self, *, registry: ModelRegistry, gazetteer_file: Path, refresh_seconds: float) -> None:
        self.registry = registry
        self.gazetteer_file = gazetteer_file
        self.refresh_seconds = refresh_seconds
        self._index: RoutingIndex | None = None
        self._stamp = -1
        self._built_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> RoutingContext:
        """The context of this process's settings (the model registry is shared process-wide)."""
        registry = registry_for(settings.model_dir, check_seconds=settings.model_check_seconds)
        return cls(
            registry=registry, gazetteer_file=settings.gazetteer_file, refresh_seconds=settings.routing_refresh_seconds
        )

    @property
    def classifier(self) -> CategoryClassifier | None:
        """The active category model, or None before one is trained."""
        return self.registry.classifier

    async def index(self, session: AsyncSession) -> RoutingIndex:
        """The index, rebuilt when a rule changed or the rest is older than the refresh interval."""
        stamp = await repository.catalogue_stamp(session)
        if self._index is None or time.monotonic() - self._built_at > self.refresh_seconds:
            self._index = RoutingIndex.build(
                categories=await repository.category_nodes(session),
                units=await repository.unit_nodes(session),
                gazetteer_document=_gazetteer_document(self.gazetteer_file),
                catalogue=Catalogue(await repository.active_rules(session)),
            )
            self._stamp, self._built_at = stamp, time.monotonic()
        elif stamp != self._stamp:
            self._index = self._index.with_catalogue(Catalogue(await repository.active_rules(session)))
            self._stamp = stamp
        return self._index

    def invalidate(self) -> None:
        """Rebuild everything on the next call (after units or categories changed here)."""
        self._index = None
