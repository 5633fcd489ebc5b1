"""API shapes of routing: suggestions, the dispatch catalogue, classification and return reasons."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hotline.tickets.models import RequestType, Urgency
from hotline.tickets.schemas import MAX_CONTENT
from hotline.timefmt import LocalDateTime

MAX_ADDRESS = 255
MAX_NOTE = 255
MAX_ASSISTING = 20


class SuggestIn(BaseModel):
    content: str = Field(min_length=1, max_length=MAX_CONTENT)
    address: str | None = Field(default=None, max_length=MAX_ADDRESS)


class UnitRef(BaseModel):
    id: int
    name: str
    kind: str


class CategoryProposal(BaseModel):
    category_id: int
    code: str
    name: str
    path: str = Field(description="e.g. 城乡建设 / 物业管理")
    level: int
    confidence: float
    source: str = Field(description="model (the classifier, refined by keywords) or keywords (keywords alone)")
    evidence: list[str] = Field(description="keywords found in the text")


class ClassifierStatus(BaseModel):
    ready: bool
    model_version: str | None
    message: str | None


class ValueProposal(BaseModel):
    value: str
    label: str
    confidence: float
    evidence: list[str]


class PlaceMatchView(BaseModel):
    field: str = Field(description="address or content")
    start: int
    end: int
    text: str = Field(description="the matched span of the operator's text")
    place: str = Field(description="the gazetteer's name it matched")
    kind: str
    score: float
    fuzzy: bool
    agrees: bool = Field(description="whether it supports the proposed district")


class TerritoryProposal(BaseModel):
    district: UnitRef | None
    street: UnitRef | None
    community: UnitRef | None
    unit: UnitRef | None = Field(description="the most precise unit found")
    score: float
    matches: list[PlaceMatchView]
    candidates: list[UnitRef] = Field(description="districts in question when none could be chosen")
    explanation: str


class DispatchProposal(BaseModel):
    basis: str = Field(description="rule, territory or desk")
    basis_label: str
    lead_unit: UnitRef | None
    assisting_units: list[UnitRef]
    rule_id: int | None
    answer_directly: bool = Field(description="the lead is the hotline itself: answer at first contact (直接办结)")
    explanation: str


class Suggestion(BaseModel):
    categories: list[CategoryProposal]
    classifier: ClassifierStatus
    request_type: ValueProposal
    urgency: ValueProposal
    territory: TerritoryProposal
    dispatch: DispatchProposal
    elapsed_ms: float = Field(description="time spent computing the proposal in the server")


class StoredProposal(BaseModel):
    category_id: int | None
    category_confidence: float | None
    request_type: str
    urgency: str
    territory_unit_id: int | None
    lead_unit_id: int | None
    assisting_unit_ids: list[int]
    rule_id: int | None
    basis: str
    explanation: str
    model_version: str | None
    created_at: LocalDateTime


class TicketSuggestion(Suggestion):
    ticket_id: int
    stored: StoredProposal | None = Field(description="what was proposed in the background after intake")


class ClassifyIn(BaseModel):
    category_id: int | None = None
    request_type: RequestType | None = None
    urgency: Urgency | None = None
    territory_unit_id: int | None = Field(default=None, description="the district, street or community (属地)")


class RuleIn(BaseModel):
    category_id: int
    territory_unit_id: int | None = Field(default=None, description="a district; null: anywhere")
    lead_unit_id: int
    assisting_unit_ids: list[int] = Field(default_factory=list, max_length=MAX_ASSISTING)
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    comment: str | None = Field(default=None, max_length=MAX_NOTE, description="why it changed (kept in the history)")


class RuleUpdate(BaseModel):
    lead_unit_id: int
    assisting_unit_ids: list[int] = Field(default_factory=list, max_length=MAX_ASSISTING)
    note: str | None = Field(default=None, max_length=MAX_NOTE)
    comment: str | None = Field(default=None, max_length=MAX_NOTE)


class RuleView(BaseModel):
    id: int
    category_id: int
    category_path: str
    territory: UnitRef | None
    lead_unit: UnitRef
    assisting_units: list[UnitRef]
    note: str | None
    is_active: bool
    version: int
    updated_by_id: int | None
    updated_at: LocalDateTime


class RuleVersionView(BaseModel):
    version: int
    change: str
    category_id: int
    territory_unit_id: int | None
    lead_unit_id: int
    assisting_unit_ids: list[int]
    note: str | None
    is_active: bool
    comment: str | None
    changed_by_id: int | None
    changed_by: str | None
    changed_at: LocalDateTime


class ReturnReason(BaseModel):
    code: str
    label: str


class ModelStatus(BaseModel):
    model_dir: str
    active_version: str | None = Field(description="the version ACTIVE names")
    loaded_version: str | None = Field(description="the version this process answers with")
    loaded_at: LocalDateTime | None
    error: str | None
    metrics: dict[str, object]
