"""A serving process sets its garbage collector for long-lived state and many short requests."""

from __future__ import annotations

import gc

from hotline.config import Settings
from hotline.main import GC_YOUNG_THRESHOLD, create_app


async def test_startup_freezes_what_it_built_and_collects_young_objects_less_often(settings: Settings) -> None:
    thresholds = gc.get_threshold()
    app = create_app(settings.model_copy(update={"gc_tuning": True}))
    try:
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0  # startup's objects are out of every later collection
            assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
