"""``hotline seed-demo``: the reference city, its staff and a few hundred orders."""

from __future__ import annotations

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


async def seed(settings: Settings, *, orders: int, data_dir: Path) -> dict[str, Any]:
    """Load everything that is missing; safe to run again."""
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
            built = 0 if existing else await build_orders(session, units=units, data_dir=data_dir, count=orders)
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
    if given is None and accounts:
        summary["demo_password"] = password  # shown once: HOTLINE_DEMO_PASSWORD was not set
    return summary
