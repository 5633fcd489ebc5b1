"""A simulated clock for the phone queue: scripted callers and operators, a switch that only listens.

The script plays every party outside the hotline: callers arrive, wait as long as their patience
allows and talk for a set time; operators pick up a ringing phone after a delay (or let it ring
out, or go on a break mid-ring) and change presence. The queue itself decides everything else,
through the same service functions the webhooks and the job call, at the script's instants. Its
timers (unanswered rings, wrap-up, the longest wait) run when ``queue.next_due`` says they are due.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calls import flows, queue, repository, service
from hotline.calls.models import CallSource, CallStatus, Presence
from hotline.calls.policy import CallPolicy
from hotline.calls.switch import CallBack, Route
from hotline.db import Database

Work = Callable[[AsyncSession, datetime], Awaitable[None]]


@dataclass(frozen=True)
class Caller:
    """One scripted call: when, how long they wait at most, how long they talk once answered."""

    key: str
    at: datetime
    talk: timedelta
    patience: timedelta | None = None  # None: waits as long as the queue lets them


@dataclass
class Operator:
    """How one operator treats a ring: pick up after ``ring_delay``, or not, or leave for a break."""

    user_id: int
    endpoint: str
    ring_delay: timedelta = timedelta(seconds=4)
    let_ring: set[str] = field(default_factory=set)  # callers whose ring they let run out
    break_after: dict[str, timedelta] = field(default_factory=dict)  # caller → a break this far into the ring


class ListeningSwitch:
    """A switch that records what it is told; the simulation reacts to it."""

    def __init__(self) -> None:
        self.told: list[Route] = []

    async def connect(self, route: Route) -> None:
        self.told.append(route)

    async def hold(self, route: Route) -> None:
        self.told.append(route)

    async def voicemail(self, route: Route) -> None:
        self.told.append(route)

    async def dial(self, call_back: CallBack) -> str | None:
        raise AssertionError("no call-backs in the simulation")


class Simulation:
    """Runs a script against the queue in time order."""

    VOICEMAIL_HANG_UP = timedelta(seconds=20)  # a caller sent to voicemail hangs up this long after

    def __init__(self, db: Database, policy: CallPolicy, operators: dict[str, Operator]) -> None:
        self.db, self.policy, self.operators = db, policy, operators
        self.switch = ListeningSwitch()
        self.switches = flows.Switches({CallSource.CTI: self.switch}, outbound=CallSource.CTI)
        self._agenda: list[tuple[datetime, int, Work]] = []
        self._order = itertools.count()
        self._callers: dict[str, Caller] = {}
        self._call_ids: dict[str, int] = {}
        self.now = self._ticked = datetime.min.replace(tzinfo=UTC)

    def at(self, when: datetime, work: Work) -> None:
        heapq.heappush(self._agenda, (when, next(self._order), work))

    def call(self, caller: Caller) -> None:
        self._callers[caller.key] = caller
        self.at(caller.at, lambda s, t: self._arrive(s, t, caller))

    def presence(self, name: str, value: Presence, when: datetime) -> None:
        user_id = self.operators[name].user_id
        endpoint = self.operators[name].endpoint

        async def change(session: AsyncSession, now: datetime) -> None:
            await service.set_presence(
                session, user_id=user_id, presence=value, endpoint=endpoint, policy=self.policy, now=now
            )

        self.at(when, change)

    def call_id(self, key: str) -> int:
        return self._call_ids[key]

    async def run(self) -> None:
        while True:
            due = await self._next_due()
            if self._agenda and (due is None or self._agenda[0][0] <= due):
                when, _, work = heapq.heappop(self._agenda)
                await self._step(when, work)
            elif due is not None:
                self.now = self._ticked = due
                await flows.tick(self.db, self.switches, self.policy, due)
                self._react(due)
            else:
                return

    async def _next_due(self) -> datetime | None:
        async with self.db.read_session() as session:
            calls = await repository.live_calls(session, statuses=[CallStatus.WAITING, CallStatus.RINGING])
            seats = await repository.all_seats(session)
        due = queue.next_due(calls, seats, self.policy, after=self._ticked)
        return None if due is None else max(due, self.now)  # a timer due with an event runs right after it

    async def _step(self, when: datetime, work: Work) -> None:
        self.now = when
        async with flows.unit_of_work(self.db, self.switches) as unit:
            await work(unit.session, when)
            await service.distribute(unit.session, policy=self.policy, now=when)
        self._react(when)

    def _react(self, now: datetime) -> None:
        """What the parties do about the switch's new orders: pick up, let it ring, leave for a break, hang up."""
        told, self.switch.told = self.switch.told, []
        for route in told:
            key = (route.external_id or "").removeprefix("sim-")
            if route.status == CallStatus.VOICEMAIL:
                self.at(now + self.VOICEMAIL_HANG_UP, self._hang_up_if(key, {CallStatus.VOICEMAIL}))
            if route.status != CallStatus.RINGING:
                continue
            name, operator = next((n, o) for n, o in self.operators.items() if o.endpoint == route.endpoint)
            if key in operator.let_ring:
                continue
            if key in operator.break_after:
                self.presence(name, Presence.BREAK, now + operator.break_after[key])
                continue
            self.at(now + operator.ring_delay, self._pick_up(key, route.offer_seq))

    async def _arrive(self, session: AsyncSession, now: datetime, caller: Caller) -> None:
        call, _ = await service.arrive(
            session,
            source=CallSource.CTI,
            external_id=f"sim-{caller.key}",
            caller=f"+86139{len(self._call_ids):08d}",
            callee="12345",
            policy=self.policy,
            now=now,
        )
        assert call.id is not None
        self._call_ids[caller.key] = call.id
        if call.status == CallStatus.VOICEMAIL:
            self.at(now + self.VOICEMAIL_HANG_UP, self._hang_up_if(caller.key, {CallStatus.VOICEMAIL}))
        elif caller.patience is not None:
            self.at(now + caller.patience, self._hang_up_if(caller.key, {CallStatus.WAITING, CallStatus.RINGING}))

    def _pick_up(self, key: str, offer_seq: int) -> Work:
        async def pick_up(session: AsyncSession, now: datetime) -> None:
            call = await repository.locked_call(session, call_id=self._call_ids[key])
            assert call is not None
            if await service.answer(session, call=call, now=now, offer_seq=offer_seq):
                self.at(now + self._callers[key].talk, self._hang_up_if(key, {CallStatus.TALKING}))

        return pick_up

    def _hang_up_if(self, key: str, statuses: set[CallStatus]) -> Work:
        async def hang_up(session: AsyncSession, now: datetime) -> None:
            call = await repository.locked_call(session, call_id=self._call_ids[key])
            assert call is not None
            if call.status in statuses and call.ended_at is None:
                await service.hang_up(session, call=call, policy=self.policy, now=now)

        return hang_up
