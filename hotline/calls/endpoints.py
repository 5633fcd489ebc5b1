"""Calls API for hotline staff: call records, the live queue, seats and presence, call-backs, call metrics."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import HOTLINE_ROLES, Role, User
from hotline.auth.service import CurrentUser
from hotline.calls import callbacks, flows, metrics, orders, repository, service, views
from hotline.calls.metrics import GroupBy
from hotline.calls.models import (
    OPEN_CALLBACK_STATUSES,
    Call,
    CallbackStatus,
    CallStatus,
    MissedCallback,
    OperatorSeat,
)
from hotline.calls.schemas import (
    CallbackResultIn,
    CallbackView,
    CallDetail,
    CallPage,
    CallRecord,
    DialOut,
    LinkTicketIn,
    MetricsReport,
    PresenceIn,
    SeatView,
)
from hotline.calls.screen_pop import screen_pop
from hotline.calls.webhooks import Policy, SwitchSet
from hotline.db_types import utcnow
from hotline.deps import DB, require_roles
from hotline.errors import InvalidInput, NotFound
from hotline.timefmt import CHINA_TZ, LocalDateTime

router = APIRouter(prefix="/api/v1", tags=["calls"])

Hotline = Annotated[CurrentUser, Depends(require_roles(*HOTLINE_ROLES))]
Reader = Annotated[CurrentUser, Depends(require_roles(*HOTLINE_ROLES, Role.AUDITOR))]
Supervisor = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR))]
MetricsReader = Annotated[CurrentUser, Depends(require_roles(Role.SUPERVISOR, Role.AUDITOR))]
MAX_PAGE_SIZE = 200
CALLBACK_LIST_LIMIT = 200
LIVE = [CallStatus.WAITING, CallStatus.RINGING, CallStatus.TALKING, CallStatus.DIALING]


@router.get("/calls", response_model=CallPage)
async def list_calls(
    user: Reader,
    db: DB,
    since: LocalDateTime | None = None,
    until: LocalDateTime | None = None,
    status: Annotated[str | None, Query(description="one status or several, comma-separated")] = None,
    operator_id: int | None = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> CallPage:
    """Call records, newest first: times, wait and talk, operator, orders, recording."""
    async with db.read_session() as session:
        rows, total = await repository.list_calls(
            session,
            since=since,
            until=until,
            status=status,
            operator_id=operator_id,
            phone=phone,
            page=page,
            page_size=page_size,
        )
        items = await views.records(session, rows)
    return CallPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/calls/queue", response_model=list[CallRecord])
async def live_queue(user: Hotline, db: DB) -> list[CallRecord]:
    """Calls waiting, ringing or being talked now (what the console shows, and reloads after a reconnect)."""
    async with db.read_session() as session:
        return await views.records(session, await repository.live_calls(session, statuses=LIVE))


@router.get("/calls/metrics", response_model=MetricsReport)
async def call_metrics(
    user: MetricsReader,
    db: DB,
    start: LocalDateTime | None = None,
    end: LocalDateTime | None = None,
    by: GroupBy = GroupBy.HOUR,
) -> MetricsReport:
    """Offered, answered, abandoned, connection rate, 15/20-second answer rates, mean wait and talk (docs/CALLS.md)."""
    end = end or utcnow()
    start = start or datetime.combine(end.astimezone(CHINA_TZ).date(), time.min, CHINA_TZ)
    if not start < end or end - start > metrics.MAX_PERIOD:
        raise InvalidInput("统计区间无效（最长93天）", "start must be before end, at most 93 days apart")
    async with db.read_session() as session:
        calls = await metrics.calls_between(session, start=start, end=end)
        groups = metrics.grouped(calls, by)
        names = await _operator_names(session, groups) if by is GroupBy.OPERATOR else {}
    rows = [
        views.metrics_row(_key(k), names.get(k, str(k)) if by is GroupBy.OPERATOR else str(k), m)
        for k, m in groups.items()
    ]
    total = views.metrics_row(None, "合计", metrics.measure(calls))
    return MetricsReport(start=start, end=end, by=by, rows=rows, total=total)


def _key(key: Any) -> str | None:
    return None if key is None else str(key)


async def _operator_names(session: AsyncSession, groups: dict[Any, Any]) -> dict[Any, str]:
    names: dict[Any, str] = {None: "未分配"}
    for key in groups:
        if key is not None:
            user = await session.get(User, key)
            names[key] = user.display_name if user else str(key)
    return names


@router.get("/calls/callbacks", response_model=list[CallbackView])
async def callback_queue(
    user: Hotline,
    db: DB,
    status: Annotated[str | None, Query(description="pending, claimed, done, unreachable, cancelled")] = None,
) -> list[CallbackView]:
    """The call-back queue (漏接回拨), longest waiting first; open entries unless a status is given."""
    statuses = status.split(",") if status else [str(s) for s in sorted(OPEN_CALLBACK_STATUSES)]
    if any(s not in CallbackStatus.__members__.values() for s in statuses):
        raise InvalidInput("回拨状态无效", f"unknown status in {status!r}")
    async with db.read_session() as session:
        entries = await callbacks.queue_of(session, statuses=statuses, limit=CALLBACK_LIST_LIMIT)
    return [views.callback(e) for e in entries]


@router.post("/calls/callbacks/{callback_id}/claim", response_model=CallbackView)
async def claim_callback(callback_id: int, user: Hotline, db: DB) -> CallbackView:
    """Take a missed caller to call back (another operator's fresh claim is refused)."""
    async with db.session() as session:
        return views.callback(await callbacks.claim(session, callback_id=callback_id, user=user, now=utcnow()))


@router.post("/calls/callbacks/{callback_id}/dial", response_model=DialOut)
async def dial_callback(callback_id: int, user: Hotline, db: DB, policy: Policy, switches: SwitchSet) -> DialOut:
    """Call the citizen back: the operator's phone rings, then the citizen's; the call is recorded on the citizen."""
    call_id = await flows.call_back(db, switches, callback_id=callback_id, user=user, policy=policy, now=utcnow())
    async with db.read_session() as session:
        entry = await session.get(MissedCallback, callback_id)
        assert entry is not None
        return DialOut(call_id=call_id, callback=views.callback(entry))


@router.post("/calls/callbacks/{callback_id}/result", response_model=CallbackView)
async def callback_result(
    callback_id: int, body: CallbackResultIn, user: Hotline, db: DB, policy: Policy
) -> CallbackView:
    """What the call-back came to: reached, no answer (tried again later, up to the limit), or an invalid number."""
    async with db.session() as session:
        entry = await callbacks.record_result(
            session,
            callback_id=callback_id,
            user=user,
            outcome=body.outcome,
            note=body.note,
            max_attempts=policy.callback_max_attempts,
            now=utcnow(),
        )
        return views.callback(entry)


@router.get("/calls/{call_id}", response_model=CallDetail)
async def get_call(call_id: int, user: Reader, db: DB) -> CallDetail:
    """One call record with its history."""
    async with db.read_session() as session:
        return await views.detail(session, await _call(session, call_id))


@router.get("/calls/{call_id}/screen-pop")
async def get_screen_pop(call_id: int, user: Hotline, db: DB) -> dict[str, Any]:
    """The caller's identity, earlier calls and orders, and open orders (what the console pops up)."""
    async with db.read_session() as session:
        return await screen_pop(session, await _call(session, call_id))


@router.post("/calls/{call_id}/tickets", response_model=CallDetail)
async def link_ticket(call_id: int, body: LinkTicketIn, user: Hotline, db: DB) -> CallDetail:
    """Record an order the call produced (registered during it) or touched."""
    async with db.session() as session:
        call = await _call(session, call_id)
        await orders.link_ticket(session, call=call, ticket_id=body.ticket_id, user=user, now=utcnow())
        await session.flush()
        return await views.detail(session, call)


async def _call(session: AsyncSession, call_id: int) -> Call:
    call = await session.get(Call, call_id)
    if call is None:
        raise NotFound("通话记录不存在", f"call {call_id} not found")
    return call


@router.get("/seats", response_model=list[SeatView])
async def list_seats(user: Hotline, db: DB) -> list[SeatView]:
    """Every operator's presence (示闲/示忙/小休/话后处理) and call."""
    async with db.read_session() as session:
        return await views.seats(session, await repository.all_seats(session))


@router.get("/seats/me", response_model=SeatView)
async def my_seat(user: Hotline, db: DB) -> SeatView:
    """The caller's own seat (signed out until they first show a presence)."""
    async with db.read_session() as session:
        seat = await session.get(OperatorSeat, user.id) or OperatorSeat(user_id=user.id)
        return (await views.seats(session, [seat]))[0]


@router.put("/seats/me", response_model=SeatView)
async def set_my_presence(body: PresenceIn, user: Hotline, db: DB, policy: Policy, switches: SwitchSet) -> SeatView:
    """Show available, busy, a break or wrap-up, or sign out; waiting calls go to the longest idle operator."""
    return await _set_presence(db, switches, policy, user.id, body)


@router.put("/seats/{user_id}", response_model=SeatView)
async def set_presence_of(
    user_id: int, body: PresenceIn, user: Supervisor, db: DB, policy: Policy, switches: SwitchSet
) -> SeatView:
    """A supervisor sets an operator's presence (e.g. signs out a seat left available) or phone."""
    return await _set_presence(db, switches, policy, user_id, body)


async def _set_presence(db: DB, switches: SwitchSet, policy: Policy, user_id: int, body: PresenceIn) -> SeatView:
    now = utcnow()
    async with flows.unit_of_work(db, switches) as work:
        operator = await work.session.get(User, user_id)
        if operator is None or operator.role not in HOTLINE_ROLES or not operator.is_active:
            raise NotFound("话务员不存在", f"no hotline staff member {user_id}")
        seat = await service.set_presence(
            work.session, user_id=user_id, presence=body.presence, endpoint=body.endpoint, policy=policy, now=now
        )
        await service.distribute(work.session, policy=policy, now=now)
        view = (await views.seats(work.session, [seat]))[0]
    return view
