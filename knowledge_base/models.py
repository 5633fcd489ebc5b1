"""Knowledge-base tables: entries with their versions and feedback, draft proposals from closed orders,
service items (政务服务事项) with their guides, and the link to the online approval platform."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow


class EntryStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    RETIRED = "retired"


ENTRY_STATUS_LABELS_ZH = {
    EntryStatus.DRAFT: "草稿",
    EntryStatus.IN_REVIEW: "待审核",
    EntryStatus.PUBLISHED: "已发布",
    EntryStatus.RETIRED: "已下线",
}


def _text(nullable: bool = False) -> Any:
    return Field(default=None if nullable else "", sa_column=Column(Text, nullable=nullable))


def _instant(nullable: bool = True) -> Any:
    if nullable:
        return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class KbEntry(SQLModel, table=True):
    """A knowledge-base entry: its working copy, its status, and the version citizens and operators see.

    Every edit appends a ``KbEntryVersion`` and bumps ``version``. Search serves ``published_version``
    (the last version a supervisor published), so editing a published entry keeps the published text
    in search until the new version is published in turn.
    """

    __tablename__ = "kb_entries"

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(max_length=500)
    similar_questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = _text()  # sanitised HTML (a small whitelist of tags)
    category_id: int | None = Field(default=None, foreign_key="categories.id", index=True)
    owner_unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    source_document: str | None = Field(default=None, max_length=255)  # e.g. 商政办〔2024〕12号
    source_url: str | None = Field(default=None, max_length=500)
    valid_from: date | None = None
    expires_on: date | None = None  # the last day the entry is valid
    import_key: str | None = Field(default=None, max_length=128, unique=True, index=True)  # its id in the imported file
    status: str = Field(default=EntryStatus.DRAFT, max_length=16, index=True)
    version: int = Field(default=1)
    published_version: int | None = None
    published_at: datetime | None = _instant()
    published_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _instant(nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True))


class KbEntryVersion(SQLModel, table=True):
    """An entry's content as it was after one change (append-only)."""

    __tablename__ = "kb_entry_versions"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_kb_entry_versions_entry_version"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="kb_entries.id", index=True)
    version: int
    change: str = Field(max_length=16)  # created, edited, rolled_back, phrasing_added, imported
    question: str = Field(max_length=500)
    similar_questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = _text()
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    owner_unit_id: int | None = Field(default=None, foreign_key="units.id")
    source_document: str | None = Field(default=None, max_length=255)
    source_url: str | None = Field(default=None, max_length=500)
    valid_from: date | None = None
    expires_on: date | None = None
    comment: str | None = Field(default=None, max_length=255)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _instant(nullable=False)


class FeedbackKind(StrEnum):
    CLICK = "click"
    ANSWERED = "answered"


class KbFeedback(SQLModel, table=True):
    """An operator opened an entry from a result list, or answered a citizen with it."""

    __tablename__ = "kb_feedback"

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="kb_entries.id", index=True)
    kind: str = Field(max_length=16)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id")
    user_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _instant(nullable=False)


class AutoAnswerOutcome(StrEnum):
    ANSWERED = "answered"  # a confident answer was queued to the citizen
    NOT_CONFIDENT = "not_confident"  # no entry scored high enough, or two were too close
    WANTS_PERSON = "wants_person"  # the message itself asked for a person
    UNREACHABLE = "unreachable"  # confident, but the citizen has no channel to send it on


class KbAutoAnswer(SQLModel, table=True):
    """What the knowledge base answered a new WeChat or SMS order with, decided once after intake."""

    __tablename__ = "kb_auto_answers"

    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    outcome: str = Field(max_length=16)
    entry_id: int | None = Field(default=None, foreign_key="kb_entries.id")
    score: float | None = None
    created_at: datetime = _instant(nullable=False)


class ProposalStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"  # became a new draft entry
    MERGED = "merged"  # its question became a similar phrasing of an existing entry
    REJECTED = "rejected"


class KbProposal(SQLModel, table=True):
    """A draft entry proposed by an order closed as a consultation: its question and final answer."""

    __tablename__ = "kb_proposals"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", unique=True)
    question: str = Field(max_length=500)
    answer: str = _text()
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    unit_id: int | None = Field(default=None, foreign_key="units.id")  # the unit that answered, if any
    duplicate_of_id: int | None = Field(default=None, foreign_key="kb_entries.id")
    duplicate_score: float | None = None
    status: str = Field(default=ProposalStatus.PENDING, max_length=16, index=True)
    entry_id: int | None = Field(default=None, foreign_key="kb_entries.id")  # the entry it fed
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = _instant()
    comment: str | None = Field(default=None, max_length=255)
    created_at: datetime = _instant(nullable=False)


class ServiceItem(SQLModel, table=True):
    """A government service item (政务服务事项) and its guide (办事指南)."""

    __tablename__ = "service_items"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)  # the item's implementation code (实施编码)
    name: str = Field(max_length=255)
    unit_name: str = Field(max_length=128)
    unit_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    item_type: str | None = Field(default=None, max_length=64)  # 行政许可, 公共服务, ...
    basis: str | None = _text(nullable=True)  # legal basis (设定依据)
    applicants: str | None = _text(nullable=True)  # 服务对象
    conditions: str | None = _text(nullable=True)  # 受理条件
    materials: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    process: str | None = _text(nullable=True)  # 办理流程
    fees: str | None = Field(default=None, max_length=255)
    time_limit: str | None = Field(default=None, max_length=128)  # 承诺时限
    contact: str | None = Field(default=None, max_length=255)
    supervising_unit: str | None = Field(default=None, max_length=255)  # 监督投诉
    source: str = Field(default="file", max_length=16)  # platform or file
    is_active: bool = Field(default=True)
    updated_at: datetime = _instant(nullable=False)


class TicketServiceItem(SQLModel, table=True):
    """A service item an order is about."""

    __tablename__ = "ticket_service_items"

    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    service_item_id: int = Field(foreign_key="service_items.id", primary_key=True)
    linked_by_id: int | None = Field(default=None, foreign_key="users.id")
    linked_at: datetime = _instant(nullable=False)


class PlatformCase(SQLModel, table=True):
    """An application case (办件) of the approval platform that an order is about."""

    __tablename__ = "platform_cases"

    id: int | None = Field(default=None, primary_key=True)
    application_no: str = Field(max_length=64, index=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    item_code: str | None = Field(default=None, max_length=64)
    item_name: str | None = Field(default=None, max_length=255)
    result_pushed_at: datetime | None = _instant()
    created_at: datetime = _instant(nullable=False)


class PlatformEvent(SQLModel, table=True):
    """One inbound platform event (a bad review or a 办不成事 report), kept once by its event id."""

    __tablename__ = "platform_events"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=32)
    application_no: str = Field(max_length=64, index=True)
    ticket_id: int | None = Field(default=None, foreign_key="tickets.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    received_at: datetime = _instant(nullable=False)
