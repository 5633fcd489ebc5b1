"""Orders as a table (Excel or CSV): the list a supervisor reports from, or a unit keeps of its own work.

Only what the user may see, with the list's filters. A citizen's name and phone number leave the system only
masked (张**, +86138****8000), and a confidential reporter's not at all: an export is read by more people than
the order screen, where the hotline can see the whole number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.categories import Category, category_path
from hotline.channels.models import CHANNEL_LABELS_ZH
from hotline.citizens.models import ChannelIdentity, Citizen, IdentityKind
from hotline.citizens.service import mask_name, mask_phone
from hotline.supervision.models import TIER_LABELS_ZH
from hotline.tickets.lifecycle import STATUS_LABELS_ZH
from hotline.tickets.models import REQUEST_TYPE_LABELS_ZH, URGENCY_LABELS_ZH, Ticket
from hotline.tickets.service import is_overdue
from hotline.timefmt import to_local
from hotline.units.models import Unit

COLUMNS = (
    "工单编号",
    "受理时间",
    "渠道",
    "诉求类型",
    "紧急程度",
    "分类",
    "属地",
    "事发地址",
    "标题",
    "诉求内容",
    "诉求人",
    "联系电话",
    "状态",
    "主办单位",
    "办理时限",
    "是否超期",
    "督办级别",
    "办理结果",
    "办结时间",
)
WIDTHS = (16, 17, 8, 8, 10, 30, 18, 24, 30, 60, 10, 16, 10, 20, 17, 8, 8, 60, 17)
SHEET = "工单"
CONFIDENTIAL_ZH = "（保密）"
TIME_FORMAT = "%Y-%m-%d %H:%M"
IN_CHUNK = 900  # ids per IN (…) list: SQLite's limit on bound parameters is 999 in older builds


async def rows(session: AsyncSession, tickets: Sequence[Ticket], now: datetime) -> list[list[Any]]:
    """One row per order, in the given order, labels in Chinese and times in China time."""
    units: dict[int, str] = dict((await session.execute(select(Unit.id, Unit.name))).all())
    categories = {c.id: c for c in (await session.execute(select(Category))).scalars()}
    citizens = await _citizens(session, {t.citizen_id for t in tickets if t.citizen_id and not t.confidential})
    return [_row(t, units, categories, citizens, now) for t in tickets]


def _row(
    ticket: Ticket,
    units: dict[int, str],
    categories: dict[int | None, Category],
    citizens: dict[int, tuple[str, str]],
    now: datetime,
) -> list[Any]:
    name, phone = (
        (CONFIDENTIAL_ZH, CONFIDENTIAL_ZH) if ticket.confidential else citizens.get(ticket.citizen_id or 0, ("", ""))
    )
    result = ticket.reply or ticket.answer or ""
    return [
        ticket.number,
        _time(ticket.created_at),
        _label(CHANNEL_LABELS_ZH, ticket.channel),
        _label(REQUEST_TYPE_LABELS_ZH, ticket.request_type),
        _label(URGENCY_LABELS_ZH, ticket.urgency),
        category_path(ticket.category_id, categories),
        units.get(ticket.territory_unit_id or 0, ""),
        ticket.address or "",
        ticket.title,
        ticket.content,
        name,
        phone,
        _label(STATUS_LABELS_ZH, ticket.status),
        units.get(ticket.lead_unit_id or 0, ""),
        _time(ticket.due_at),
        "是" if is_overdue(ticket, now) else "",
        _label(TIER_LABELS_ZH, ticket.alert_level) if ticket.alert_level else "",
        result,
        _time(ticket.closed_at),
    ]


def _label(labels: Mapping[Any, str], value: str) -> str:
    return labels.get(value, value)


def _time(value: datetime | None) -> str:
    return to_local(value).strftime(TIME_FORMAT) if value else ""


async def _citizens(session: AsyncSession, ids: set[int | None]) -> dict[int, tuple[str, str]]:
    """Masked name and first phone number of each citizen."""
    found: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(sorted(i for i in ids if i is not None)):
        query = select(Citizen.id, Citizen.name).where(col(Citizen.id).in_(chunk))
        names: dict[int, str | None] = dict((await session.execute(query)).all())
        phones = await session.execute(
            select(ChannelIdentity.citizen_id, ChannelIdentity.value)
            .where(col(ChannelIdentity.citizen_id).in_(chunk), col(ChannelIdentity.kind) == IdentityKind.PHONE)
            .order_by(col(ChannelIdentity.id))
        )
        first_phone: dict[int, str] = {}
        for citizen_id, value in phones.all():
            first_phone.setdefault(citizen_id, value)
        for citizen_id in chunk:
            name = names.get(citizen_id)
            phone = first_phone.get(citizen_id)
            found[citizen_id] = (mask_name(name) if name else "", mask_phone(phone) if phone else "")
    return found


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    iterator = iter(ids)
    while chunk := list(islice(iterator, IN_CHUNK)):
        yield chunk
