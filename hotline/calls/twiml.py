"""The TwiML of a call in each state: greeting, the queue with hold music, ringing an operator, voicemail.

Every callback URL points back at our webhooks under ``HOTLINE_PUBLIC_URL`` (Twilio signs what it
calls, so the signature check sees the same URL).
"""

from __future__ import annotations

from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from hotline.calls import prompts
from hotline.calls.models import Call, CallStatus, VoicemailReason
from hotline.calls.policy import CallPolicy

VOICE = "/channels/twilio/voice"
STATUS = VOICE + "/status"
WAIT = VOICE + "/wait"
NEXT = VOICE + "/next"
DIAL = VOICE + "/dial"
VOICEMAIL = VOICE + "/voicemail"
RECORDING = VOICE + "/recording"
HOLD_MUSIC = VOICE + "/hold-music.wav"
OPERATOR_LEG_EVENTS = "ringing answered completed"


def _attrs(**attributes: str | int) -> str:
    return "".join(f" {name}={quoteattr(str(value))}" for name, value in attributes.items())


def url(policy: CallPolicy, path: str, **query: str | int) -> str:
    """One of our webhooks as Twilio must call it."""
    return policy.public_url + path + (f"?{urlencode(query)}" if query else "")


def say(text: str) -> str:
    return f'<Say language="{prompts.LANGUAGE}">{escape(text)}</Say>'


def response(*verbs: str) -> str:
    return '<?xml version="1.0" encoding="UTF-8"?><Response>' + "".join(verbs) + "</Response>"


def hang_up(text: str = prompts.GOODBYE) -> str:
    return response(say(text), "<Hangup/>")


def end() -> str:
    """The end of a call that is over (the conversation ended, or the caller left): nothing more to say."""
    return response("<Hangup/>")


def enqueue(policy: CallPolicy, queue_name: str) -> str:
    """Hold the caller in Twilio's queue, with our wait music, until we redirect the call to an operator."""
    attributes = _attrs(waitUrl=url(policy, WAIT), waitUrlMethod="POST", action=url(policy, NEXT), method="POST")
    return f"<Enqueue{attributes}>{escape(queue_name)}</Enqueue>"


def _endpoint_noun(endpoint: str, callback: str) -> str:
    events = _attrs(statusCallback=callback, statusCallbackMethod="POST", statusCallbackEvent=OPERATOR_LEG_EVENTS)
    if endpoint.startswith("sip:"):
        return f"<Sip{events}>{escape(endpoint)}</Sip>"
    if endpoint.startswith("client:"):
        return f"<Client{events}>{escape(endpoint.removeprefix('client:'))}</Client>"
    return f"<Number{events}>{escape(endpoint)}</Number>"


def dial_operator(policy: CallPolicy, call: Call, endpoint: str, record: bool) -> str:
    """Ring the operator's phone (or SIP address) for as long as the policy allows; the outcome comes to /dial."""
    assert call.id is not None
    attributes: dict[str, str | int] = {
        "action": url(policy, DIAL, call=call.id, offer=call.offer_seq),
        "method": "POST",
        "timeout": int(policy.ring.total_seconds()),
        "answerOnBridge": "true",
    }
    if record:
        attributes |= {
            "record": "record-from-answer-dual",
            "recordingStatusCallback": url(policy, RECORDING, call=call.id),
            "recordingStatusCallbackMethod": "POST",
        }
    noun = _endpoint_noun(endpoint, url(policy, STATUS, call=call.id, offer=call.offer_seq))
    return f"<Dial{_attrs(**attributes)}>{noun}</Dial>"


def take_message(policy: CallPolicy, call: Call) -> list[str]:
    """Why there is no operator, then a recording of the caller's message."""
    if call.voicemail_reason == VoicemailReason.AFTER_HOURS:
        reason = prompts.AFTER_HOURS.format(hours=policy.service_hours_label)
    else:
        reason = prompts.OVERFLOW
    record = _attrs(
        action=url(policy, VOICEMAIL, call=call.id or 0),
        method="POST",
        maxLength=policy.voicemail_max_seconds,
        timeout=policy.voicemail_silence_seconds,
        playBeep="true",
        finishOnKey="#",
        recordingStatusCallback=url(policy, RECORDING, call=call.id or 0),
        recordingStatusCallbackMethod="POST",
    )
    return [say(reason + prompts.LEAVE_MESSAGE), f"<Record{record}/>", say(prompts.NO_MESSAGE), "<Hangup/>"]


def for_call(
    policy: CallPolicy, call: Call, *, endpoint: str | None, queue_name: str, record: bool, greeting: bool = False
) -> str:
    """What the caller hears next, from the call's state (so a retried or late request gets the same answer)."""
    opening = [say(prompts.GREETING)] if greeting else []
    if call.status == CallStatus.RINGING and endpoint:
        return response(*opening, dial_operator(policy, call, endpoint, record))
    if call.status in (CallStatus.WAITING, CallStatus.RINGING):
        return response(*opening, enqueue(policy, queue_name))
    if call.status == CallStatus.VOICEMAIL and call.ended_at is None and call.recording_url is None:
        return response(*take_message(policy, call))
    return end()


def waiting(ahead: int, hold_music_url: str) -> str:
    """One round of the wait: the caller's place in line, then hold music (Twilio asks again when it ends)."""
    return response(say(prompts.position(ahead)), f"<Play>{escape(hold_music_url)}</Play>")


def outage(forward_to: str | None) -> str:
    """The call while the database cannot be reached: put through to the backup line, or asked to call again."""
    if not forward_to:
        return hang_up(prompts.OUTAGE_CALL_AGAIN)
    noun = (
        f"<Sip>{escape(forward_to)}</Sip>"
        if forward_to.startswith("sip:")
        else f"<Number>{escape(forward_to)}</Number>"
    )
    return response(say(prompts.OUTAGE_FORWARDING), f"<Dial>{noun}</Dial>")


def hold(hold_music_url: str) -> str:
    """Hold music alone: the wait while the caller's place in line cannot be read."""
    return response(f"<Play>{escape(hold_music_url)}</Play>")


def leave_queue() -> str:
    """Leave Twilio's queue; the call continues at the <Enqueue> action (our /next), which takes a message."""
    return response("<Leave/>")
