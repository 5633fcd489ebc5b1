"""Work-order services: every transition writes the new state and its event in one transaction.

Services never commit; the caller's unit of work does, once. A refused action raises before the
unit of work commits, so nothing of it is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.categories import Category
from hotline.citizens import service as citizens
from hotline.citizens.models import IdentityKind
from hotline.db_types import utcnow
from hotline.errors import NotFound
from hotline.supervision import clock
from hotline.tickets import effects, repository
from hotline.tickets.history import announce, write_event
from hotline.tickets.lifecycle import OPEN_STATUSES, Action, Actor, Status, TicketFacts, decide
from hotline.tickets.models import RequestType, Ticket, TicketAssignment
from hotline.tickets.schemas import TicketCreate
from hotline.timefmt import to_local
from hotline.units import service as unit_service
from hotline.units.models import Unit
from hotline.units.repository import units_by_id
from knowledge_base.platform import results as platform_results

TITLE_LENGTH = 30
SYSTEM_ACTOR = Actor(role=Role.SYSTEM)


def actor_of(user: CurrentUser | None) -> Actor:
    """The lifecycle's view of a user (or of the service itself)."""
    if user is None:
        return SYSTEM_ACTOR
    return Actor(role=user.role, unit_path=user.unit_path, user_id=user.id)


def make_title(content: str) -> str:
    """A one-line summary of the request for lists."""
    line = " ".join(content.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1] + "…"


@dataclass(frozen=True)
class Registered:
    """A new order as stored: its column values (id included), without an ORM object built for it."""

    values: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.values["id"])

    @property
    def number(self) -> str:
        return str(self.values["number"])

    @property
    def status(self) -> str:
        return str(self.values["status"])

    @property
    def lead_unit_id(self) -> int | None:
        lead: int | None = self.values["lead_unit_id"]
        return lead


async def register_ticket(
    session: AsyncSession,
    *,
    data: TicketCreate,
    actor: Actor,
    citizen_id: int | None = None,
    message_id: int | None = None,
    now: datetime | None = None,
) -> Registered:
    """Register a new order (受理) with its first event; ``now`` lets imports and replays set the time.

    ``message_id``: the stored message that opened the order (intake), linked to it and its citizen at once.
    No ORM object is built: the intake needs only the order's id and number, and building the model
    instances cost a tenth of an intake's CPU. ``create_ticket`` gives callers that go on with the order one.
    """
    if data.category_id is not None and await session.get(Category, data.category_id) is None:
        raise NotFound("分类不存在", f"category {data.category_id} not found")
    if data.territory_unit_id is not None:
        await unit_service.get_territory(session, data.territory_unit_id)
    if citizen_id is None and data.citizen_phone:
        citizen = await citizens.identify(
            session, kind=IdentityKind.PHONE, value=data.citizen_phone, name=data.citizen_name
        )
        citizen_id = citizen.id
    now = now or utcnow()
    values: dict[str, Any] = {
        "number": await repository.next_number(session, day=to_local(now).strftime("%Y%m%d")),
        "channel": data.channel,
        "request_type": data.request_type,
        "urgency": data.urgency,
        "category_id": data.category_id,
        "territory_unit_id": data.territory_unit_id,
        "address": data.address,
        "title": data.title or make_title(data.content),
        "content": data.content,
        "citizen_id": citizen_id,
        "confidential": data.confidential or data.request_type is RequestType.REPORT,
        "status": Status.REGISTERED,
        "lead_unit_id": None,
        "created_by_id": actor.user_id,
        "created_at": now,
        "updated_at": now,
    }
    event = {
        "seq": 1,
        "action": Action.CREATE,
        "actor_id": actor.user_id,
        "actor_role": actor.role,
        "from_status": None,
        "to_status": Status.REGISTERED,
        "payload": {"channel": data.channel},
        "created_at": now,
    }
    values["id"] = await repository.insert_registered(session, ticket=values, event=event, message_id=message_id)
    registered = Registered(values)
    announce(session, ticket=registered, action=Action.CREATE)
    return registered


async def create_ticket(
    session: AsyncSession,
    *,
    data: TicketCreate,
    actor: Actor,
    citizen_id: int | None = None,
    message_id: int | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Register a new order as ``register_ticket`` does, and attach it to the session as a model instance."""
    registered = await register_ticket(
        session, data=data, actor=actor, citizen_id=citizen_id, message_id=message_id, now=now
    )
    ticket = Ticket(**registered.values)
    make_transient_to_detached(ticket)  # stored as it stands: attach it without reading it back
    session.add(ticket)
    return ticket


async def act(
    session: AsyncSession,
    *,
    ticket_id: int,
    user: CurrentUser | None,
    action: Action,
    text: str | None = None,
    params: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Ticket:
    """Take one lifecycle action on an order: check it, apply it, record it."""
    actor = actor_of(user)
    ticket = await (
        repository.get_visible(session, ticket_id=ticket_id, user=user, lock=True)
        if user
        else repository.get_locked(session, ticket_id=ticket_id)
    )
    if ticket is None:
        raise NotFound("工单不存在或无权查看", f"order {ticket_id} not found")
    outcome = decide(await facts_of(session, ticket), action, actor, text=text)
    now = now or utcnow()
    payload = await effects.apply(
        session, ticket=ticket, outcome=outcome, actor=actor, text=text, params=params or {}, now=now
    )
    ticket.status = outcome.to_status
    ticket.extension_pending = outcome.extension_pending
    if not ticket.extension_pending:
        ticket.extension_requested_due_at = None  # decided, or moot once the order left handling
    await clock.reschedule(session, ticket)
    ticket.updated_at = now
    ticket.version += 1
    if outcome.to_status is Status.REPLIED:  # answered: a platform case linked to the order gets the result
        await platform_results.push_on_answer(session, ticket=ticket, now=now)
    reason = text if effects.text_is_reason(action) else None
    await write_event(
        session,
        ticket=ticket,
        action=action,
        actor=actor,
        from_status=outcome.from_status,
        reason=reason,
        payload=payload,
        at=now,
    )
    return ticket


async def facts_of(session: AsyncSession, ticket: Ticket) -> TicketFacts:
    """What the lifecycle rules need to know about an order."""
    assert ticket.id is not None
    active = await repository.assignments(session, ticket_id=ticket.id)
    return facts_from(ticket, active, await units_by_id(session, [a.unit_id for a in active]))


def facts_from(ticket: Ticket, assignments: list[TicketAssignment], units: dict[int, Unit]) -> TicketFacts:
    """The lifecycle's facts from assignments already loaded (inactive ones are ignored)."""
    active = [a for a in assignments if a.active]
    lead = next((units[a.unit_id].path for a in active if a.role == "lead"), None)
    assisting = tuple(units[a.unit_id].path for a in active if a.role == "assisting")
    return TicketFacts(Status(ticket.status), lead, assisting, ticket.extension_pending)


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    """Whether an open order is past its handling deadline."""
    return ticket.status in OPEN_STATUSES and ticket.due_at is not None and ticket.due_at < now
