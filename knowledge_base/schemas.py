"""API shapes of the knowledge base: search results, entries and their versions, proposals."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator

from knowledge_base.models import FeedbackKind

MAX_PHRASINGS = 50


class SearchItem(BaseModel):
    id: int
    question: str
    question_html: str  # the question HTML-escaped, matches in <mark>
    answer: str  # sanitised HTML
    snippet_html: str  # a passage of the answer (or the question), HTML-escaped, matches in <mark>
    category_id: int | None
    owner_unit_id: int | None
    score: float


class SearchResult(BaseModel):
    items: list[SearchItem]
    took_ms: float


class FeedbackIn(BaseModel):
    kind: FeedbackKind
    ticket_id: int | None = None


class ImportResult(BaseModel):
    """What an import did (see knowledge_base.imports.ImportCounts)."""

    created: int
    updated: int
    unchanged: int
    retired: int
    published: int


class EntryContent(BaseModel):
    """What an owner unit writes: every field of an entry's content."""

    question: str = Field(min_length=2, max_length=500)
    similar_questions: list[str] = Field(default_factory=list, max_length=MAX_PHRASINGS)
    answer: str = Field(min_length=1, max_length=20000)
    category_id: int | None = None
    owner_unit_id: int | None = None
    source_document: str | None = Field(default=None, max_length=255)
    source_url: str | None = Field(default=None, max_length=500)
    valid_from: date | None = None
    expires_on: date | None = None
    comment: str | None = Field(default=None, max_length=255)

    @field_validator("question")
    @classmethod
    def _strip_question(cls, value: str) -> str:
        return value.strip()

    @field_validator("similar_questions")
    @classmethod
    def _clean_phrasings(cls, value: list[str]) -> list[str]:
        seen: list[str] = []
        for text in value:
            text = text.strip()
            if text and text not in seen and len(text) <= 500:
                seen.append(text)
        return seen


class WorkflowIn(BaseModel):
    comment: str | None = Field(default=None, max_length=255)


class RollbackIn(BaseModel):
    version: int = Field(ge=1)
    comment: str | None = Field(default=None, max_length=255)


class EntryView(BaseModel):
    id: int
    question: str
    similar_questions: list[str]
    answer: str
    category_id: int | None
    owner_unit_id: int | None
    source_document: str | None
    source_url: str | None
    valid_from: date | None
    expires_on: date | None
    status: str
    status_label: str
    version: int
    published_version: int | None
    searchable: bool
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EntryPage(BaseModel):
    items: list[EntryView]
    total: int


class VersionView(BaseModel):
    version: int
    change: str
    question: str
    similar_questions: list[str]
    answer: str
    category_id: int | None
    owner_unit_id: int | None
    source_document: str | None
    source_url: str | None
    valid_from: date | None
    expires_on: date | None
    comment: str | None
    created_by_id: int | None
    created_at: datetime


class FieldDiff(BaseModel):
    field: str
    before: str
    after: str
    diff: list[str]  # unified diff lines


class VersionDiff(BaseModel):
    entry_id: int
    from_version: int
    to_version: int
    changes: list[FieldDiff]


class ProposalView(BaseModel):
    id: int
    ticket_id: int
    ticket_number: str | None = None
    question: str
    answer: str
    category_id: int | None
    unit_id: int | None
    duplicate_of_id: int | None
    duplicate_of_question: str | None = None
    duplicate_score: float | None
    status: str
    entry_id: int | None
    comment: str | None
    created_at: datetime
    decided_at: datetime | None


class ProposalDecisionIn(BaseModel):
    question: str | None = Field(default=None, max_length=500)  # the reviewer's wording, if changed
    answer: str | None = Field(default=None, max_length=20000)
    comment: str | None = Field(default=None, max_length=255)
    entry_id: int | None = None  # merge: the entry that takes the phrasing (default: the detected duplicate)
