"""Queries of the phone queue: idempotent call insert, locks in one order (call, then seat), look-ups."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.calls.models import (
    Call,
    CallEvent,
    CallStatus,
    CallTicket,
    MissedCallback,
    OperatorSeat,
    Presence,
)

QUEUE_BATCH = 200  # calls and seats looked at by one distribution; the next one takes the rest


async def insert_call(
    session: AsyncSession, *, source: str, external_id: str, status: str, caller: str, callee: str, at: datetime
) -> int | None:
    """Store a call unless its switch reported it already; its id, or None for a repeat.

    ``INSERT … ON CONFLICT DO NOTHING`` on (source, external_id): a webhook retried concurrently
    waits for the first writer and inserts nothing, on SQLite and PostgreSQL alike.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Call)
        .values(
            source=source,
            external_id=external_id,
            direction="inbound",
            status=status,
            caller=caller,
            callee=callee,
            arrived_at=at,
            offer_seq=0,
            updated_at=at,
        )
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(col(Call.id))
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def call_by_external_id(
    session: AsyncSession, *, source: str, external_id: str, lock: bool = True
) -> Call | None:
    """A call by its switch's id, locked for this transaction."""
    query = select(Call).where(col(Call.source) == source, col(Call.external_id) == external_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()


async def locked_call(session: AsyncSession, *, call_id: int) -> Call | None:
    """A call, locked for this transaction (take it before its seat)."""
    query = select(Call).where(col(Call.id) == call_id).with_for_update().execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def locked_seat(session: AsyncSession, *, user_id: int) -> OperatorSeat | None:
    """An operator's seat, locked for this transaction."""
    query = (
        select(OperatorSeat)
        .where(col(OperatorSeat.user_id) == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def seat_by_endpoint(session: AsyncSession, *, endpoint: str) -> OperatorSeat | None:
    """The seat whose phone (or CTI seat id) this is."""
    query = select(OperatorSeat).where(col(OperatorSeat.endpoint) == endpoint).order_by(col(OperatorSeat.user_id))
    return (await session.execute(query.limit(1))).scalar_one_or_none()


async def waiting_calls(session: AsyncSession, *, lock: bool = False, limit: int = QUEUE_BATCH) -> list[Call]:
    """Calls waiting for an operator, oldest first; locked ones (another transaction's) are skipped when locking."""
    query = (
        select(Call)
        .where(col(Call.status) == CallStatus.WAITING)
        .order_by(func.coalesce(col(Call.queued_at), col(Call.arrived_at)), col(Call.id))
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True).execution_options(populate_existing=True)
    return list((await session.execute(query)).scalars())


async def candidate_seats(session: AsyncSession, *, limit: int = QUEUE_BATCH) -> list[OperatorSeat]:
    """Seats with no call that may be free (available, or in wrap-up), locked; others' locked rows are skipped."""
    query = (
        select(OperatorSeat)
        .where(
            col(OperatorSeat.call_id).is_(None),
            col(OperatorSeat.presence).in_([Presence.AVAILABLE, Presence.WRAP_UP]),
        )
        .order_by(col(OperatorSeat.idle_since), col(OperatorSeat.user_id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(query)).scalars())


async def live_calls(session: AsyncSession, *, statuses: Sequence[str]) -> list[Call]:
    """Calls in the given states (the tick's work list)."""
    query = select(Call).where(col(Call.status).in_(list(statuses))).order_by(col(Call.id)).limit(QUEUE_BATCH)
    return list((await session.execute(query)).scalars())


async def wrap_up_seats(session: AsyncSession, *, until: datetime) -> list[OperatorSeat]:
    """Seats whose automatic wrap-up ended by ``until``, locked."""
    query = (
        select(OperatorSeat)
        .where(col(OperatorSeat.presence) == Presence.WRAP_UP, col(OperatorSeat.wrap_up_until) <= until)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(query)).scalars())


async def all_seats(session: AsyncSession) -> list[OperatorSeat]:
    query = select(OperatorSeat).order_by(col(OperatorSeat.user_id))
    return list((await session.execute(query)).scalars())


async def events_of(session: AsyncSession, *, call_id: int) -> list[CallEvent]:
    query = select(CallEvent).where(col(CallEvent.call_id) == call_id).order_by(col(CallEvent.id))
    return list((await session.execute(query)).scalars())


async def tickets_of(session: AsyncSession, *, call_ids: Sequence[int]) -> list[CallTicket]:
    if not call_ids:
        return []
    query = select(CallTicket).where(col(CallTicket.call_id).in_(list(call_ids))).order_by(col(CallTicket.id))
    return list((await session.execute(query)).scalars())


async def open_callback(session: AsyncSession, *, phone: str) -> MissedCallback | None:
    """The caller's open call-back entry, locked."""
    query = select(MissedCallback).where(col(MissedCallback.open_key) == phone).with_for_update()
    return (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()


async def recent_calls_of(session: AsyncSession, *, citizen_id: int, phone: str, limit: int) -> list[Call]:
    """A caller's latest calls, in and out, newest first."""
    query = (
        select(Call)
        .where(or_(col(Call.citizen_id) == citizen_id, col(Call.caller) == phone, col(Call.callee) == phone))
        .order_by(col(Call.arrived_at).desc(), col(Call.id).desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def ensure_seat(session: AsyncSession, *, user_id: int, now: datetime) -> None:
    """Create the operator's seat (signed out) unless it exists; concurrent first calls create one."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(OperatorSeat)
        .values(user_id=user_id, presence=Presence.OFFLINE, presence_since=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    await session.execute(statement)


async def peek_seat(session: AsyncSession, *, user_id: int) -> OperatorSeat:
    """A seat as it is now, unlocked (to learn which call to lock first)."""
    query = select(OperatorSeat).where(col(OperatorSeat.user_id) == user_id).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def ahead_of(session: AsyncSession, *, call: Call) -> int:
    """How many waiting calls are before this one in the queue."""
    entered = call.queued_at or call.arrived_at
    query = select(func.count()).where(
        col(Call.status) == CallStatus.WAITING,
        col(Call.id) != call.id,
        or_(
            func.coalesce(col(Call.queued_at), col(Call.arrived_at)) < entered,
            (func.coalesce(col(Call.queued_at), col(Call.arrived_at)) == entered) & (col(Call.id) < (call.id or 0)),
        ),
    )
    return int((await session.execute(query)).scalar_one())


async def list_calls(
    session: AsyncSession,
    *,
    since: datetime | None,
    until: datetime | None,
    status: str | None,
    operator_id: int | None,
    phone: str | None,
    page: int,
    page_size: int,
) -> tuple[list[Call], int]:
    """Call records, newest first, filtered and paginated."""
    where = []
    if since is not None:
        where.append(col(Call.arrived_at) >= since)
    if until is not None:
        where.append(col(Call.arrived_at) < until)
    if status:
        where.append(col(Call.status).in_(status.split(",")))
    if operator_id is not None:
        where.append(col(Call.operator_id) == operator_id)
    if phone:
        where.append(or_(col(Call.caller) == phone, col(Call.callee) == phone))
    total = (await session.execute(select(func.count()).select_from(Call).where(*where))).scalar_one()
    query = (
        select(Call)
        .where(*where)
        .order_by(col(Call.arrived_at).desc(), col(Call.id).desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list((await session.execute(query)).scalars()), int(total)


async def default_endpoint(session: AsyncSession, *, user_id: int, endpoints: dict[str, str]) -> str | None:
    """An operator's phone when their seat names none: HOTLINE_CALL_OPERATOR_ENDPOINTS, else their own phone."""
    user = await session.get(User, user_id)
    if user is None:
        return None
    return endpoints.get(user.username) or user.phone
