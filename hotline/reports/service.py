"""The supervisor dashboard: counts per day by channel, top-level category and district; hot topics."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from hotline.categories import Category, category_path
from hotline.channels.models import CHANNEL_LABELS_ZH, Channel
from hotline.reports import repository
from hotline.reports.schemas import Dashboard, ExtensionRequest, HotTopic, Series, Volumes, Workload
from hotline.tickets.models import Ticket
from hotline.timefmt import to_local
from hotline.units.models import Unit, UnitKind
from hotline.units.repository import units_by_id

UNCLASSIFIED = ("none", "未分类")
NO_TERRITORY = ("none", "未定位")
HOT_TOPICS = 10


def _root(category: Category | None, by_id: dict[int, Category], level: int) -> Category | None:
    """The ancestor of ``category`` at ``level`` (itself when it is that level)."""
    while category is not None and category.level > level and category.parent_id is not None:
        category = by_id.get(category.parent_id)
    return category if category is not None and category.level == level else None


def _district(unit: Unit | None, by_id: dict[int, Unit]) -> Unit | None:
    """The district or county a territory unit lies in, read from its path."""
    if unit is None:
        return None
    for part in unit.path.strip("/").split("/"):
        ancestor = by_id.get(int(part)) if part.isdigit() else None
        if ancestor is not None and ancestor.kind == UnitKind.DISTRICT:
            return ancestor
    return None


def _series(rows: list[tuple[date, tuple[str, str], int]], days: list[date]) -> list[Series]:
    """Fold (day, (key, label), count) rows into one series per key, largest first."""
    index = {day: i for i, day in enumerate(days)}
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(days))
    for day, key, n in rows:
        if day in index:
            counts[key][index[day]] += n
    series = [Series(key=k, label=label, counts=c, total=sum(c)) for (k, label), c in counts.items()]
    return sorted(series, key=lambda s: (-s.total, s.key))


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


async def volumes(session: AsyncSession, *, first: date, last: date) -> Volumes:
    """Orders created per local day, by channel, top-level category and district."""
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    categories = await repository.categories(session)
    units = await repository.units(session)

    def channel_key(value: str) -> tuple[str, str]:
        known = value in Channel.__members__.values()
        return value, CHANNEL_LABELS_ZH.get(Channel(value), value) if known else value

    def category_key(value: int | None) -> tuple[str, str]:
        top = _root(categories.get(value) if value else None, categories, 1)
        return (top.code, top.name) if top else UNCLASSIFIED

    def territory_key(value: int | None) -> tuple[str, str]:
        district = _district(units.get(value) if value else None, units)
        if district is None:
            return NO_TERRITORY
        return district.code, district.short_names[0] if district.short_names else district.name

    result = {}
    for name, column, key in (
        ("channel", col(Ticket.channel), channel_key),
        ("category", col(Ticket.category_id), category_key),
        ("territory", repository.order_place(), territory_key),
    ):
        rows = await repository.daily_counts(session, dimension=column, first=first, last=last)
        result[name] = _series([(_day(day), key(value), n) for day, value, n in rows], days)
    total = sum(s.total for s in result["channel"])
    return Volumes(
        days=days,
        total=total,
        by_channel=result["channel"],
        by_category=result["category"],
        by_territory=result["territory"],
    )


async def hot_topics(session: AsyncSession, *, now: datetime, days: int) -> list[HotTopic]:
    """Second-level categories with the most orders in the last ``days``, against the ``days`` before."""
    period = timedelta(days=days)
    current = await repository.category_counts(session, since=now - period, until=now)
    before = await repository.category_counts(session, since=now - 2 * period, until=now - period)
    categories = await repository.categories(session)
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for slot, counts in ((0, current), (1, before)):
        for category_id, n in counts.items():
            topic = _root(categories.get(category_id), categories, 2) or categories.get(category_id)
            if topic is not None and topic.id is not None:
                totals[topic.id][slot] += n
    topics = [
        HotTopic(
            category_id=cid,
            path=category_path(cid, categories),
            count=now_n,
            previous=prev,
            growth=round((now_n - prev) / prev, 3) if prev else None,
        )
        for cid, (now_n, prev) in totals.items()
        if now_n
    ]
    return sorted(topics, key=lambda t: (-t.count, t.path))[:HOT_TOPICS]


async def dashboard(session: AsyncSession, *, now: datetime, days: int, hot_days: int) -> Dashboard:
    """Everything the dashboard's charts show, as of ``now``."""
    last = to_local(now).date()
    load = await repository.workload(session, now=now)
    return Dashboard(
        volumes=await volumes(session, first=last - timedelta(days=days - 1), last=last),
        hot_topics=await hot_topics(session, now=now, days=hot_days),
        hot_days=hot_days,
        workload=Workload(
            open=load["open"],
            overdue=load["overdue"],
            warning=load.get("warning", 0),
            yellow_card=load.get("yellow_card", 0),
            red_card=load.get("red_card", 0),
        ),
    )


async def extension_requests(session: AsyncSession, *, limit: int) -> list[ExtensionRequest]:
    """Extensions waiting for a supervisor, with what the unit asked for and why."""
    rows = await repository.extension_requests(session, limit=limit)
    units = await units_by_id(session, [t.lead_unit_id for t, _ in rows])
    return [
        ExtensionRequest(
            ticket_id=t.id or 0,
            number=t.number,
            title=t.title,
            lead_unit_name=units[t.lead_unit_id].name if t.lead_unit_id in units else None,
            due_at=t.due_at,
            requested_due_at=t.extension_requested_due_at,
            reason=event.reason if event else None,
            requested_at=event.created_at if event else None,
        )
        for t, event in rows
    ]
