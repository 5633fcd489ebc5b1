"""The knowledge base as a table (Excel or CSV) in the columns the import reads, so a center can share its
answers, or edit them in a spreadsheet and import the file again (changed rows become new versions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline import tables
from hotline.categories import Category
from hotline.units.models import Unit
from knowledge_base.models import EntryStatus, KbEntry

# Header (the import's Chinese column names) and how each cell is read from an entry.
COLUMNS = ("编号", "问题", "相似问法", "答案", "分类", "责任单位", "政策依据", "链接", "生效日期", "失效日期")
PHRASING_SEPARATOR = "\n"  # one phrasing per line of the cell (the import splits at line breaks)
SHEET = "知识库"
WORKBOOK_MEDIA_TYPE = tables.WORKBOOK_MEDIA_TYPE
WIDTHS = (14, 40, 30, 60, 14, 16, 24, 24, 12, 12)


async def entry_rows(session: AsyncSession, status: EntryStatus | None) -> list[list[Any]]:
    """One row per entry (with the given status, or all), oldest first; category and unit by their codes."""
    query = select(KbEntry).order_by(col(KbEntry.id))
    if status is not None:
        query = query.where(col(KbEntry.status) == status)
    entries = (await session.execute(query)).scalars().all()
    categories: dict[int | None, str] = dict((await session.execute(select(Category.id, Category.code))).all())
    units: dict[int | None, str] = dict((await session.execute(select(Unit.id, Unit.code))).all())
    return [
        [
            entry.import_key or "",
            entry.question,
            PHRASING_SEPARATOR.join(entry.similar_questions),
            entry.answer,
            categories.get(entry.category_id, ""),
            units.get(entry.owner_unit_id, ""),
            entry.source_document or "",
            entry.source_url or "",
            entry.valid_from.isoformat() if entry.valid_from else "",
            entry.expires_on.isoformat() if entry.expires_on else "",
        ]
        for entry in entries
    ]


def as_csv(rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text as it is."""
    return tables.as_csv(COLUMNS, rows)


def as_workbook(rows: Sequence[Sequence[Any]]) -> bytes:
    """An .xlsx workbook of one sheet: the header in bold, long texts wrapped."""
    return tables.as_workbook(SHEET, COLUMNS, rows, widths=WIDTHS, wrap=True)
