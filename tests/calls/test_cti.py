"""A local switch drives the same queue, presence and screen pop through the signed CTI API, without Twilio."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlmodel import col

from hotline.auth.models import User
from hotline.calls import cti, flows
from hotline.calls.models import Call
from hotline.calls.policy import policy_from
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.tickets.models import Ticket
from tests.calls.conftest import (
    CALLER,
    CTI_SECRET,
    ConsoleFeed,
    Peers,
    callbacks_in_queue,
    events_of,
    outside_service_hours,
    presence,
    settle,
)
from tests.channels.conftest import running_app

SEATS = {"op_a": "8001", "op_b": "8002"}


async def cti_event(client: httpx.AsyncClient, event: str, call_id: str, **fields: Any) -> httpx.Response:
    body = json.dumps({"event": event, "call_id": call_id, **fields}).encode()
    headers = {"Content-Type": "application/json", **cti.signed_headers(CTI_SECRET, body)}
    return await client.post("/channels/cti/events", content=body, headers=headers)


async def new_call(client: httpx.AsyncClient, call_id: str, caller: str = CALLER) -> dict[str, Any]:
    response = await cti_event(client, "incoming", call_id, caller=caller, callee="12345")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def call_by_switch_id(db: Database, call_id: str) -> Call:
    async with db.read_session() as session:
        return (await session.execute(select(Call).where(col(Call.external_id) == call_id))).scalar_one()


async def seats_on(client: httpx.AsyncClient, *names: str) -> None:
    for name in names:
        await presence(client, name, "available", endpoint=SEATS[name])


async def test_a_call_from_the_switch_is_connected_answered_popped_up_and_recorded(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], console: ConsoleFeed
) -> None:
    await seats_on(client, "op_a")
    reply = await new_call(client, "pbx-1")
    assert (reply["action"], reply["seat"], reply["offer"]) == ("connect", "8001", 1)
    answered = await cti_event(client, "answered", "pbx-1", seat="8001")
    assert answered.json()["status"] == "talking"
    await settle()
    [pop] = console.of_type("call.screen_pop")
    assert pop["operator"] == "op_a" and pop["caller"] == CALLER
    assert (await cti_event(client, "hangup", "pbx-1")).json()["status"] == "completed"
    recording = "http://pbx.hotline.example.cn/rec/pbx-1.wav"
    assert (
        await cti_event(client, "recording", "pbx-1", recording_url=recording, recording_seconds=80)
    ).status_code == 200
    call = await call_by_switch_id(db, "pbx-1")
    assert (call.status, call.operator_id, call.recording_url) == ("completed", operators["op_a"].id, recording)
    assert await events_of(db, call.id or 0) == ["arrived", "queued", "offered", "answered", "completed", "recording"]


async def test_a_queued_call_is_sent_to_the_seat_that_becomes_free_by_a_signed_command(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], peers: tuple[Peers, str]
) -> None:
    switch, _ = peers
    assert (await new_call(client, "pbx-2"))["action"] == "queue"
    await seats_on(client, "op_b")
    assert switch.commands == [{"command": "connect", "call_id": "pbx-2", "reference": 1, "offer": 1, "seat": "8002"}]
    await presence(client, "op_b", "break")  # on a break mid-ring: the switch is told to hold the caller again
    assert switch.commands[-1]["command"] == "hold"
    await seats_on(client, "op_a")
    assert switch.commands[-1] == {"command": "connect", "call_id": "pbx-2", "reference": 1, "offer": 2, "seat": "8001"}
    await cti_event(client, "answered", "pbx-2", seat="8001")
    assert (await call_by_switch_id(db, "pbx-2")).operator_id == operators["op_a"].id


async def test_the_job_moves_an_unanswered_ring_to_the_next_seat(
    client: httpx.AsyncClient,
    db: Database,
    operators: dict[str, User],
    peers: tuple[Peers, str],
    call_settings: Settings,
) -> None:
    switch, _ = peers
    await seats_on(client, "op_a", "op_b")
    assert (await new_call(client, "pbx-3"))["seat"] == "8001"
    later = utcnow() + timedelta(seconds=30)
    await flows.tick(db, flows.build_switches(call_settings), policy_from(call_settings), later)
    assert switch.commands[-1]["seat"] == "8002" and switch.commands[-1]["offer"] == 2
    call = await call_by_switch_id(db, "pbx-3")
    assert call.ringing_operator_id == operators["op_b"].id


async def test_a_caller_who_hangs_up_waiting_is_abandoned_once(client: httpx.AsyncClient, db: Database) -> None:
    await new_call(client, "pbx-4")
    for _ in range(2):  # the switch retries
        assert (await cti_event(client, "hung_up", "pbx-4")).json()["status"] == "abandoned"
    call = await call_by_switch_id(db, "pbx-4")
    assert await events_of(db, call.id or 0) == ["arrived", "queued", "abandoned"]
    assert [(c.phone, c.missed_calls) for c in await callbacks_in_queue(db)] == [(CALLER, 1)]
    assert (await new_call(client, "pbx-4"))["status"] == "abandoned"  # a replayed "incoming" changes nothing


async def test_after_hours_the_switch_takes_a_message_that_becomes_an_order(
    call_settings: Settings, db: Database
) -> None:
    settings = call_settings.model_copy(update={"call_service_hours": outside_service_hours()})
    async with running_app(settings) as client:
        reply = await new_call(client, "pbx-5")
        assert (reply["action"], reply["voicemail_reason"]) == ("voicemail", "after_hours")
        url = "https://pbx.hotline.example.cn/rec/pbx-5.wav"
        await cti_event(client, "recording_ready", "pbx-5", recording_url=url, recording_seconds=31)
        await cti_event(client, "hangup", "pbx-5")
    async with db.read_session() as session:
        contents = [t.content for t in (await session.execute(select(Ticket))).scalars()]
    assert contents == [f"电话留言（录音31秒）：{url}"]


async def test_unsigned_stale_or_malformed_events_are_refused_with_nothing_written(
    client: httpx.AsyncClient, db: Database
) -> None:
    body = json.dumps({"event": "incoming", "call_id": "pbx-9", "caller": CALLER}).encode()
    old = cti.signed_headers(CTI_SECRET, body, now=time.time() - 3600)
    attempts = [
        {},
        {"X-Hotline-Timestamp": str(int(time.time())), "X-Hotline-Signature": "sha256=00"},
        cti.signed_headers("another-secret", body),
        old,
    ]
    for headers in attempts:
        assert (await client.post("/channels/cti/events", content=body, headers=headers)).status_code == 403
    for document in ({"event": "transfer", "call_id": "x"}, {"event": "incoming", "call_id": "bad id!"}, []):
        raw = json.dumps(document).encode()
        response = await client.post("/channels/cti/events", content=raw, headers=cti.signed_headers(CTI_SECRET, raw))
        assert response.status_code == 400, response.text
    assert (await cti_event(client, "answered", "pbx-unknown", seat="8001")).status_code == 404
    async with db.read_session() as session:
        assert (await session.execute(select(func.count()).select_from(Call))).scalar_one() == 0
