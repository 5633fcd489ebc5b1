"""The scorecard as an Excel workbook (openpyxl): the table the API returns, and the rates' definitions."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from hotline.surveys.schemas import ScorecardView
from hotline.timefmt import to_local

SCORES_SHEET = "部门考核"
DEFINITIONS_SHEET = "指标口径"
PERCENT = "0.00%"
BOLD = Font(bold=True)


def workbook(view: ScorecardView) -> bytes:
    """The .xlsx file of a scorecard: rates as numbers formatted as percentages, counts beside them."""
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = SCORES_SHEET
    _scores(sheet, view)
    _definitions(book.create_sheet(DEFINITIONS_SHEET), view)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _scores(sheet: Worksheet, view: ScorecardView) -> None:
    as_of = to_local(view.as_of).strftime("%Y-%m-%d %H:%M")
    sheet.append([f"考核期间：{view.start.isoformat()} 至 {view.end.isoformat()}（统计时点 {as_of}）"])
    header = ["排名", "单位", "综合得分"]
    for metric in view.metrics:
        header += [metric.label, f"{metric.label}分子", f"{metric.label}分母", f"{metric.label}排名"]
    sheet.append(header)
    for cell in sheet[2]:
        cell.font = BOLD
    for row in view.rows:
        values: list[object] = [row.rank, row.unit_name, row.score]
        for metric in view.metrics:
            rate = row.metrics[metric.key]
            values += [rate.rate, rate.numerator, rate.denominator, rate.rank]
        sheet.append(values)
    for column in range(1, len(header) + 1):
        is_rate = column == 3 or (column > 3 and (column - 4) % 4 == 0)
        for cells in sheet.iter_rows(min_row=3, min_col=column, max_col=column):
            if is_rate:
                cells[0].number_format = PERCENT
        sheet.column_dimensions[get_column_letter(column)].width = 28 if column == 2 else 12
    sheet.freeze_panes = "C3"


def _definitions(sheet: Worksheet, view: ScorecardView) -> None:
    sheet.append(["指标", "代码", "分子", "分母", "方向", "权重"])
    for cell in sheet[1]:
        cell.font = BOLD
    for metric in view.metrics:
        direction = "越高越好" if metric.higher_is_better else "越低越好"
        sheet.append([metric.label, metric.key, metric.numerator, metric.denominator, direction, metric.weight])
    sheet.append([])
    sheet.append(["综合得分", "score", view.score_definition])
    for column, width in zip("ABCDEF", (12, 20, 60, 60, 10, 8), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
