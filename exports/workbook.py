"""The weekly workbook: a ``Report`` written as an .xlsx with openpyxl, sheet by sheet in
write-only mode (memory stays flat however many visits a week holds).

Five sheets named in the report's language (Summary, Standards, Employees, Visits,
Actions), each a table with a bold filled header row, frozen panes below it, an auto-filter
and widths from the content. Scores and shares are numbers stored as fractions with a
percent format; ``None`` is an empty cell. The Summary sheet carries two native charts
(average score by store, weekly trend) over ranges of the same sheet. There are no formulas
anywhere.

Text typed by people (names, prompts, descriptions, comments, answers) goes through
``put_text``: it is always a literal string cell, never a formula or an error value, and never
breaks the file.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum, auto
from pathlib import Path
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter

from exports.report_data import Report, ScopeKind, StoreRow, VisitRow
from exports.weeks import Week
from storage.files import replace_atomically

Translate = Callable[..., str]
T = TypeVar("T")

PERCENT_FORMAT = "0.0%"
CHANGE_FORMAT = "+0.0%;-0.0%;0.0%"
NPS_FORMAT = "0.0"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"

MAX_CELL_TEXT = 32_767
"""Excel's limit on the characters of one cell (UTF-16 code units)."""
CUT_MARKER = "… [cut]"
ERROR_CODES = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#UNKNOWN!",
        "#BUSY!",
        "#PYTHON!",
    }
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\n")
"""Leading characters that make a spreadsheet read typed text as a formula (OWASP ASVS 1.2.10;
NUL is stripped, a carriage return becomes a line feed)."""

_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")
"""Lone surrogates and the two non-characters: not UTF-8 encodable or not allowed in XML."""

MAX_STORES_IN_TREND = 10
MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH = 6, 50, 16
HEADER_FONT = Font(name="Calibri", bold=True)
HEADER_FILL = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
TITLE_FONT = Font(name="Calibri", bold=True, size=13)
BLOCK_FONT = Font(name="Calibri", bold=True, size=12)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")


def clean_text(value: str, cut_marker: str = CUT_MARKER) -> str:
    """The text without characters an .xlsx cannot hold, cut to Excel's cell limit with a
    visible marker."""
    if value.isprintable() and len(value) <= MAX_CELL_TEXT // 2:
        # The common case, checked in C: no control, separator or unassigned character, and
        # too short to reach the limit even in UTF-16 surrogate pairs.
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    text = _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if _units(text) <= MAX_CELL_TEXT:
        return text
    budget = MAX_CELL_TEXT - _units(cut_marker)
    cut = text[:budget]
    while (excess := _units(cut) - budget) > 0:
        cut = cut[: len(cut) - excess]
    return cut + cut_marker


def _units(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def put_text(cell: Any, value: str | None, cut_marker: str = CUT_MARKER) -> None:
    """Write ``value`` as a literal string cell, whatever it looks like.

    ``=HYPERLINK(...)``, ``+7 999``, ``-1``, ``@SUM(A1)`` and ``#N/A`` stay text: the cell type
    is forced to string and the quote prefix set, so that editing the cell in Excel does not
    turn it into a formula either. Empty text leaves the cell empty.
    """
    _set_text(cell, clean_text(value, cut_marker) if value else "")


def _set_text(cell: Any, text: str) -> None:
    """``put_text`` for text already cleaned."""
    if not text:
        cell.value = None
        return
    cell.value = text
    cell.data_type = "s"
    if _needs_quote(text):
        cell.quotePrefix = True


def _needs_quote(value: object) -> bool:
    """Text a spreadsheet would read as a formula or an error value."""
    return isinstance(value, str) and (
        value.startswith(FORMULA_STARTS) or value.strip().upper() in ERROR_CODES
    )


class Kind(Enum):
    TEXT = auto()
    NUMBER = auto()
    PERCENT = auto()
    CHANGE = auto()
    NPS = auto()
    DATETIME = auto()
    DATE = auto()
    ANSWER = auto()
    """Text as text, numbers as numbers."""


_FORMATS = {Kind.PERCENT: PERCENT_FORMAT, Kind.CHANGE: CHANGE_FORMAT, Kind.NPS: NPS_FORMAT}


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class _Title:
    row: int
    column: int
    text: str
    font: Font


@dataclass(frozen=True)
class _Table:
    top: int
    left: int
    columns: Sequence[Column]
    rows: Rows


class Rows(Protocol):
    """A table's rows: read twice (measured, then written), so a list or a view that
    computes each row again rather than a one-shot iterator."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Sequence[object]]: ...


class _RowsOf(Generic[T]):
    """``Rows`` computed from ``items`` each time they are read."""

    def __init__(self, items: Sequence[T], values: Callable[[T], Sequence[object]]) -> None:
        self.items, self.values = items, values

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Sequence[object]]:
        return map(self.values, self.items)


Stored = tuple[object, str | None]
"""A value as the cell holds it (cleaned text, a number, a naive datetime or None) and its
number format."""


def _stored(value: object, kind: Kind, cut_marker: str) -> Stored:
    if kind is Kind.DATETIME:
        # Local wall time: Excel has no time zones.
        local = value.replace(tzinfo=None) if isinstance(value, datetime) else None
        return local, DATETIME_FORMAT
    if kind is Kind.DATE:
        return (value if isinstance(value, date) else None), DATE_FORMAT
    if value is None:
        return None, _FORMATS.get(kind)
    if kind is Kind.TEXT or not isinstance(value, int | float):
        return clean_text(str(value), cut_marker) or None, None
    if isinstance(value, bool) or not math.isfinite(value):
        # .xlsx stores neither NaN nor infinity; a flag is never a number.
        return None, None
    return value, _FORMATS.get(kind)


class _Sheet:
    """One worksheet: laid out and measured first, then streamed row by row.

    A write-only worksheet keeps memory flat however many visits a week holds, but it takes
    column widths and frozen panes only before its first row, and rows only in order. So
    tables and title lines are placed at known rows, their content measured for the widths,
    and ``finish`` writes the rows top to bottom, reading each table's rows a second time.
    """

    def __init__(self, worksheet: Any, cut_marker: str) -> None:
        self.ws = worksheet
        self.cut_marker = cut_marker
        self.lengths: dict[int, int] = {}
        """Per column: the longest content, in characters."""
        self.titles: list[_Title] = []
        self.tables: list[_Table] = []
        self.styles: dict[Hashable, StyleArray] = {}

    def title(self, row: int, text: str, font: Font, column: int = 1) -> None:
        """A line of text that overflows to the right: it does not widen its column."""
        self.titles.append(_Title(row, column, text, font))

    def table(
        self,
        top: int,
        columns: Sequence[Column],
        rows: Rows,
        first_column: int = 1,
    ) -> int:
        """Header at row ``top``, one row per item below; returns the last row it takes.

        ``rows`` is read twice: here to measure, in ``finish`` to write.
        """
        for index, column in enumerate(columns, start=first_column):
            # A long header wraps onto a second line rather than widen a column of numbers.
            self._measure(index, min(len(column.header), HEADER_WIDTH))
        kinds = [column.kind for column in columns]
        for values in rows:
            for index, (kind, value) in enumerate(zip(kinds, values, strict=True), first_column):
                stored, number_format = _stored(value, kind, self.cut_marker)
                if stored is not None:
                    self._measure(index, _display_length(stored, number_format))
        self.tables.append(_Table(top, first_column, columns, rows))
        return top + len(rows)

    def _measure(self, column: int, length: int) -> None:
        if length > self.lengths.get(column, 0):
            self.lengths[column] = length

    def finish(self, header_row: int, last_column: int, last_row: int) -> None:
        """Freeze below the header, filter the table, set widths, then write every row."""
        letter = get_column_letter(max(last_column, 1))
        self.ws.freeze_panes = f"A{header_row + 1}"
        self.ws.auto_filter.ref = f"A{header_row}:{letter}{max(last_row, header_row)}"
        self.ws.print_title_rows = f"{header_row}:{header_row}"
        # Printed: landscape, as many pages down as needed but one page wide.
        self.ws.page_setup.orientation = "landscape"
        self.ws.page_setup.fitToWidth = 1
        self.ws.page_setup.fitToHeight = 0
        self.ws.sheet_properties.pageSetUpPr.fitToPage = True
        for column, length in sorted(self.lengths.items()):
            width = min(max(length + 2, MIN_WIDTH), MAX_WIDTH)
            self.ws.column_dimensions[get_column_letter(column)].width = width
        for row in self._rows():
            self.ws.append(row)

    def _rows(self) -> Iterator[list[object]]:
        """Each row's cells from the titles and tables that reach it, in order."""
        titles: dict[int, list[_Title]] = {}
        for title in self.titles:
            titles.setdefault(title.row, []).append(title)
        ends = [table.top + len(table.rows) for table in self.tables]
        bottom = max([*titles, *ends, 0])
        readers = [iter(table.rows) for table in self.tables]
        for row in range(1, bottom + 1):
            cells: dict[int, object] = {}
            wrapped: set[int] = set()
            plain: dict[int, Stored] = {}
            for table, reader, end in zip(self.tables, readers, ends, strict=True):
                if row == table.top:
                    for index, column in enumerate(table.columns, start=table.left):
                        cells[index] = self._header(column.header)
                elif table.top < row <= end:
                    values = next(reader)
                    for index, (column, value) in enumerate(
                        zip(table.columns, values, strict=True), start=table.left
                    ):
                        stored = _stored(value, column.kind, self.cut_marker)
                        text = stored[0]
                        if isinstance(text, str) and (len(text) + 2 > MAX_WIDTH or "\n" in text):
                            wrapped.add(index)
                        plain[index] = stored
            # Long text wraps; its row is aligned to the top so the cells beside it stay readable.
            for index, stored in plain.items():
                cells[index] = self._cell(stored, index in wrapped, bool(wrapped))
            for title in titles.get(row, ()):
                cell = WriteOnlyCell(self.ws)
                put_text(cell, title.text, self.cut_marker)
                cell.font = title.font
                if wrapped:
                    cell.alignment = TOP
                cells[title.column] = cell
            yield [cells.get(index) for index in range(1, max(cells, default=0) + 1)]

    def _header(self, text: str) -> Cell:
        style = self._registered(
            "header", font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGNMENT
        )
        cell = Cell(self.ws, row=1, column=1, style_array=style)
        put_text(cell, text, self.cut_marker)
        return cell

    def _cell(self, stored: Stored, wrap: bool, top: bool) -> object:
        """A plain value where the cell needs nothing else, else a styled cell (an empty one
        keeps its column's number format, for a figure typed in later)."""
        value, number_format = stored
        if value is None and number_format is None:
            return None
        if not top and number_format is None and not _needs_quote(value):
            return value
        alignment = (WRAP_TOP if wrap else TOP) if top else None
        style = self._registered(
            (number_format, wrap, top), number_format=number_format, alignment=alignment
        )
        cell = Cell(self.ws, row=1, column=1, style_array=style)
        if isinstance(value, str):
            _set_text(cell, value)
        else:
            cell.value = value
        return cell

    def _registered(self, key: Hashable, **style: object) -> StyleArray:
        """The cell style ``style`` (attributes left None are left alone), registered with the
        workbook once: assigning them to every cell costs more than writing the cell. A cell
        made from it gets its own copy (openpyxl copies ``style_array``), so setting the quote
        prefix on one changes no other."""
        if key not in self.styles:
            prototype = WriteOnlyCell(self.ws)
            for name, value in style.items():
                if value is not None:
                    setattr(prototype, name, value)
            self.styles[key] = prototype._style
        return self.styles[key]


def _display_length(value: object, number_format: str | None) -> int:
    if isinstance(value, str):
        return max(len(line) for line in value.split("\n"))
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, int | float) and number_format and "%" in number_format:
        return len(f"{value * 100:+.1f}") + 2
    if isinstance(value, float):
        return len(f"{value:.1f}")
    return len(str(value))


def write_workbook(report: Report, path: Path, t: Translate) -> Path:
    """Write the weekly workbook of ``report`` to ``path`` (replaced atomically) and return it.

    ``t`` translates the ``reports`` catalogue keys into the report's language.
    """
    replace_atomically(path, lambda handle: save_workbook(report, handle, t))
    return path


def save_workbook(report: Report, handle: BinaryIO, t: Translate) -> None:
    """Write the weekly workbook of ``report`` into the open binary file ``handle``."""
    workbook = Workbook(write_only=True)
    try:
        _fill(workbook, report, t)
        workbook.save(handle)
    except BaseException:
        _abandon(workbook)
        raise


def _abandon(workbook: Workbook) -> None:
    """Close the row streams of a write-only workbook that failed (a full disk): left open,
    each would print a traceback of its own when collected, after the one-line error."""
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        for stream in (getattr(sheet, "_rows", None), getattr(writer, "xf", None)):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()


def _fill(workbook: Workbook, report: Report, t: Translate) -> None:
    cut_marker = t("text.cut")
    summary = _Sheet(workbook.create_sheet(_sheet_name(t("sheet.summary"))), cut_marker)
    _write_summary(summary, report, t)
    standards = _Sheet(workbook.create_sheet(_sheet_name(t("sheet.standards"))), cut_marker)
    _write_standards(standards, report, t)
    employees = _Sheet(workbook.create_sheet(_sheet_name(t("sheet.employees"))), cut_marker)
    _write_employees(employees, report, t)
    visits = _Sheet(workbook.create_sheet(_sheet_name(t("sheet.visits"))), cut_marker)
    _write_visits(visits, report, t)
    actions = _Sheet(workbook.create_sheet(_sheet_name(t("sheet.actions"))), cut_marker)
    _write_actions(actions, report, t)

    properties = workbook.properties
    properties.title = t("workbook.title", week=report.week.label)
    properties.subject = _scope_text(report, t)
    properties.creator = "msbot"
    properties.lastModifiedBy = "msbot"
    properties.created = properties.modified = report.generated_at.replace(tzinfo=None)


def _sheet_name(text: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", text).strip("'")[:31]


def _scope_text(report: Report, t: Translate) -> str:
    scope = report.scope
    if scope.restricted:
        return t("scope.stores", stores=", ".join(sorted(scope.store_codes)))
    return t("scope.hr") if scope.kind == ScopeKind.HR else t("scope.all")


def week_period(week: Week, t: Translate) -> str:
    """The days of ``week`` in words: "16–22 Nov 2026", "28 Dec 2026 – 3 Jan 2027"."""
    start: date = week.monday
    end = start + timedelta(days=6)

    def month(day: date) -> str:
        return t(f"month.{day.month:02d}")

    if start.year != end.year:
        return t(
            "period.two_years",
            start_day=start.day,
            start_month=month(start),
            start_year=start.year,
            end_day=end.day,
            end_month=month(end),
            end_year=end.year,
        )
    if start.month != end.month:
        return t(
            "period.two_months",
            start_day=start.day,
            start_month=month(start),
            end_day=end.day,
            end_month=month(end),
            year=end.year,
        )
    return t(
        "period.same_month", start_day=start.day, end_day=end.day, month=month(end), year=end.year
    )


# --- Summary ---------------------------------------------------------------------------------

CHART_ROWS = 16
"""Rows each chart takes (7.5 cm at the default row height), with a little space."""


def _write_summary(sheet: _Sheet, report: Report, t: Translate) -> None:
    """The stores table from A1 (column A holds only store codes below the header); to its
    right the title line, the two charts and, below both, the trend table the line chart
    reads. The trend rows lie below the last store, so filtering stores never hides them."""
    columns = [
        Column(t("column.store_code")),
        Column(t("column.store")),
        Column(t("column.visits"), Kind.NUMBER),
        Column(t("column.average_score"), Kind.PERCENT),
        Column(t("column.pass_rate"), Kind.PERCENT),
        Column(t("column.critical_failures"), Kind.NUMBER),
        Column(t("column.nps"), Kind.NPS),
        Column(t("column.change"), Kind.CHANGE),
    ]
    last = sheet.table(1, columns, [_store_values(store) for store in report.stores])

    side = len(columns) + 2  # one empty column between the table and the charts
    letter = get_column_letter(side)
    sheet.title(
        1,
        t(
            "summary.title",
            week=report.week.label,
            period=week_period(report.week, t),
            scope=_scope_text(report, t),
            generated=report.generated_at.strftime("%Y-%m-%d %H:%M"),
        ),
        TITLE_FONT,
        column=side,
    )
    if report.stores:
        chart = BarChart()
        chart.type = "col"
        chart.title = t("chart.scores_by_store")
        chart.legend = None
        chart.add_data(
            Reference(sheet.ws, min_col=4, min_row=1, max_row=last), titles_from_data=True
        )
        chart.set_categories(Reference(sheet.ws, min_col=1, min_row=2, max_row=last))
        _percent_axes(chart, minimum=0.0)
        chart.width = min(16 + 0.5 * max(0, len(report.stores) - 12), 48)
        sheet.ws.add_chart(chart, f"{letter}3")

    if report.trend:
        trend_stores = (
            [store.store_code for store in report.stores]
            if len(report.stores) <= MAX_STORES_IN_TREND
            else []
        )
        title_row = max(last + 2, 3 + 2 * CHART_ROWS)
        sheet.title(title_row, t("block.trend"), BLOCK_FONT, column=side)
        trend_columns = [
            Column(t("column.week")),
            Column(t("column.all_stores"), Kind.PERCENT),
            *(Column(code, Kind.PERCENT) for code in trend_stores),
        ]
        trend_rows = [
            [point.week.label, point.average_score, *(point.per_store.get(c) for c in trend_stores)]
            for point in report.trend
        ]
        top = title_row + 1
        trend_last = sheet.table(top, trend_columns, trend_rows, first_column=side)
        line = LineChart()
        line.title = t("chart.weekly_trend")
        line.add_data(
            Reference(
                sheet.ws,
                min_col=side + 1,
                max_col=side + len(trend_columns) - 1,
                min_row=top,
                max_row=trend_last,
            ),
            titles_from_data=True,
        )
        line.set_categories(Reference(sheet.ws, min_col=side, min_row=top + 1, max_row=trend_last))
        for series in line.series:
            series.marker.symbol = "circle"
            series.smooth = False
        _percent_axes(line, minimum=None)
        line.legend.position = "b"
        sheet.ws.add_chart(line, f"{letter}{3 + CHART_ROWS}")

    sheet.finish(1, len(columns), last)


def _store_values(store: StoreRow) -> list[object]:
    return [
        store.store_code,
        store.store_name,
        store.visits,
        store.average_score,
        store.pass_rate,
        store.critical_failures,
        store.nps,
        store.change,
    ]


def _percent_axes(chart: Any, minimum: float | None) -> None:
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.max = 1.0
    if minimum is not None:
        chart.y_axis.scaling.min = minimum
    # openpyxl 3.1 marks axes as deleted unless told otherwise: Excel would hide them.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.height = 7.5


# --- Standards -------------------------------------------------------------------------------


def _write_standards(sheet: _Sheet, report: Report, t: Translate) -> None:
    codes = [store.store_code for store in report.stores]
    extra = {code for row in report.standards for code in row.met_share} - set(codes)
    codes += sorted(extra)
    columns = [
        Column(t("column.checklist")),
        Column(t("column.section")),
        Column(t("column.item_id")),
        Column(t("column.standard")),
        *(Column(code, Kind.PERCENT) for code in codes),
        Column(t("column.overall"), Kind.PERCENT),
    ]
    rows = [
        [
            row.checklist_title,
            row.section_title,
            row.item_id,
            row.standard,
            *(row.met_share.get(code) for code in codes),
            row.overall,
        ]
        for row in report.standards
    ]
    last = sheet.table(1, columns, rows)
    if last > 1:
        cells = f"E2:{get_column_letter(len(columns))}{last}"
        sheet.ws.conditional_formatting.add(
            cells,
            ColorScaleRule(
                start_type="num",
                start_value=0,
                start_color="FFF8696B",
                mid_type="num",
                mid_value=0.5,
                mid_color="FFFFEB84",
                end_type="num",
                end_value=1,
                end_color="FF63BE7B",
            ),
        )
    sheet.finish(1, len(columns), last)


# --- Employees -------------------------------------------------------------------------------


def _write_employees(sheet: _Sheet, report: Report, t: Translate) -> None:
    weeks = report.trend_weeks
    columns = [
        Column(t("column.employee_code")),
        Column(t("column.employee")),
        Column(t("column.store_code")),
        Column(t("column.visits"), Kind.NUMBER),
        Column(t("column.average_score"), Kind.PERCENT),
        Column(t("column.weakest")),
        *(Column(week.label, Kind.PERCENT) for week in weeks),
    ]
    rows = []
    for employee in report.employees:
        weakest = "; ".join(
            t("weak.item", standard=weak.standard, share=f"{weak.met_share * 100:.0f}")
            for weak in employee.weakest
        )
        trend = list(employee.trend[: len(weeks)])
        trend += [None] * (len(weeks) - len(trend))
        rows.append(
            [
                employee.employee_code,
                employee.employee_name,
                employee.store_code,
                employee.visits,
                employee.average_score,
                weakest,
                *trend,
            ]
        )
    last = sheet.table(1, columns, rows)

    if report.unmatched:
        block_top = last + 3
        sheet.title(block_top - 1, t("block.unmatched"), BLOCK_FONT)
        # Description under the (wide) employee name column, the time under the visits.
        sheet.table(
            block_top,
            [
                Column(t("column.visit_id"), Kind.NUMBER),
                Column(t("column.description")),
                Column(t("column.store_code")),
                Column(t("column.visited_at"), Kind.DATETIME),
            ],
            [
                [item.visit_id, item.description, item.store_code, item.visited_at]
                for item in report.unmatched
            ],
        )
    sheet.finish(1, len(columns), last)


# --- Visits ----------------------------------------------------------------------------------


def _write_visits(sheet: _Sheet, report: Report, t: Translate) -> None:
    evaluators = report.scope.shows_evaluators
    yes, no = t("answer.yes"), t("answer.no")
    columns = [
        Column(t("column.visit_id"), Kind.NUMBER),
        Column(t("column.visited_at"), Kind.DATETIME),
        Column(t("column.store_code")),
        Column(t("column.employee_code")),
        *([Column(t("column.evaluator"))] if evaluators else []),
        Column(t("column.checklist")),
        Column(t("column.score"), Kind.PERCENT),
        Column(t("column.passed")),
        Column(t("column.critical_failed")),
        *(Column(item.header, Kind.ANSWER) for item in report.item_columns),
        Column(t("column.comments")),
        Column(t("column.photos"), Kind.NUMBER),
        Column(t("column.recordings"), Kind.NUMBER),
        Column(t("column.flags")),
        Column(t("column.acknowledged")),
    ]
    items = [item.item_id for item in report.item_columns]

    def values(visit: VisitRow) -> list[object]:
        return [
            visit.visit_id,
            visit.visited_at,
            visit.store_code,
            visit.employee_code,
            *([visit.evaluator] if evaluators else []),
            visit.checklist,
            visit.score,
            yes if visit.passed else no,
            yes if visit.critical_failed else no,
            *(_answer(visit.answers.get(item), yes, no) for item in items),
            visit.comments,
            visit.photos,
            visit.recordings,
            visit.flags or None,
            visit.acknowledged or None,
        ]

    # The longest sheet: its rows are made again when written rather than kept.
    rows = _RowsOf(report.visits, values)
    last = sheet.table(1, columns, rows)
    sheet.finish(1, len(columns), last)


def _write_actions(sheet: _Sheet, report: Report, t: Translate) -> None:
    """The week's corrective actions: what was to be done, whose, by when, and whether it
    was closed and then verified by a later visit."""
    columns = [
        Column(t("column.store_code")),
        Column(t("column.visit_id"), Kind.NUMBER),
        Column(t("column.standard")),
        Column(t("column.status")),
        Column(t("column.owner")),
        Column(t("column.opened"), Kind.DATE),
        Column(t("column.due"), Kind.DATE),
        Column(t("column.days_open"), Kind.NUMBER),
        Column(t("column.closed"), Kind.DATE),
        Column(t("column.closed_by")),
        Column(t("column.done")),
        Column(t("column.verified"), Kind.DATE),
        Column(t("column.action")),
    ]
    rows = [
        [
            a.store_code,
            a.visit_id,
            a.standard,
            a.status,
            a.owner,
            a.opened_on,
            a.due_on,
            a.days_open,
            a.closed_on,
            a.closed_by or None,
            a.closed_note or None,
            a.verified_on,
            a.action or None,
        ]
        for a in report.actions
    ]
    last = sheet.table(1, columns, rows)
    sheet.finish(1, len(columns), last)


def _answer(value: str | float | None, yes: str, no: str) -> str | float | None:
    if isinstance(value, bool):
        return yes if value else no
    return value
