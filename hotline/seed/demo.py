"""``hotline seed-demo``: the reference city, its staff and a few hundred orders."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hotline.config import Settings
from hotline.db import Database
from hotline.seed.accounts import load_accounts
from hotline.seed.catalogue import load_catalogue
from hotline.seed.city import load_categories, load_units
from hotline.seed.orders import build_orders
from hotline.tickets.models import Ticket
from knowledge_base.seed import load_demo_knowledge
from routing.context import RoutingContext
from routing.registry import active_version
from routing.retrain import retrain

CLASSIFIER_BASE_FILE = "classify_train.jsonl"


async def seed(settings: Settings, *, orders: int, data_dir: Path, classifier: bool = False) -> dict[str, Any]:
    """Load everything that is missing; safe to run again.

    ``classifier``: first train and activate the category classifier on the public data set when no model is
    active yet, so that the demo orders and the console's proposals come from a model rather than keywords alone.
    """
    trained = await asyncio.to_thread(train_classifier, settings, data_dir) if classifier else None
    given = settings.demo_password.get_secret_value() if settings.demo_password else None
    password = given or secrets.token_urlsafe(9)
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            units = await load_units(session)
            categories = await load_categories(session, units)
            rules = await load_catalogue(session, units)
            knowledge = await load_demo_knowledge(session, units)
            accounts = await load_accounts(session, units, password, reset=given is not None)
            existing = (await session.execute(select(func.count()).select_from(Ticket))).scalar_one()
            built = 0
            if not existing:  # proposals come from the routing index and, once loaded, the active model
                routing = RoutingContext.from_settings(settings)
                await routing.registry.reload()
                built = await build_orders(session, units=units, data_dir=data_dir, count=orders, routing=routing)
    finally:
        await db.dispose()
    summary: dict[str, Any] = {
        "units": len(units),
        "categories_added": categories,
        "catalogue_rules_added": rules,
        "accounts_created": accounts,
        "orders_created": built,
        **knowledge,
    }
    if trained is not None:
        summary["classifier"] = trained
    if given is None and accounts:
        summary["demo_password"] = password  # shown once: HOTLINE_DEMO_PASSWORD was not set
    return summary


def train_classifier(settings: Settings, data_dir: Path) -> str:
    """Train and activate a classifier on the public set unless a model is active; what was done, in words."""
    current = active_version(settings.model_dir)
    if current is not None:
        return f"model {current} already active"
    base = data_dir / CLASSIFIER_BASE_FILE
    if not base.is_file():
        return f"not trained: {base} is missing; the console proposes categories by keywords"
    result = retrain(base_file=base, corrections=[], model_dir=settings.model_dir, by="seed-demo")
    return result.message
