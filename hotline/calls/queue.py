"""The queue's rules, without I/O: who is free, which call goes to whom, and what is due when.

Calls wait in the order they entered the queue (a call whose ring went unanswered keeps its place,
so it is first again); the longest idle free operator gets the next call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from hotline.calls.models import Call, CallStatus, OperatorSeat, Presence
from hotline.calls.policy import RING_GRACE, CallPolicy


def free_since(seat: OperatorSeat, now: datetime) -> datetime | None:
    """Since when a seat is free for a call, or None when it is not free at ``now``."""
    if seat.call_id is not None or not seat.endpoint:
        return None
    if seat.presence == Presence.AVAILABLE:
        return seat.idle_since or seat.presence_since
    if seat.presence == Presence.WRAP_UP and seat.wrap_up_until is not None and seat.wrap_up_until <= now:
        return seat.wrap_up_until
    return None


def queue_order(call: Call) -> tuple[datetime, int]:
    """A call's place in the queue: when it entered it, then its id."""
    return (call.queued_at or call.arrived_at, call.id or 0)


def match(calls: Sequence[Call], seats: Sequence[OperatorSeat], now: datetime) -> list[tuple[Call, OperatorSeat]]:
    """The oldest waiting calls paired with the longest idle free seats."""
    offerable = sorted(
        (c for c in calls if c.status == CallStatus.WAITING and (c.not_before is None or c.not_before <= now)),
        key=queue_order,
    )
    free = [(since, seat) for seat in seats if (since := free_since(seat, now)) is not None]
    free.sort(key=lambda pair: (pair[0], pair[1].user_id))
    return [(call, seat) for call, (_, seat) in zip(offerable, free, strict=False)]


def position(call: Call, waiting: Iterable[Call]) -> int:
    """1 for the next call to be offered, 2 for the one after, and so on."""
    mine = queue_order(call)
    return 1 + sum(1 for other in waiting if other.id != call.id and queue_order(other) < mine)


def overflowing(call: Call, policy: CallPolicy, now: datetime) -> bool:
    """Whether a waiting call has waited longer than the limit (it is offered voicemail)."""
    return call.status == CallStatus.WAITING and now - (call.queued_at or call.arrived_at) >= policy.max_wait


def ring_expired(call: Call, now: datetime) -> bool:
    """Whether a ring has gone unanswered past its time and the switch did not say so."""
    return (
        call.status == CallStatus.RINGING
        and call.offer_expires_at is not None
        and call.offer_expires_at + RING_GRACE <= now
    )


def wrap_up_over(seat: OperatorSeat, now: datetime) -> bool:
    """Whether an automatic wrap-up has run its time."""
    return seat.presence == Presence.WRAP_UP and seat.wrap_up_until is not None and seat.wrap_up_until <= now


def after_call(seat: OperatorSeat, policy: CallPolicy, now: datetime) -> None:
    """An operator whose call just ended: wrap-up for its time (when they were available), then free."""
    seat.call_id = None
    if seat.presence not in (Presence.AVAILABLE, Presence.WRAP_UP):
        return  # they chose busy or a break during the call: that stays
    if policy.wrap_up <= timedelta(0):
        seat.presence, seat.idle_since, seat.wrap_up_until = Presence.AVAILABLE, now, None
        return
    seat.presence, seat.presence_since = Presence.WRAP_UP, now
    seat.wrap_up_until = now + policy.wrap_up
    seat.idle_since = seat.wrap_up_until


def next_due(
    calls: Iterable[Call], seats: Iterable[OperatorSeat], policy: CallPolicy, after: datetime | None = None
) -> datetime | None:
    """The first instant (after ``after``) at which the tick has something to do: expire a ring, end a wrap-up,
    send a caller who waited too long to voicemail, or offer a call held back after a failed connect."""
    instants: list[datetime] = []
    for call in calls:
        if call.status == CallStatus.RINGING and call.offer_expires_at is not None:
            instants.append(call.offer_expires_at + RING_GRACE)
        elif call.status == CallStatus.WAITING:
            instants.append((call.queued_at or call.arrived_at) + policy.max_wait)
            if call.not_before is not None:
                instants.append(call.not_before)
    instants += [s.wrap_up_until for s in seats if s.presence == Presence.WRAP_UP and s.wrap_up_until is not None]
    return min((i for i in instants if after is None or i > after), default=None)
