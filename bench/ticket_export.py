"""Writing an order export: the streamed workbook the product writes, against openpyxl's plain default, and CSV.

    .venv/bin/python -m bench.ticket_export [--rows 50000] [--no-write]

Rows are real citizen messages (Teddy Cup) in the export's 19 columns, as many as one export may hold
(``MAX_EXPORT_ROWS``). Time: one pass per writer on all rows; memory: the peak traced by tracemalloc on a
tenth of them (tracing slows writing several times over, so it is a separate pass). Writes the "ticket-export"
section of docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from bench.report import write_section
from hotline import tables
from hotline.tickets.endpoints import MAX_EXPORT_ROWS
from hotline.tickets.export import COLUMNS, SHEET, WIDTHS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "teddycup2020_c_replies.jsonl"


def sample_rows(count: int) -> list[list[Any]]:
    """Export rows filled with real messages and replies, repeated to ``count``."""
    messages = [json.loads(line) for line in DATA.open(encoding="utf-8")]
    rows = []
    for n, message in zip(range(count), itertools.cycle(messages), strict=False):
        rows.append(
            [f"2026112{n:06d}", "2026-11-22 10:00", "电话", "投诉", "一般", "城乡建设 / 物业管理 / 物业服务收费",
             "梁园区平原街道办事处", "梁园区平原路 12 号", message["title"], message["body"], "张**",
             "+86138****8000", "已回复", "梁园区人民政府", "2026-12-01 17:30", "", "", message.get("reply") or "",
             "2026-11-25 16:00"]
        )  # fmt: skip
    return rows


def plain_default(rows: Sequence[Sequence[Any]]) -> bytes:
    """The baseline: openpyxl's ordinary workbook, every cell an object in memory until saved."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WRITERS: dict[str, Callable[[Sequence[Sequence[Any]]], bytes]] = {
    "streamed workbook (the product)": lambda rows: tables.as_workbook(SHEET, COLUMNS, rows, widths=WIDTHS),
    "openpyxl default workbook (baseline)": plain_default,
    "CSV": lambda rows: tables.as_csv(COLUMNS, rows),
}


def measure(rows: list[list[Any]]) -> list[tuple[str, float, float, float]]:
    """(writer, seconds for all rows, MB written, peak MB traced on a tenth of the rows)."""
    results = []
    tenth = rows[: max(1, len(rows) // 10)]
    for name, write in WRITERS.items():
        started = time.perf_counter()
        size = len(write(rows))
        seconds = time.perf_counter() - started
        tracemalloc.start()
        write(tenth)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results.append((name, seconds, size / 2**20, peak / 2**20))
    return results


def report(count: int, results: list[tuple[str, float, float, float]]) -> str:
    lines = [
        "## Order export (`GET /api/v1/tickets/export`)",
        "",
        f"Command: `.venv/bin/python -m bench.ticket_export --rows {count}`. {count} rows of real messages and "
        "replies in the export's 19 columns; peak memory traced on a tenth of them.",
        "",
        "| writer | rows | seconds | file MB | peak MB (a tenth of the rows) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {name} | {count} | {s:.1f} | {mb:.1f} | {peak:.0f} |" for name, s, mb, peak in results]
    lines += [
        "",
        "The workbook is written in a worker thread (`hotline.threads.in_worker_thread`): the process keeps "
        "serving meanwhile, switching threads every 0.2 ms.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=MAX_EXPORT_ROWS)
    parser.add_argument("--no-write", action="store_true", help="print the section without writing the report")
    args = parser.parse_args()
    section = report(args.rows, measure(sample_rows(args.rows)))
    print(section)
    if not args.no_write:
        write_section("ticket-export", section)


if __name__ == "__main__":
    main()
