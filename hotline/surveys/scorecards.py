"""Department scorecards (考核): every rate defined once here, each as a numerator over a denominator.

For a period ``P = [start, end)`` and a unit ``U`` (docs/SURVEYS.md explains each one):

- ``D(U,P)``: dispatches to ``U`` in ``P`` — ``dispatch`` events created in ``P`` naming ``U`` the lead unit
  (sub-dispatches included);
- ``O(U,P)``: orders whose lead unit is ``U`` and whose current dispatch (``dispatched_at``) is in ``P``,
  merged orders left out;
- ``S(U,P)``: callback surveys created in ``P`` of replies given by ``U`` (``unit_id``; the hotline's
  own direct answers have none), not counting orders left out by sampling or surveys cancelled by a rework.

Rates are evaluated as of an instant (``as_of``): what is not decided yet (an acceptance or a
deadline still to come) is in neither part of the rate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from hotline.surveys.models import CONCLUDED_STATUSES, REACHED_STATUSES, CallbackSurvey, ReviewStatus, SurveyStatus
from hotline.surveys.parsing import SATISFIED_LEVELS, Satisfaction
from hotline.surveys.period import HOTLINE, PeriodData, load_period
from hotline.tickets.lifecycle import Action, Status
from hotline.tickets.models import TicketEvent
from hotline.units.models import Unit, UnitKind

FINISHED = frozenset({Status.REPLIED, Status.CLOSED, Status.ARCHIVED})
RATE_DIGITS = 4


@dataclass
class Counts:
    """A rate as its two counts; no rate when nothing was counted."""

    numerator: int = 0
    denominator: int = 0

    def add(self, *, counted: bool, hit: bool) -> None:
        if counted:
            self.denominator += 1
            self.numerator += int(hit)

    @property
    def rate(self) -> float | None:
        return round(self.numerator / self.denominator, RATE_DIGITS) if self.denominator else None


# The formulas --------------------------------------------------------------------------------------


def response(data: PeriodData, unit: int) -> Counts:
    """响应率: dispatches in D(U,P) accepted by their acceptance deadline / dispatches in D(U,P) decided."""
    counts = Counts()
    for dispatch in data.dispatches[unit]:
        accepted_at, returned = _after_dispatch(data.history[dispatch.ticket_id], dispatch.seq)
        due = dispatch.accept_due_at
        if returned or due is None:
            continue  # a return the dispatcher approved: the order was never the unit's to accept
        decided = accepted_at is not None or data.as_of > due
        counts.add(counted=decided, hit=accepted_at is not None and accepted_at <= due)
    return counts


def on_time(data: PeriodData, unit: int) -> Counts:
    """按时办结率: orders of O(U,P) whose approved reply was given by the deadline / orders of O(U,P) decided."""
    counts = Counts()
    for order in data.orders[unit]:
        if order.due_at is None:
            continue
        finished = order.status in FINISHED
        in_time = order.replied_at is not None and order.replied_at <= order.due_at
        waiting_review = order.status == Status.REPLY_REVIEW and in_time
        decided = finished or (not waiting_review and data.as_of > order.due_at)
        counts.add(counted=decided, hit=finished and in_time)
    return counts


def returns(data: PeriodData, unit: int) -> Counts:
    """退单率: returns judged in P the unit's fault (its return rejected, or its wrong sub-dispatch) / |D(U,P)|."""
    return Counts(numerator=data.wrong_returns[unit], denominator=len(data.dispatches[unit]))


def rework(data: PeriodData, unit: int) -> Counts:
    """重办率: orders of O(U,P) sent back to the unit after an approved reply (重办) / orders of O(U,P) replied."""
    counts = Counts()
    for order in data.orders[unit]:
        history = data.history[order.id or 0]
        replied = any(e.action == Action.APPROVE_REPLY for e in history)
        reworked = any(e.action == Action.REWORK and e.to_status == Status.IN_PROGRESS for e in history)
        counts.add(counted=replied, hit=reworked)
    return counts


def _scored(surveys: Iterable[CallbackSurvey]) -> list[CallbackSurvey]:
    """Answered surveys that count: a bad rating judged unreasonable is excluded from scoring."""
    return [s for s in surveys if s.status == SurveyStatus.ANSWERED and s.review_status != ReviewStatus.UNREASONABLE]


def resolution(data: PeriodData, unit: int) -> Counts:
    """解决率: surveys of S(U,P) answered "resolved" / those answering the question (unreasonable excluded)."""
    counts = Counts()
    for survey in _scored(data.surveys[unit]):
        counts.add(counted=survey.resolved is not None, hit=survey.resolved is True)
    return counts


def satisfaction(data: PeriodData, unit: int) -> Counts:
    """满意率: surveys of S(U,P) rated 非常满意, 满意 or 基本满意 / surveys rated at all (unreasonable excluded)."""
    counts = Counts()
    for survey in _scored(data.surveys[unit]):
        level = Satisfaction(survey.satisfaction) if survey.satisfaction else None
        counts.add(counted=level is not None, hit=level in SATISFIED_LEVELS)
    return counts


def reach(data: PeriodData, unit: int) -> Counts:
    """回访率: surveys of S(U,P) that reached the citizen (answered, or free text) / surveys of S(U,P) concluded."""
    counts = Counts()
    for survey in data.surveys[unit]:
        counts.add(counted=survey.status in CONCLUDED_STATUSES, hit=survey.status in REACHED_STATUSES)
    return counts


def first_contact(data: PeriodData, unit: int) -> Counts:
    """直接办结率 (hotline): orders registered in P answered directly by the hotline / orders registered in P."""
    if unit != HOTLINE:
        return Counts()
    return Counts(numerator=len(data.answered_directly), denominator=len(data.registered))


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    formula: Callable[[PeriodData, int], Counts]
    numerator: str  # the two counts in words, for the export's definitions sheet and the API
    denominator: str
    higher_is_better: bool
    weight: float  # share in the overall score (直接办结率 is the hotline's own, not ranked)


METRICS: tuple[Metric, ...] = (
    Metric(
        "response_rate",
        "响应率",
        response,
        "本期派给本单位的工单中，在签收时限内签收的次数",
        "本期派给本单位的工单次数（不含审核同意的退单、尚未到签收时限且未签收的）",
        True,
        0.15,
    ),
    Metric(
        "on_time_rate",
        "按时办结率",
        on_time,
        "本期派给本单位且仍由其主办的工单中，回复经审核通过且回复时间不晚于办理时限的件数",
        "上述工单中已审核通过回复或已超过办理时限的件数（回复待审核且未超时的不计）",
        True,
        0.20,
    ),
    Metric(
        "resolution_rate",
        "解决率",
        resolution,
        "本期对本单位办理结果的回访中，答复“已解决”的件数",
        "本期对本单位办理结果的回访中，已回访且答复了是否解决的件数（经审核不合理的差评不计）",
        True,
        0.20,
    ),
    Metric(
        "satisfaction_rate",
        "满意率",
        satisfaction,
        "本期回访评价为非常满意、满意、基本满意的件数",
        "本期已回访且作出满意度评价的件数（经审核不合理的差评不计）",
        True,
        0.25,
    ),
    Metric(
        "return_rate",
        "退单率",
        returns,
        "本期审核认定责任在本单位的退单数（退单被驳回，或下派错误被同意退回）",
        "本期派给本单位的工单次数",
        False,
        0.05,
    ),
    Metric(
        "rework_rate",
        "重办率",
        rework,
        "本期派给本单位且仍由其主办的工单中，回复审核通过后又被重办的件数",
        "上述工单中回复曾经审核通过的件数",
        False,
        0.10,
    ),
    Metric(
        "reach_rate",
        "回访率",
        reach,
        "本期对本单位办理结果的回访中，联系到诉求人的件数（已评价或回复了文字意见）",
        "本期已结束的回访件数（已回访、未回访；不含未抽中及因重办取消的）",
        True,
        0.05,
    ),
    Metric(
        "first_contact_rate",
        "直接办结率",
        first_contact,
        "本期受理的工单中，由热线直接答复办结的件数",
        "本期受理的工单件数（不含下派子工单和已并单的）",
        True,
        0.0,
    ),
)
SCORE_DEFINITION = (
    "综合得分 = Σ(权重 × 指标得分) / Σ(有数据指标的权重)；正向指标得分为比率，退单率、重办率得分为 1 − 比率；"
    "按综合得分从高到低排名，得分相同名次相同"
)


def _after_dispatch(history: list[TicketEvent], seq: int) -> tuple[datetime | None, bool]:
    """When a dispatch was accepted, and whether a return was approved before that."""
    for event in history:
        if event.seq <= seq:
            continue
        if event.action == Action.ACCEPT:
            return event.created_at, False
        if event.action == Action.APPROVE_RETURN:
            return None, True
        if event.action == Action.DISPATCH:
            return None, False
    return None, False


# Rows and rankings ---------------------------------------------------------------------------------


@dataclass
class Row:
    unit_id: int | None
    unit_name: str
    unit_kind: str
    counts: dict[str, Counts]
    hotline: bool = False  # the hotline's own row (direct answers): shown, not ranked among departments
    score: float | None = None
    rank: int | None = None
    ranks: dict[str, int | None] = field(default_factory=dict)


def score(counts: dict[str, Counts]) -> float | None:
    """The overall score: the weighted mean of the rates that have data (lower-is-better ones inverted)."""
    total = weights = 0.0
    for metric in METRICS:
        rate = counts[metric.key].rate
        if rate is None or metric.weight == 0:
            continue
        total += metric.weight * (rate if metric.higher_is_better else 1 - rate)
        weights += metric.weight
    return round(total / weights, RATE_DIGITS) if weights else None


def competition_ranks(values: dict[int, float | None], *, descending: bool) -> dict[int, int | None]:
    """1, 2, 2, 4: equal values share a rank; rows without a value are unranked."""
    present = sorted((v for v in values.values() if v is not None), reverse=descending)
    return {key: (present.index(v) + 1 if v is not None else None) for key, v in values.items()}


def _row(key: int, counts: dict[str, Counts], units: dict[int, Unit]) -> Row:
    if key == HOTLINE:
        center = next((u for u in units.values() if u.kind == UnitKind.HOTLINE_CENTER), None)
        name = center.name if center else "12345热线"
        return Row(center.id if center else None, name, UnitKind.HOTLINE_CENTER, counts, hotline=True)
    unit = units.get(key)
    return Row(key, unit.name if unit else f"单位{key}", unit.kind if unit else "", counts)


def build_rows(data: PeriodData, units: dict[int, Unit]) -> list[Row]:
    """One row per unit with any activity, ranked; the hotline's own row is shown, not ranked."""
    keys = set(data.dispatches) | set(data.orders) | set(data.surveys) | set(data.wrong_returns) | {HOTLINE}
    rows = []
    for key in sorted(keys):
        counts = {m.key: m.formula(data, key) for m in METRICS}
        if any(c.denominator for c in counts.values()):
            rows.append(_row(key, counts, units))
    ranked = [r for r in rows if not r.hotline]
    for row in rows:
        row.score = score(row.counts)
    overall = competition_ranks({i: r.score for i, r in enumerate(ranked)}, descending=True)
    for metric in METRICS:
        rates = {i: r.counts[metric.key].rate for i, r in enumerate(ranked)}
        for i, rank in competition_ranks(rates, descending=metric.higher_is_better).items():
            ranked[i].ranks[metric.key] = rank
    for i, row in enumerate(ranked):
        row.rank = overall[i]
    return sorted(rows, key=lambda r: (r.hotline, r.rank is None, r.rank or 0, r.unit_name))


async def scorecard(session: AsyncSession, *, start: datetime, end: datetime, as_of: datetime) -> list[Row]:
    """Every unit's row for a period, ranked."""
    data = await load_period(session, start=start, end=end, as_of=as_of)
    units = {u.id: u for u in (await session.execute(select(Unit))).scalars() if u.id is not None}
    return build_rows(data, units)
