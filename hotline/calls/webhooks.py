"""Phone edges: Twilio Voice webhooks (TwiML) and the local switch's CTI events; both drive the same queue.

Every request is signature-checked before anything is written, and idempotent by the switch's call
id: a call is created once (``calls(source, external_id)``), and every later report is a transition
that a repeat finds already made. After each change the queue offers waiting calls to free seats.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calls import cti, hold_music, prompts, queue, recordings, repository, service, twiml
from hotline.calls.flows import Switches, Work, build_switches, unit_of_work
from hotline.calls.models import Call, CallDirection, CallSource, CallStatus, OperatorSeat
from hotline.calls.policy import CallPolicy, policy_from
from hotline.calls.twilio import ANSWERED, ENDED, VoiceRequest, check_signature, query_int
from hotline.channels.inputs import Malformed, parse_form, public_url, read_body
from hotline.channels.intake import attach_window
from hotline.channels.spool import Replayer, Spooled, spool_of
from hotline.config import Settings
from hotline.db import Database
from hotline.db_types import utcnow
from hotline.deps import DB, AppSettings
from hotline.errors import NotFound
from hotline.outage import is_outage

log = logging.getLogger(__name__)
router = APIRouter(prefix="/channels", tags=["channels"])
XML = "application/xml; charset=utf-8"
EMPTY = twiml.response()


def call_policy(request: Request) -> CallPolicy:
    """The call policy of this app, read once from its settings."""
    return policy_of(request.app.state)


def call_switches(request: Request) -> Switches:
    """The switches of this app (tests put stand-ins' adapters here)."""
    return switches_of(request.app.state)


def policy_of(state: Any) -> CallPolicy:
    if getattr(state, "call_policy", None) is None:
        state.call_policy = policy_from(state.settings)
    policy: CallPolicy = state.call_policy
    return policy


def switches_of(state: Any) -> Switches:
    if getattr(state, "call_switches", None) is None:
        state.call_switches = build_switches(state.settings)
    switches: Switches = state.call_switches
    return switches


Policy = Annotated[CallPolicy, Depends(call_policy)]
SwitchSet = Annotated[Switches, Depends(call_switches)]


async def _signed_form(request: Request, settings: Settings) -> list[tuple[str, str]]:
    form = parse_form(await read_body(request, settings.channel_max_body_bytes))
    check_signature(settings, url=public_url(settings.public_url, request), form=form, headers=request.headers)
    return form


def _xml(body: str) -> Response:
    return Response(body, media_type=XML)


async def _twiml_for(
    session: AsyncSession, call: Call, settings: Settings, policy: CallPolicy, greeting: bool = False
) -> str:
    seat = await session.get(OperatorSeat, call.ringing_operator_id) if call.ringing_operator_id else None
    return twiml.for_call(
        policy,
        call,
        endpoint=seat.endpoint if seat else None,
        queue_name=settings.call_twilio_queue,
        record=settings.call_record_conversations,
        greeting=greeting,
    )


async def _arrive(work: Work, voice: VoiceRequest, policy: CallPolicy, now: datetime) -> tuple[Call, bool]:
    """The Twilio call of this webhook, created on its first report; whether this report created it."""
    return await service.arrive(
        work.session,
        source=CallSource.TWILIO,
        external_id=voice.call_sid,
        caller=voice.caller,
        callee=voice.callee,
        policy=policy,
        now=now,
    )


async def _our_call(session: AsyncSession, voice: VoiceRequest, call_id: int | None) -> Call | None:
    """The call a webhook is about: by our id in the callback URL (checked against the CallSid), else by CallSid."""
    if call_id is None:
        return await repository.call_by_external_id(session, source=CallSource.TWILIO, external_id=voice.call_sid)
    call = await repository.locked_call(session, call_id=call_id)
    if call is None or call.source != CallSource.TWILIO:
        return None
    if call.external_id is None and call.direction == CallDirection.OUTBOUND:
        call.external_id = voice.call_sid  # a call-back's status came before the REST answer was stored
    known = {voice.call_sid, voice.parent_call_sid}
    return call if call.external_id in known else None


@router.post("/twilio/voice")
async def twilio_incoming_call(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """A call to the hotline: the greeting, then the queue to the next free operator (or voicemail)."""
    form = await _signed_form(request, settings)
    voice = VoiceRequest.parse(form)
    now = utcnow()
    try:
        async with unit_of_work(db, switches) as work:
            call, _ = await _arrive(work, voice, policy, now)
            await service.distribute(work.session, policy=policy, now=now)
            work.handled = call.id
            body = await _twiml_for(work.session, call, settings, policy, greeting=True)
    except Exception as exc:
        if not is_outage(exc):
            raise
        log.warning("call %s arrived while the database is unreachable: %r", voice.call_sid, exc)
        if not settings.call_outage_forward_to:  # asked to call again: a missed call, to be called back
            spool_of(settings).put(VOICE_MISSED, {"form": form, "query": {}}, now)
        return _xml(twiml.outage(settings.call_outage_forward_to))
    return _xml(body)


# A voice callback that changes a call is spooled when the database cannot be reached (channels/spool.py), and
# replayed with the time it arrived once it answers: Twilio sends none of them again, and a lost call end would
# leave the call, and the operator's seat, talking for good.
# A call that arrived meanwhile and was asked to call again is recorded as missed, so it is called back.
VOICE_MISSED, VOICE_STATUS, VOICE_NEXT, VOICE_DIAL, VOICE_RECORDING = (
    "twilio-voice-missed",
    "twilio-voice-status",
    "twilio-voice-next",
    "twilio-voice-dial",
    "twilio-voice-recording",
)


@dataclass(frozen=True)
class VoiceStep:
    """One callback's report, as received: what a replay needs to take the same step later."""

    form: list[tuple[str, str]]
    query: dict[str, str]
    at: datetime
    voice: VoiceRequest = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "voice", VoiceRequest.parse(self.form))  # a malformed callback is refused here

    def number(self, name: str) -> int | None:
        return query_int(self.query, name)


Step = Callable[[Work, VoiceStep, Settings, CallPolicy], Awaitable[str]]


async def _take(
    step: Step, report: VoiceStep, db: Database, switches: Switches, settings: Settings, policy: CallPolicy
) -> str:
    async with unit_of_work(db, switches) as work:
        return await step(work, report, settings, policy)


async def _take_or_spool(
    kind: str, request: Request, db: Database, settings: Settings, policy: CallPolicy, switches: Switches
) -> tuple[VoiceStep, str | None]:
    """Take the callback's step now, or spool it while the database is away (the TwiML is then None)."""
    report = VoiceStep(await _signed_form(request, settings), dict(request.query_params), utcnow())
    try:
        return report, await _take(STEPS[kind], report, db, switches, settings, policy)
    except Exception as exc:
        if not is_outage(exc):
            raise
    path = spool_of(settings).put(kind, {"form": report.form, "query": report.query}, report.at)
    log.warning("the database is unreachable: %s of call %s spooled as %s", kind, report.voice.call_sid, path.name)
    return report, None


@router.post("/twilio/voice/status")
async def twilio_call_status(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """Status callbacks: the caller's call (ringing … completed), an operator's leg, or a call-back."""
    _, body = await _take_or_spool(VOICE_STATUS, request, db, settings, policy, switches)
    return _xml(body or EMPTY)


async def _status(work: Work, report: VoiceStep, settings: Settings, policy: CallPolicy) -> str:
    voice, offer, leg = report.voice, report.number("offer"), report.query.get("leg")
    call = await _our_call(work.session, voice, report.number("call"))
    if call is None:
        return EMPTY  # not a call of ours (or not yet): nothing to record
    if offer is not None or leg == "citizen":  # the other party's leg: an operator's, or a citizen's
        if voice.call_status in ANSWERED:
            await service.answer(work.session, call=call, now=report.at, offer_seq=offer)
        elif voice.call_status == "completed" and call.status == CallStatus.TALKING and leg != "citizen":
            if call.offer_seq == offer:
                await service.hang_up(work.session, call=call, policy=policy, now=report.at)
    elif voice.call_status in ENDED:
        await service.hang_up(work.session, call=call, policy=policy, now=report.at)
    await service.distribute(work.session, policy=policy, now=utcnow())
    return EMPTY


@router.post("/twilio/voice/wait")
async def twilio_queue_wait(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """Twilio's waitUrl: the caller's place in line and hold music; past the longest wait, voicemail."""
    voice = VoiceRequest.parse(await _signed_form(request, settings))
    now = utcnow()
    hold = settings.call_hold_music_url or twiml.url(policy, twiml.HOLD_MUSIC)
    try:
        async with unit_of_work(db, switches) as work:
            call = await _our_call(work.session, voice, None)
            if call is None or call.status == CallStatus.VOICEMAIL:
                return _xml(twiml.leave_queue())
            if queue.overflowing(call, policy, now):
                await service.overflow(work.session, call=call, now=now)
                work.handled = call.id
                return _xml(twiml.leave_queue())
            ahead = await repository.ahead_of(work.session, call=call)
    except Exception as exc:
        if not is_outage(exc):
            raise
        return _xml(twiml.hold(hold))  # the caller keeps their place; the queue moves on once the database is back
    return _xml(twiml.waiting(ahead, hold))


@router.post("/twilio/voice/next")
async def twilio_next_step(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """Where a call goes now: the target of our REST redirects and of <Enqueue>'s action."""
    report, body = await _take_or_spool(VOICE_NEXT, request, db, settings, policy, switches)
    if body is None:
        voice = report.voice
        ended = voice.queue_result == "hangup" or voice.call_status in ENDED
        body = twiml.end() if ended else twiml.outage(settings.call_outage_forward_to)
    return _xml(body)


async def _next(work: Work, report: VoiceStep, settings: Settings, policy: CallPolicy) -> str:
    voice = report.voice
    call = await _our_call(work.session, voice, report.number("call"))
    if call is None:
        return twiml.hang_up()
    work.handled = call.id
    if voice.queue_result == "hangup" or voice.call_status in ENDED:
        await service.hang_up(work.session, call=call, policy=policy, now=report.at)
        await service.distribute(work.session, policy=policy, now=utcnow())
    return await _twiml_for(work.session, call, settings, policy)


@router.post("/twilio/voice/dial")
async def twilio_dial_result(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """<Dial>'s action: the operator's ring ended (talked and hung up, no answer, busy, or the caller left)."""
    report, body = await _take_or_spool(VOICE_DIAL, request, db, settings, policy, switches)
    if body is None:
        talked = report.voice.dial_status in ("completed", "answered")
        body = twiml.end() if talked else twiml.outage(settings.call_outage_forward_to)
    return _xml(body)


async def _dial(work: Work, report: VoiceStep, settings: Settings, policy: CallPolicy) -> str:
    voice, offer = report.voice, report.number("offer")
    call = await _our_call(work.session, voice, report.number("call"))
    if call is None or offer is None:
        return twiml.hang_up()
    work.handled = call.id
    await _dial_ended(work.session, call, voice, offer, policy, report.at)
    await service.distribute(work.session, policy=policy, now=utcnow())
    return await _twiml_for(work.session, call, settings, policy)


async def _dial_ended(
    session: AsyncSession, call: Call, voice: VoiceRequest, offer: int, policy: CallPolicy, now: datetime
) -> None:
    status = voice.dial_status or ""
    if voice.call_status in ENDED and status not in ("completed", "answered"):
        await service.hang_up(session, call=call, policy=policy, now=now)  # the caller left while it rang
    elif call.offer_seq != offer:
        return  # the ring of an earlier offer, cancelled when we moved the call on
    elif status in ("completed", "answered"):
        if call.status == CallStatus.RINGING and voice.dial_seconds:
            answered_at = now - timedelta(seconds=voice.dial_seconds)  # the answer's own callback was lost
            await service.answer(session, call=call, now=answered_at, offer_seq=offer)
        if call.status == CallStatus.TALKING:
            await service.hang_up(session, call=call, policy=policy, now=now)
    elif status in ("no-answer", "busy", "failed"):
        await service.ring_unanswered(session, call=call, offer_seq=offer, now=now)


@router.post("/twilio/voice/voicemail")
async def twilio_voicemail_done(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """<Record>'s action: the message is recorded; thank the caller and hang up."""
    await _take_or_spool(VOICE_RECORDING, request, db, settings, policy, switches)
    return _xml(twiml.hang_up(prompts.THANKS_FOR_MESSAGE))


@router.post("/twilio/voice/recording")
async def twilio_recording(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> Response:
    """A recording is ready: its link is kept on the call; a voicemail becomes a message on an order."""
    await _take_or_spool(VOICE_RECORDING, request, db, settings, policy, switches)
    return _xml(EMPTY)


async def _recording(work: Work, report: VoiceStep, settings: Settings, policy: CallPolicy) -> str:
    voice = report.voice
    if voice.recording_url is None:
        return EMPTY
    call = await _our_call(work.session, voice, report.number("call"))
    if call is not None:
        await recordings.keep_recording(
            work.session,
            call=call,
            url=voice.recording_url,
            seconds=voice.recording_seconds,
            attach_window=attach_window(settings),
            now=report.at,
        )
    return EMPTY


async def _missed(work: Work, report: VoiceStep, settings: Settings, policy: CallPolicy) -> str:
    call, created = await _arrive(work, report.voice, policy, report.at)
    work.handled = call.id
    if created:
        await service.hang_up(work.session, call=call, policy=policy, now=report.at)
    return EMPTY


STEPS: dict[str, Step] = {
    VOICE_MISSED: _missed,
    VOICE_STATUS: _status,
    VOICE_NEXT: _next,
    VOICE_DIAL: _dial,
    VOICE_RECORDING: _recording,
}


def voice_replayers(app: Any) -> dict[str, Replayer]:
    """The replayers of spooled voice callbacks, with the app's call policy and switches."""

    async def replay(db: Database, settings: Settings, item: Spooled) -> None:
        fields = item.fields
        report = VoiceStep([(str(k), str(v)) for k, v in fields["form"]], dict(fields["query"]), item.received_at)
        state = app.state
        await _take(STEPS[item.kind], report, db, switches_of(state), settings, policy_of(state))

    return dict.fromkeys(STEPS, replay)


@router.get("/twilio/voice/hold-music.wav")
async def twilio_hold_music() -> Response:
    """The hotline's own hold tone, so no music has to come from elsewhere."""
    return Response(hold_music.wav(), media_type="audio/wav", headers={"Cache-Control": "public, max-age=86400"})


@router.post("/cti/events")
async def cti_event(
    request: Request, db: DB, settings: AppSettings, policy: Policy, switches: SwitchSet
) -> JSONResponse:
    """A local switch's event (incoming, answered, hangup, recording): the same queue, seats and screen pop."""
    body = await read_body(request, settings.channel_max_body_bytes)
    cti.verify(settings, request.headers, body)
    event = cti.SwitchEvent.parse(body)
    now = utcnow()
    async with unit_of_work(db, switches) as work:
        call = await _cti_call(work.session, event, policy, now)
        if event.event is cti.CtiEvent.INCOMING:
            work.handled = call.id
        elif event.event is cti.CtiEvent.ANSWERED:
            seat = await repository.seat_by_endpoint(work.session, endpoint=event.seat) if event.seat else None
            await service.answer(work.session, call=call, now=now, by=seat.user_id if seat else None)
        elif event.event is cti.CtiEvent.HANGUP:
            await service.hang_up(work.session, call=call, policy=policy, now=now)
        elif event.recording_url:
            await recordings.keep_recording(
                work.session,
                call=call,
                url=event.recording_url,
                seconds=event.recording_seconds,
                attach_window=attach_window(settings),
                now=now,
            )
        await service.distribute(work.session, policy=policy, now=now)
        seat = await work.session.get(OperatorSeat, call.ringing_operator_id) if call.ringing_operator_id else None
        document = _cti_reply(call, seat)
    return JSONResponse(document)


async def _cti_call(session: AsyncSession, event: cti.SwitchEvent, policy: CallPolicy, now: datetime) -> Call:
    if event.event is cti.CtiEvent.INCOMING:
        arrived, _ = await service.arrive(
            session,
            source=CallSource.CTI,
            external_id=event.call_id,
            caller=event.caller,
            callee=event.callee,
            policy=policy,
            now=now,
        )
        return arrived
    call: Call | None = await repository.call_by_external_id(session, source=CallSource.CTI, external_id=event.call_id)
    if call is None and event.reference is not None:  # a call-back we asked the switch to place
        call = await repository.locked_call(session, call_id=event.reference)
        if call is None or call.source != CallSource.CTI or call.direction != CallDirection.OUTBOUND:
            call = None
        elif call.external_id is None:
            call.external_id = event.call_id
        elif call.external_id != event.call_id:
            raise Malformed("call_id 与 reference 不符", "call_id does not belong to the referenced call")
    if call is None:
        raise NotFound("未知的通话", f"no call {event.call_id!r}: report incoming first")
    return call


CTI_ACTIONS = {
    CallStatus.WAITING: "queue",
    CallStatus.RINGING: "connect",
    CallStatus.VOICEMAIL: "voicemail",
}


def _cti_reply(call: Call, seat: OperatorSeat | None) -> dict[str, Any]:
    """What the switch does with the call now: hold it in the queue, ring a seat, take a message, or nothing."""
    action = CTI_ACTIONS.get(CallStatus(call.status), "none")
    if call.status == CallStatus.VOICEMAIL and (call.ended_at or call.recording_url):
        action = "none"
    return {
        "call_id": call.external_id,
        "reference": call.id,
        "status": call.status,
        "action": action,
        "seat": seat.endpoint if seat and action == "connect" else None,
        "offer": call.offer_seq,
        "voicemail_reason": call.voicemail_reason,
    }
