"""The call-back queue (漏接回拨): missed callers, claimed and called back through Twilio's REST stand-in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import httpx

from hotline.auth.models import User
from hotline.calls.models import CallStatus
from hotline.db import Database
from tests.calls.conftest import (
    CALLER,
    HOTLINE_NUMBER,
    OPERATORS,
    Peers,
    call_of,
    call_sid,
    callbacks_in_queue,
    incoming,
    presence,
    twilio_post,
    voice_form,
)
from tests.conftest import login

OTHER = "+8613900139777"


async def _missed(client: httpx.AsyncClient, n: int, caller: str = CALLER) -> None:
    await incoming(client, call_sid(n), caller=caller)
    await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(n), "completed", caller=caller))


async def test_missed_callers_wait_once_each_oldest_first(
    client: httpx.AsyncClient, db: Database, staff: dict[str, User]
) -> None:
    await _missed(client, 1)
    await _missed(client, 2, OTHER)
    await _missed(client, 3)  # the same caller again: one entry, two missed calls
    listed = (await client.get("/api/v1/calls/callbacks", headers=await login(client, "operator1"))).json()
    assert [(e["phone"], e["missed_calls"], e["status_label"]) for e in listed] == [
        (CALLER, 2, "待回拨"),
        (OTHER, 1, "待回拨"),
    ]
    refused = await client.get("/api/v1/calls/callbacks", headers=await login(client, "dept_zhujian1"))
    assert refused.status_code == 403


async def test_a_call_back_is_an_outbound_call_recorded_on_the_citizen(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], peers: tuple[Peers, str]
) -> None:
    twilio, _ = peers
    await _missed(client, 1)
    [entry] = await callbacks_in_queue(db)
    op_a, op_b = await login(client, "op_a"), await login(client, "op_b")
    assert (await client.post(f"/api/v1/calls/callbacks/{entry.id}/claim", headers=op_a)).status_code == 200
    taken = await client.post(f"/api/v1/calls/callbacks/{entry.id}/claim", headers=op_b)
    assert taken.status_code == 409 and "其他话务员" in taken.json()["message_zh"]

    dialled = await client.post(f"/api/v1/calls/callbacks/{entry.id}/dial", headers=op_a)
    assert dialled.status_code == 200, dialled.text
    call_id = dialled.json()["call_id"]
    [placed] = twilio.created
    assert (placed["To"], placed["From"]) == (OPERATORS["op_a"], HOTLINE_NUMBER)
    document = ElementTree.fromstring(placed["Twiml"])
    number = document.find("Dial/Number")
    assert number is not None and number.text == CALLER
    assert parse_qs(urlsplit(placed["StatusCallback"]).query) == {"call": [str(call_id)]}

    await incoming(client, call_sid(2), caller=OTHER)  # op_a is on the call-back: an inbound call waits
    await presence(client, "op_a", "available")
    assert (await call_of(db, call_sid(2))).status == CallStatus.WAITING

    outbound_sid = call_sid(0xC0FFEE + 1)
    citizen_leg = voice_form(call_sid(77), "in-progress", ParentCallSid=outbound_sid, caller=HOTLINE_NUMBER)
    await twilio_post(client, number.get("statusCallback") or "", citizen_leg)
    await twilio_post(client, placed["StatusCallback"], voice_form(outbound_sid, "completed", caller=OPERATORS["op_a"]))
    record = (await client.get(f"/api/v1/calls/{call_id}", headers=op_a)).json()
    assert (record["direction"], record["status"], record["callee"]) == ("outbound", "completed", CALLER)
    assert record["citizen_id"] == (await call_of(db, call_sid(1))).citizen_id and record["talk_seconds"] is not None
    assert (await call_of(db, call_sid(2))).ringing_operator_id == operators["op_a"].id  # free again after it

    done = await client.post(
        f"/api/v1/calls/callbacks/{entry.id}/result", json={"outcome": "reached", "note": "已解答"}, headers=op_a
    )
    assert (done.json()["status"], done.json()["outcome"]) == ("done", "reached")
    history = (await client.get("/api/v1/calls", params={"phone": CALLER}, headers=op_a)).json()["items"]
    assert [(c["direction"], c["status"]) for c in history] == [("outbound", "completed"), ("inbound", "abandoned")]


async def test_a_caller_not_reached_three_times_is_unreachable(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    await _missed(client, 1)
    [entry] = await callbacks_in_queue(db)
    headers = await login(client, "op_a")
    statuses = []
    for _ in range(3):
        await client.post(f"/api/v1/calls/callbacks/{entry.id}/claim", headers=headers)
        response = await client.post(
            f"/api/v1/calls/callbacks/{entry.id}/result", json={"outcome": "no_answer"}, headers=headers
        )
        statuses.append(response.json()["status"])
    assert statuses == ["pending", "pending", "unreachable"]
    closed = await client.post(f"/api/v1/calls/callbacks/{entry.id}/claim", headers=headers)
    assert closed.status_code == 409


async def test_a_caller_who_calls_again_and_is_answered_leaves_the_queue(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    await _missed(client, 1)
    await presence(client, "op_b", "available")
    dial = (await incoming(client, call_sid(2)))[1]
    leg = voice_form(call_sid(70), "in-progress", ParentCallSid=call_sid(2))
    await twilio_post(client, dial[0].get("statusCallback") or "", leg)
    [entry] = await callbacks_in_queue(db)
    assert (entry.status, entry.outcome, entry.open_key) == ("cancelled", "answered_later", None)
    await _missed(client, 3)  # missed again later: a new entry
    assert [e.status for e in await callbacks_in_queue(db)] == ["cancelled", "pending"]
