"""The weekly workbook: a ``Report`` written as an .xlsx with XlsxWriter.

Six sheets named in the report's language: Summary, Standards, Employees, Visits, Actions and
Coaching. Each is a table with a bold filled header, frozen panes below it, a filter and
widths from the content (``exports.sheets`` says how they are streamed). Scores and shares are
numbers stored as fractions with a percent format, changes are percentage points, NPS a whole
number; ``None`` is an empty cell. The Summary carries two native charts over its own ranges
(average score by store with the pass mark; the weekly trend with the network and the pass
mark) and colours what needs a look. There are no formulas anywhere.

XlsxWriter writes our styled cells 1.6–1.7 × faster than openpyxl (FIELD-NOTES); openpyxl
stays for reading rosters, checklists and, in tests, these workbooks back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, BinaryIO

from xlsxwriter.workbook import Workbook

from exports.report_data import (
    CoachingRow,
    Report,
    ScopeKind,
    StoreRow,
    VisitRow,
    WeakStandard,
)
from exports.sheets import (
    Column,
    Formats,
    Kind,
    RowsOf,
    Sheet,
    abandon,
)
from exports.weeks import Week
from storage.files import replace_atomically

Translate = Callable[..., str]

MAX_STORES_IN_TREND = 10
STREAM_ABOVE = 1_000
"""Visits above which rows go to disk as they are written (``constant_memory``): memory
stays flat. A smaller workbook is kept in memory until saved, which spares the temporary
file per sheet that streaming costs (a store's workbook is mostly that cost)."""
CHART_ROWS = 22
"""Rows the charts take (at the default row height), with a little space."""
CHART_HEIGHT, CHART_GAP = 400, 16
"""Pixels: the charts' height, and the space between the two side by side."""
SUMMARY_HEADER = 3
"""The stores table's header row: below the title and the note."""
TITLE: dict[str, object] = {"bold": True, "font_size": 13}
BLOCK: dict[str, object] = {"bold": True, "font_size": 12}
NOTE: dict[str, object] = {"italic": True, "font_color": "#595959"}
BAD_FILL = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}
BAD_FONT = {"font_color": "#C00000"}
PASS_MARK_LINE = {"color": "#C00000", "width": 1.5, "dash_type": "dash"}
NETWORK_LINE = {"color": "#7F7F7F", "width": 2, "dash_type": "round_dot"}


def write_workbook(report: Report, path: Path, t: Translate) -> Path:
    """Write the weekly workbook of ``report`` to ``path`` (replaced atomically) and return it.

    ``t`` translates the ``reports`` catalogue keys into the report's language.
    """
    replace_atomically(path, lambda handle: save_workbook(report, handle, t))
    return path


def save_workbook(report: Report, handle: BinaryIO, t: Translate) -> None:
    """Write the weekly workbook of ``report`` into the open binary file ``handle``."""
    streamed = len(report.visits) > STREAM_ABOVE
    workbook = Workbook(
        handle,
        {
            "constant_memory": streamed,
            "in_memory": not streamed,
            # Typed text stays text: never a formula, a number or a link.
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    try:
        _fill(workbook, report, t)
        workbook.close()
    except BaseException as error:
        abandon(workbook, error)
        raise


def _fill(workbook: Workbook, report: Report, t: Translate) -> None:
    formats = Formats(workbook)
    cut_marker = t("text.cut")

    def sheet(key: str) -> Sheet:
        return Sheet(workbook.add_worksheet(_sheet_name(t(key))), formats, cut_marker)

    _write_summary(sheet("sheet.summary"), report, t)
    _write_standards(sheet("sheet.standards"), report, t)
    _write_employees(sheet("sheet.employees"), report, t)
    _write_visits(sheet("sheet.visits"), report, t)
    _write_actions(sheet("sheet.actions"), report, t)
    _write_coaching(sheet("sheet.coaching"), report, t)
    created = report.generated_at.replace(tzinfo=None)
    workbook.set_properties(
        {
            "title": t("workbook.title", week=report.week.label),
            "subject": _scope_text(report, t),
            "author": "msbot",
            "created": created,
        }
    )


def _sheet_name(text: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", text).strip("'")[:31]


def _scope_text(report: Report, t: Translate) -> str:
    scope = report.scope
    if scope.restricted:
        return t("scope.stores", stores=", ".join(sorted(scope.store_codes)))
    return t("scope.hr") if scope.kind == ScopeKind.HR else t("scope.all")


def _empty_note(sheet: Sheet, report: Report, t: Translate, last: int) -> None:
    """An empty week says so, rather than leave a reader to wonder what went wrong: under
    the header of an empty table, below one that has rows (the Actions of earlier weeks)."""
    if report.empty:
        sheet.line(last + 1 if last == 0 else last + 2, t("note.empty"), NOTE)


def percent_text(share: float, language: str) -> str:
    """A share as the workbook's percent cells show it: one decimal, halves rounded up (as
    spreadsheets round for display), a decimal comma in Russian: 0.625 → "62.5", "62,5";
    0.4 → "40.0", as the cell beside shows it."""
    shown = Decimal(repr(share * 100)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{shown:f}".replace(".", ",") if language == "ru" else f"{shown:f}"


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


def _write_summary(sheet: Sheet, report: Report, t: Translate) -> None:
    """The title and a note, then the stores table with its total (and, for a manager, the
    network's anonymous figures) from row 4; the two charts side by side below it; the
    weekly trend below them. One page wide when printed, read top to bottom. The totals sit
    below the filtered range, so sorting stores never moves them."""
    columns = [
        Column(t("column.store_code")),
        Column(t("column.store")),
        Column(t("column.visits"), Kind.NUMBER),
        Column(t("column.average_score"), Kind.PERCENT),
        Column(t("column.pass_rate"), Kind.PERCENT),
        Column(t("column.critical_failures"), Kind.NUMBER),
        Column(t("column.nps"), Kind.NPS),
        Column(t("column.change"), Kind.POINTS),
        Column(t("column.pass_mark"), Kind.PERCENT),
    ]
    generated = report.generated_local or report.generated_at
    sheet.line(
        0,
        t(
            "summary.title",
            week=report.week.label,
            period=week_period(report.week, t),
            scope=_scope_text(report, t),
            generated=generated.strftime("%Y-%m-%d %H:%M"),
        ),
        TITLE,
    )
    marks = {store.pass_mark for store in report.stores if store.pass_mark is not None}
    if report.empty:
        sheet.line(1, t("note.empty"), NOTE)
    elif marks:
        sheet.line(1, t("note.pass_mark", mark=_marks_text(marks, report.language)), NOTE)

    top = SUMMARY_HEADER
    last_store = sheet.table(top, columns, [_store_values(s) for s in report.stores])
    totals = []
    if report.total is not None and (len(report.stores) > 1 or report.network is None):
        totals.append(_labelled(report.total, t("row.total"), _scope_text(report, t)))
    if report.network is not None:
        totals.append(
            _labelled(
                report.network, t("row.network"), t("row.network_name", count=report.network_stores)
            )
        )
    last = last_store
    if totals:
        last = sheet.table(last_store + 1, columns, totals, header=False, bold=True)
    _colour_summary(sheet, top + 1, last)

    charts = last + 2
    bar_width = 0
    if report.stores:
        bar_width = _bar_chart(sheet, t, top + 1, last, charts)
    if report.trend:
        _trend(sheet, report, t, charts, bar_width + CHART_GAP if bar_width else 0)
    sheet.finish(top, len(columns) - 1, last_store, repeat_header=False)


def _marks_text(marks: set[float], language: str) -> str:
    """ "80" or, when checklists differ, "75–80"."""
    low, high = (
        percent_text(mark, language).removesuffix(".0").removesuffix(",0")
        for mark in (min(marks), max(marks))
    )
    return low if low == high else f"{low}–{high}"


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
        store.pass_mark,
    ]


def _labelled(row: StoreRow, label: str, name: str) -> list[object]:
    return [label, name, *_store_values(row)[2:]]


def _colour_summary(sheet: Sheet, first: int, last: int) -> None:
    """Red where a reader should look: a score below its pass mark, a drop since last week,
    a critical failure."""
    if last < first:
        return
    formats = sheet.formats
    bad_fill, bad_font = formats.get(**BAD_FILL), formats.get(**BAD_FONT)
    row = first + 1  # the formula's row, 1-based
    below = f"=AND(ISNUMBER($D{row}),ISNUMBER($I{row}),$D{row}<$I{row})"
    sheet.ws.conditional_format(
        first, 3, last, 3, {"type": "formula", "criteria": below, "format": bad_fill}
    )
    sheet.ws.conditional_format(
        first, 5, last, 5, {"type": "cell", "criteria": ">", "value": 0, "format": bad_fill}
    )
    sheet.ws.conditional_format(
        first, 7, last, 7,
        {"type": "formula", "criteria": f"=AND(ISNUMBER($H{row}),$H{row}<0)", "format": bad_font},
    )  # fmt: skip


def _bar_chart(sheet: Sheet, t: Translate, first: int, last: int, row: int) -> int:
    """Average score per store (and the totals), labelled by store name, with the pass mark;
    its width in pixels."""
    name = sheet.ws.name
    bars: Any = sheet.formats.workbook.add_chart({"type": "column"})
    bars.add_series(
        {
            "name": t("series.score"),
            "categories": [name, first, 1, last, 1],
            "values": [name, first, 3, last, 3],
            "fill": {"color": "#5B9BD5"},
            "data_labels": {"value": True, "num_format": "0.0%"},
        }
    )
    mark: Any = sheet.formats.workbook.add_chart({"type": "line"})
    mark.add_series(
        {
            "name": t("series.pass_mark"),
            "categories": [name, first, 1, last, 1],
            "values": [name, first, 8, last, 8],
            "line": PASS_MARK_LINE,
            "marker": {"type": "none"},
        }
    )
    bars.combine(mark)
    bars.set_title({"name": t("chart.scores_by_store"), "name_font": {"size": 12}})
    bars.set_x_axis({"name": t("axis.store"), "num_font": {"size": 8}})
    bars.set_y_axis(
        {
            "name": t("axis.score"),
            "min": 0,
            "max": 1,
            "major_unit": 0.2,
            "num_format": "0%",
            "major_gridlines": {"visible": True},
        }
    )
    bars.set_legend({"position": "top"})
    width = min(560 + 28 * max(0, last - first + 1 - 8), 1600)
    bars.set_size({"width": width, "height": CHART_HEIGHT})
    # The plot keeps half the height: long store names slant below it rather than squash it.
    bars.set_plotarea({"layout": {"x": 0.1, "y": 0.16, "width": 0.87, "height": 0.46}})
    sheet.ws.insert_chart(row, 0, bars)
    return width


def _trend(sheet: Sheet, report: Report, t: Translate, row: int, offset: int) -> None:
    """The weekly trend's line chart at ``row``, ``offset`` pixels from the left, and below
    it the table it reads."""
    restricted = report.network is not None
    # A line per store, up to ten; one store alone is the total line already.
    stores = (
        [(s.store_code, s.store_name) for s in report.stores]
        if 1 < len(report.stores) <= MAX_STORES_IN_TREND
        else []
    )
    title_row = row + CHART_ROWS
    sheet.line(title_row, t("block.trend"), BLOCK)
    columns = [
        Column(t("column.week")),
        Column(t("column.your_stores") if restricted else t("column.all_stores"), Kind.PERCENT),
        *([Column(t("column.network"), Kind.PERCENT)] if restricted else []),
        Column(t("column.pass_mark"), Kind.PERCENT),
        *(Column(store_name or code, Kind.PERCENT) for code, store_name in stores),
    ]
    rows = [
        [
            point.week.label,
            point.average_score,
            *([point.network] if restricted else []),
            point.pass_mark,
            *(point.per_store.get(code) for code, _ in stores),
        ]
        for point in report.trend
    ]
    top = title_row + 1
    last = sheet.table(top, columns, rows)
    name = sheet.ws.name
    chart: Any = sheet.formats.workbook.add_chart({"type": "line"})
    categories = [name, top + 1, 0, last, 0]
    for column, spec in enumerate(columns[1:], start=1):
        series: dict[str, Any] = {
            "name": [name, top, column],
            "categories": categories,
            "values": [name, top + 1, column, last, column],
            "marker": {"type": "circle", "size": 5},
        }
        if column == 1:
            series["line"] = {"width": 3, "color": "#1F4E79"}
            series["data_labels"] = {"value": True, "num_format": "0.0%", "position": "above"}
        elif spec.header == t("column.pass_mark"):
            series["line"], series["marker"] = PASS_MARK_LINE, {"type": "none"}
        elif restricted and column == 2:
            series["line"] = NETWORK_LINE
        else:
            series["line"] = {"width": 1.25}
        chart.add_series(series)
    chart.set_title({"name": t("chart.weekly_trend"), "name_font": {"size": 12}})
    chart.set_x_axis({"name": t("axis.week")})
    chart.set_y_axis(
        {"name": t("axis.score"), "min": 0, "max": 1, "major_unit": 0.2, "num_format": "0%"}
    )
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 640, "height": CHART_HEIGHT})
    sheet.ws.insert_chart(row, 0, chart, {"x_offset": offset})


# --- Standards -------------------------------------------------------------------------------


def _write_standards(sheet: Sheet, report: Report, t: Translate) -> None:
    """Per standard, the share of visits that met it in each store and overall, each with
    the number of visits it rests on, and a colour scale over the shares."""
    codes = [store.store_code for store in report.stores]
    extra = {code for row in report.standards for code in row.met_share} - set(codes)
    codes += sorted(extra)
    columns = [
        Column(t("column.checklist")),
        Column(t("column.section")),
        Column(t("column.item_id")),
        Column(t("column.standard")),
    ]
    for code in codes:
        columns += [Column(code, Kind.PERCENT), Column(t("column.counted", code=code), Kind.NUMBER)]
    columns += [
        Column(t("column.overall"), Kind.PERCENT),
        Column(t("column.counted_overall"), Kind.NUMBER),
    ]
    rows = []
    for row in report.standards:
        shares: list[object] = []
        for code in codes:
            shares += [row.met_share.get(code), row.counted.get(code) or None]
        rows.append(
            [row.checklist_title, row.section_title, row.item_id, row.standard, *shares,
             row.overall, row.overall_counted or None]
        )  # fmt: skip
    last = sheet.table(0, columns, rows)
    _empty_note(sheet, report, t, last)
    if last > 0:
        share_columns = range(4, len(columns), 2)
        cells = " ".join(f"{_letter(c)}2:{_letter(c)}{last + 1}" for c in share_columns)
        sheet.ws.conditional_format(
            1, 4, last, len(columns) - 1,
            {"type": "3_color_scale", "multi_range": cells,
             "min_type": "num", "min_value": 0, "min_color": "#F8696B",
             "mid_type": "num", "mid_value": 0.5, "mid_color": "#FFEB84",
             "max_type": "num", "max_value": 1, "max_color": "#63BE7B"},
        )  # fmt: skip
    sheet.finish(0, len(columns) - 1, last, frozen_columns=4)


def _letter(column: int) -> str:
    letters = ""
    column += 1
    while column:
        column, remainder = divmod(column - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


# --- Employees -------------------------------------------------------------------------------


def _write_employees(sheet: Sheet, report: Report, t: Translate) -> None:
    weeks = report.trend_weeks
    yes, no = t("answer.yes"), t("answer.no")
    columns = [
        Column(t("column.employee_code")),
        Column(t("column.employee")),
        Column(t("column.store_code")),
        Column(t("column.on_staff")),
        Column(t("column.visits"), Kind.NUMBER),
        Column(t("column.average_score"), Kind.PERCENT),
        Column(t("column.weakest")),
        *(Column(week.label, Kind.PERCENT) for week in weeks),
    ]
    rows = []
    for employee in report.employees:
        trend = list(employee.trend[: len(weeks)])
        trend += [None] * (len(weeks) - len(trend))
        rows.append(
            [
                employee.employee_code,
                employee.employee_name,
                employee.store_code,
                yes if employee.active else no,
                employee.visits,
                employee.average_score,
                "; ".join(_weak(weak, report.language, t) for weak in employee.weakest),
                *trend,
            ]
        )
    last = sheet.table(0, columns, rows)
    _empty_note(sheet, report, t, last)

    if report.unmatched:
        block_top = last + 3
        sheet.line(block_top - 1, t("block.unmatched"), BLOCK)
        # Description under the (wide) employee name column, the time under the store.
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
    sheet.finish(0, len(columns) - 1, last, frozen_columns=2)


def _weak(weak: WeakStandard, language: str, t: Translate) -> str:
    return t(
        "weak.item",
        standard=weak.standard,
        share=percent_text(weak.met_share, language),
        met=weak.met,
        counted=weak.counted,
    )


# --- Visits ----------------------------------------------------------------------------------


def _write_visits(sheet: Sheet, report: Report, t: Translate) -> None:
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
        answers = visit.answers
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
            *(_answer(answers.get(item), yes, no) for item in items),
            visit.comments,
            visit.photos,
            visit.recordings,
            visit.flags or None,
            visit.acknowledged or None,
        ]

    # The longest sheet: its rows are made as they are written rather than kept.
    last = sheet.table(0, columns, RowsOf(report.visits, values))
    _empty_note(sheet, report, t, last)
    sheet.finish(0, len(columns) - 1, last, frozen_columns=4)


def _answer(value: str | float | None, yes: str, no: str) -> str | float | None:
    if isinstance(value, bool):
        return yes if value else no
    return value


# --- Actions and coaching --------------------------------------------------------------------


def _write_actions(sheet: Sheet, report: Report, t: Translate) -> None:
    """The week's corrective actions as they stood when it ended: what was to be done, whose,
    by when, and whether it was closed and then verified by a later visit."""
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
    last = sheet.table(0, columns, rows)
    _empty_note(sheet, report, t, last)
    sheet.finish(0, len(columns) - 1, last, frozen_columns=3)


def _write_coaching(sheet: Sheet, report: Report, t: Translate) -> None:
    """Per employee, each standard not fully met that week: the talking points of a
    one-to-one, with the visit to look up and the shopper's own words."""
    columns = [
        Column(t("column.employee_code")),
        Column(t("column.employee")),
        Column(t("column.store_code")),
        Column(t("column.visited_at"), Kind.DATETIME),
        Column(t("column.visit_id"), Kind.NUMBER),
        Column(t("column.checklist")),
        Column(t("column.standard")),
        Column(t("column.result")),
        Column(t("column.answer")),
        Column(t("column.comments")),
    ]

    def values(c: CoachingRow) -> list[object]:
        return [
            c.employee_code,
            c.employee_name,
            c.store_code,
            c.visited_at,
            c.visit_id,
            c.checklist,
            c.standard,
            c.result,
            c.answer,
            c.comment or None,
        ]

    # As long as a week's shortfalls: made as they are written.
    rows = RowsOf(report.coaching, values)
    last = sheet.table(0, columns, rows)
    _empty_note(sheet, report, t, last)
    sheet.finish(0, len(columns) - 1, last, frozen_columns=2)
