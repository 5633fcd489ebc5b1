"""The call-back queue (漏接回拨): callers nobody answered, called back by operators, oldest first.

One open entry per phone number however often the caller tried (``open_key`` is the number while
the entry is open, so a second one cannot be created even by two calls at once). An operator claims
an entry, calls back (an outbound call recorded on the citizen, through the switch), and records
the outcome; an entry not reached after ``HOTLINE_CALL_CALLBACK_MAX_ATTEMPTS`` is unreachable. A
caller who calls again and is answered closes their entry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.auth.service import CurrentUser
from hotline.calls import repository
from hotline.calls.models import (
    OPEN_CALLBACK_STATUSES,
    Call,
    CallbackStatus,
    CallDirection,
    CallStatus,
    MissedCallback,
)
from hotline.citizens.service import normalize_phone
from hotline.errors import Conflict, DomainError, NotFound
from hotline.events.bus import BusEvent, publish_after_commit

CONSOLE_CHANNEL = "console"
CLAIM_HOLD = timedelta(minutes=15)  # a claim older than this may be taken over by another operator


class Outcome(StrEnum):
    REACHED = "reached"
    NO_ANSWER = "no_answer"
    INVALID_NUMBER = "invalid_number"
    ANSWERED_LATER = "answered_later"  # the caller called again and was answered


OUTCOME_LABELS_ZH = {
    Outcome.REACHED: "已联系",
    Outcome.NO_ANSWER: "无人接听",
    Outcome.INVALID_NUMBER: "号码无效",
    Outcome.ANSWERED_LATER: "再次来电已接听",
}


def _announce(session: AsyncSession, entry: MissedCallback, kind: str) -> None:
    payload = {
        "type": f"callback.{kind}",
        "callback_id": entry.id,
        "phone": entry.phone,
        "status": entry.status,
        "missed_calls": entry.missed_calls,
        "first_missed_at": entry.first_missed_at,
    }
    publish_after_commit(session, BusEvent(CONSOLE_CHANNEL, payload))


def callable_number(caller: str) -> str | None:
    """The caller's number in E.164, or None when it was withheld or is not a phone number."""
    try:
        return normalize_phone(caller)
    except DomainError:
        return None


async def missed(session: AsyncSession, *, call: Call, now: datetime) -> MissedCallback | None:
    """Put an unanswered caller on the call-back queue (or count one more try on their open entry)."""
    phone = callable_number(call.caller)
    if phone is None:
        return None  # a withheld number: nobody to call back
    entry = await repository.open_callback(session, phone=phone)
    if entry is None:
        try:
            async with session.begin_nested():
                entry = MissedCallback(
                    phone=phone, open_key=phone, citizen_id=call.citizen_id, first_missed_at=now, last_missed_at=now
                )
                session.add(entry)
                await session.flush()
        except IntegrityError:  # another unanswered call of the same number at the same moment created it
            entry = await repository.open_callback(session, phone=phone)
            if entry is None:
                raise
            entry.missed_calls += 1
    else:
        entry.missed_calls += 1
    entry.last_missed_at = max(entry.last_missed_at, now)
    entry.updated_at = now
    call.callback_id = entry.id
    _announce(session, entry, "queued")
    return entry


async def answered(session: AsyncSession, *, call: Call, now: datetime) -> None:
    """A caller with an open entry called again and was answered: nothing left to call back."""
    phone = callable_number(call.caller)
    entry = await repository.open_callback(session, phone=phone) if phone else None
    if entry is not None:
        _close(entry, CallbackStatus.CANCELLED, Outcome.ANSWERED_LATER, None, now)
        _announce(session, entry, "closed")


def _close(entry: MissedCallback, status: CallbackStatus, outcome: Outcome, by: int | None, now: datetime) -> None:
    entry.status, entry.outcome, entry.open_key = status, outcome, None
    entry.closed_at, entry.closed_by_id, entry.updated_at = now, by, now


async def _locked(session: AsyncSession, callback_id: int) -> MissedCallback:
    query = select(MissedCallback).where(col(MissedCallback.id) == callback_id).with_for_update()
    entry = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if entry is None:
        raise NotFound("回拨记录不存在", f"call-back {callback_id} not found")
    return entry


async def claim(session: AsyncSession, *, callback_id: int, user: CurrentUser, now: datetime) -> MissedCallback:
    """An operator takes an entry to call back; another operator's fresh claim is refused."""
    entry = await _locked(session, callback_id)
    if entry.status not in OPEN_CALLBACK_STATUSES:
        raise Conflict("该来电已处理", "this call-back is closed")
    held = entry.claimed_at is not None and now - entry.claimed_at < CLAIM_HOLD
    if entry.status == CallbackStatus.CLAIMED and entry.claimed_by_id != user.id and held:
        raise Conflict("已有其他话务员在回拨", "another operator is calling back")
    entry.status, entry.claimed_by_id, entry.claimed_at, entry.updated_at = CallbackStatus.CLAIMED, user.id, now, now
    _announce(session, entry, "claimed")
    return entry


async def start_dial(
    session: AsyncSession, *, callback_id: int, user: CurrentUser, source: str, endpoints: dict[str, str], now: datetime
) -> tuple[MissedCallback, Call]:
    """The outbound call of a call-back, recorded on the citizen; the operator's seat is busy with it."""
    entry = await claim(session, callback_id=callback_id, user=user, now=now)
    await repository.ensure_seat(session, user_id=user.id, now=now)
    seat = await repository.locked_seat(session, user_id=user.id)
    if seat is not None and not seat.endpoint:
        seat.endpoint = await repository.default_endpoint(session, user_id=user.id, endpoints=endpoints)
    if seat is None or not seat.endpoint:
        raise Conflict("未配置座席电话，无法回拨", "no phone or SIP address for this seat")
    if seat.call_id is not None:
        raise Conflict("座席正在通话或振铃，不能回拨", "the seat has a call")
    call = Call(
        source=source,
        direction=CallDirection.OUTBOUND,
        status=CallStatus.DIALING,
        caller=seat.endpoint,
        callee=entry.phone,
        citizen_id=entry.citizen_id,
        arrived_at=now,
        operator_id=user.id,
        callback_id=entry.id,
        updated_at=now,
    )
    session.add(call)
    await session.flush()
    seat.call_id, seat.updated_at = call.id, now
    return entry, call


async def record_result(
    session: AsyncSession,
    *,
    callback_id: int,
    user: CurrentUser,
    outcome: Outcome,
    note: str | None,
    max_attempts: int,
    now: datetime,
) -> MissedCallback:
    """What the call-back came to: reached (done), a wrong number, or no answer (again later, or unreachable)."""
    entry = await _locked(session, callback_id)
    if entry.status not in OPEN_CALLBACK_STATUSES:
        raise Conflict("该来电已处理", "this call-back is closed")
    if outcome is Outcome.ANSWERED_LATER:
        raise DomainError("该结果由系统记录", "this outcome is recorded by the system", 422)
    entry.attempts += 1
    entry.note = note or entry.note
    if outcome is Outcome.REACHED:
        _close(entry, CallbackStatus.DONE, outcome, user.id, now)
    elif outcome is Outcome.INVALID_NUMBER or entry.attempts >= max_attempts:
        _close(entry, CallbackStatus.UNREACHABLE, outcome, user.id, now)
    else:
        entry.status, entry.outcome, entry.claimed_by_id, entry.claimed_at = CallbackStatus.PENDING, outcome, None, None
        entry.updated_at = now
    _announce(session, entry, "closed" if entry.status not in OPEN_CALLBACK_STATUSES else "queued")
    return entry


async def queue_of(session: AsyncSession, *, statuses: list[str], limit: int) -> list[MissedCallback]:
    """Entries in the given states, the longest waiting first."""
    query = (
        select(MissedCallback)
        .where(col(MissedCallback.status).in_(statuses))
        .order_by(col(MissedCallback.first_missed_at), col(MissedCallback.id))
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())
