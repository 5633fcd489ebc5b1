"""Twilio Voice: webhooks signed by twilio's RequestValidator, TwiML read with an XML parser, REST calls
going to a local stand-in of Twilio's API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from hotline.auth.models import User
from hotline.calls.models import Call, CallStatus, OperatorSeat
from hotline.channels import spool
from hotline.channels.models import Message
from hotline.channels.spool import Spool
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.tickets.models import Ticket
from tests.calls.conftest import (
    CALLER,
    OPERATORS,
    PUBLIC_URL,
    ConsoleFeed,
    Peers,
    call_of,
    call_sid,
    callbacks_in_queue,
    events_of,
    incoming,
    outside_service_hours,
    parse,
    presence,
    settle,
    sign,
    twilio_post,
    verbs,
    voice_form,
)
from tests.channels.conftest import running_app
from tests.relay import Relay, cuttable_database

GREETING = "欢迎致电12345政务服务便民热线"


async def test_a_call_hears_the_greeting_then_waits_in_the_queue(client: httpx.AsyncClient, db: Database) -> None:
    document = await incoming(client, call_sid(1))
    assert verbs(document) == ["Say", "Enqueue"]  # no menu in front of a human (GB/T 33358)
    say, enqueue = document
    assert GREETING in (say.text or "") and say.get("language") == "zh-CN"
    assert enqueue.get("waitUrl") == PUBLIC_URL + "/channels/twilio/voice/wait"
    assert enqueue.get("action") == PUBLIC_URL + "/channels/twilio/voice/next"
    call = await call_of(db, call_sid(1))
    assert (call.status, call.caller, call.citizen_id is not None) == (CallStatus.WAITING, CALLER, True)
    assert await events_of(db, call.id or 0) == ["arrived", "queued"]


async def test_the_wait_tells_the_place_in_line_over_hold_music(client: httpx.AsyncClient) -> None:
    await incoming(client, call_sid(1))
    await incoming(client, call_sid(2), caller="+8613900139002")
    response = await twilio_post(client, "/channels/twilio/voice/wait", voice_form(call_sid(2), "in-progress"))
    say, play = parse(response.text)
    assert (say.tag, play.tag) == ("Say", "Play")
    assert "您前面还有1位来电" in (say.text or "")
    music = await client.get((play.text or "").removeprefix(PUBLIC_URL))
    assert music.status_code == 200 and music.content[:4] == b"RIFF" and len(music.content) > 100_000


async def test_a_free_operator_is_rung_at_once_and_the_answer_pops_the_caller_up(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], console: ConsoleFeed
) -> None:
    await presence(client, "op_a", "available")
    document = await incoming(client, call_sid(1))
    assert verbs(document) == ["Say", "Dial"]
    dial = document[1]
    call = await call_of(db, call_sid(1))
    assert (
        dial.get("timeout") == "20"
        and dial.get("action") == f"{PUBLIC_URL}/channels/twilio/voice/dial?call={call.id}&offer=1"
    )
    sip = dial[0]
    assert (sip.tag, sip.text) == ("Sip", OPERATORS["op_a"])
    answered = voice_form(call_sid(99), "in-progress", ParentCallSid=call_sid(1))
    assert (await twilio_post(client, sip.get("statusCallback") or "", answered)).status_code == 200
    await settle()
    pops = console.of_type("call.screen_pop")
    assert [p["operator"] for p in pops] == ["op_a"]
    assert pops[0]["caller"] == CALLER and pops[0]["citizen"]["identities"] == [{"kind": "phone", "value": CALLER}]
    talking = await call_of(db, call_sid(1))
    assert talking.status == CallStatus.TALKING and talking.operator_id == operators["op_a"].id

    ended = voice_form(call_sid(1), "in-progress", DialCallStatus="completed", DialCallDuration="95")
    after = await twilio_post(client, dial.get("action") or "", ended)
    assert verbs(parse(after.text)) == ["Hangup"]
    done = await call_of(db, call_sid(1))
    assert done.status == CallStatus.COMPLETED and done.answered_at and done.ended_at
    assert await events_of(db, done.id or 0) == ["arrived", "queued", "offered", "answered", "completed"]
    assert await callbacks_in_queue(db) == []


async def test_after_hours_the_caller_leaves_a_message_that_becomes_an_order(
    call_settings: object, db: Database, operators: dict[str, User]
) -> None:
    settings = call_settings.model_copy(update={"call_service_hours": outside_service_hours()})  # type: ignore[attr-defined]
    async with running_app(settings) as client:
        await presence(client, "op_a", "available")  # an operator on the list does not make it service hours
        document = await incoming(client, call_sid(5))
        assert verbs(document) == ["Say", "Record", "Say", "Hangup"]
        assert "非人工服务时间" in (document[0].text or "") and "留下您的诉求" in (document[0].text or "")
        record = document[1]
        assert record.get("maxLength") == "120" and record.get("finishOnKey") == "#"
        recording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0001"
        form = voice_form(call_sid(5), "in-progress", RecordingUrl=recording, RecordingDuration="42")
        thanks = await twilio_post(client, record.get("action") or "", form)
        assert "留言已收到" in thanks.text
        await twilio_post(client, record.get("recordingStatusCallback") or "", {**form, "RecordingStatus": "completed"})
        await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(5), "completed"))
    call = await call_of(db, call_sid(5))
    assert (call.status, call.voicemail_reason, call.recording_url) == ("voicemail", "after_hours", recording)
    async with db.read_session() as session:
        tickets = list((await session.execute(select(Ticket))).scalars())
        messages = list((await session.execute(select(Message))).scalars())
    assert len(tickets) == 1 and recording in tickets[0].content and tickets[0].channel == "phone"
    assert [m.ticket_id for m in messages] == [tickets[0].id]
    assert [(c.phone, c.missed_calls) for c in await callbacks_in_queue(db)] == [(CALLER, 1)]


async def test_waiting_too_long_leads_to_voicemail(call_settings: object, db: Database) -> None:
    settings = call_settings.model_copy(update={"call_max_wait_seconds": 0})  # type: ignore[attr-defined]
    async with running_app(settings) as client:
        await incoming(client, call_sid(7))
        wait = await twilio_post(client, "/channels/twilio/voice/wait", voice_form(call_sid(7), "in-progress"))
        assert "<Leave/>" in wait.text
        left = voice_form(call_sid(7), "in-progress", QueueResult="leave")
        document = await twilio_post(client, "/channels/twilio/voice/next", left)
        tree = parse(document.text)
        assert verbs(tree) == ["Say", "Record", "Say", "Hangup"] and "来电较多" in (tree[0].text or "")
    call = await call_of(db, call_sid(7))
    assert (call.status, call.voicemail_reason) == ("voicemail", "overflow")


async def test_a_caller_hanging_up_in_the_queue_is_abandoned_and_called_back(
    client: httpx.AsyncClient, db: Database
) -> None:
    await incoming(client, call_sid(3))
    await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(3), "completed"))
    await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(3), "completed"))  # a retry
    call = await call_of(db, call_sid(3))
    assert call.status == CallStatus.ABANDONED and call.answered_at is None and call.ended_at is not None
    assert await events_of(db, call.id or 0) == ["arrived", "queued", "abandoned"]
    assert [(c.phone, c.status, c.missed_calls) for c in await callbacks_in_queue(db)] == [(CALLER, "pending", 1)]


async def test_a_queued_call_is_redirected_through_twilio_rest_to_the_operator_who_becomes_free(
    client: httpx.AsyncClient, db: Database, operators: dict[str, User], peers: tuple[Peers, str]
) -> None:
    twilio, _ = peers
    await incoming(client, call_sid(4))
    await presence(client, "op_b", "available")
    call = await call_of(db, call_sid(4))
    assert call.status == CallStatus.RINGING and call.ringing_operator_id == operators["op_b"].id
    [url] = twilio.redirected(call_sid(4))
    assert url == f"{PUBLIC_URL}/channels/twilio/voice/next?call={call.id}&offer=1"
    response = await twilio_post(client, url, voice_form(call_sid(4), "in-progress", QueueResult="redirected"))
    tree = parse(response.text)
    assert verbs(tree) == ["Dial"] and (tree[0][0].tag, tree[0][0].text) == ("Number", OPERATORS["op_b"])


async def test_unsigned_or_wrongly_signed_webhooks_are_refused_with_nothing_written(
    client: httpx.AsyncClient, db: Database
) -> None:
    form = voice_form(call_sid(8))
    attempts = [
        {},
        {"X-Twilio-Signature": "AAAA"},
        {"X-Twilio-Signature": sign("http://testserver/channels/twilio/voice", form)},
        {"X-Twilio-Signature": sign(PUBLIC_URL + "/channels/twilio/voice", {**form, "From": "+8613000000000"})},
    ]
    for path in ("/channels/twilio/voice", "/channels/twilio/voice/status"):
        for headers in attempts:
            assert (await client.post(path, data=form, headers=headers)).status_code == 403
    async with db.read_session() as session:
        assert (await session.execute(select(func.count()).select_from(Call))).scalar_one() == 0


async def test_replays_of_the_same_call_sid_make_one_call(client: httpx.AsyncClient, db: Database) -> None:
    responses = await asyncio.gather(
        *(twilio_post(client, "/channels/twilio/voice", voice_form(call_sid(9))) for _ in range(4))
    )
    assert [r.status_code for r in responses] == [200] * 4
    async with db.read_session() as session:
        assert (await session.execute(select(func.count()).select_from(Call))).scalar_one() == 1
        seats = (await session.execute(select(func.count()).select_from(OperatorSeat))).scalar_one()
    assert seats == 0


@asynccontextmanager
async def app_over_a_cuttable_link(
    db: Database, call_settings: Settings, tmp_path: Path, **update: object
) -> AsyncIterator[tuple[Relay, httpx.AsyncClient, Settings]]:
    """The app on PostgreSQL through a relay the test cuts and restores, its spool in a folder of the test's."""
    spooled = {"spool_dir": tmp_path / "spool", "spool_replay_seconds": 3600.0}  # the test replays, when it chooses
    async with cuttable_database(db) as (relay, through_relay):
        settings = call_settings.model_copy(update={"database_url": through_relay, **spooled, **update})
        async with running_app(settings) as client:
            yield relay, client, settings


async def replay_spool(client: httpx.AsyncClient, settings: Settings) -> int:
    state = client.app.state  # type: ignore[attr-defined]
    return await spool.replay(state.db, settings, Spool(settings.spool_dir), state.spool_replayers)


@pytest.mark.parametrize("backup", ["+8637012345999", None])
async def test_calls_while_the_database_is_away_go_to_the_backup_line_or_are_asked_to_call_again(
    call_settings: Settings, db: Database, tmp_path: Path, backup: str | None
) -> None:
    caller = "+8613900139002"
    async with app_over_a_cuttable_link(db, call_settings, tmp_path, call_outage_forward_to=backup) as (
        relay,
        client,
        settings,
    ):
        waiting = await incoming(client, call_sid(1))  # in the queue before the cut
        assert verbs(waiting) == ["Say", "Enqueue"]
        await relay.cut()
        arriving = await incoming(client, call_sid(2), caller=caller)
        held = await twilio_post(client, "/channels/twilio/voice/wait", voice_form(call_sid(1), "in-progress"))
        await relay.up()
        await replay_spool(client, settings)
    assert held.status_code == 200 and verbs(parse(held.text)) == ["Play"]  # the first caller keeps waiting
    if backup:
        assert verbs(arriving) == ["Say", "Dial"] and arriving[1][0].text == backup
        assert await callbacks_in_queue(db) == []  # the backup line took the call
        return
    assert verbs(arriving) == ["Say", "Hangup"] and "请稍后再拨" in (arriving[0].text or "")
    missed = await call_of(db, call_sid(2))  # recorded once the database is back, as a call nobody answered
    assert (missed.status, missed.caller) == (CallStatus.ABANDONED, caller)
    assert [(entry.phone, entry.missed_calls) for entry in await callbacks_in_queue(db)] == [(caller, 1)]


async def test_a_call_that_ends_while_the_database_is_away_is_recorded_when_it_is_back(
    call_settings: Settings, db: Database, operators: dict[str, User], tmp_path: Path
) -> None:
    async with app_over_a_cuttable_link(db, call_settings, tmp_path) as (relay, client, settings):
        await presence(client, "op_a", "available")
        await presence(client, "op_b", "available")
        talking, ringing = await incoming(client, call_sid(1)), await incoming(client, call_sid(2))
        first_dial, second_dial = talking[1], ringing[1]
        answered = voice_form(call_sid(99), "in-progress", ParentCallSid=call_sid(1))
        await twilio_post(client, first_dial[0].get("statusCallback") or "", answered)
        await relay.cut()

        ended = voice_form(call_sid(1), "in-progress", DialCallStatus="completed", DialCallDuration="95")
        after_talk = await twilio_post(client, first_dial.get("action") or "", ended)
        hung_up = await twilio_post(client, "/channels/twilio/voice/status", voice_form(call_sid(1), "completed"))
        rang_out = voice_form(call_sid(2), "in-progress", DialCallStatus="no-answer")
        after_ring = await twilio_post(client, second_dial.get("action") or "", rang_out)
        ended_by = utcnow()
        assert [r.status_code for r in (after_talk, hung_up, after_ring)] == [200, 200, 200]  # not Twilio's error
        assert verbs(parse(after_talk.text)) == ["Hangup"]
        assert verbs(parse(after_ring.text)) == ["Say", "Hangup"] and "请稍后再拨" in after_ring.text
        assert len(Spool(settings.spool_dir).pending()) == 3
        assert (await call_of(db, call_sid(1))).status == CallStatus.TALKING  # nothing written meanwhile

        await relay.up()
        assert await replay_spool(client, settings) == 3
        assert Spool(settings.spool_dir).pending() == []
    done = await call_of(db, call_sid(1))
    assert done.status == CallStatus.COMPLETED and done.ended_at is not None and done.ended_at <= ended_by
    assert (await events_of(db, done.id or 0))[-2:] == ["answered", "completed"]
    let_ring = await call_of(db, call_sid(2))
    assert let_ring.ringing_operator_id != operators["op_b"].id and "withdrawn" in await events_of(db, let_ring.id or 0)


async def test_a_voicemail_left_while_the_database_is_away_becomes_an_order_when_it_is_back(
    call_settings: Settings, db: Database, operators: dict[str, User], tmp_path: Path
) -> None:
    recording = "https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE0002"
    after_hours = outside_service_hours()
    async with app_over_a_cuttable_link(db, call_settings, tmp_path, call_service_hours=after_hours) as (
        relay,
        client,
        settings,
    ):
        record = (await incoming(client, call_sid(5)))[1]
        await relay.cut()
        form = voice_form(call_sid(5), "in-progress", RecordingUrl=recording, RecordingDuration="42")
        thanks = await twilio_post(client, record.get("action") or "", form)
        ready = {**form, "RecordingStatus": "completed"}
        kept = await twilio_post(client, record.get("recordingStatusCallback") or "", ready)
        assert (thanks.status_code, kept.status_code) == (200, 200) and "留言已收到" in thanks.text
        async with db.read_session() as session:
            assert (await session.execute(select(func.count()).select_from(Ticket))).scalar_one() == 0

        await relay.up()
        assert await replay_spool(client, settings) == 2
    async with db.read_session() as session:
        tickets = list((await session.execute(select(Ticket))).scalars())
    assert len(tickets) == 1 and recording in tickets[0].content  # the two reports of one recording: one order
    assert (await call_of(db, call_sid(5))).recording_url == recording
