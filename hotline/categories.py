"""The request category tree (3 levels), configured by administrators."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def category_path(category_id: int | None, by_id: Mapping[Any, Category]) -> str:
    """A category's names from the top of the tree, e.g. ``城乡建设 / 物业管理 / 物业服务收费``; empty if unknown."""
    names: list[str] = []
    node = by_id.get(category_id) if category_id is not None else None
    while node is not None and node.name not in names:
        names.append(node.name)
        node = by_id.get(node.parent_id) if node.parent_id is not None else None
    return " / ".join(reversed(names))
