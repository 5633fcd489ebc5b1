"""Tables handed to people as files: CSV that Excel opens as it is, and .xlsx workbooks of one sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

WORKBOOK_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
BOLD = Font(bold=True)
WRAPPED = Alignment(wrap_text=True, vertical="top")


def as_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel opens the Chinese text as it is."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def as_workbook(
    sheet_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    widths: Sequence[int],
    wrap: bool = False,
) -> bytes:
    """An .xlsx workbook of one sheet, written as a stream (tens of thousands of rows in little memory): the
    header in bold and frozen; with ``wrap``, long texts wrap in their cells."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(sheet_name)
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, title, BOLD) for title in columns])
    for row in rows:
        sheet.append([_value(sheet, value, wrap) for value in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _value(sheet: Any, value: Any, wrap: bool) -> Any:
    if not isinstance(value, str):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value)  # a workbook cannot hold control characters a pasted text may carry
    return _cell(sheet, text, alignment=WRAPPED) if wrap else text


def _cell(sheet: Any, value: Any, font: Font | None = None, alignment: Alignment | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if font is not None:
        cell.font = font
    if alignment is not None:
        cell.alignment = alignment
    return cell
