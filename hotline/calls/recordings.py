"""Recordings: a conversation's is kept on the call; a voicemail goes through the one intake onto an order."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.calls import prompts
from hotline.calls.callbacks import callable_number
from hotline.calls.models import Call, CallEventKind, CallTicket, CallTicketRelation, VoicemailReason
from hotline.calls.service import add_event
from hotline.channels import intake
from hotline.channels.intake import Identity, InboundMessage, Receipt
from hotline.channels.models import Channel
from hotline.citizens.models import IdentityKind


async def keep_recording(
    session: AsyncSession,
    *,
    call: Call,
    url: str,
    seconds: int | None,
    attach_window: timedelta,
    now: datetime,
) -> Receipt | None:
    """Keep a recording's link once; a voicemail with sound becomes a message on an order (through the intake)."""
    if call.recording_url == url:
        return None  # the switch told us twice
    call.recording_url, call.recording_seconds = url, seconds
    add_event(session, call, CallEventKind.RECORDING, now, url=url, seconds=seconds)
    if call.voicemail_reason is None or call.answered_at is not None or not seconds:
        return None
    receipt = await intake.receive(session, _voicemail_message(call, url, seconds, now), attach_window=attach_window)
    assert call.id is not None and receipt.ticket_id is not None
    relation = CallTicketRelation.PRODUCED if receipt.new_ticket else CallTicketRelation.TOUCHED
    if not receipt.duplicate:
        session.add(CallTicket(call_id=call.id, ticket_id=receipt.ticket_id, relation=relation, linked_at=now))
        add_event(session, call, CallEventKind.TICKET, now, ticket_id=receipt.ticket_id, relation=relation)
    return receipt


def _voicemail_message(call: Call, url: str, seconds: int, now: datetime) -> InboundMessage:
    phone = callable_number(call.caller)
    reason = "非服务时间" if call.voicemail_reason == VoicemailReason.AFTER_HOURS else "排队超时"
    return InboundMessage(
        channel=Channel.PHONE,
        external_id=f"voicemail:{call.source}:{call.external_id or call.id}",
        body=prompts.VOICEMAIL_BODY.format(seconds=seconds, url=url),
        raw={"call_id": call.id, "recording_url": url, "recording_seconds": seconds, "reason": reason},
        sender=Identity(IdentityKind.PHONE, phone) if phone else None,
        title=f"{prompts.VOICEMAIL_TITLE}（{reason}）",
        received_at=now,
    )
