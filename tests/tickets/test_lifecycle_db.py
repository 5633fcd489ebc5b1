"""The lifecycle applied to the real database: a transition writes its state and its event together, or nothing.

Random sequences of actions by random staff go through ``service.act``, one unit of work each, as a
request would. After every step the orders, their histories and their unit assignments are read
back and compared with what ``decide`` predicted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError

from hotline.auth.models import Role
from hotline.auth.service import CurrentUser
from hotline.db import Database
from hotline.errors import Conflict, DomainError, InvalidInput, NotFound
from hotline.tickets import service
from hotline.tickets.lifecycle import OPEN_STATUSES, Action, Outcome, Status, TicketFacts, allowed_actions, decide
from hotline.tickets.models import RequestType, Ticket, TicketAssignment, TicketEvent
from hotline.tickets.schemas import TicketCreate
from hotline.units.models import Unit
from tests.conftest import City, add_user, as_current

HOTLINE_STAFF = {
    "operator": Role.OPERATOR,
    "dispatcher": Role.DISPATCHER,
    "supervisor": Role.SUPERVISOR,
    "auditor": Role.AUDITOR,
    "sysadmin": Role.SYSTEM_ADMIN,
}
# 梁园区 > 长征街道 > 长征社区, 梁园区 > 平原街道; 住建局 and 睢阳区 are unrelated to them.
DEPARTMENT_UNITS = (
    "liangyuan",
    "liangyuan_changzheng",
    "liangyuan_changzheng_changzheng",
    "liangyuan_pingyuan",
    "zhujian",
    "suiyang",
)
LEAD_CHOICES = ("liangyuan", "liangyuan_changzheng", "zhujian", "szsj")  # szsj is the hotline itself: refused
ASSISTING_CHOICES = ("suiyang", "zhujian", "liangyuan_pingyuan")
SUB_DISPATCH_CHOICES = ("liangyuan_pingyuan", "liangyuan_changzheng", "liangyuan_changzheng_changzheng", "zhujian")
TEXTS = (None, "", "  ", "已核实情况，详见附件")
ORDERS_PER_RUN = 2
STEPS_PER_RUN = 16
LEGAL_STEPS_IN_TEN = 7
SHORTCUTS = frozenset({Action.MERGE, Action.ANSWER_DIRECTLY})
READ_ALL = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR, Role.AUDITOR})


@dataclass
class Person:
    user: CurrentUser
    unit: Unit | None


@pytest.fixture
async def people(db: Database, city: City) -> dict[str, Person]:
    """Hotline staff of every kind and department staff of related and unrelated units."""
    found = {}
    async with db.session() as session:
        for name, role in HOTLINE_STAFF.items():
            found[name] = Person(as_current(await add_user(session, f"db_{name}", role)), None)
        for code in DEPARTMENT_UNITS:
            unit = city.unit(code)
            user = await add_user(session, f"db_dept_{code}", Role.DEPARTMENT_STAFF, unit)
            found[f"dept:{code}"] = Person(as_current(user, unit), unit)
    return found


# Reading the database back.


@dataclass(frozen=True)
class Snapshot:
    """Everything a transition may touch, as plain values."""

    tickets: dict[int, dict[str, Any]]
    events: dict[int, list[EventRow]]
    assignments: dict[int, list[AssignmentRow]]
    counts: tuple[int, int, int]


class EventRow(NamedTuple):
    id: int | None
    seq: int
    action: str
    actor_id: int | None
    actor_role: str
    from_status: str | None
    to_status: str
    reason: str | None
    payload: dict[str, Any]


class AssignmentRow(NamedTuple):
    id: int | None
    unit_id: int
    role: str
    active: bool
    reply: str | None


def _event_row(e: TicketEvent) -> EventRow:
    return EventRow(e.id, e.seq, e.action, e.actor_id, e.actor_role, e.from_status, e.to_status, e.reason, e.payload)


def _assignment_row(a: TicketAssignment) -> AssignmentRow:
    return AssignmentRow(a.id, a.unit_id, a.role, a.active, a.reply)


async def snapshot(db: Database, ids: list[int]) -> Snapshot:
    async with db.read_session() as session:
        tickets = (await session.execute(select(Ticket).where(Ticket.id.in_(ids)))).scalars()  # type: ignore[union-attr]
        events = (
            await session.execute(
                select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.seq)  # type: ignore[attr-defined]
            )
        ).scalars()
        assignments = (
            await session.execute(
                select(TicketAssignment)
                .where(TicketAssignment.ticket_id.in_(ids))  # type: ignore[attr-defined]
                .order_by(TicketAssignment.id)
            )
        ).scalars()
        counts = []
        for model in (Ticket, TicketEvent, TicketAssignment):
            counts.append((await session.execute(select(func.count()).select_from(model))).scalar_one())
        snap = Snapshot(
            {t.id: t.model_dump() for t in tickets if t.id},
            {i: [] for i in ids},
            {i: [] for i in ids},
            (counts[0], counts[1], counts[2]),
        )
        for e in events:
            snap.events[e.ticket_id].append(_event_row(e))
        for a in assignments:
            snap.assignments[a.ticket_id].append(_assignment_row(a))
    return snap


def is_within(unit_path: str, actor_path: str | None) -> bool:
    """Whether a unit is the actor's own unit or below it (whole path segments)."""
    if not actor_path:
        return False
    mine = [p for p in actor_path.split("/") if p]
    return [p for p in unit_path.split("/") if p][: len(mine)] == mine


def facts_of(snap: Snapshot, ticket_id: int, city: City) -> TicketFacts:
    """The rules' view of an order, built here from its rows."""
    paths = {u.id: u.path for u in city.units.values()}
    active = [(a.role, paths[a.unit_id]) for a in snap.assignments[ticket_id] if a.active]
    ticket = snap.tickets[ticket_id]
    return TicketFacts(
        Status(ticket["status"]),
        next((path for role, path in active if role == "lead"), None),
        tuple(path for role, path in active if role == "assisting"),
        ticket["extension_pending"],
    )


def can_see(person: Person, facts: TicketFacts) -> bool:
    """The hotline sees every order; a department the orders its unit or a unit below it works on."""
    role = person.user.role
    units = [p for p in (facts.lead_unit_path, *facts.assisting_unit_paths) if p]
    return role in READ_ALL or (
        role is Role.DEPARTMENT_STAFF and any(is_within(path, person.user.unit_path) for path in units)
    )


# One step: choosing it, predicting it, checking it.


@dataclass
class Step:
    ticket_id: int
    action: Action
    actor: str
    text: str | None
    params: dict[str, Any]


def draw_params(data: st.DataObject, action: Action, ticket: dict[str, Any], city: City, pool: list[int]) -> dict:
    """Parameters an API client would send, some of them wrong on purpose."""
    if action is Action.DISPATCH:
        lead = data.draw(st.sampled_from(LEAD_CHOICES), label="lead")
        assisting = data.draw(st.lists(st.sampled_from(ASSISTING_CHOICES), max_size=2, unique=True), label="assisting")
        return {"lead_unit_id": city.unit(lead).id, "assisting_unit_ids": [city.unit(c).id for c in assisting]}
    if action is Action.REQUEST_EXTENSION:
        due: datetime | None = ticket["due_at"]
        shift = data.draw(st.sampled_from([timedelta(days=3), timedelta(hours=-1)]), label="shift")
        return {"requested_due_at": (due or datetime.now().astimezone()) + shift}
    if action is Action.SUB_DISPATCH:
        return {"unit_id": city.unit(data.draw(st.sampled_from(SUB_DISPATCH_CHOICES), label="unit")).id}
    if action is Action.MERGE:
        return {"target_id": data.draw(st.sampled_from(pool), label="target")}
    return {}


def draw_step(
    data: st.DataObject,
    snap: Snapshot,
    pool: list[int],
    people: dict[str, Person],
    city: City,
    facts: dict[int, TicketFacts],
) -> Step:
    ticket_id = data.draw(st.sampled_from(pool), label="order")
    legal: dict[Action, list[str]] = {}
    for name, person in people.items():
        for allowed in allowed_actions(facts[ticket_id], service.actor_of(person.user)):
            legal.setdefault(allowed, []).append(name)
    if legal and data.draw(st.integers(0, 9), label="kind of step") < LEGAL_STEPS_IN_TEN:
        # Mostly legal steps, so that runs get deep; the shortcuts that end a run early are taken rarely.
        common = legal.keys() - SHORTCUTS
        rare = not common or data.draw(st.integers(0, 9), label="shortcut") == 0
        action = data.draw(st.sampled_from(sorted(legal if rare else common)), label="action")
        actor = data.draw(st.sampled_from(legal[action]), label="actor")
        text: str | None = "已核实情况，详见附件"
    else:
        action = data.draw(st.sampled_from(list(Action)), label="action")
        actor = data.draw(st.sampled_from(sorted(people)), label="actor")
        text = data.draw(st.sampled_from(TEXTS), label="text")
    params = draw_params(data, action, snap.tickets[ticket_id], city, pool)
    return Step(ticket_id, action, actor, text, params)


def effect_refusal(step: Step, ticket: dict[str, Any], snap: Snapshot, city: City) -> type[DomainError] | None:
    """How the action's own input check refuses it, when the rules allow it but the input is wrong."""
    units = {u.id: u for u in city.units.values()}
    if step.action is Action.DISPATCH:
        lead_id = step.params["lead_unit_id"]
        if units[lead_id].code == "szsj" or lead_id in step.params["assisting_unit_ids"]:
            return InvalidInput
    if step.action is Action.REQUEST_EXTENSION and ticket["due_at"] is not None:
        if step.params["requested_due_at"] <= ticket["due_at"]:
            return InvalidInput
    if step.action is Action.SUB_DISPATCH:
        lead, target = units[ticket["lead_unit_id"]], units[step.params["unit_id"]]
        if target.id == lead.id or not is_within(target.path, lead.path):
            return InvalidInput
    if step.action is Action.MERGE:
        target_id = step.params["target_id"]
        if target_id == step.ticket_id:
            return InvalidInput
        if snap.tickets[target_id]["status"] not in OPEN_STATUSES:
            return Conflict
    return None


def check_history(snap: Snapshot) -> None:
    """Every order: a legal status, a gap-free history that chains from state to state and ends where it is."""
    for ticket_id, ticket in snap.tickets.items():
        assert ticket["status"] in set(Status)
        events = snap.events[ticket_id]
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].from_status is None
        for before, after in zip(events, events[1:], strict=False):
            assert after.from_status == before.to_status, (ticket_id, events)
        assert events[-1].to_status == ticket["status"]


def check_success(step: Step, outcome: Outcome, person: Person, before: Snapshot, after: Snapshot) -> None:
    """The order moved as decided with one event, and nothing else in the run changed but what the action implies."""
    ticket, old = after.tickets[step.ticket_id], before.tickets[step.ticket_id]
    assert ticket["status"] == outcome.to_status
    assert ticket["extension_pending"] == outcome.extension_pending
    assert ticket["version"] == old["version"] + 1
    events, old_events = after.events[step.ticket_id], before.events[step.ticket_id]
    assert events[: len(old_events)] == old_events  # history is only ever appended to
    assert len(events) == len(old_events) + 1
    new = events[-1]
    assert (new.seq, new.action, new.actor_id, new.actor_role) == (
        len(old_events) + 1,
        step.action,
        person.user.id,
        person.user.role,
    )
    assert (new.from_status, new.to_status) == (outcome.from_status, outcome.to_status)
    assert new.reason in (None, step.text)
    touched = {step.ticket_id}
    if step.action is Action.MERGE:
        target = step.params["target_id"]
        touched.add(target)
        assert ticket["merged_into_id"] == target
        merge_in = after.events[target][-1]
        assert after.events[target][:-1] == before.events[target]
        assert merge_in.action == "merge_in"
        assert merge_in.from_status == merge_in.to_status == before.tickets[target]["status"]
        assert after.tickets[target]["status"] == before.tickets[target]["status"]
    if step.action is Action.DISPATCH:
        active = {(a.unit_id, a.role) for a in after.assignments[step.ticket_id] if a.active}
        expected = {(step.params["lead_unit_id"], "lead")}
        expected |= {(u, "assisting") for u in step.params["assisting_unit_ids"]}
        assert active == expected
        assert ticket["lead_unit_id"] == step.params["lead_unit_id"] and ticket["due_at"] is not None
    if step.action is Action.APPROVE_RETURN:
        assert not any(a.active for a in after.assignments[step.ticket_id]) and ticket["lead_unit_id"] is None
    for other in before.tickets.keys() - touched:
        assert after.tickets[other] == before.tickets[other]
        assert after.events[other] == before.events[other]
        assert after.assignments[other] == before.assignments[other]
    expected_new_tickets = 1 if step.action is Action.SUB_DISPATCH else 0
    expected_new_events = 1 + (step.action in (Action.MERGE, Action.SUB_DISPATCH))
    expected_new_assignments = {
        Action.DISPATCH: 1 + len(step.params.get("assisting_unit_ids", [])),
        Action.SUB_DISPATCH: 1,
    }.get(step.action, 0)
    assert after.counts == (
        before.counts[0] + expected_new_tickets,
        before.counts[1] + expected_new_events,
        before.counts[2] + expected_new_assignments,
    )


async def find_child(db: Database, parent_id: int, known: list[int]) -> int:
    async with db.read_session() as session:
        rows = await session.execute(select(Ticket.id).where(Ticket.parent_id == parent_id))
        new = [i for i in rows.scalars() if i not in known]
    assert len(new) == 1
    return new[0]


async def check_child(db: Database, child_id: int, parent_id: int, unit_id: int) -> None:
    """A sub-dispatched order starts dispatched to the child unit, with its own first event."""
    snap = await snapshot(db, [child_id])
    child = snap.tickets[child_id]
    assert (child["status"], child["parent_id"], child["lead_unit_id"]) == (Status.DISPATCHED, parent_id, unit_id)
    assert [(e.seq, e.action, e.from_status, e.to_status) for e in snap.events[child_id]] == [
        (1, "dispatch", None, "dispatched")
    ]
    assert [(a.unit_id, a.role, a.active) for a in snap.assignments[child_id]] == [(unit_id, "lead", True)]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_random_actions_write_state_and_history_together(
    db: Database, city: City, people: dict[str, Person], data: st.DataObject
) -> None:
    operator = people["operator"].user
    pool: list[int] = []
    async with db.session() as session:
        for n in range(ORDERS_PER_RUN):
            kind = data.draw(st.sampled_from([RequestType.CONSULTATION, RequestType.COMPLAINT, RequestType.REPORT]))
            body = TicketCreate(citizen_phone=f"1380013{n:04d}", content=f"第{n}号诉求：路灯不亮", request_type=kind)
            ticket = await service.create_ticket(session, data=body, actor=service.actor_of(operator))
            assert ticket.id is not None
            pool.append(ticket.id)

    for _ in range(STEPS_PER_RUN):
        before = await snapshot(db, pool)
        check_history(before)
        facts = {ticket_id: facts_of(before, ticket_id, city) for ticket_id in pool}
        step = draw_step(data, before, pool, people, city, facts)
        person, rule_facts = people[step.actor], facts[step.ticket_id]
        predicted: Outcome | type[DomainError]
        if not can_see(person, rule_facts):
            predicted = NotFound
        else:
            try:
                predicted = decide(rule_facts, step.action, service.actor_of(person.user), text=step.text)
            except DomainError as refusal:
                predicted = type(refusal)
        if isinstance(predicted, Outcome):
            predicted = effect_refusal(step, before.tickets[step.ticket_id], before, city) or predicted

        try:
            async with db.session() as session:
                await service.act(
                    session,
                    ticket_id=step.ticket_id,
                    user=person.user,
                    action=step.action,
                    text=step.text,
                    params=step.params,
                )
        except DomainError as refusal:
            assert predicted is type(refusal), (step, refusal)
            event(f"refused: {type(refusal).__name__}")
            after = await snapshot(db, pool)
            assert after == before, step  # refused: nothing at all was written
            continue
        assert isinstance(predicted, Outcome), (step, predicted)
        after = await snapshot(db, pool)
        check_success(step, predicted, person, before, after)
        event(f"done: {step.action}")
        if step.action is Action.SUB_DISPATCH:
            child = await find_child(db, step.ticket_id, pool)
            await check_child(db, child, step.ticket_id, step.params["unit_id"])
            pool.append(child)
    check_history(await snapshot(db, pool))


# The history is append-only, enforced by the database itself.


async def _one_event(db: Database, city: City, people: dict[str, Person]) -> int:
    async with db.session() as session:
        ticket = await service.create_ticket(
            session, data=TicketCreate(content="井盖缺失"), actor=service.actor_of(people["operator"].user)
        )
        assert ticket.id is not None
        await service.act(
            session,
            ticket_id=ticket.id,
            user=people["operator"].user,
            action=Action.DISPATCH,
            params={"lead_unit_id": city.unit("liangyuan").id},
        )
        return ticket.id


async def test_events_cannot_be_updated_or_deleted(db: Database, city: City, people: dict[str, Person]) -> None:
    ticket_id = await _one_event(db, city, people)
    history = (await snapshot(db, [ticket_id])).events[ticket_id]
    assert [e.action for e in history] == ["create", "dispatch"]
    attempts = [
        update(TicketEvent).where(TicketEvent.ticket_id == ticket_id).values(reason="改写历史"),
        update(TicketEvent).where(TicketEvent.ticket_id == ticket_id).values(to_status="closed"),
        delete(TicketEvent).where(TicketEvent.ticket_id == ticket_id),
        sql("DELETE FROM ticket_events"),
    ]
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.session() as session:
                await session.execute(statement)
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.session() as session:
            event = (await session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id))).scalar()
            assert event is not None
            event.reason = "ORM 改写"
    assert (await snapshot(db, [ticket_id])).events[ticket_id] == history


async def test_a_refused_action_writes_nothing(db: Database, city: City, people: dict[str, Person]) -> None:
    ticket_id = await _one_event(db, city, people)
    before = await snapshot(db, [ticket_id])
    with pytest.raises(Conflict) as refused:
        async with db.session() as session:
            await service.act(session, ticket_id=ticket_id, user=people["operator"].user, action=Action.CLOSE)
    assert refused.value.status_code == 409
    with pytest.raises(InvalidInput):  # allowed by the rules, refused by the effect after checking the unit
        async with db.session() as session:
            await service.act(
                session,
                ticket_id=ticket_id,
                user=people["dept:liangyuan"].user,
                action=Action.ACCEPT,
            )
            await service.act(
                session,
                ticket_id=ticket_id,
                user=people["dept:liangyuan"].user,
                action=Action.SUB_DISPATCH,
                params={"unit_id": city.unit("zhujian").id},
            )
    assert await snapshot(db, [ticket_id]) == before
