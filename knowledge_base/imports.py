"""Importing an existing knowledge base (a center's FAQ table) in one go.

A file (Excel, CSV, JSON or JSON lines; English or Chinese column names) is checked whole before anything is
written: a bad row, a unit or category that does not exist, or two rows for one entry refuse the file, naming the
row. Rows are matched to entries by their key (the id in the source system), or by the identical question (an
entry without a key yet takes the row's key), so importing the same file again changes nothing and an edited file
adds a version to the entries it changed. Imported entries go to review (待审核) for a supervisor to publish, or
are published at once when the importer says so. Retired entries stay retired.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.categories import Category
from hotline.errors import InvalidInput
from hotline.units.models import Unit
from knowledge_base.models import EntryStatus, KbEntry, KbEntryVersion
from knowledge_base.richtext import plain_text, sanitize
from knowledge_base.schemas import MAX_PHRASINGS
from knowledge_base.service import CONTENT_FIELDS
from knowledge_base.table_files import read_rows

MAX_ROWS = 50_000
LOOKUP_CHUNK = 500  # ids per IN (...) when looking entries up
PHRASING_SEPARATORS = ("\n", "|", "｜", "；", ";")
CHANGE = "imported"


class EntryRow(BaseModel):
    """One row of an imported knowledge base."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")

    key: str | None = Field(default=None, max_length=128, validation_alias=AliasChoices("key", "id", "编号"))
    question: str = Field(min_length=2, max_length=500, validation_alias=AliasChoices("question", "问题", "标准问"))
    answer: str = Field(min_length=1, max_length=20000, validation_alias=AliasChoices("answer", "答案"))
    similar_questions: list[str] = Field(
        default_factory=list, validation_alias=AliasChoices("similar_questions", "相似问法", "相似问")
    )
    category: str | None = Field(default=None, max_length=64, validation_alias=AliasChoices("category", "分类"))
    owner_unit: str | None = Field(
        default=None, max_length=128, validation_alias=AliasChoices("owner_unit", "责任单位")
    )
    source_document: str | None = Field(
        default=None, max_length=255, validation_alias=AliasChoices("source_document", "政策依据", "依据文件")
    )
    source_url: str | None = Field(default=None, max_length=500, validation_alias=AliasChoices("source_url", "链接"))
    valid_from: date | None = Field(default=None, validation_alias=AliasChoices("valid_from", "生效日期"))
    expires_on: date | None = Field(default=None, validation_alias=AliasChoices("expires_on", "失效日期"))

    @model_validator(mode="before")
    @classmethod
    def _blank_cells_are_missing(cls, row: Any) -> Any:
        """A spreadsheet's empty cell means "not given"; ids may be numbers."""
        if not isinstance(row, dict):
            return row
        cleaned = {
            name: value
            for name, value in row.items()
            if value is not None and not (isinstance(value, str) and not value.strip())
        }
        for name in ("key", "id", "编号"):
            if isinstance(cleaned.get(name), int | float):
                cleaned[name] = str(cleaned[name])
        return cleaned

    @field_validator("similar_questions", mode="before")
    @classmethod
    def _split_phrasings(cls, value: Any) -> Any:
        if isinstance(value, str):
            for separator in PHRASING_SEPARATORS[1:]:
                value = value.replace(separator, PHRASING_SEPARATORS[0])
            return value.split(PHRASING_SEPARATORS[0])
        return value

    @field_validator("similar_questions")
    @classmethod
    def _clean_phrasings(cls, value: list[str]) -> list[str]:
        cleaned: list[str] = []
        for text in (text.strip() for text in value):
            if text and text not in cleaned:
                if len(text) > 500:
                    raise ValueError("a similar phrasing is longer than 500 characters")
                cleaned.append(text)
        if len(cleaned) > MAX_PHRASINGS:
            raise ValueError(f"more than {MAX_PHRASINGS} similar phrasings")
        return cleaned


@dataclass
class ImportCounts:
    """What an import did: entries created, given a new version, left as they were, or left retired."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0
    published: int = 0  # of the above, entries this import published

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def parse_file(name: str, content: bytes) -> list[EntryRow]:
    """The rows of an Excel, CSV, JSON (a list, or {"entries": [...]}) or JSON-lines file; any bad row refuses the
    file."""
    return validate_rows(read_rows(name, content, "entries"))


def validate_rows(rows: Sequence[Any]) -> list[EntryRow]:
    """Checked rows; the first bad one is named in the refusal."""
    if not rows:
        raise InvalidInput("文件中没有知识条目", "the file holds no entries")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(f"一次最多导入{MAX_ROWS}条", f"at most {MAX_ROWS} entries per import")
    checked: list[EntryRow] = []
    first_row_of: dict[tuple[str, str], int] = {}
    for number, row in enumerate(rows, start=1):
        try:
            entry = EntryRow.model_validate(row)
        except ValidationError as exc:
            fields = ", ".join(str(error["loc"][0]) for error in exc.errors() if error["loc"]) or "row"
            raise InvalidInput(f"第{number}条格式不正确：{fields}", f"row {number} is malformed: {fields}") from exc
        if not plain_text(sanitize(entry.answer)):
            raise InvalidInput(f"第{number}条的答案为空", f"row {number} has an empty answer")
        if entry.valid_from and entry.expires_on and entry.expires_on < entry.valid_from:
            raise InvalidInput(f"第{number}条的失效日期早于生效日期", f"row {number} expires before it is valid")
        identity = ("key", entry.key) if entry.key else ("question", entry.question)
        if identity in first_row_of:
            earlier = first_row_of[identity]
            raise InvalidInput(
                f"第{number}条与第{earlier}条是同一条目（{'编号' if entry.key else '问题'}相同）",
                f"rows {earlier} and {number} are the same entry (same {identity[0]})",
            )
        first_row_of[identity] = number
        checked.append(entry)
    return checked


async def import_entries(
    session: AsyncSession,
    rows: Sequence[EntryRow],
    *,
    publish: bool,
    user_id: int | None,
    comment: str,
    now: datetime,
) -> ImportCounts:
    """Create or update an entry per row in the caller's transaction; nothing is written if a reference is unknown.

    New entries and all versions are inserted in bulk (a center's whole knowledge base is thousands of rows).
    """
    contents = await _resolved(session, rows)
    by_key = await _existing(session, col(KbEntry.import_key), [row.key for row in rows if row.key])
    by_question = await _existing(
        session, col(KbEntry.question), [row.question for row in rows if not row.key or row.key not in by_key]
    )
    counts = ImportCounts()
    new_entries: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    for row, content in zip(rows, contents, strict=True):
        entry = by_key.get(row.key) if row.key else None
        if entry is None and (found := by_question.get(row.question)) is not None:
            if row.key and found.import_key is None:
                found.import_key = row.key  # an entry written by hand gets the key its row now gives it
            entry = found if not row.key or found.import_key == row.key else None
        if entry is None:
            new_entries.append(
                {**content, **_settled(1, publish, user_id, now), "import_key": row.key, "version": 1}
                | {"created_by_id": user_id, "created_at": now}
            )
            counts.created += 1
            counts.published += publish
        elif entry.status == EntryStatus.RETIRED:
            counts.retired += 1
        elif any(getattr(entry, name) != value for name, value in content.items()):
            for name, value in {**content, **_settled(entry.version + 1, publish, user_id, now)}.items():
                setattr(entry, name, value)
            entry.version += 1
            versions.append(_version(entry.id, entry.version, content, user_id, comment, now))
            counts.updated += 1
            counts.published += publish
        else:
            if publish and entry.published_version != entry.version:
                for name, value in _settled(entry.version, publish, user_id, now).items():
                    setattr(entry, name, value)
                counts.published += 1
            counts.unchanged += 1
    if new_entries:
        inserted = await session.execute(
            insert(KbEntry).returning(col(KbEntry.id), sort_by_parameter_order=True), new_entries
        )
        for entry_id, values in zip(inserted.scalars(), new_entries, strict=True):
            versions.append(_version(entry_id, 1, values, user_id, comment, now))
    await session.flush()
    if versions:
        await session.execute(insert(KbEntryVersion), versions)
    return counts


def _settled(version: int, publish: bool, user_id: int | None, now: datetime) -> dict[str, Any]:
    """The workflow fields of an imported version: published at once, or in review (a published version, if
    any, stays live)."""
    if publish:
        published = {"published_version": version, "published_at": now, "published_by_id": user_id}
        return {"status": EntryStatus.PUBLISHED, "updated_at": now, **published}
    return {"status": EntryStatus.IN_REVIEW, "updated_at": now}


def _version(
    entry_id: int | None, version: int, content: dict[str, Any], user_id: int | None, comment: str, now: datetime
) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "version": version,
        "change": CHANGE,
        "comment": comment[:255],
        "created_by_id": user_id,
        "created_at": now,
        **{name: content[name] for name in CONTENT_FIELDS},
    }


async def _resolved(session: AsyncSession, rows: Sequence[EntryRow]) -> list[dict[str, Any]]:
    """Each row's content as stored: answer sanitised, category and unit resolved by code or name."""
    categories = _lookup(
        (category.code, (category.name,), category.id)
        for category in (await session.execute(select(Category))).scalars()
    )
    units = _lookup(
        (unit.code, (unit.name, *unit.short_names), unit.id) for unit in (await session.execute(select(Unit))).scalars()
    )
    contents = []
    for number, row in enumerate(rows, start=1):
        category_id = _find(categories, row.category, number, "分类", "category")
        owner_unit_id = _find(units, row.owner_unit, number, "责任单位", "unit")
        contents.append(
            {
                "question": row.question,
                "similar_questions": [text for text in row.similar_questions if text != row.question],
                "answer": sanitize(row.answer),
                "category_id": category_id,
                "owner_unit_id": owner_unit_id,
                "source_document": row.source_document,
                "source_url": row.source_url,
                "valid_from": row.valid_from,
                "expires_on": row.expires_on,
            }
        )
    return contents


def _lookup(rows: Iterable[tuple[str, tuple[str, ...], int | None]]) -> dict[str, list[int]]:
    """Ids by code and by name or short name (a name may be shared, a code may not)."""
    found: dict[str, list[int]] = {}
    for code, names, row_id in rows:
        assert row_id is not None
        found[code] = [row_id]
        for name in names:
            ids = found.setdefault(name, [])
            if row_id not in ids:
                ids.append(row_id)
    return found


def _find(lookup: dict[str, list[int]], wanted: str | None, number: int, what_zh: str, what_en: str) -> int | None:
    if wanted is None:
        return None
    ids = lookup.get(wanted, [])
    if not ids:
        raise InvalidInput(f"第{number}条的{what_zh}“{wanted}”不存在", f"row {number}: no {what_en} {wanted!r}")
    if len(ids) > 1:
        raise InvalidInput(
            f"第{number}条的{what_zh}“{wanted}”有重名，请填写编码", f"row {number}: {what_en} {wanted!r} is ambiguous"
        )
    return ids[0]


async def _existing(session: AsyncSession, column: Any, values: list[str]) -> dict[str, KbEntry]:
    """Entries whose column holds one of the values, by that value (the newest entry wins a shared question)."""
    found: dict[str, KbEntry] = {}
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start : start + LOOKUP_CHUNK]
        query = select(KbEntry).where(column.in_(chunk)).order_by(col(KbEntry.id))
        for entry in (await session.execute(query)).scalars():
            found[getattr(entry, column.key)] = entry
    return found
