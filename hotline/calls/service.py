"""The phone queue's transitions: a call arrives, is offered, answered, withdrawn, sent to voicemail, ends.

Services never commit; the webhook's or job's unit of work does, once. A call row is locked before
its seat (everywhere, so two transactions never wait on each other crosswise), and a seat holds at
most one call: two operators never ring for the same call, and a call withdrawn from a seat (no
answer, the operator went on a break) is back in the queue, first in line, in the same transaction.
What the switch must do afterwards (ring a seat, hold the caller, take a message) is noted on the
session as a ``Route`` and carried out by ``hotline.calls.flows`` once the transaction committed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.models import User
from hotline.calls import callbacks, queue, repository
from hotline.calls.models import (
    CALL_STATUS_LABELS_ZH,
    QUEUED_STATUSES,
    Call,
    CallDirection,
    CallEvent,
    CallEventKind,
    CallStatus,
    OperatorSeat,
    Presence,
    VoicemailReason,
)
from hotline.calls.policy import CallPolicy
from hotline.calls.screen_pop import screen_pop
from hotline.calls.switch import Route
from hotline.citizens import service as citizens
from hotline.citizens.models import IdentityKind
from hotline.errors import DomainError
from hotline.events.bus import BusEvent, publish_after_commit

CONSOLE_CHANNEL = "console"
ROUTES_KEY = "hotline_call_routes"


def reroute(session: AsyncSession, call: Call, endpoint: str | None = None) -> None:
    """Note that the switch must be told where this call goes now (the last note of a call wins)."""
    assert call.id is not None
    session.info.setdefault(ROUTES_KEY, {})[call.id] = (call, endpoint)


def take_routes(session: AsyncSession, *, handled_call_id: int | None = None) -> list[Route]:
    """The routes noted in this transaction, except the call whose webhook answer already says where it goes."""
    noted: dict[int, tuple[Call, str | None]] = session.info.pop(ROUTES_KEY, {})
    return [
        Route(call_id, call.source, call.external_id, call.status, call.offer_seq, endpoint)
        for call_id, (call, endpoint) in noted.items()
        if call_id != handled_call_id and call.status in (CallStatus.RINGING, CallStatus.WAITING, CallStatus.VOICEMAIL)
    ]


def add_event(
    session: AsyncSession, call: Call, kind: CallEventKind, now: datetime, operator_id: int | None = None, **detail: Any
) -> None:
    """Append to the call's history."""
    assert call.id is not None
    session.add(CallEvent(call_id=call.id, kind=kind, at=now, operator_id=operator_id, detail=detail))
    call.updated_at = now


def announce(session: AsyncSession, call: Call, kind: str, **extra: Any) -> None:
    """Tell the live consoles (hotline staff only) once the transaction committed."""
    payload = {
        "type": f"call.{kind}",
        "call_id": call.id,
        "status": call.status,
        "status_label": CALL_STATUS_LABELS_ZH.get(CallStatus(call.status), call.status),
        "caller": call.caller,
        "arrived_at": call.arrived_at,
        **extra,
    }
    publish_after_commit(session, BusEvent(CONSOLE_CHANNEL, payload))


# Arrival ----------------------------------------------------------------------------------------


async def arrive(
    session: AsyncSession, *, source: str, external_id: str, caller: str, callee: str, policy: CallPolicy, now: datetime
) -> tuple[Call, bool]:
    """The call with this switch id, created (queued, or to voicemail after hours) on first report."""
    in_service = policy.in_service(now)
    status = CallStatus.WAITING if in_service else CallStatus.VOICEMAIL
    call_id = await repository.insert_call(
        session, source=source, external_id=external_id, status=status, caller=caller, callee=callee, at=now
    )
    call = await repository.call_by_external_id(session, source=source, external_id=external_id)
    if call is None:  # only if the first writer rolled back in between; the switch retries
        raise DomainError("来电正在处理，请稍后重试", "the call is being processed; retry later", 409)
    if call_id is None:
        return call, False
    call.citizen_id = await _citizen_id(session, caller)
    add_event(session, call, CallEventKind.ARRIVED, now, caller=caller, callee=callee)
    if in_service:
        call.queued_at = now
        add_event(session, call, CallEventKind.QUEUED, now)
        announce(session, call, "queued")
    else:
        call.voicemail_reason = VoicemailReason.AFTER_HOURS
        add_event(session, call, CallEventKind.VOICEMAIL, now, reason=VoicemailReason.AFTER_HOURS)
        announce(session, call, "voicemail")
    return call, True


async def _citizen_id(session: AsyncSession, caller: str) -> int | None:
    """The caller's citizen record (created on first contact), or None for a withheld or foreign-format number."""
    try:
        phone = citizens.normalize_phone(caller)
    except DomainError:
        return None
    try:
        async with session.begin_nested():
            citizen = await citizens.identify(session, kind=IdentityKind.PHONE, value=phone)
    except IntegrityError:  # the same new caller twice at once; the other transaction created them
        citizen = await citizens.identify(session, kind=IdentityKind.PHONE, value=phone)
    return citizen.id


# Offering ---------------------------------------------------------------------------------------


async def distribute(session: AsyncSession, *, policy: CallPolicy, now: datetime) -> int:
    """Offer the oldest waiting calls to the longest idle free operators; how many were offered."""
    calls = await repository.waiting_calls(session, lock=True)
    if not calls:
        return 0
    seats = await repository.candidate_seats(session)
    pairs = queue.match(calls, seats, now)
    for call, seat in pairs:
        await _offer(session, call, seat, policy, now)
    return len(pairs)


async def _offer(session: AsyncSession, call: Call, seat: OperatorSeat, policy: CallPolicy, now: datetime) -> None:
    if seat.presence == Presence.WRAP_UP:  # an automatic wrap-up that has run its time
        seat.presence, seat.presence_since, seat.wrap_up_until = Presence.AVAILABLE, seat.idle_since or now, None
    call.status = CallStatus.RINGING
    call.ringing_operator_id = call.offered_to_id = seat.user_id
    call.offer_seq += 1
    call.offer_expires_at = now + policy.ring
    call.not_before = None
    seat.call_id, seat.updated_at = call.id, now
    add_event(session, call, CallEventKind.OFFERED, now, seat.user_id, offer=call.offer_seq, endpoint=seat.endpoint)
    reroute(session, call, seat.endpoint)
    announce(session, call, "offered", operator_id=seat.user_id, operator=await _username(session, seat.user_id))


async def withdraw(
    session: AsyncSession,
    *,
    call: Call,
    reason: str,
    now: datetime,
    seat_presence: Presence | None = None,
    retry_at: datetime | None = None,
) -> None:
    """Stop a ring: the call is back in the queue in its old place; the seat is free (or set to ``seat_presence``)."""
    operator_id = call.ringing_operator_id
    seat = await repository.locked_seat(session, user_id=operator_id) if operator_id else None
    if seat is not None and seat.call_id == call.id:
        seat.call_id, seat.updated_at = None, now
        if seat_presence is not None and seat.presence != seat_presence:
            _set(seat, seat_presence, now)
            announce_presence(session, seat, await _username(session, seat.user_id), reason=reason)
    call.status, call.ringing_operator_id, call.offer_expires_at = CallStatus.WAITING, None, None
    call.not_before = retry_at
    add_event(session, call, CallEventKind.WITHDRAWN, now, operator_id, offer=call.offer_seq, reason=reason)
    reroute(session, call)
    announce(session, call, "queued", reason=reason)


async def ring_unanswered(session: AsyncSession, *, call: Call, offer_seq: int, now: datetime) -> bool:
    """The seat let the call ring out: back to the queue, and the operator is set busy (示忙) until they return."""
    if call.status != CallStatus.RINGING or call.offer_seq != offer_seq:
        return False  # an old ring, already dealt with
    await withdraw(session, call=call, reason="no_answer", now=now, seat_presence=Presence.BUSY)
    return True


# Answer and end ---------------------------------------------------------------------------------


async def answer(
    session: AsyncSession,
    *,
    call: Call,
    now: datetime,
    by: int | None = None,
    offer_seq: int | None = None,
) -> bool:
    """Someone picked up: the ringing operator (or ``by``, the seat the switch names), or the citizen of a call-back."""
    if call.direction == CallDirection.OUTBOUND:
        return _call_back_answered(session, call, now)
    if offer_seq is not None and (call.status != CallStatus.RINGING or call.offer_seq != offer_seq):
        return False  # an answer to an old ring
    operator_id = by or call.ringing_operator_id
    if call.status not in QUEUED_STATUSES or operator_id is None:
        return False
    if call.ringing_operator_id is not None and call.ringing_operator_id != operator_id:
        await withdraw(session, call=call, reason="answered_elsewhere", now=now)
    seat = await repository.locked_seat(session, user_id=operator_id)
    if seat is not None:
        seat.call_id, seat.updated_at = call.id, now
    call.status, call.operator_id, call.answered_at = CallStatus.TALKING, operator_id, now
    call.ringing_operator_id, call.offer_expires_at = None, None
    add_event(session, call, CallEventKind.ANSWERED, now, operator_id, offer=call.offer_seq)
    await callbacks.answered(session, call=call, now=now)
    username = await _username(session, operator_id)
    announce(session, call, "answered", operator_id=operator_id, operator=username)
    pop = {"type": "call.screen_pop", "operator_id": operator_id, "operator": username}
    pop.update(await screen_pop(session, call))
    publish_after_commit(session, BusEvent(CONSOLE_CHANNEL, pop))
    return True


def _call_back_answered(session: AsyncSession, call: Call, now: datetime) -> bool:
    if call.status != CallStatus.DIALING:
        return False
    call.status, call.answered_at = CallStatus.TALKING, now
    add_event(session, call, CallEventKind.ANSWERED, now, call.operator_id)
    announce(session, call, "answered", operator_id=call.operator_id)
    return True


async def hang_up(session: AsyncSession, *, call: Call, policy: CallPolicy, now: datetime) -> bool:
    """The call ended: completed after an answer, abandoned before one; a missed caller goes to the call-back queue."""
    if call.ended_at is not None:
        return False
    call.ended_at = now
    if call.status == CallStatus.TALKING:
        call.status = CallStatus.COMPLETED
        add_event(session, call, CallEventKind.COMPLETED, now, call.operator_id)
        await _free_after_call(session, call, policy, now)
    elif call.status in QUEUED_STATUSES:
        ringing = call.ringing_operator_id
        if ringing is not None:
            seat = await repository.locked_seat(session, user_id=ringing)
            if seat is not None and seat.call_id == call.id:
                seat.call_id, seat.updated_at = None, now
        call.status, call.ringing_operator_id, call.offer_expires_at = CallStatus.ABANDONED, None, None
        add_event(session, call, CallEventKind.ABANDONED, now, ringing)
    elif call.status == CallStatus.DIALING:
        call.status = CallStatus.FAILED
        add_event(session, call, CallEventKind.FAILED, now, call.operator_id)
        await _free_after_call(session, call, policy, now, wrap_up=False)
    else:  # voicemail: the message (if any) arrives with the recording
        add_event(session, call, CallEventKind.ENDED, now)
    if call.direction == CallDirection.INBOUND and call.status in (CallStatus.ABANDONED, CallStatus.VOICEMAIL):
        await callbacks.missed(session, call=call, now=now)
    announce(session, call, "ended")
    return True


async def _free_after_call(
    session: AsyncSession, call: Call, policy: CallPolicy, now: datetime, wrap_up: bool = True
) -> None:
    if call.operator_id is None:
        return
    seat = await repository.locked_seat(session, user_id=call.operator_id)
    if seat is None or seat.call_id != call.id:
        return
    if wrap_up:
        queue.after_call(seat, policy, now)
    else:
        seat.call_id = None
    seat.updated_at = now
    announce_presence(session, seat, await _username(session, seat.user_id), reason="call_ended")


async def overflow(session: AsyncSession, *, call: Call, now: datetime) -> bool:
    """A caller who waited too long is offered voicemail."""
    if call.status != CallStatus.WAITING:
        return False
    call.status, call.voicemail_reason = CallStatus.VOICEMAIL, VoicemailReason.OVERFLOW
    add_event(session, call, CallEventKind.VOICEMAIL, now, reason=VoicemailReason.OVERFLOW)
    reroute(session, call)
    announce(session, call, "voicemail")
    return True


# Presence ---------------------------------------------------------------------------------------


def _set(seat: OperatorSeat, presence: Presence, now: datetime) -> None:
    was_free = seat.presence == Presence.AVAILABLE
    seat.presence, seat.presence_since, seat.updated_at = presence, now, now
    seat.wrap_up_until = None
    if presence == Presence.AVAILABLE and not was_free:
        seat.idle_since = now


def announce_presence(session: AsyncSession, seat: OperatorSeat, username: str | None, **extra: Any) -> None:
    """Tell the consoles an operator's presence changed."""
    payload = {
        "type": "seat.presence",
        "operator_id": seat.user_id,
        "operator": username,
        "presence": seat.presence,
        "since": seat.presence_since,
        "wrap_up_until": seat.wrap_up_until,
        **extra,
    }
    publish_after_commit(session, BusEvent(CONSOLE_CHANNEL, payload))


async def _username(session: AsyncSession, user_id: int) -> str | None:
    user = await session.get(User, user_id)
    return user.username if user else None


async def set_presence(
    session: AsyncSession, *, user_id: int, presence: Presence, endpoint: str | None, policy: CallPolicy, now: datetime
) -> OperatorSeat:
    """An operator shows available, busy, a break or wrap-up, or signs out; a ring at their seat then moves on."""
    await repository.ensure_seat(session, user_id=user_id, now=now)
    seat = await _seat_with_its_call(session, user_id)
    seat.endpoint = endpoint or seat.endpoint
    if not seat.endpoint:
        seat.endpoint = await repository.default_endpoint(session, user_id=user_id, endpoints=policy.operator_endpoints)
    if presence == Presence.AVAILABLE and not seat.endpoint:
        raise DomainError("未配置座席电话，无法示闲", "no phone or SIP address for this seat", 409)
    call = await repository.locked_call(session, call_id=seat.call_id) if seat.call_id else None
    if call is not None and call.status == CallStatus.RINGING and presence != Presence.AVAILABLE:
        await withdraw(session, call=call, reason=f"operator_{presence}", now=now)
    if seat.presence != presence or presence == Presence.WRAP_UP:
        _set(seat, presence, now)
        announce_presence(session, seat, await _username(session, user_id))
    return seat


async def _seat_with_its_call(session: AsyncSession, user_id: int) -> OperatorSeat:
    """The seat locked after its call (the lock order of every transaction), its call unchanged in between."""
    while True:
        seat = await repository.peek_seat(session, user_id=user_id)
        if seat.call_id is not None:
            await repository.locked_call(session, call_id=seat.call_id)
        locked = await repository.locked_seat(session, user_id=user_id)
        assert locked is not None
        if locked.call_id == seat.call_id:
            return locked


# The tick ---------------------------------------------------------------------------------------


async def tick(session: AsyncSession, *, policy: CallPolicy, now: datetime) -> dict[str, int]:
    """Expire unanswered rings, end automatic wrap-ups, offer waiting calls, and overflow those waiting too long."""
    expired = 0
    for candidate in await repository.live_calls(session, statuses=[CallStatus.RINGING]):
        call = await repository.locked_call(session, call_id=candidate.id or 0)
        if call is not None and queue.ring_expired(call, now):
            expired += await ring_unanswered(session, call=call, offer_seq=call.offer_seq, now=now)
    for seat in await repository.wrap_up_seats(session, until=now):
        seat.presence, seat.presence_since = Presence.AVAILABLE, seat.wrap_up_until or now
        seat.wrap_up_until, seat.updated_at = None, now
        announce_presence(session, seat, await _username(session, seat.user_id), reason="wrap_up_over")
    offered = await distribute(session, policy=policy, now=now)
    overflowed = 0
    for call in await repository.waiting_calls(session, lock=True):
        if queue.overflowing(call, policy, now):
            overflowed += await overflow(session, call=call, now=now)
    return {"expired": expired, "offered": offered, "overflowed": overflowed}
