"""Service items (政务服务事项) and their guides: imported from the platform or a JSON/CSV file, searched beside
the knowledge base, linked from orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import InvalidInput
from hotline.units.models import Unit
from knowledge_base.models import ServiceItem
from knowledge_base.search import KnowledgeEntry, SearchIndex
from knowledge_base.table_files import read_rows

GUIDE_FIELDS = (
    "item_type",
    "basis",
    "applicants",
    "conditions",
    "materials",
    "process",
    "fees",
    "time_limit",
    "contact",
    "supervising_unit",
)
MATERIALS_SEPARATOR = "；"  # CSV files list the materials in one cell


class ServiceItemIn(BaseModel):
    """One service item with its guide, as the platform or a file gives it."""

    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=255)
    unit_name: str = Field(min_length=1, max_length=128)
    item_type: str | None = Field(default=None, max_length=64)
    basis: str | None = None
    applicants: str | None = None
    conditions: str | None = None
    materials: list[str] = []
    process: str | None = None
    fees: str | None = Field(default=None, max_length=255)
    time_limit: str | None = Field(default=None, max_length=128)
    contact: str | None = Field(default=None, max_length=255)
    supervising_unit: str | None = Field(default=None, max_length=255)

    @field_validator("materials", mode="before")
    @classmethod
    def _split_materials(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [
                part.strip()
                for part in value.replace(";", MATERIALS_SEPARATOR).split(MATERIALS_SEPARATOR)
                if part.strip()
            ]
        return value


def parse_file(name: str, content: bytes) -> list[ServiceItemIn]:
    """The items of a JSON (a list, or {"items": [...]}), JSON-lines or CSV file; any bad row refuses the file."""
    return validate_rows(read_rows(name, content, "items"))


def validate_rows(rows: list[Any]) -> list[ServiceItemIn]:
    """Checked items; a bad row is named in the refusal and nothing is imported."""
    items = []
    for number, row in enumerate(rows, start=1):
        try:
            items.append(ServiceItemIn.model_validate(row))
        except ValidationError as exc:
            fields = ", ".join(str(error["loc"][0]) for error in exc.errors() if error["loc"])
            raise InvalidInput(
                f"第{number}条事项格式不正确：{fields}", f"item {number} is malformed: {fields}"
            ) from exc
    return items


async def import_items(
    session: AsyncSession, items: list[ServiceItemIn], *, source: str, now: datetime
) -> dict[str, int]:
    """Insert new items and update known ones by code; units are matched by name."""
    units = await _units_by_name(session)
    existing = {
        item.code: item
        for item in (
            await session.execute(select(ServiceItem).where(col(ServiceItem.code).in_([i.code for i in items])))
        ).scalars()
    }
    created = updated = 0
    for item in items:
        values = {**item.model_dump(), "unit_id": units.get(item.unit_name), "source": source, "updated_at": now}
        row = existing.get(item.code)
        if row is None:
            session.add(ServiceItem(**values))
            created += 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
            updated += 1
    return {"created": created, "updated": updated}


async def _units_by_name(session: AsyncSession) -> dict[str, int]:
    names: dict[str, int] = {}
    for unit in (await session.execute(select(Unit))).scalars():
        assert unit.id is not None
        for name in (unit.name, *unit.short_names):
            names.setdefault(name, unit.id)
    return names


class ItemSearch:
    """An in-memory index of the active service items, rebuilt when the catalogue changes."""

    def __init__(self) -> None:
        self._index = SearchIndex()
        self._stamp: tuple[int, datetime | None] | None = None

    async def search(self, session: AsyncSession, query: str, *, limit: int, unit_id: int | None) -> list[int]:
        """The ids of the items best matching the query, best first."""
        stamp_row = (
            await session.execute(
                select(func.count(), func.max(ServiceItem.updated_at)).where(col(ServiceItem.is_active))
            )
        ).one()
        stamp = (int(stamp_row[0]), stamp_row[1])
        if stamp != self._stamp:
            rows = (await session.execute(select(ServiceItem).where(col(ServiceItem.is_active)))).scalars().all()
            self._index = SearchIndex.build(_searchable(row) for row in rows)
            self._stamp = stamp
        return [int(hit.entry_id) for hit in self._index.search(query, limit=limit, owner_unit_id=unit_id)]


def _searchable(item: ServiceItem) -> KnowledgeEntry:
    guide = " ".join(filter(None, [item.conditions, item.applicants, *item.materials]))
    return KnowledgeEntry(
        id=str(item.id), question=item.name, answer=guide, similar_questions=(item.code,), owner_unit_id=item.unit_id
    )
