"""API shapes of surveys, their review, sampling rules and scorecards."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from hotline.surveys.parsing import Satisfaction
from hotline.timefmt import LocalDateTime

MAX_COMMENT = 1000
MAX_REASON = 2000


class CallAnswerIn(BaseModel):
    """What an operator heard on the call (at least one of the two answers)."""

    resolved: bool | None = None
    satisfaction: Satisfaction | None = Field(default=None, description="非常满意 … 非常不满意 as their codes")
    comment: str | None = Field(default=None, max_length=MAX_COMMENT)


class JudgementIn(BaseModel):
    reasonable: bool = Field(description="true: 诉求合理 → 重办; false: 不合理 → 不计入考核")
    reason: str = Field(min_length=1, max_length=MAX_REASON)


class SamplingRuleIn(BaseModel):
    unit_id: int | None = Field(default=None, description="a unit (and its children); none: any unit")
    category_id: int | None = Field(default=None, description="a category (and its subtree); none: any")
    percent: int = Field(ge=0, le=100)


class SamplingRuleView(SamplingRuleIn):
    id: int
    updated_at: LocalDateTime


class ResponseView(BaseModel):
    channel: str
    text: str
    outcome: str
    reply: str | None
    created_at: LocalDateTime


class OrderView(BaseModel):
    id: int
    number: str
    title: str
    status: str
    category_id: int | None
    category_name: str | None
    territory_unit_id: int | None
    territory_name: str | None
    reply: str | None = Field(description="the result the citizen was given (the approved reply or direct answer)")


class AnswerView(BaseModel):
    resolved: bool | None
    resolved_label: str | None
    satisfaction: str | None
    satisfaction_label: str | None
    comment: str | None
    via: str | None
    answered_at: LocalDateTime | None
    answered_by_id: int | None
    responses: list[ResponseView]


class JudgementView(BaseModel):
    status: str | None
    label: str | None
    level: int
    reviewed_by_id: int | None
    reviewed_by: str | None
    reviewed_at: LocalDateTime | None
    reason: str | None
    excluded_from_scoring: bool


class SurveyView(BaseModel):
    id: int
    round: int
    unit_id: int | None
    unit_name: str
    method: str
    method_label: str
    recipient: str | None = Field(description="masked")
    status: str
    status_label: str
    attempts: int
    created_at: LocalDateTime
    first_sent_at: LocalDateTime | None
    expires_at: LocalDateTime | None
    concluded_at: LocalDateTime | None
    order: OrderView
    answer: AnswerView
    judgement: JudgementView


class SurveyPage(BaseModel):
    items: list[SurveyView]
    total: int
    page: int
    page_size: int


class MetricView(BaseModel):
    key: str
    label: str
    numerator: str
    denominator: str
    higher_is_better: bool
    weight: float


class RateView(BaseModel):
    numerator: int
    denominator: int
    rate: float | None
    rank: int | None


class ScorecardRow(BaseModel):
    unit_id: int | None
    unit_name: str
    unit_kind: str
    hotline: bool
    score: float | None
    rank: int | None
    metrics: dict[str, RateView]


class ScorecardView(BaseModel):
    start: date
    end: date = Field(description="the last day of the period (inclusive)")
    as_of: LocalDateTime
    metrics: list[MetricView]
    score_definition: str
    rows: list[ScorecardRow]
