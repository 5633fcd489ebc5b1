"""The queue to operators: presence, the longest idle operator first, rings that move on, and no call lost."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta

import httpx
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import col, select

from hotline.auth.models import User
from hotline.calls import flows, queue
from hotline.calls.models import Call, CallStatus, OperatorSeat, Presence
from hotline.calls.policy import policy_from
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from tests.calls.conftest import (
    OPERATORS,
    ConsoleFeed,
    Peers,
    call_of,
    call_sid,
    events_of,
    incoming,
    parse,
    presence,
    settle,
    twilio_post,
    verbs,
    voice_form,
)
from tests.conftest import login

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=utcnow().tzinfo)


def _seat(user_id: int, presence: Presence, idle: int | None, call_id: int | None = None) -> OperatorSeat:
    since = T0 + timedelta(seconds=idle or 0)
    return OperatorSeat(
        user_id=user_id, presence=presence, presence_since=since, idle_since=since, endpoint="sip:x", call_id=call_id
    )


def _call(call_id: int, queued: int, status: CallStatus = CallStatus.WAITING) -> Call:
    at = T0 + timedelta(seconds=queued)
    return Call(id=call_id, source="twilio", status=status, arrived_at=at, queued_at=at)


def test_the_oldest_call_goes_to_the_longest_idle_free_seat() -> None:
    calls = [_call(1, 30), _call(2, 10), _call(3, 20)]
    seats = [
        _seat(10, Presence.AVAILABLE, 5),
        _seat(11, Presence.AVAILABLE, 1),
        _seat(12, Presence.BREAK, 0),
        _seat(13, Presence.AVAILABLE, 0, call_id=99),  # on a call
        _seat(14, Presence.BUSY, 0),
    ]
    pairs = queue.match(calls, seats, T0 + timedelta(minutes=1))
    assert [(c.id, s.user_id) for c, s in pairs] == [(2, 11), (3, 10)]


def test_a_wrap_up_that_ran_its_time_counts_as_idle_since_it_ended() -> None:
    ending = _seat(20, Presence.WRAP_UP, 0)
    ending.wrap_up_until = T0 + timedelta(seconds=30)
    available = _seat(21, Presence.AVAILABLE, 10)
    assert queue.match([_call(1, 0)], [ending, available], T0 + timedelta(seconds=20))[0][1].user_id == 21
    pairs = queue.match([_call(1, 0), _call(2, 1)], [ending, available], T0 + timedelta(seconds=40))
    assert [s.user_id for _, s in pairs] == [21, 20]


@given(
    st.lists(st.tuples(st.integers(0, 100), st.sampled_from(list(CallStatus))), max_size=12),
    st.lists(st.tuples(st.sampled_from(list(Presence)), st.integers(0, 100), st.booleans()), max_size=8),
)
def test_a_match_never_gives_one_call_or_one_seat_twice(
    calls: list[tuple[int, CallStatus]], seats: list[tuple[Presence, int, bool]]
) -> None:
    waiting = [_call(i + 1, q, s) for i, (q, s) in enumerate(calls)]
    free = [_seat(100 + i, p, idle, call_id=7 if busy else None) for i, (p, idle, busy) in enumerate(seats)]
    pairs = queue.match(waiting, free, T0 + timedelta(hours=1))
    assert len({c.id for c, _ in pairs}) == len(pairs) == len({s.user_id for _, s in pairs})
    assert all(
        c.status == CallStatus.WAITING and s.presence == Presence.AVAILABLE and s.call_id is None for c, s in pairs
    )
    expected = min(
        sum(s == CallStatus.WAITING for _, s in calls), sum(p == Presence.AVAILABLE and not b for p, _, b in seats)
    )
    assert len(pairs) == expected
    assert [queue.queue_order(c) for c, _ in pairs] == sorted(queue.queue_order(c) for c, _ in pairs)


async def test_calls_go_to_operators_in_the_order_they_became_idle(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    for name in ("op_c", "op_a", "op_b"):
        await presence(client, name, "available")
    for n in (1, 2, 3):
        await incoming(client, call_sid(n), caller=f"+861390013900{n}")
    rung = [(await call_of(db, call_sid(n))).ringing_operator_id for n in (1, 2, 3)]
    assert rung == [operators["op_c"].id, operators["op_a"].id, operators["op_b"].id]


async def test_an_operator_going_on_break_mid_ring_passes_the_call_to_the_next_idle_one(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], peers: tuple[Peers, str], console: ConsoleFeed
) -> None:
    twilio, _ = peers
    await presence(client, "op_a", "available")
    await presence(client, "op_b", "available")
    dial = (await incoming(client, call_sid(1)))[1]
    assert dial[0].text == OPERATORS["op_a"]
    seat = await presence(client, "op_a", "break")
    assert seat["presence"] == "break" and seat["call_id"] is None
    call = await call_of(db, call_sid(1))
    assert (call.status, call.ringing_operator_id, call.offer_seq) == ("ringing", operators["op_b"].id, 2)
    [url] = twilio.redirected(call_sid(1))  # Twilio is told to ring op_b instead
    document = parse((await twilio_post(client, url, voice_form(call_sid(1), "in-progress"))).text)
    assert (document[0][0].tag, document[0][0].text) == ("Number", OPERATORS["op_b"])

    late = voice_form(call_sid(50), "in-progress", ParentCallSid=call_sid(1))  # op_a's old ring answered late
    await twilio_post(client, dial[0].get("statusCallback") or "", late)
    assert (await call_of(db, call_sid(1))).status == CallStatus.RINGING
    stale = voice_form(call_sid(1), "in-progress", DialCallStatus="canceled")  # op_a's <Dial> reports back late
    stale_answer = parse((await twilio_post(client, dial.get("action") or "", stale)).text)
    assert verbs(stale_answer) == ["Dial"] and stale_answer[0][0].text == OPERATORS["op_b"]
    await settle()
    assert [e["operator"] for e in console.of_type("call.offered")] == ["op_a", "op_b"]
    assert await events_of(db, call.id or 0) == ["arrived", "queued", "offered", "withdrawn", "offered"]


async def test_with_nobody_else_free_the_call_goes_back_to_the_queue_first_in_line(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], peers: tuple[Peers, str]
) -> None:
    twilio, _ = peers
    await presence(client, "op_a", "available")
    await incoming(client, call_sid(1))
    await incoming(client, call_sid(2), caller="+8613900139002")
    await presence(client, "op_a", "busy")
    first = await call_of(db, call_sid(1))
    assert first.status == CallStatus.WAITING and first.ringing_operator_id is None
    [url] = twilio.redirected(call_sid(1))
    assert verbs(parse((await twilio_post(client, url, voice_form(call_sid(1), "in-progress"))).text)) == ["Enqueue"]
    await presence(client, "op_b", "available")
    assert (await call_of(db, call_sid(1))).ringing_operator_id == operators["op_b"].id  # still first in line
    assert (await call_of(db, call_sid(2))).status == CallStatus.WAITING


async def test_an_unanswered_ring_moves_on_and_sets_the_operator_busy(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    await presence(client, "op_a", "available")
    await presence(client, "op_b", "available")
    dial = (await incoming(client, call_sid(1)))[1]
    no_answer = voice_form(call_sid(1), "in-progress", DialCallStatus="no-answer")
    document = parse((await twilio_post(client, dial.get("action") or "", no_answer)).text)
    assert verbs(document) == ["Dial"] and document[0][0].text == OPERATORS["op_b"]
    headers = await login(client, "op_a")
    mine = (await client.get("/api/v1/seats/me", headers=headers)).json()
    assert (mine["presence"], mine["presence_label"]) == ("busy", "示忙")


async def test_the_job_moves_a_ring_on_when_the_switch_never_reports(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], call_settings: Settings
) -> None:
    await presence(client, "op_a", "available")
    await incoming(client, call_sid(1))
    await presence(client, "op_b", "available")
    switches, policy = flows.build_switches(call_settings), policy_from(call_settings)
    assert (await flows.tick(db, switches, policy, utcnow()))["expired"] == 0
    result = await flows.tick(db, switches, policy, utcnow() + timedelta(seconds=26))
    assert result == {"expired": 1, "offered": 1, "overflowed": 0}
    assert (await call_of(db, call_sid(1))).ringing_operator_id == operators["op_b"].id


async def test_a_seat_the_switch_cannot_ring_gives_the_call_back_to_the_queue(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], peers: tuple[Peers, str]
) -> None:
    twilio, _ = peers
    await incoming(client, call_sid(1))
    twilio.refuse = True
    await presence(client, "op_a", "available")
    call = await call_of(db, call_sid(1))
    assert call.status == CallStatus.WAITING and call.not_before is not None
    assert await events_of(db, call.id or 0) == ["arrived", "queued", "offered", "withdrawn"]


async def test_wrap_up_keeps_the_operator_free_of_calls_for_its_time(
    call_settings: Settings, db: Database, operators: dict[str, User]
) -> None:
    from tests.channels.conftest import running_app

    settings = call_settings.model_copy(update={"call_wrap_up_seconds": 30})
    async with running_app(settings) as client:
        await presence(client, "op_a", "available")
        dial = (await incoming(client, call_sid(1)))[1]
        leg = voice_form(call_sid(60), "in-progress", ParentCallSid=call_sid(1))
        await twilio_post(client, dial[0].get("statusCallback") or "", leg)
        await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(1), "completed"))
        await incoming(client, call_sid(2), caller="+8613900139002")
        seat = (await client.get("/api/v1/seats/me", headers=await login(client, "op_a"))).json()
        assert (seat["presence"], seat["presence_label"]) == ("wrap_up", "话后处理")
        assert (await call_of(db, call_sid(2))).status == CallStatus.WAITING
        switches, policy = flows.build_switches(settings), policy_from(settings)
        await flows.tick(db, switches, policy, utcnow() + timedelta(seconds=31))
    assert (await call_of(db, call_sid(2))).ringing_operator_id == operators["op_a"].id
    done = await call_of(db, call_sid(1))
    assert done.status == CallStatus.COMPLETED


async def test_no_call_is_lost_while_operators_change_presence_mid_ring(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    """Calls arrive while three operators flip between available, break and busy, all at once."""
    rng = random.Random(6)
    headers = {name: await login(client, name) for name in OPERATORS}

    async def flip(name: str) -> None:
        for _ in range(12):
            value = rng.choice(["available", "available", "break", "busy"])
            response = await client.put("/api/v1/seats/me", json={"presence": value}, headers=headers[name])
            assert response.status_code == 200, response.text

    async def call(n: int) -> None:
        await incoming(client, call_sid(100 + n), caller=f"+86139001{n:05d}")

    await asyncio.gather(*(flip(name) for name in OPERATORS), *(call(n) for n in range(20)))
    async with db.read_session() as session:
        calls = list((await session.execute(select(Call))).scalars())
        seats = {s.user_id: s for s in (await session.execute(select(OperatorSeat))).scalars()}
    assert len(calls) == 20
    for found in calls:  # every call is waiting, or ringing at exactly the seat that holds it
        assert found.status in (CallStatus.WAITING, CallStatus.RINGING), found
        if found.status == CallStatus.RINGING:
            assert seats[found.ringing_operator_id or 0].call_id == found.id
    held = [s.call_id for s in seats.values() if s.call_id is not None]
    assert len(held) == len(set(held)) == sum(c.status == CallStatus.RINGING for c in calls)
    for name in OPERATORS:
        await client.put("/api/v1/seats/me", json={"presence": "available"}, headers=headers[name])
    async with db.read_session() as session:
        ringing = (await session.execute(select(Call).where(col(Call.status) == "ringing"))).scalars().all()
    assert len(ringing) == 3  # everyone available again: three calls ring, the rest wait in order


async def test_a_supervisor_signs_out_a_seat_left_available_and_its_ring_moves_on(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], staff: dict[str, User]
) -> None:
    await presence(client, "op_a", "available")
    await presence(client, "op_b", "available")
    await incoming(client, call_sid(1))
    op_a = operators["op_a"].id
    refused = await client.put(
        f"/api/v1/seats/{op_a}", json={"presence": "offline"}, headers=await login(client, "op_b")
    )
    assert refused.status_code == 403
    supervisor = await login(client, "supervisor1")
    seat = await client.put(f"/api/v1/seats/{op_a}", json={"presence": "offline"}, headers=supervisor)
    assert (seat.json()["presence_label"], seat.json()["call_id"]) == ("未签入", None)
    assert (await call_of(db, call_sid(1))).ringing_operator_id == operators["op_b"].id
    listed = (await client.get("/api/v1/seats", headers=supervisor)).json()
    assert {(s["operator"], s["presence"]) for s in listed} == {("op_a", "offline"), ("op_b", "available")}
    nobody = await client.put(
        f"/api/v1/seats/{staff['dept_zhujian1'].id}", json={"presence": "available"}, headers=supervisor
    )
    assert nobody.status_code == 404
