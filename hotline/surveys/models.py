"""Callback surveys, every answer a citizen (or an operator) gave to one, and the sampling rules."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow


class SurveyStatus(StrEnum):
    AWAITING = "awaiting"  # asked (or to be asked), no complete answer yet
    NEEDS_READING = "needs_reading"  # the citizen wrote free text: a supervisor reads it and records the answer
    ANSWERED = "answered"
    UNREACHED = "unreached"  # 未回访: no answer in time, or no way to reach the citizen
    NOT_SAMPLED = "not_sampled"  # the sampling rules left this order out
    CANCELLED = "cancelled"  # the order went back to handling before the citizen answered


SURVEY_STATUS_LABELS_ZH = {
    SurveyStatus.AWAITING: "待回访",
    SurveyStatus.NEEDS_READING: "待人工判读",
    SurveyStatus.ANSWERED: "已回访",
    SurveyStatus.UNREACHED: "未回访",
    SurveyStatus.NOT_SAMPLED: "未抽中",
    SurveyStatus.CANCELLED: "已取消",
}
REACHED_STATUSES = frozenset({SurveyStatus.ANSWERED, SurveyStatus.NEEDS_READING})
CONCLUDED_STATUSES = REACHED_STATUSES | {SurveyStatus.UNREACHED}


class SurveyMethod(StrEnum):
    SMS = "sms"
    WECHAT = "wechat"
    VOICE = "voice"  # an automated call with keypad answers
    OPERATOR = "operator"  # an operator calls and fills in the form
    NONE = "none"  # no way to reach the citizen


METHOD_LABELS_ZH = {
    SurveyMethod.SMS: "短信",
    SurveyMethod.WECHAT: "微信",
    SurveyMethod.VOICE: "语音外呼",
    SurveyMethod.OPERATOR: "人工回访",
    SurveyMethod.NONE: "无联系方式",
}


class ReviewStatus(StrEnum):
    PENDING = "pending"
    REASONABLE = "reasonable"  # → rework by the unit; counts against it
    UNREASONABLE = "unreasonable"  # → excluded from scoring, with the reason


REVIEW_LABELS_ZH = {
    ReviewStatus.PENDING: "待审核",
    ReviewStatus.REASONABLE: "合理",
    ReviewStatus.UNREASONABLE: "不合理",
}


class ResponseOutcome(StrEnum):
    RECORDED = "recorded"  # the survey is now complete
    PARTIAL = "partial"  # one question answered, the other asked again
    FREE_TEXT = "free_text"  # words only: a supervisor reads them
    UNCLEAR = "unclear"  # e.g. a digit no question allows: asked again
    DUPLICATE = "duplicate"  # the survey was already answered: kept, not recorded
    LATE = "late"  # the survey had ended: kept on the order, not recorded


def _instant(index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, index=index))


class CallbackSurvey(SQLModel, table=True):
    """One callback survey of an order's reply; one per order and handling round (the rework count)."""

    __tablename__ = "callback_surveys"
    __table_args__ = (
        UniqueConstraint("ticket_id", "round", name="uq_callback_surveys_ticket_round"),
        Index("ix_callback_surveys_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_callback_surveys_status_expires", "status", "expires_at"),
        Index("ix_callback_surveys_citizen_status", "citizen_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id")
    round: int = Field(default=0)  # the order's rework count when its reply was approved
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)  # who replied; None: the hotline
    citizen_id: int | None = Field(default=None, foreign_key="citizens.id")
    method: str = Field(max_length=16)
    recipient: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=16)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = _instant()
    expires_at: datetime | None = _instant()
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))
    first_sent_at: datetime | None = _instant()
    concluded_at: datetime | None = _instant()
    resolved: bool | None = Field(default=None)
    satisfaction: str | None = Field(default=None, max_length=24)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_via: str | None = Field(default=None, max_length=16)
    answered_by_id: int | None = Field(default=None, foreign_key="users.id")
    answered_at: datetime | None = _instant()
    review_status: str | None = Field(default=None, max_length=16, index=True)
    review_level: int = Field(default=0)  # 1: a supervisor; 2: a second bad rating after rework, a senior one
    reviewed_by_id: int | None = Field(default=None, foreign_key="users.id")
    reviewed_at: datetime | None = _instant()
    review_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class SurveyResponse(SQLModel, table=True):
    """Everything said to a survey, kept whether or not it was recorded (a second answer, a late one)."""

    __tablename__ = "survey_responses"
    __table_args__ = (UniqueConstraint("channel", "external_id", name="uq_survey_responses_channel_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="callback_surveys.id", index=True)
    channel: str = Field(max_length=16)  # sms, wechat, voice, operator
    external_id: str | None = Field(default=None, max_length=160)  # a voice call's CallSid and question
    message_id: int | None = Field(default=None, foreign_key="messages.id", unique=True)
    user_id: int | None = Field(default=None, foreign_key="users.id")  # the operator who filled in the form
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    outcome: str = Field(max_length=16)  # recorded, partial, free_text, unclear, duplicate, late
    parsed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    reply: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # what the citizen was told
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class SurveySamplingRule(SQLModel, table=True):
    """The share of orders surveyed for a unit (and its children) and/or a category (and its subtree)."""

    __tablename__ = "survey_sampling_rules"

    id: int | None = Field(default=None, primary_key=True)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    percent: int = Field(ge=0, le=100)
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
