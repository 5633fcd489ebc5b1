"""Where the queue meets the switches: a unit of work, then the switch commands its decisions need.

The decision (offer, withdraw, overflow) commits first, under row locks, so two operators never get
the same call; the switch is told afterwards. If the switch refuses to ring a seat, the offer is
taken back in a new transaction and the call waits a moment before it is offered again: it stays
in the queue, never lost between the queue and an operator.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth.service import CurrentUser
from hotline.calls import callbacks, repository, service
from hotline.calls.cti import CtiSwitch
from hotline.calls.models import CallSource, CallStatus
from hotline.calls.policy import OFFER_RETRY_AFTER, CallPolicy, policy_from
from hotline.calls.switch import CallBack, Route, Switch, SwitchError
from hotline.calls.twilio import TwilioSwitch
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.errors import DomainError

log = logging.getLogger(__name__)


@dataclass
class Switches:
    """The switch of each call source, and the one that places call-backs."""

    by_source: dict[str, Switch]
    outbound: str = CallSource.TWILIO

    def of(self, source: str) -> Switch:
        return self.by_source[source]


def build_switches(settings: Settings) -> Switches:
    """Twilio's REST API and the local switch's command URL, as configured."""
    policy = policy_from(settings)
    by_source: dict[str, Switch] = {
        CallSource.TWILIO: TwilioSwitch(settings, policy),
        CallSource.CTI: CtiSwitch(settings),
    }
    return Switches(by_source, outbound=settings.call_switch)


@dataclass
class Work:
    """An open unit of work; ``handled`` names the call whose webhook answer already routes it."""

    session: AsyncSession
    handled: int | None = None
    routes: list[Route] = field(default_factory=list)


@asynccontextmanager
async def unit_of_work(db: Database, switches: Switches) -> AsyncIterator[Work]:
    """One transaction over the queue, then the switch commands of what it decided."""
    async with db.session() as session:
        work = Work(session)
        yield work
        work.routes = service.take_routes(session, handled_call_id=work.handled)
    await carry_out(db, switches, work.routes)


async def carry_out(db: Database, switches: Switches, routes: list[Route], now: datetime | None = None) -> None:
    """Tell each call's switch where it goes; a seat the switch could not ring is given up."""
    for route in routes:
        switch = switches.of(route.source)
        try:
            if route.status == CallStatus.RINGING:
                await switch.connect(route)
            elif route.status == CallStatus.WAITING:
                await switch.hold(route)
            else:
                await switch.voicemail(route)
        except SwitchError as exc:
            log.warning("switch %s could not route call %s (%s): %s", route.source, route.call_id, route.status, exc)
            if route.status == CallStatus.RINGING:
                await _take_back(db, route, now or utcnow())


async def _take_back(db: Database, route: Route, now: datetime) -> None:
    async with db.session() as session:
        call = await repository.locked_call(session, call_id=route.call_id)
        if call is not None and call.status == CallStatus.RINGING and call.offer_seq == route.offer_seq:
            await service.withdraw(
                session, call=call, reason="connect_failed", now=now, retry_at=now + OFFER_RETRY_AFTER
            )
        service.take_routes(session)  # the switch still holds the caller where it was: nothing to tell it


async def tick(db: Database, switches: Switches, policy: CallPolicy, now: datetime) -> dict[str, int]:
    """One pass of the queue's timers, and the switch commands it needs."""
    async with unit_of_work(db, switches) as work:
        result = await service.tick(work.session, policy=policy, now=now)
    return result


async def call_back(
    db: Database, switches: Switches, *, callback_id: int, user: CurrentUser, policy: CallPolicy, now: datetime
) -> int:
    """Place a call-back: the outbound call is recorded first, then the switch dials; a refusal fails the call."""
    async with db.session() as session:
        entry, call = await callbacks.start_dial(
            session,
            callback_id=callback_id,
            user=user,
            source=switches.outbound,
            endpoints=policy.operator_endpoints,
            now=now,
        )
        order = CallBack(call.id or 0, call.caller, entry.phone)
    try:
        external_id = await switches.of(switches.outbound).dial(order)
    except SwitchError as exc:
        log.warning("call-back %s not placed: %s", callback_id, exc)
        async with db.session() as session:
            failed = await repository.locked_call(session, call_id=order.call_id)
            if failed is not None:
                await service.hang_up(session, call=failed, policy=policy, now=utcnow())
        raise DomainError("回拨未能发起，请稍后重试", f"the switch did not place the call: {exc}", 502) from exc
    async with db.session() as session:
        placed = await repository.locked_call(session, call_id=order.call_id)
        if placed is not None and external_id and placed.external_id is None:
            placed.external_id = external_id
    return order.call_id
