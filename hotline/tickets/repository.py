"""Work-order queries: visibility, listing, locking, numbering, history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, bindparam, exists, false, func, literal, or_, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from hotline.auth.models import HOTLINE_ROLES, Role
from hotline.auth.service import CurrentUser
from hotline.channels.models import Message
from hotline.channels.repository import link_message
from hotline.db import AUTOCOMMIT_ENGINE, DriverStatement, on_driver
from hotline.supervision.models import SlaAlert
from hotline.tickets.lifecycle import OPEN_STATUSES
from hotline.tickets.models import Ticket, TicketAssignment, TicketEvent, TicketNumberCounter
from hotline.timefmt import local_midnight
from hotline.units.models import Unit

READ_ALL_ROLES = HOTLINE_ROLES | {Role.AUDITOR}


def visible_to(user: CurrentUser) -> ColumnElement[bool]:
    """The orders this user may see: all for the hotline, their unit's subtree for departments."""
    if user.role in READ_ALL_ROLES:
        return true()
    if user.role is not Role.DEPARTMENT_STAFF or not user.unit_path:
        return false()
    return exists(
        select(col(TicketAssignment.id))
        .join(Unit, col(Unit.id) == col(TicketAssignment.unit_id))
        .where(
            col(TicketAssignment.ticket_id) == col(Ticket.id),
            col(TicketAssignment.active),
            col(Unit.path).startswith(user.unit_path),
        )
    )


async def active_unit_ids(session: AsyncSession, *, ticket_id: int) -> list[int]:
    """The units an order is with now (lead, assisting, handed down to), in assignment order."""
    rows = await session.execute(
        select(col(TicketAssignment.unit_id))
        .where(col(TicketAssignment.ticket_id) == ticket_id, col(TicketAssignment.active))
        .order_by(col(TicketAssignment.id))
    )
    return list(dict.fromkeys(rows.scalars()))


@dataclass(frozen=True)
class TicketFilters:
    channel: str | None = None
    status: str | None = None
    unit_id: int | None = None
    overdue: bool | None = None
    q: str | None = None
    alert_level: str | None = None
    created_from: date | None = None  # China calendar days, both included
    created_to: date | None = None


def _filtered(filters: TicketFilters, now: datetime) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if filters.channel:
        clauses.append(col(Ticket.channel) == filters.channel)
    if filters.status:
        clauses.append(col(Ticket.status).in_(filters.status.split(",")))
    if filters.unit_id is not None:
        clauses.append(col(Ticket.lead_unit_id) == filters.unit_id)
    if filters.overdue is not None:
        late = and_(col(Ticket.status).in_(OPEN_STATUSES), col(Ticket.due_at) < now)
        clauses.append(late if filters.overdue else ~late)
    if filters.alert_level:
        clauses.append(col(Ticket.alert_level) == filters.alert_level)
    if filters.created_from is not None:
        clauses.append(col(Ticket.created_at) >= local_midnight(filters.created_from))
    if filters.created_to is not None:
        clauses.append(col(Ticket.created_at) < local_midnight(filters.created_to + timedelta(days=1)))
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        clauses.append(
            or_(
                col(Ticket.content).like(pattern),
                col(Ticket.title).like(pattern),
                col(Ticket.number).like(pattern),
                col(Ticket.address).like(pattern),
            )
        )
    return clauses


async def list_tickets(
    session: AsyncSession,
    *,
    user: CurrentUser,
    filters: TicketFilters,
    now: datetime,
    page: int,
    page_size: int,
    oldest_first: bool = False,
) -> tuple[list[Ticket], int]:
    """One page of the orders this user may see, newest first (or oldest), with the total count."""
    where = and_(visible_to(user), *_filtered(filters, now))
    total = (await session.execute(select(func.count()).select_from(Ticket).where(where))).scalar_one()
    order = (col(Ticket.created_at), col(Ticket.id))
    rows = await session.execute(
        select(Ticket)
        .where(where)
        .order_by(*(order if oldest_first else (c.desc() for c in order)))
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows.scalars()), total


async def get_visible(session: AsyncSession, *, ticket_id: int, user: CurrentUser, lock: bool = False) -> Ticket | None:
    """An order if it exists and this user may see it; locked for the transaction when asked."""
    query = select(Ticket).where(col(Ticket.id) == ticket_id, visible_to(user))
    if lock:
        query = query.with_for_update(of=Ticket)
    return (await session.execute(query)).scalar_one_or_none()


async def get_locked(session: AsyncSession, *, ticket_id: int) -> Ticket | None:
    """An order locked for update (a no-op on SQLite, whose write transactions are exclusive)."""
    query = select(Ticket).where(col(Ticket.id) == ticket_id).with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def assignments(session: AsyncSession, *, ticket_id: int, active_only: bool = True) -> list[TicketAssignment]:
    """The units working on an order."""
    query = (
        select(TicketAssignment).where(col(TicketAssignment.ticket_id) == ticket_id).order_by(col(TicketAssignment.id))
    )
    if active_only:
        query = query.where(col(TicketAssignment.active))
    return list((await session.execute(query)).scalars())


async def deactivate_assignments(session: AsyncSession, *, ticket_id: int) -> None:
    """Take an order away from the units that had it."""
    await session.execute(
        update(TicketAssignment)
        .where(col(TicketAssignment.ticket_id) == ticket_id, col(TicketAssignment.active))
        .values(active=False)
    )


async def events(session: AsyncSession, *, ticket_id: int) -> list[TicketEvent]:
    """An order's history in order."""
    rows = await session.execute(
        select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket_id).order_by(col(TicketEvent.seq))
    )
    return list(rows.scalars())


async def alerts(session: AsyncSession, *, ticket_id: int) -> list[SlaAlert]:
    """The warning / yellow / red tiers that fired for an order, oldest first."""
    rows = await session.execute(
        select(SlaAlert).where(col(SlaAlert.ticket_id) == ticket_id).order_by(col(SlaAlert.id))
    )
    return list(rows.scalars())


async def last_event_seqs(session: AsyncSession, *, ticket_ids: list[int]) -> dict[int, int]:
    """The last event sequence number of each of these orders (rows locked by the caller)."""
    rows = await session.execute(
        select(col(TicketEvent.ticket_id), func.max(TicketEvent.seq))
        .where(col(TicketEvent.ticket_id).in_(ticket_ids))
        .group_by(col(TicketEvent.ticket_id))
    )
    return {ticket_id: last or 0 for ticket_id, last in rows}


async def next_event_seq(session: AsyncSession, *, ticket_id: int) -> int:
    """The sequence number of the next event of an order (the order row is locked by the caller)."""
    last = (
        await session.execute(select(func.max(col(TicketEvent.seq))).where(col(TicketEvent.ticket_id) == ticket_id))
    ).scalar()
    return (last or 0) + 1


async def messages(session: AsyncSession, *, ticket_id: int) -> list[Message]:
    """Every contact attached to an order, oldest first."""
    rows = await session.execute(select(Message).where(col(Message.ticket_id) == ticket_id).order_by(col(Message.id)))
    return list(rows.scalars())


async def move_messages(session: AsyncSession, *, from_ticket_id: int, to_ticket_id: int) -> int:
    """Re-attach an order's contacts to another order; returns how many moved."""
    result = await session.execute(
        update(Message).where(col(Message.ticket_id) == from_ticket_id).values(ticket_id=to_ticket_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)  # DML results carry rowcount


async def children(session: AsyncSession, *, ticket_id: int) -> list[int]:
    """The ids of orders sub-dispatched from this one."""
    rows = await session.execute(
        select(col(Ticket.id)).where(col(Ticket.parent_id) == ticket_id).order_by(col(Ticket.id))
    )
    return [row for row in rows.scalars() if row is not None]


async def insert_registered(
    session: AsyncSession, *, ticket: Mapping[str, Any], event: Mapping[str, Any], message_id: int | None = None
) -> int:
    """Store a new order with its first event, linking the stored message that opened it; the order's id.

    ``ticket`` and ``event`` hold the column values (those not given take the model's defaults). Plain
    INSERTs rather than the ORM's unit of work: on PostgreSQL the three writes are one statement
    (data-modifying CTEs) run on the driver, on SQLite one each.
    """
    ticket = {**_TICKET_DEFAULTS, **ticket}
    params = {
        **{f"t_{name}": ticket[name] for name in _TICKET_COLUMNS},
        **{f"e_{name}": event[name] if name in event else _EVENT_DEFAULTS[name] for name in _EVENT_COLUMNS},
        "message_id": message_id,
    }
    if session.get_bind().dialect.name == "postgresql":
        statement = _REGISTER_AND_LINK if message_id is not None else _REGISTER
        return int((await statement.fetch(session, params))[0][0])
    ticket_id = int((await session.execute(_INSERT_TICKET, params)).scalar_one())
    await session.execute(_INSERT_EVENT, {**params, "ticket_id": ticket_id})
    if message_id is not None:
        await link_message(session, message_id=message_id, citizen_id=ticket["citizen_id"], ticket_id=ticket_id)
    return ticket_id


# The statements registering an order, built once with bound parameters (t_<column> for the order,
# e_<column> for its first event): building them for every request cost more CPU than running them.
_TICKETS: Any = Ticket.__table__  # type: ignore[attr-defined]
_EVENTS: Any = TicketEvent.__table__  # type: ignore[attr-defined]
_MESSAGES: Any = Message.__table__  # type: ignore[attr-defined]
_TICKET_COLUMNS = [c.name for c in _TICKETS.columns if c.name != "id"]
_EVENT_COLUMNS = [c.name for c in _EVENTS.columns if c.name not in ("id", "ticket_id")]


def _defaults(model: Any, columns: list[str]) -> dict[str, Any]:
    """The plain default of each column that has one (the model's own, as building an instance would set)."""
    fields = model.model_fields.items()
    return {
        name: field.default
        for name, field in fields
        if name in columns and not field.is_required() and field.default_factory is None
    }


_TICKET_DEFAULTS = _defaults(Ticket, _TICKET_COLUMNS)
_EVENT_DEFAULTS = _defaults(TicketEvent, _EVENT_COLUMNS)
_TICKET_VALUES = {name: bindparam(f"t_{name}", type_=_TICKETS.c[name].type) for name in _TICKET_COLUMNS}
_EVENT_VALUES = {name: bindparam(f"e_{name}", type_=_EVENTS.c[name].type) for name in _EVENT_COLUMNS}
_INSERT_TICKET = _TICKETS.insert().values(_TICKET_VALUES).returning(_TICKETS.c.id)
_INSERT_EVENT = _EVENTS.insert().values({**_EVENT_VALUES, "ticket_id": bindparam("ticket_id")})


def _register_on_postgresql(*, link: bool) -> Any:
    new_ticket = pg_insert(_TICKETS).values(_TICKET_VALUES).returning(_TICKETS.c.id).cte("new_ticket")
    first_event = pg_insert(_EVENTS).from_select(
        ["ticket_id", *_EVENT_VALUES], select(new_ticket.c.id, *_EVENT_VALUES.values())
    )
    statement = select(new_ticket.c.id).add_cte(first_event.cte("first_event"))
    if not link:
        return statement
    linked = (
        _MESSAGES.update()
        .where(_MESSAGES.c.id == bindparam("message_id"))
        .values(ticket_id=select(new_ticket.c.id).scalar_subquery(), citizen_id=bindparam("t_citizen_id"))
    )
    return statement.add_cte(linked.cte("linked"))


_REGISTER = DriverStatement(_register_on_postgresql(link=False))
_REGISTER_AND_LINK = DriverStatement(_register_on_postgresql(link=True))


async def next_number(session: AsyncSession, *, day: str) -> str:
    """The next human-friendly order number of a day, e.g. ``2026112100042`` (atomic per day)."""
    autocommit = session.info.get(AUTOCOMMIT_ENGINE)
    if session.get_bind().dialect.name == "postgresql" and isinstance(autocommit, AsyncEngine):
        # In its own autocommitted statement: the day's counter row is locked for that statement only, not
        # until the caller commits, which made every intake of the day wait for the one before it. An order
        # whose transaction then fails leaves a gap in the day's numbers; numbers stay unique and increasing.
        async with autocommit.connect() as connection, on_driver(connection) as driver:
            return f"{day}{await driver.fetchval(_TAKE_NUMBER.sql, *_TAKE_NUMBER.arguments({'day': day})):05d}"
    last = (await session.execute(_TAKE_NUMBER_SQLITE, {"day": day})).scalar_one()  # one writer at a time anyway
    return f"{day}{last:05d}"


def _take_number_without_flush_wait() -> Any:
    """PostgreSQL: increment the day's counter in a statement whose commit does not wait for the WAL flush.

    The row stays locked until that commit, so waiting for the disk there (about 3 ms) queued every intake
    behind the one before it. Not waiting is safe: the order's own commit waits, and the flush it waits for
    covers this earlier commit too, so a number is durable whenever an order carrying it is. The setting is
    local to the statement's own transaction (``set_config(..., true)``), so it holds behind a transaction-
    pooling proxy as well.
    """
    day = bindparam("day", type_=String())
    first = select(day, literal(1)).where(func.set_config("synchronous_commit", "off", True).is_not(None))
    return (
        pg_insert(TicketNumberCounter)
        .from_select(["day", "last"], first)
        .on_conflict_do_update(index_elements=["day"], set_={"last": col(TicketNumberCounter.last) + 1})
        .returning(col(TicketNumberCounter.last))
    )


_TAKE_NUMBER = DriverStatement(_take_number_without_flush_wait())
_TAKE_NUMBER_SQLITE = (
    sqlite_insert(TicketNumberCounter)
    .values(day=bindparam("day", type_=String()), last=1)
    .on_conflict_do_update(index_elements=["day"], set_={"last": col(TicketNumberCounter.last) + 1})
    .returning(col(TicketNumberCounter.last))
)
