"""Later messages to a citizen about their order, queued in the outbox on the channel they wrote on."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.channels.models import Channel, Direction, Message
from hotline.citizens.models import IdentityKind
from hotline.citizens.service import identities_of
from hotline.outbox.service import enqueue
from hotline.tickets.models import Ticket

# The outbox channel and the identity it needs, tried in order after the order's own channel.
ROUTES: dict[str, tuple[str, IdentityKind]] = {
    Channel.SMS: ("sms", IdentityKind.PHONE),
    Channel.WECHAT: ("wechat", IdentityKind.WECHAT),
    Channel.EMAIL: ("email", IdentityKind.EMAIL),
}
FALLBACK_ORDER = (Channel.SMS, Channel.WECHAT, Channel.EMAIL)


async def notify_citizen(session: AsyncSession, *, ticket_id: int, body: str, key: str) -> bool:
    """Queue ``body`` for the order's citizen (once per ``key``); False if they cannot be reached."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or ticket.citizen_id is None:
        return False
    identities = {i.kind: i.value for i in await identities_of(session, citizen_id=ticket.citizen_id)}
    for channel in dict.fromkeys((ticket.channel, *FALLBACK_ORDER)):
        route = ROUTES.get(channel)
        if route is None or route[1] not in identities:
            continue
        outbox_channel, kind = route
        thread = await _email_thread(session, ticket_id) if outbox_channel == "email" else {}
        await enqueue(
            session,
            dedupe_key=f"citizen:{ticket_id}:{key}",
            channel=outbox_channel,
            recipient=identities[kind],
            subject=f"Re: {ticket.title[:120]} [工单号 {ticket.number}]" if outbox_channel == "email" else None,
            body=body,
            ticket_id=ticket_id,
            payload=thread,
        )
        return True
    return False


async def _email_thread(session: AsyncSession, ticket_id: int) -> dict[str, object]:
    """In-Reply-To / References for a reply: the citizen's latest email on the order."""
    query = (
        select(Message)
        .where(
            col(Message.ticket_id) == ticket_id,
            col(Message.channel) == Channel.EMAIL,
            col(Message.direction) == Direction.INBOUND,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    latest = (await session.execute(query)).scalar_one_or_none()
    if latest is None or not latest.external_id:
        return {}
    references = [r for r in latest.raw.get("references", []) if isinstance(r, str)]
    return {"in_reply_to": latest.external_id, "references": [*references, latest.external_id]}
