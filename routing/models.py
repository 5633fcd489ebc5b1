"""Routing tables: the dispatch catalogue with its versions, proposals stored on orders, and corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from hotline.db_types import JSONDocument, UTCDateTime, utcnow

ANY_TERRITORY = "*"


def scope_key(category_id: int, territory_unit_id: int | None) -> str:
    """The one key of a rule's scope (category × territory), unique across the catalogue."""
    return f"{category_id}:{territory_unit_id if territory_unit_id is not None else ANY_TERRITORY}"


class DispatchRule(SQLModel, table=True):
    """One line of the dispatch catalogue (派单目录): a category, in a district or anywhere, goes to a lead unit.

    A rule keeps its id for life ("规则 #12"); edits bump ``version`` and append a row to
    ``dispatch_rule_versions``; removing a rule deactivates it.
    """

    __tablename__ = "dispatch_rules"

    id: int | None = Field(default=None, primary_key=True)
    scope_key: str = Field(max_length=40, unique=True)
    category_id: int = Field(foreign_key="categories.id", index=True)
    territory_unit_id: int | None = Field(default=None, foreign_key="units.id")  # a district; None: anywhere
    lead_unit_id: int = Field(foreign_key="units.id")
    assisting_unit_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, max_length=255)  # e.g. the line of the unit's 权责清单
    is_active: bool = Field(default=True)
    version: int = Field(default=1)
    updated_by_id: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class DispatchRuleVersion(SQLModel, table=True):
    """A rule as it was after one change: who changed it, when, and what it said (append-only)."""

    __tablename__ = "dispatch_rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version", name="uq_dispatch_rule_versions_rule_version"),)

    id: int | None = Field(default=None, primary_key=True)
    rule_id: int = Field(foreign_key="dispatch_rules.id", index=True)
    version: int
    change: str = Field(max_length=16)  # created, updated, deactivated, reactivated
    category_id: int = Field(foreign_key="categories.id")
    territory_unit_id: int | None = Field(default=None, foreign_key="units.id")
    lead_unit_id: int = Field(foreign_key="units.id")
    assisting_unit_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, max_length=255)
    is_active: bool
    comment: str | None = Field(default=None, max_length=255)
    changed_by_id: int | None = Field(default=None, foreign_key="users.id")
    changed_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class TicketSuggestion(SQLModel, table=True):
    """What routing proposed for an order when it came in, computed in the background after intake."""

    __tablename__ = "ticket_suggestions"

    ticket_id: int = Field(foreign_key="tickets.id", primary_key=True)
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    category_confidence: float | None = None
    request_type: str = Field(max_length=16)
    request_type_confidence: float
    urgency: str = Field(max_length=16)
    urgency_confidence: float
    territory_unit_id: int | None = Field(default=None, foreign_key="units.id")
    territory_score: float | None = None
    lead_unit_id: int | None = Field(default=None, foreign_key="units.id")
    assisting_unit_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    rule_id: int | None = Field(default=None, foreign_key="dispatch_rules.id")
    basis: str = Field(max_length=16)  # rule, territory or desk
    explanation: str = Field(sa_column=Column(Text, nullable=False))
    model_version: str | None = Field(default=None, max_length=32)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class ClassificationExample(SQLModel, table=True):
    """An operator's classification of an order, kept as a labelled example for retraining."""

    __tablename__ = "classification_examples"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    category_label: str | None = Field(default=None, max_length=64)  # the level-1 name the model learns
    request_type: str = Field(max_length=16)
    urgency: str = Field(max_length=16)
    changed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    proposed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDocument, nullable=False))
    model_version: str | None = Field(default=None, max_length=32)
    labelled_by_id: int | None = Field(default=None, foreign_key="users.id")
    labelled_at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
