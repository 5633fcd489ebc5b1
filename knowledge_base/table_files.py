"""Rows of an uploaded table: an Excel workbook's first sheet or a CSV file with a header row, a JSON list (or an
object holding one), or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, time
from typing import Any

from openpyxl import load_workbook

from hotline.errors import InvalidInput


def read_rows(name: str, content: bytes, list_key: str) -> list[Any]:
    """The file's rows by its extension; ``list_key`` names the list in a JSON object. Unreadable files are refused."""
    if name.lower().endswith(".xlsx"):
        return _workbook_rows(content)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("文件不是UTF-8编码", "the file is not UTF-8 text") from exc
    lowered = name.lower()
    if lowered.endswith(".csv"):
        try:
            return list(csv.DictReader(io.StringIO(text, newline="")))
        except csv.Error as exc:
            raise InvalidInput(f"CSV文件格式不正确：{exc}", f"the CSV file is malformed: {exc}") from exc
    if lowered.endswith(".jsonl"):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                rows.append(_json(line, f"第{number}行", f"line {number}"))
        return rows
    data = _json(text, "文件", "the file")
    found = data.get(list_key) if isinstance(data, dict) else data
    if not isinstance(found, list):
        raise InvalidInput(
            f"JSON文件应为列表或含“{list_key}”列表的对象",
            f'the JSON file must be a list or an object with "{list_key}"',
        )
    return found


def _json(text: str, where_zh: str, where_en: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{where_zh}不是有效的JSON：{exc.msg}", f"{where_en} is not valid JSON: {exc.msg}") from exc


def _workbook_rows(content: bytes) -> list[dict[str, Any]]:
    """The first sheet's rows under its header row; empty rows skipped, dates as dates."""
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            cells = workbook.worksheets[0].iter_rows(values_only=True)
            header = [str(value).strip() if value is not None else "" for value in next(cells, ())]
            return [
                {name: _cell(value) for name, value in zip(header, values, strict=False) if name}
                for values in cells
                if any(value not in (None, "") for value in values)
            ]
        finally:
            workbook.close()
    except Exception as exc:  # whatever breaks in reading an uploaded file, it is not a workbook we can read
        raise InvalidInput("不是有效的Excel（.xlsx）文件", "the file is not a readable .xlsx workbook") from exc


def _cell(value: Any) -> Any:
    """A date typed in Excel arrives as a midnight datetime: the date is meant."""
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date()
    return value
