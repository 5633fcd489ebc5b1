"""The pure work-order state machine (``lifecycle.decide``) against the transitions of SPEC section 2.

The expected behaviour is restated here from the specification, independently of the product's
``RULES`` table: who may take each action, from which states, where it leads and what text it needs.
A hypothesis state machine then drives random actions by random actors and checks ``decide`` and
``allowed_actions`` against that restatement at every step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hotline.auth.models import Role
from hotline.errors import Conflict, DomainError, Forbidden, InvalidInput
from hotline.tickets.lifecycle import Action, Actor, Status, TicketFacts, allowed_actions, decide

S = Status
A = Action

# A small unit tree (paths as the product stores them: ``/id/id/``).
DISTRICT = "/1/"
STREET = "/1/5/"  # a child of DISTRICT
COMMUNITY = "/1/5/9/"  # a child of STREET
SIBLING_STREET = "/1/50/"  # a child of DISTRICT whose path starts with STREET's digits
OTHER_DISTRICT = "/2/"
BUREAU = "/3/"
UNIT_PATHS = (DISTRICT, STREET, COMMUNITY, SIBLING_STREET, OTHER_DISTRICT, BUREAU)


@dataclass(frozen=True)
class Expect:
    """One documented transition: where it may start, where it leads, who takes it, what it needs."""

    sources: frozenset[Status]
    target: Status | None  # None: the status does not change
    roles: frozenset[Role]
    scope: str = "hotline"  # "lead": the lead unit or a parent of it; "assisting": an assisting unit or a parent
    needs_text: bool = False
    extension: str = "any"  # "pending": only while an extension request waits; "none_pending": only when none does


DESK = frozenset({Role.OPERATOR, Role.DISPATCHER})
DEPT = frozenset({Role.DEPARTMENT_STAFF})
SUPERVISOR = frozenset({Role.SUPERVISOR})
OPEN = frozenset({S.REGISTERED, S.DISPATCHED, S.RETURN_REVIEW, S.IN_PROGRESS, S.REPLY_REVIEW})

# SPEC section 2, written out by hand.
SPEC_TRANSITIONS: dict[Action, Expect] = {
    A.ANSWER_DIRECTLY: Expect(frozenset({S.REGISTERED}), S.REPLIED, DESK, needs_text=True),
    A.DISPATCH: Expect(frozenset({S.REGISTERED}), S.DISPATCHED, DESK),
    A.ACCEPT: Expect(frozenset({S.DISPATCHED}), S.IN_PROGRESS, DEPT, "lead"),
    A.RETURN: Expect(frozenset({S.DISPATCHED}), S.RETURN_REVIEW, DEPT, "lead", needs_text=True),
    A.APPROVE_RETURN: Expect(frozenset({S.RETURN_REVIEW}), S.REGISTERED, frozenset({Role.DISPATCHER})),
    A.REJECT_RETURN: Expect(frozenset({S.RETURN_REVIEW}), S.DISPATCHED, frozenset({Role.DISPATCHER}), needs_text=True),
    A.REQUEST_EXTENSION: Expect(
        frozenset({S.IN_PROGRESS}), None, DEPT, "lead", needs_text=True, extension="none_pending"
    ),
    A.APPROVE_EXTENSION: Expect(frozenset({S.IN_PROGRESS}), None, SUPERVISOR, extension="pending"),
    A.REJECT_EXTENSION: Expect(frozenset({S.IN_PROGRESS}), None, SUPERVISOR, needs_text=True, extension="pending"),
    A.SUB_DISPATCH: Expect(frozenset({S.IN_PROGRESS}), None, DEPT, "lead"),
    A.ASSIST_REPLY: Expect(frozenset({S.DISPATCHED, S.IN_PROGRESS}), None, DEPT, "assisting", needs_text=True),
    A.REPLY: Expect(frozenset({S.IN_PROGRESS}), S.REPLY_REVIEW, DEPT, "lead", needs_text=True),
    A.APPROVE_REPLY: Expect(frozenset({S.REPLY_REVIEW}), S.REPLIED, SUPERVISOR),
    A.REJECT_REPLY: Expect(frozenset({S.REPLY_REVIEW}), S.IN_PROGRESS, SUPERVISOR, needs_text=True),
    A.CLOSE: Expect(frozenset({S.REPLIED}), S.CLOSED, frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.SYSTEM})),
    A.REWORK: Expect(frozenset({S.REPLIED, S.CLOSED}), S.IN_PROGRESS, SUPERVISOR, needs_text=True),
    A.ARCHIVE: Expect(frozenset({S.CLOSED}), S.ARCHIVED, frozenset({Role.SUPERVISOR, Role.SYSTEM})),
    A.MERGE: Expect(OPEN, S.MERGED, DESK),
}
TERMINAL = frozenset({S.MERGED, S.ARCHIVED})


def is_within(unit_path: str | None, actor_path: str | None) -> bool:
    """Whether ``unit_path`` is the actor's unit or below it, comparing whole path segments."""
    if not unit_path or not actor_path:
        return False
    mine = [p for p in actor_path.split("/") if p]
    theirs = [p for p in unit_path.split("/") if p]
    return theirs[: len(mine)] == mine


def expected(facts: TicketFacts, action: Action, actor: Actor, text: str | None) -> Status | set[type[DomainError]]:
    """The target status if the spec allows the action, else every kind of refusal that applies."""
    spec = SPEC_TRANSITIONS.get(action)
    if spec is None:
        return {Conflict}  # e.g. "create" is not an action on an existing order
    refusals: set[type[DomainError]] = set()
    if actor.role not in spec.roles:
        refusals.add(Forbidden)
    if spec.scope == "lead" and not is_within(facts.lead_unit_path, actor.unit_path):
        refusals.add(Forbidden)
    if spec.scope == "assisting" and not any(is_within(p, actor.unit_path) for p in facts.assisting_unit_paths):
        refusals.add(Forbidden)
    if facts.status not in spec.sources:
        refusals.add(Conflict)
    if spec.extension == "pending" and not facts.extension_pending:
        refusals.add(Conflict)
    if spec.extension == "none_pending" and facts.extension_pending:
        refusals.add(Conflict)
    if spec.needs_text and not (text and text.strip()):
        refusals.add(InvalidInput)
    if refusals:
        return refusals
    if action is A.REWORK and facts.lead_unit_path is None:
        return S.REGISTERED  # a direct answer has no unit to redo it: it goes back to dispatch
    return spec.target or facts.status


def expected_extension_pending(facts: TicketFacts, action: Action, target: Status) -> bool:
    """An extension request stays pending only while the order stays in progress and nobody decided it."""
    if target is not S.IN_PROGRESS:
        return False
    if action is A.REQUEST_EXTENSION:
        return True
    if action in (A.APPROVE_EXTENSION, A.REJECT_EXTENSION) or facts.status is not S.IN_PROGRESS:
        return False
    return facts.extension_pending


def actor_pool() -> list[Actor]:
    """Every role without a unit, and department staff of every unit in the tree (and of none)."""
    actors = [Actor(role=role) for role in Role]
    actors += [Actor(role=Role.DEPARTMENT_STAFF, unit_path=path) for path in UNIT_PATHS]
    actors += [Actor(role=role, unit_path=STREET) for role in Role if role is not Role.DEPARTMENT_STAFF]
    return actors


ACTORS = actor_pool()
actors = st.sampled_from(ACTORS)
texts = st.one_of(st.none(), st.sampled_from(["", "   ", "\n"]), st.text(min_size=1, max_size=8))
leads = st.sampled_from((DISTRICT, STREET, COMMUNITY, SIBLING_STREET, BUREAU))
assisting_sets = st.lists(st.sampled_from(UNIT_PATHS), max_size=2, unique=True)


class LifecycleMachine(RuleBasedStateMachine):
    """Random actions by random actors on one order; the model updates the facts as the service would."""

    facts: TicketFacts

    @initialize()
    def registered(self) -> None:
        self.facts = TicketFacts(S.REGISTERED)

    def _apply(self, action: Action, actor: Actor, text: str | None, lead: str, assisting: list[str]) -> None:
        before = self.facts
        want = expected(before, action, actor, text)
        if isinstance(want, set):
            with pytest.raises(DomainError) as refused:
                decide(before, action, actor, text=text)
            assert type(refused.value) in want, (action, actor, before, refused.value)
            assert refused.value.status_code == {Forbidden: 403, Conflict: 409, InvalidInput: 422}[type(refused.value)]
            assert self.facts == before  # refused: nothing changes
            return
        outcome = decide(before, action, actor, text=text)
        assert outcome.action is action
        assert outcome.from_status is before.status
        assert outcome.to_status is want, (action, actor, before)
        assert outcome.extension_pending == expected_extension_pending(before, action, want)
        self.facts = self._next_facts(before, action, outcome.to_status, outcome.extension_pending, lead, assisting)
        event(f"reached {outcome.to_status}")

    @staticmethod
    def _next_facts(
        facts: TicketFacts, action: Action, status: Status, pending: bool, lead: str, assisting: list[str]
    ) -> TicketFacts:
        """What the service layer records: dispatch sets the units, an approved return clears them."""
        if action is A.DISPATCH:
            facts = replace(facts, lead_unit_path=lead, assisting_unit_paths=tuple(p for p in assisting if p != lead))
        if action is A.APPROVE_RETURN:
            facts = replace(facts, lead_unit_path=None, assisting_unit_paths=())
        return replace(facts, status=status, extension_pending=pending)

    @rule(action=st.sampled_from(Action), actor=actors, text=texts, lead=leads, assisting=assisting_sets)
    def any_action(self, action: Action, actor: Actor, text: str | None, lead: str, assisting: list[str]) -> None:
        self._apply(action, actor, text, lead, assisting)

    @rule(data=st.data(), lead=leads, assisting=assisting_sets)
    def an_allowed_action(self, data: st.DataObject, lead: str, assisting: list[str]) -> None:
        """A legal step (merging aside, which ends a run), so that runs reach review, replied, closed, archived."""
        choices: dict[Action, list[Actor]] = {}
        for action in SPEC_TRANSITIONS.keys() - {A.MERGE}:
            for actor in ACTORS:
                if not isinstance(expected(self.facts, action, actor, "text"), set):
                    choices.setdefault(action, []).append(actor)
        if not choices:
            return
        action = data.draw(st.sampled_from(sorted(choices)), label="allowed action")
        actor = data.draw(st.sampled_from(choices[action]), label="by")
        self._apply(action, actor, "处理说明", lead, assisting)

    @invariant()
    def status_is_a_status(self) -> None:
        assert isinstance(self.facts.status, Status)

    @invariant()
    def terminal_states_allow_nothing(self) -> None:
        if self.facts.status in TERMINAL:
            assert all(allowed_actions(self.facts, actor) == [] for actor in ACTORS)

    @invariant()
    def allowed_actions_agree_with_decide_and_the_spec(self) -> None:
        """In the current state, for every actor: listed == accepted by decide == allowed by the spec."""
        for actor in ACTORS:
            listed = set(allowed_actions(self.facts, actor))
            accepted = set()
            for action in Action:
                try:
                    decide(self.facts, action, actor, text="有内容")
                except DomainError:
                    continue
                accepted.add(action)
            documented = {a for a in Action if not isinstance(expected(self.facts, a, actor, "有内容"), set)}
            assert listed == accepted == documented, (actor, self.facts)


LifecycleMachine.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
TestLifecycle = LifecycleMachine.TestCase


# Readable examples.

LEAD = STREET
DISPATCHED = TicketFacts(S.DISPATCHED, lead_unit_path=LEAD, assisting_unit_paths=(BUREAU,))
IN_PROGRESS = replace(DISPATCHED, status=S.IN_PROGRESS)
OPERATOR = Actor(Role.OPERATOR, user_id=1)
DISPATCHER = Actor(Role.DISPATCHER, user_id=2)
SUPERVISOR_ACTOR = Actor(Role.SUPERVISOR, user_id=3)
LEAD_STAFF = Actor(Role.DEPARTMENT_STAFF, unit_path=LEAD, user_id=4)


def test_department_staff_cannot_dispatch() -> None:
    with pytest.raises(Forbidden) as refused:
        decide(TicketFacts(S.REGISTERED), A.DISPATCH, LEAD_STAFF)
    assert refused.value.status_code == 403


def test_operator_dispatches_a_registered_order() -> None:
    outcome = decide(TicketFacts(S.REGISTERED), A.DISPATCH, OPERATOR)
    assert (outcome.from_status, outcome.to_status) == (S.REGISTERED, S.DISPATCHED)


def test_supervisor_approves_an_extension_only_when_one_is_pending() -> None:
    with pytest.raises(Conflict):
        decide(IN_PROGRESS, A.APPROVE_EXTENSION, SUPERVISOR_ACTOR)
    requested = decide(IN_PROGRESS, A.REQUEST_EXTENSION, LEAD_STAFF, text="需要协调施工队")
    assert requested.to_status is S.IN_PROGRESS and requested.extension_pending
    pending = replace(IN_PROGRESS, extension_pending=True)
    approved = decide(pending, A.APPROVE_EXTENSION, SUPERVISOR_ACTOR)
    assert approved.to_status is S.IN_PROGRESS and not approved.extension_pending
    with pytest.raises(Conflict):
        decide(pending, A.REQUEST_EXTENSION, LEAD_STAFF, text="再延一次")
    with pytest.raises(Forbidden):
        decide(pending, A.APPROVE_EXTENSION, DISPATCHER)


def test_a_refused_state_change_says_why_in_chinese_and_english() -> None:
    archived = TicketFacts(S.ARCHIVED, lead_unit_path=LEAD)
    with pytest.raises(Conflict) as refused:
        decide(archived, A.CLOSE, OPERATOR)
    error = refused.value
    assert error.status_code == 409
    assert re.search(r"[\u4e00-\u9fff]", error.message_zh) and "已归档" in error.message_zh
    assert re.fullmatch(r"[\x20-\x7e]+", error.message_en) and "archived" in error.message_en
    assert error.as_dict()["detail"] == f"{error.message_zh} / {error.message_en}"


def test_a_return_needs_a_reason() -> None:
    for blank in (None, "", "  "):
        with pytest.raises(InvalidInput) as refused:
            decide(DISPATCHED, A.RETURN, LEAD_STAFF, text=blank)
        assert refused.value.status_code == 422
    outcome = decide(DISPATCHED, A.RETURN, LEAD_STAFF, text="不属于本单位职责")
    assert outcome.to_status is S.RETURN_REVIEW


def test_return_review_goes_back_to_registered_or_to_the_same_unit() -> None:
    review = replace(DISPATCHED, status=S.RETURN_REVIEW)
    assert decide(review, A.APPROVE_RETURN, DISPATCHER).to_status is S.REGISTERED
    assert decide(review, A.REJECT_RETURN, DISPATCHER, text="属于本单位职责").to_status is S.DISPATCHED
    with pytest.raises(Forbidden):
        decide(review, A.APPROVE_RETURN, OPERATOR)  # judging returns is the dispatcher's job


def test_only_the_lead_unit_and_its_parents_act_for_the_lead() -> None:
    assert decide(DISPATCHED, A.ACCEPT, Actor(Role.DEPARTMENT_STAFF, unit_path=DISTRICT)).to_status is S.IN_PROGRESS
    for path in (COMMUNITY, SIBLING_STREET, OTHER_DISTRICT, BUREAU, None):
        with pytest.raises(Forbidden):
            decide(DISPATCHED, A.ACCEPT, Actor(Role.DEPARTMENT_STAFF, unit_path=path))
    led_by_sibling = replace(DISPATCHED, lead_unit_path=SIBLING_STREET)  # "/1/50/" is not below "/1/5/"
    with pytest.raises(Forbidden):
        decide(led_by_sibling, A.ACCEPT, LEAD_STAFF)


def test_an_assisting_unit_replies_to_the_lead_but_cannot_reply_for_the_order() -> None:
    assistant = Actor(Role.DEPARTMENT_STAFF, unit_path=BUREAU)
    assert decide(IN_PROGRESS, A.ASSIST_REPLY, assistant, text="已配合核查").to_status is S.IN_PROGRESS
    with pytest.raises(Forbidden):
        decide(IN_PROGRESS, A.REPLY, assistant, text="已办结")
    with pytest.raises(Forbidden):
        decide(IN_PROGRESS, A.ASSIST_REPLY, LEAD_STAFF, text="主办单位不是协办单位")


def test_reply_review_then_close_only_from_replied() -> None:
    review = decide(IN_PROGRESS, A.REPLY, LEAD_STAFF, text="已修复")
    assert review.to_status is S.REPLY_REVIEW
    replied = replace(IN_PROGRESS, status=S.REPLY_REVIEW)
    assert decide(replied, A.APPROVE_REPLY, SUPERVISOR_ACTOR).to_status is S.REPLIED
    assert decide(replied, A.REJECT_REPLY, SUPERVISOR_ACTOR, text="未联系诉求人").to_status is S.IN_PROGRESS
    for status in set(Status) - {S.REPLIED}:
        with pytest.raises(Conflict):
            decide(replace(IN_PROGRESS, status=status), A.CLOSE, OPERATOR)


def test_rework_of_a_direct_answer_goes_back_to_dispatch() -> None:
    answered = decide(TicketFacts(S.REGISTERED), A.ANSWER_DIRECTLY, OPERATOR, text="请携带身份证到窗口办理")
    assert answered.to_status is S.REPLIED
    assert decide(TicketFacts(S.CLOSED), A.REWORK, SUPERVISOR_ACTOR, text="诉求人不满意").to_status is S.REGISTERED
    closed = replace(IN_PROGRESS, status=S.CLOSED)
    assert decide(closed, A.REWORK, SUPERVISOR_ACTOR, text="诉求人不满意").to_status is S.IN_PROGRESS


@pytest.mark.parametrize("status", [S.MERGED, S.ARCHIVED])
def test_merged_and_archived_orders_are_final(status: Status) -> None:
    facts = replace(IN_PROGRESS, status=status)
    for actor in ACTORS:
        assert allowed_actions(facts, actor) == []
    with pytest.raises(Conflict):
        decide(facts, A.MERGE, OPERATOR)


@pytest.mark.parametrize("status", sorted(OPEN))
def test_any_open_order_can_be_merged(status: Status) -> None:
    facts = replace(IN_PROGRESS, status=status)
    assert decide(facts, A.MERGE, OPERATOR).to_status is S.MERGED
    assert decide(facts, A.MERGE, DISPATCHER).to_status is S.MERGED
    with pytest.raises(Forbidden):
        decide(facts, A.MERGE, LEAD_STAFF)
