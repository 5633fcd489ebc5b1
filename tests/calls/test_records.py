"""Call records: times, wait and talk, the operator, the orders a call produced or touched, who may read them."""

from __future__ import annotations

import httpx

from hotline.auth.models import User
from hotline.db import Database
from tests.calls.conftest import CALLER, call_of, call_sid, incoming, presence, twilio_post, voice_form
from tests.conftest import login


async def _answered_call(client: httpx.AsyncClient, n: int) -> int:
    dial = (await incoming(client, call_sid(n)))[1]
    leg = voice_form(call_sid(900 + n), "in-progress", ParentCallSid=call_sid(n))
    await twilio_post(client, dial[0].get("statusCallback") or "", leg)
    return int(dial.get("action", "").split("call=")[1].split("&")[0])


async def test_a_record_has_its_times_operator_orders_and_history(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    op_a = await login(client, "op_a")
    earlier = await client.post(
        "/api/v1/tickets", json={"citizen_phone": CALLER, "content": "上周反映的路灯问题"}, headers=op_a
    )
    assert earlier.status_code == 201, earlier.text  # an order of the same caller from before the call
    await presence(client, "op_a", "available")
    call_id = await _answered_call(client, 1)
    created = await client.post(
        "/api/v1/tickets", json={"citizen_phone": CALLER, "content": "小区门口井盖缺失，存在安全隐患"}, headers=op_a
    )
    assert created.status_code == 201, created.text
    for ticket in (created.json(), earlier.json()):
        linked = await client.post(f"/api/v1/calls/{call_id}/tickets", json={"ticket_id": ticket["id"]}, headers=op_a)
        assert linked.status_code == 200, linked.text
    await twilio_post(
        client,
        f"/channels/twilio/voice/recording?call={call_id}",
        voice_form(call_sid(1), "completed", RecordingUrl="https://api.twilio.com/rec/RE1", RecordingDuration="64"),
    )
    await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(1), "completed"))

    record = (await client.get(f"/api/v1/calls/{call_id}", headers=op_a)).json()
    assert (record["status_label"], record["operator"], record["recording_url"]) == (
        "已接听",
        "op_a",
        "https://api.twilio.com/rec/RE1",
    )
    assert record["arrived_at"].endswith("+08:00") and record["answered_at"] and record["ended_at"]
    assert 0 <= record["wait_seconds"] < 5 and 0 <= record["talk_seconds"] < 5
    assert [(t["number"], t["relation"]) for t in record["tickets"]] == [
        (created.json()["number"], "produced"),
        (earlier.json()["number"], "touched"),
    ]
    kinds = [e["kind"] for e in record["events"]]
    assert kinds == ["arrived", "queued", "offered", "answered", "ticket", "ticket", "recording", "completed"]
    pop = (await client.get(f"/api/v1/calls/{call_id}/screen-pop", headers=op_a)).json()
    assert {o["number"] for o in pop["open_orders"]} == {created.json()["number"], earlier.json()["number"]}
    assert (await call_of(db, call_sid(1))).recording_seconds == 64


async def test_records_are_for_the_hotline_and_auditors_only(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User]
) -> None:
    await incoming(client, call_sid(2))
    for who, status in (("auditor1", 200), ("supervisor1", 200), ("dept_liangyuan1", 403), ("admin1", 403)):
        response = await client.get("/api/v1/calls", headers=await login(client, who))
        assert response.status_code == status, who
    queue = (await client.get("/api/v1/calls/queue", headers=await login(client, "operator1"))).json()
    assert [(c["caller"], c["status_label"]) for c in queue] == [(CALLER, "排队中")]
    seats = await client.get("/api/v1/seats", headers=await login(client, "dept_liangyuan1"))
    assert seats.status_code == 403
