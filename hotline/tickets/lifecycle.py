"""The work-order lifecycle as a pure state machine: no I/O, only rules.

Given an order's facts, an actor and an action, ``decide`` returns the outcome or raises a
domain error that says, in Chinese and English, why the action is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from hotline.auth.models import Role
from hotline.errors import Conflict, Forbidden, InvalidInput


class Status(StrEnum):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    RETURN_REVIEW = "return_review"
    IN_PROGRESS = "in_progress"
    REPLY_REVIEW = "reply_review"
    REPLIED = "replied"
    CLOSED = "closed"
    ARCHIVED = "archived"
    MERGED = "merged"


STATUS_LABELS_ZH = {
    Status.REGISTERED: "已受理",
    Status.DISPATCHED: "已派单",
    Status.RETURN_REVIEW: "退单审核",
    Status.IN_PROGRESS: "办理中",
    Status.REPLY_REVIEW: "回复审核",
    Status.REPLIED: "已回复",
    Status.CLOSED: "已办结",
    Status.ARCHIVED: "已归档",
    Status.MERGED: "已并单",
}

OPEN_STATUSES = frozenset(
    {Status.REGISTERED, Status.DISPATCHED, Status.RETURN_REVIEW, Status.IN_PROGRESS, Status.REPLY_REVIEW}
)


class Action(StrEnum):
    CREATE = "create"
    ANSWER_DIRECTLY = "answer_directly"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return"
    APPROVE_RETURN = "approve_return"
    REJECT_RETURN = "reject_return"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REJECT_EXTENSION = "reject_extension"
    SUB_DISPATCH = "sub_dispatch"
    ASSIST_REPLY = "assist_reply"
    REPLY = "reply"
    APPROVE_REPLY = "approve_reply"
    REJECT_REPLY = "reject_reply"
    CLOSE = "close"
    REWORK = "rework"
    ARCHIVE = "archive"
    MERGE = "merge"


ACTION_LABELS_ZH = {
    Action.CREATE: "受理",
    Action.ANSWER_DIRECTLY: "直接办结",
    Action.DISPATCH: "派单",
    Action.ACCEPT: "签收",
    Action.RETURN: "退单",
    Action.APPROVE_RETURN: "同意退单",
    Action.REJECT_RETURN: "驳回退单",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.APPROVE_EXTENSION: "同意延期",
    Action.REJECT_EXTENSION: "驳回延期",
    Action.SUB_DISPATCH: "下派",
    Action.ASSIST_REPLY: "协办回复",
    Action.REPLY: "回复",
    Action.APPROVE_REPLY: "审核通过",
    Action.REJECT_REPLY: "审核退回",
    Action.CLOSE: "办结",
    Action.REWORK: "重办",
    Action.ARCHIVE: "归档",
    Action.MERGE: "并单",
}

HISTORY_LABELS_ZH = {  # history-only events, not lifecycle actions
    "merge_in": "并入工单",
    "sla_warning": "预警",
    "sla_yellow_card": "黄牌",
    "sla_red_card": "红牌",
    "urge": "催办",
    "supervise": "督办",
    "supervision_reply": "督办回复",
    "clock_paused": "暂停计时",
    "clock_resumed": "恢复计时",
    "survey_sent": "回访",
    "survey_answered": "回访结果",
    "survey_free_text": "回访意见",
    "survey_unreached": "未回访",
    "survey_skipped": "免回访",
    "survey_judged": "不满意审核",
    "classify": "分类",
}


EVENT_LABELS_ZH: dict[str, str] = {
    action.value: label for action, label in ACTION_LABELS_ZH.items()
} | HISTORY_LABELS_ZH


def event_label(action: str) -> str:
    """The Chinese name of an event in an order's history."""
    return EVENT_LABELS_ZH.get(action, action)


Scope = Literal["hotline", "lead", "assisting"]
ExtensionRule = Literal["any", "none_pending", "pending"]
TextField = Literal["reason", "answer", "reply"]
TEXT_LABELS_ZH = {"reason": "原因", "answer": "答复内容", "reply": "办理结果"}

HOTLINE_DESK = frozenset({Role.OPERATOR, Role.DISPATCHER})
DEPARTMENT = frozenset({Role.DEPARTMENT_STAFF})
SUPERVISION = frozenset({Role.SUPERVISOR})


@dataclass(frozen=True)
class Rule:
    """Which states an action starts from, where it leads, who may take it and what it needs."""

    sources: frozenset[Status]
    target: Status | None  # None: the status stays as it is
    roles: frozenset[Role]
    scope: Scope = "hotline"
    text: TextField | None = None
    extension: ExtensionRule = "any"


RULES: dict[Action, Rule] = {
    Action.ANSWER_DIRECTLY: Rule(frozenset({Status.REGISTERED}), Status.REPLIED, HOTLINE_DESK, text="answer"),
    Action.DISPATCH: Rule(frozenset({Status.REGISTERED}), Status.DISPATCHED, HOTLINE_DESK),
    Action.ACCEPT: Rule(frozenset({Status.DISPATCHED}), Status.IN_PROGRESS, DEPARTMENT, "lead"),
    Action.RETURN: Rule(frozenset({Status.DISPATCHED}), Status.RETURN_REVIEW, DEPARTMENT, "lead", "reason"),
    Action.APPROVE_RETURN: Rule(frozenset({Status.RETURN_REVIEW}), Status.REGISTERED, frozenset({Role.DISPATCHER})),
    Action.REJECT_RETURN: Rule(
        frozenset({Status.RETURN_REVIEW}), Status.DISPATCHED, frozenset({Role.DISPATCHER}), text="reason"
    ),
    Action.REQUEST_EXTENSION: Rule(
        frozenset({Status.IN_PROGRESS}), None, DEPARTMENT, "lead", "reason", extension="none_pending"
    ),
    Action.APPROVE_EXTENSION: Rule(frozenset({Status.IN_PROGRESS}), None, SUPERVISION, extension="pending"),
    Action.REJECT_EXTENSION: Rule(
        frozenset({Status.IN_PROGRESS}), None, SUPERVISION, text="reason", extension="pending"
    ),
    Action.SUB_DISPATCH: Rule(frozenset({Status.IN_PROGRESS}), None, DEPARTMENT, "lead"),
    Action.ASSIST_REPLY: Rule(
        frozenset({Status.DISPATCHED, Status.IN_PROGRESS}), None, DEPARTMENT, "assisting", "reply"
    ),
    Action.REPLY: Rule(frozenset({Status.IN_PROGRESS}), Status.REPLY_REVIEW, DEPARTMENT, "lead", "reply"),
    Action.APPROVE_REPLY: Rule(frozenset({Status.REPLY_REVIEW}), Status.REPLIED, SUPERVISION),
    Action.REJECT_REPLY: Rule(frozenset({Status.REPLY_REVIEW}), Status.IN_PROGRESS, SUPERVISION, text="reason"),
    Action.CLOSE: Rule(
        frozenset({Status.REPLIED}), Status.CLOSED, frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.SYSTEM})
    ),
    Action.REWORK: Rule(frozenset({Status.REPLIED, Status.CLOSED}), Status.IN_PROGRESS, SUPERVISION, text="reason"),
    Action.ARCHIVE: Rule(frozenset({Status.CLOSED}), Status.ARCHIVED, frozenset({Role.SUPERVISOR, Role.SYSTEM})),
    Action.MERGE: Rule(OPEN_STATUSES, Status.MERGED, HOTLINE_DESK),
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a role and, for department staff, the path of their unit in the unit tree."""

    role: Role
    unit_path: str | None = None
    user_id: int | None = None

    def covers(self, unit_path: str | None) -> bool:
        """Whether a unit is this actor's own unit or one of its children."""
        return bool(self.unit_path and unit_path and unit_path.startswith(self.unit_path))


@dataclass(frozen=True)
class TicketFacts:
    """What the rules need to know about an order."""

    status: Status
    lead_unit_path: str | None = None
    assisting_unit_paths: tuple[str, ...] = field(default_factory=tuple)
    extension_pending: bool = False


@dataclass(frozen=True)
class Outcome:
    """The result of an allowed action: the new status and the event to append."""

    action: Action
    from_status: Status
    to_status: Status
    extension_pending: bool


def decide(facts: TicketFacts, action: Action, actor: Actor, *, text: str | None = None) -> Outcome:
    """Check an action against the rules and return its outcome, or raise why it is refused."""
    rule = RULES.get(action)
    if rule is None:
        raise Conflict(f"不支持的操作：{action}", f"unsupported action: {action}")
    _check_role(rule, action, actor)
    _check_scope(rule, action, facts, actor)
    _check_state(rule, action, facts)
    _check_text(rule, action, text)
    target = _target(rule, action, facts)
    return Outcome(action, facts.status, target, _extension_after(action, facts, target))


def allowed_actions(facts: TicketFacts, actor: Actor) -> list[Action]:
    """The actions this actor could take now (text requirements aside), for the UI's buttons."""
    allowed = []
    for action, rule in RULES.items():
        try:
            _check_role(rule, action, actor)
            _check_scope(rule, action, facts, actor)
            _check_state(rule, action, facts)
        except (Conflict, Forbidden):
            continue
        allowed.append(action)
    return allowed


def _check_role(rule: Rule, action: Action, actor: Actor) -> None:
    if actor.role not in rule.roles:
        label = ACTION_LABELS_ZH[action]
        raise Forbidden(f"当前角色无权执行“{label}”", f"role {actor.role} may not {action}")


def _check_scope(rule: Rule, action: Action, facts: TicketFacts, actor: Actor) -> None:
    if rule.scope == "lead" and not actor.covers(facts.lead_unit_path):
        raise Forbidden("该工单不是本单位主办的工单", f"{action}: the order is not led by your unit")
    if rule.scope == "assisting" and not any(actor.covers(p) for p in facts.assisting_unit_paths):
        raise Forbidden("本单位不是该工单的协办单位", f"{action}: your unit is not assisting on this order")


def _check_state(rule: Rule, action: Action, facts: TicketFacts) -> None:
    label = ACTION_LABELS_ZH[action]
    if facts.status not in rule.sources:
        state = STATUS_LABELS_ZH[facts.status]
        raise Conflict(f"工单当前状态为“{state}”，不能{label}", f"cannot {action} an order that is {facts.status}")
    if rule.extension == "pending" and not facts.extension_pending:
        raise Conflict(f"没有待审批的延期申请，不能{label}", f"cannot {action}: no extension request is pending")
    if rule.extension == "none_pending" and facts.extension_pending:
        raise Conflict("已有待审批的延期申请", f"cannot {action}: an extension request is already pending")


def _check_text(rule: Rule, action: Action, text: str | None) -> None:
    if rule.text and not (text and text.strip()):
        label = TEXT_LABELS_ZH[rule.text]
        raise InvalidInput(f"{ACTION_LABELS_ZH[action]}必须填写{label}", f"{action} requires a {rule.text}")


def _target(rule: Rule, action: Action, facts: TicketFacts) -> Status:
    if action is Action.REWORK and facts.lead_unit_path is None:
        return Status.REGISTERED  # a direct answer has no unit to rework it: back to dispatch
    return rule.target or facts.status


def _extension_after(action: Action, facts: TicketFacts, target: Status) -> bool:
    if target is not Status.IN_PROGRESS:
        return False
    if action is Action.REQUEST_EXTENSION:
        return True
    if action in (Action.APPROVE_EXTENSION, Action.REJECT_EXTENSION):
        return False
    return facts.extension_pending if facts.status is Status.IN_PROGRESS else False
