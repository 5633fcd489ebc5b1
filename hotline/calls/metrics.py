"""Call metrics (话务指标): every formula defined once here (docs/CALLS.md explains each).

A call's **wait** is from entering the queue to an operator's answer (or to hanging up); its **talk**
is from the answer to the end. For a set ``C`` of inbound calls (those that entered the queue in a
period, grouped by hour, day or operator):

- offered ``O`` (呼入人工量): calls of ``C`` whose outcome is decided: answered, abandoned or sent to
  voicemail for waiting too long (a call still waiting or ringing is in no count yet);
- answered ``A`` (人工接听量): calls of ``O`` an operator answered;
- abandoned (放弃量): calls of ``O`` whose caller hung up before an answer;
- overflowed (转留言量): calls of ``O`` sent to voicemail after the longest allowed wait;
- connection rate (接通率) = ``A / O``;
- answered within 15 s (15秒接通率) = calls of ``A`` with wait ≤ 15 s / ``O``, and the same with 20 s;
- average wait (平均等待时长) = mean wait of the calls of ``A``;
- average talk (平均通话时长) = mean talk of the calls of ``A`` that have ended.

Calls outside service hours never enter the queue; they are counted apart (``after_hours``).
By operator, a call belongs to whoever answered it, else to the last operator whose phone rang for
it; a call that never rang anywhere belongs to no operator. So the rows always add up to the total.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.calls.models import Call, CallDirection, CallStatus, VoicemailReason
from hotline.timefmt import to_local

SERVICE_LEVELS = (15, 20)  # seconds: GB/T 33358 asks for 15; 20 is the common 80/20 service level
RATE_DIGITS = 4
SECONDS_DIGITS = 1


class GroupBy(StrEnum):
    HOUR = "hour"
    DAY = "day"
    OPERATOR = "operator"


def wait_seconds(call: Call) -> float | None:
    """From entering the queue to the answer, or to hanging up unanswered."""
    start = call.queued_at
    end = call.answered_at or (call.ended_at if call.status == CallStatus.ABANDONED else None)
    return (end - start).total_seconds() if start and end else None


def talk_seconds(call: Call) -> float | None:
    """From the answer to the end of the call."""
    if call.answered_at is None or call.ended_at is None:
        return None
    return (call.ended_at - call.answered_at).total_seconds()


def is_offered(call: Call) -> bool:
    """In ``O``: entered the queue and its outcome is decided."""
    if call.direction != CallDirection.INBOUND or call.queued_at is None:
        return False
    return call.answered_at is not None or call.status in (CallStatus.ABANDONED, CallStatus.VOICEMAIL)


def is_answered(call: Call) -> bool:
    return is_offered(call) and call.answered_at is not None


def is_abandoned(call: Call) -> bool:
    return is_offered(call) and call.status == CallStatus.ABANDONED


def is_overflowed(call: Call) -> bool:
    return is_offered(call) and call.voicemail_reason == VoicemailReason.OVERFLOW


def is_after_hours(call: Call) -> bool:
    return call.direction == CallDirection.INBOUND and call.voicemail_reason == VoicemailReason.AFTER_HOURS


def answered_within(call: Call, seconds: int) -> bool:
    wait = wait_seconds(call)
    return is_answered(call) and wait is not None and wait <= seconds


def _rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, RATE_DIGITS) if denominator else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), SECONDS_DIGITS) if values else None


@dataclass(frozen=True)
class CallMetrics:
    """The counts and rates of one group of calls."""

    offered: int
    answered: int
    abandoned: int
    overflowed: int
    after_hours: int
    connection_rate: float | None
    answered_within_15s_rate: float | None
    answered_within_20s_rate: float | None
    average_wait_seconds: float | None
    average_talk_seconds: float | None


def measure(calls: Iterable[Call]) -> CallMetrics:
    """The metrics of a set of calls."""
    calls = list(calls)
    offered = [c for c in calls if is_offered(c)]
    answered = [c for c in offered if is_answered(c)]
    within = {s: sum(answered_within(c, s) for c in answered) for s in SERVICE_LEVELS}
    talks = [t for c in answered if (t := talk_seconds(c)) is not None]
    return CallMetrics(
        offered=len(offered),
        answered=len(answered),
        abandoned=sum(is_abandoned(c) for c in offered),
        overflowed=sum(is_overflowed(c) for c in offered),
        after_hours=sum(is_after_hours(c) for c in calls),
        connection_rate=_rate(len(answered), len(offered)),
        answered_within_15s_rate=_rate(within[15], len(offered)),
        answered_within_20s_rate=_rate(within[20], len(offered)),
        average_wait_seconds=_mean([w for c in answered if (w := wait_seconds(c)) is not None]),
        average_talk_seconds=_mean(talks),
    )


def group_key(by: GroupBy) -> Callable[[Call], Hashable]:
    """The group a call belongs to: the local hour or day it arrived, or its operator."""
    if by is GroupBy.HOUR:
        return lambda c: to_local(c.arrived_at).replace(minute=0, second=0, microsecond=0).isoformat()
    if by is GroupBy.DAY:
        return lambda c: to_local(c.arrived_at).date().isoformat()
    return lambda c: c.operator_id or c.offered_to_id


def grouped(calls: Iterable[Call], by: GroupBy) -> dict[Hashable, CallMetrics]:
    """The metrics of each group, in the order of their keys (no operator last)."""
    key = group_key(by)
    groups: dict[Hashable, list[Call]] = {}
    for call in calls:
        groups.setdefault(key(call), []).append(call)
    ordered = sorted(groups, key=lambda k: (k is None, str(k) if by is not GroupBy.OPERATOR else k or 0))
    return {k: measure(groups[k]) for k in ordered}


async def calls_between(session: AsyncSession, *, start: datetime, end: datetime) -> list[Call]:
    """Inbound calls that arrived in ``[start, end)``."""
    query = select(Call).where(
        col(Call.direction) == CallDirection.INBOUND,
        col(Call.arrived_at) >= start,
        col(Call.arrived_at) < end,
        or_(col(Call.queued_at).is_not(None), col(Call.voicemail_reason).is_not(None)),
    )
    return list((await session.execute(query.order_by(col(Call.arrived_at)))).scalars())


MAX_PERIOD = timedelta(days=93)
