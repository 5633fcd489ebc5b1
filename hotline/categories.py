"""The request category tree (3 levels), configured by administrators."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Category(SQLModel, table=True):
    """One node of the category tree."""

    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=64, index=True)
    level: int = Field(ge=1, le=3)
    parent_id: int | None = Field(default=None, foreign_key="categories.id", index=True)
    default_unit_id: int | None = Field(default=None, foreign_key="units.id")
    is_active: bool = Field(default=True)
