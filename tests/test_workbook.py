"""The weekly workbook: built from hand-made reports, read back with openpyxl and calamine."""

from __future__ import annotations

import re
import string
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.cell.cell import Cell
from python_calamine import CalamineWorkbook

from bot.i18n import Translator, catalogue
from exports.report_data import (
    ActionRow,
    CoachingRow,
    EmployeeRow,
    ItemColumn,
    Report,
    Scope,
    ScopeKind,
    StandardRow,
    StoreRow,
    TrendPoint,
    UnmatchedEmployee,
    VisitRow,
    WeakStandard,
)
from exports.sheets import (
    CHANGE_FORMAT,
    ERROR_CODES,
    FORMULA_STARTS,
    MAX_CELL_TEXT,
    PERCENT_FORMAT,
    clean_text,
)
from exports.weeks import Week
from exports.workbook import week_period, write_workbook

WEEK = Week(2026, 47)
HYPERLINK = '=HYPERLINK("http://x","y")'
INJECTIONS = [HYPERLINK, "+7 999 123", "-1", "@SUM(A1)", "#N/A", "\t=1+1", "=1+1", "#div/0!"]
LONG_REMARK = "Долгий рассказ. " * 2_500  # 40,000 characters
SUMMARY_HEADER_ROW = 4

SUMMARY_HEADERS = [
    "Store code",
    "Store",
    "Visits",
    "Average score %",
    "Pass rate %",
    "Critical failures",
    "NPS",
    "Change vs previous week, pp",
    "Pass mark %",
]
STANDARDS_HEADERS = [
    "Checklist", "Section", "Item id", "Standard",
    "S1", "S1, n", "S2", "S2, n", "Overall", "Overall, n",
]  # fmt: skip
TREND_LABELS = [week.label for week in WEEK.recent(8)]
EMPLOYEES_HEADERS = [
    "Employee code",
    "Employee",
    "Store code",
    "On staff",
    "Visits",
    "Average score %",
    "Weakest standards",
    *TREND_LABELS,
]
VISITS_HEADERS = [
    "Visit id",
    "Date and time",
    "Store code",
    "Employee code",
    "Evaluator",
    "Checklist",
    "Score %",
    "Passed",
    "Critical failed",
    "Greeted within 30 s",
    "Seconds to greeting",
    "What the employee said",
    "Comments",
    "Photos",
    "Recordings",
    "Integrity flags",
    "Managers",
]


def make_report(language: str = "en", scope: Scope | None = None) -> Report:
    """Two stores (one without visits this week), three employees, three visits, tricky text."""
    return Report(
        week=WEEK,
        scope=scope or Scope(ScopeKind.ALL),
        language=language,
        generated_at=datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
        generated_local=datetime(2026, 11, 23, 9, 0),
        stores=[
            StoreRow("S1", HYPERLINK, 3, 0.873, 2 / 3, 1, 33.3, 0.021, 0.8),
            StoreRow("S2", "Второй\x00 магазин", 0, None, None, 0, None, None),
        ],
        standards=[
            StandardRow(
                "In-store visit",
                "Greeting",
                "greet_30s",
                "Greeted within 30 s",
                {"S1": 0.5, "S2": None},
                0.5,
                {"S1": 2, "S2": 0},
                2,
            ),
            StandardRow(
                "In-store visit",
                "Offer",
                "three_yes",
                "+3 yes before the offer",
                {"S1": 1.0, "S2": 0.0},
                0.75,
                {"S1": 3, "S2": 1},
                4,
            ),
        ],
        employees=[
            EmployeeRow(
                "E1",
                "Ann\x07 Lee",
                "S1",
                2,
                0.9,
                (WeakStandard("Smiles", 0.4, 2, 5), WeakStandard("@SUM(A1)", 0.625, 5, 8)),
                (None, None, None, None, None, None, 0.8, 0.9),
            ),
            EmployeeRow("E2", "-1", "S2", 0, None, (), (None,) * 8, active=False),
            EmployeeRow("E3", "Борис", "S1", 1, 0.75, (), (0.6,) * 8),
        ],
        unmatched=[
            UnmatchedEmployee(103, datetime(2026, 11, 20, 14, 5), "S2", "#N/A tall, glasses"),
            UnmatchedEmployee(104, datetime(2026, 11, 21, 9, 15), "S1", "=1+1 red scarf"),
        ],
        item_columns=[
            ItemColumn("greet_30s", "Greeted within 30 s"),
            ItemColumn("greet_seconds", "Seconds to greeting"),
            ItemColumn("remark", "What the employee said"),
        ],
        visits=[
            VisitRow(
                101,
                datetime(2026, 11, 17, 10, 30),
                "S1",
                "E1",
                "E-07",
                "In-store visit",
                0.8,
                True,
                False,
                {"greet_30s": "Yes", "greet_seconds": 25.0, "remark": HYPERLINK},
                "remark: +7 999 123\nsecond line",
                photos=2,
                recordings=1,
                acknowledged="seen by 1 of 2",
            ),
            VisitRow(
                102,
                datetime(2026, 11, 18, 18, 45, 30),
                "S1",
                "E3",
                "E-08",
                "In-store visit",
                0.55,
                False,
                True,
                {"greet_30s": "No", "greet_seconds": None, "remark": LONG_REMARK},
                "#N/A",
            ),
            VisitRow(
                103,
                datetime(2026, 11, 20, 14, 5),
                "S2",
                "",
                "E-07",
                "In-store visit",
                None,
                False,
                False,
                {"greet_30s": "N/A"},
                "@SUM(A1)\x1b",
            ),
        ],
        trend=[
            TrendPoint(week, None if n == 0 else 0.8 + n / 100, {"S1": 0.7, "S2": None})
            for n, week in enumerate(WEEK.recent(8))
        ],
    )


def build(report: Report, folder: Path) -> Path:
    name = f"{report.language}-{report.scope.kind}.xlsx"
    return write_workbook(report, folder / name, Translator(report.language, "reports"))


@pytest.fixture(scope="module")
def workbook_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(make_report(), tmp_path_factory.mktemp("workbook"))


@pytest.fixture(scope="module")
def book(workbook_path: Path) -> Any:
    return openpyxl.load_workbook(workbook_path)


@pytest.fixture(scope="module")
def calamine(workbook_path: Path) -> dict[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_path(str(workbook_path))
    return {name: workbook.get_sheet_by_name(name).to_python() for name in workbook.sheet_names}


def header_cells(sheet: Any, row: int) -> list[Cell]:
    """The header of the table that starts in ``row``: its first run of non-empty cells."""
    cells = list(sheet[row])
    start = next(i for i, cell in enumerate(cells) if cell.value is not None)
    end = next((i for i in range(start, len(cells)) if cells[i].value is None), len(cells))
    return cells[start:end]


def records(sheet: Any, header_row: int = 1) -> list[dict[str, Cell]]:
    """The table under ``header_row``, up to the first empty row, as header → cell."""
    headers = header_cells(sheet, header_row)
    first, last = headers[0].column, headers[-1].column
    rows = []
    for row in sheet.iter_rows(min_row=header_row + 1, min_col=first, max_col=last):
        if all(cell.value is None for cell in row):
            break
        rows.append({h.value: cell for h, cell in zip(headers, row, strict=True)})
    return rows


def values(row: dict[str, Cell]) -> dict[str, Any]:
    return {header: cell.value for header, cell in row.items()}


def sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/sheet")
        }


# --- Structure -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "names"),
    [
        ("en", ["Summary", "Standards", "Employees", "Visits", "Actions", "Coaching"]),
        ("ru", ["Сводка", "Стандарты", "Сотрудники", "Визиты", "Меры", "Коучинг"]),
    ],
)
def test_sheets_are_named_in_the_report_language(
    language: str, names: list[str], tmp_path: Path
) -> None:
    path = build(make_report(language), tmp_path)
    assert openpyxl.load_workbook(path).sheetnames == names
    assert CalamineWorkbook.from_path(str(path)).sheet_names == names


def test_every_sheet_has_exactly_the_expected_headers(book: Any) -> None:
    def header(sheet: Any, row: int) -> list[Any]:
        return [cell.value for cell in header_cells(sheet, row)]

    assert header(book["Summary"], SUMMARY_HEADER_ROW) == SUMMARY_HEADERS
    assert header(book["Standards"], 1) == STANDARDS_HEADERS
    assert header(book["Employees"], 1) == EMPLOYEES_HEADERS
    assert header(book["Visits"], 1) == VISITS_HEADERS


def test_the_summary_title_names_the_week_its_days_the_scope_and_the_local_time(
    book: Any,
) -> None:
    # Generated at 06:00 UTC: 09:00 in Moscow, the time every other cell shows.
    assert book["Summary"]["A1"].value == (
        "Week 2026-W47, 16–22 Nov 2026 · all stores · generated 2026-11-23 09:00"
    )
    assert book["Summary"]["A2"].value == (
        "Pass mark 80 %. Red: a score below the pass mark, a drop since last week, "
        "a critical failure."
    )


def test_every_sheet_has_a_frozen_filtered_bold_filled_header(book: Any) -> None:
    for name, header_row, last_column, frozen in [
        ("Summary", SUMMARY_HEADER_ROW, "I", "A5"),
        ("Standards", 1, "J", "E2"),  # the standard's name stays in view
        ("Employees", 1, "O", "C2"),  # the employee
        ("Visits", 1, "Q", "E2"),  # visit id, time, store and employee
        ("Actions", 1, "M", "D2"),
        ("Coaching", 1, "J", "C2"),
    ]:
        sheet = book[name]
        assert sheet.freeze_panes == frozen, name
        assert sheet.auto_filter.ref.startswith(f"A{header_row}:{last_column}"), name
        for cell in header_cells(sheet, header_row):
            assert cell.font.bold, (name, cell.coordinate)
            assert cell.fill.fill_type == "solid", (name, cell.coordinate)
        # Stored with Excel's padding of 0.71 on top of the characters' width.
        widths = [int(d.width) for d in sheet.column_dimensions.values() if d.width]
        assert widths, name
        assert all(6 <= width <= 50 for width in widths), name


def test_long_text_columns_are_capped_wrapped_and_their_rows_tall_enough(book: Any) -> None:
    visits = book["Visits"]
    assert int(visits.column_dimensions["L"].width) == 50
    assert visits["L3"].alignment.wrap_text  # the 40,000-character remark
    assert visits["M2"].alignment.wrap_text  # a comment on two lines
    assert visits["A2"].alignment.vertical == "top"  # its neighbours read from the top
    # Heights from the line count (LibreOffice does not grow rows): two lines, and the
    # tallest row there is for the remark; rows without wrapped text keep the default.
    assert visits.row_dimensions[2].height == 30
    assert visits.row_dimensions[3].height >= 408  # 409 in whole pixels
    assert visits.row_dimensions[4].height is None
    # The header's long names wrap at 16 characters: "Critical failed" fits one line,
    # "What the employee said" takes two.
    assert visits.row_dimensions[1].height == 30
    assert book["Summary"].column_dimensions["A"].width < 20  # the title does not widen it


def test_workbook_metadata_names_the_week_and_msbot(book: Any) -> None:
    assert book.properties.creator == "msbot"
    assert book.properties.title == "Mystery shopping, week 2026-W47"


def test_summary_has_a_bar_chart_by_store_and_a_weekly_trend_line_chart(
    workbook_path: Path,
) -> None:
    with zipfile.ZipFile(workbook_path) as archive:
        names = set(archive.namelist())
        assert {"xl/charts/chart1.xml", "xl/charts/chart2.xml"} <= names
        bar = archive.read("xl/charts/chart1.xml").decode()
        line = archive.read("xl/charts/chart2.xml").decode()
    # Bars of the average score labelled by store name, with their values, axis titles and
    # the pass mark as a line over the same stores.
    assert "<c:barChart>" in bar and "<c:lineChart>" in bar
    assert "Summary!$D$5:$D$6" in bar and "Summary!$B$5:$B$6" in bar
    assert "Summary!$I$5:$I$6" in bar  # the pass mark column
    assert '<c:showVal val="1"/>' in bar
    assert bar.count("<c:title>") == 3  # the chart's and both axes'
    assert "lineChart>" in line
    # The overall line, the pass mark and one line per store (two stores, at most ten).
    assert len(re.findall(r"<c:ser>", line)) == 4
    assert "Summary!$B$32:$B$39" in line and "Summary!$A$32:$A$39" in line
    assert line.count("<c:title>") == 3


def test_trend_shows_only_the_overall_line_when_there_are_more_than_ten_stores(
    tmp_path: Path,
) -> None:
    report = make_report()
    stores = [replace(report.stores[0], store_code=f"S{n:02d}") for n in range(11)]
    path = build(replace(report, stores=stores), tmp_path)
    with zipfile.ZipFile(path) as archive:
        line = archive.read("xl/charts/chart2.xml").decode()
    assert len(re.findall(r"<c:ser>", line)) == 2  # the overall line and the pass mark


# --- Figures ---------------------------------------------------------------------------------


def test_summary_figures_are_fractions_with_percent_formats(book: Any) -> None:
    rows = records(book["Summary"], SUMMARY_HEADER_ROW)
    assert values(rows[0]) == {
        "Store code": "S1",
        "Store": HYPERLINK,
        "Visits": 3,
        "Average score %": 0.873,
        "Pass rate %": pytest.approx(2 / 3),
        "Critical failures": 1,
        "NPS": 33.3,
        "Change vs previous week, pp": pytest.approx(2.1),  # percentage points
        "Pass mark %": 0.8,
    }
    assert rows[0]["Average score %"].number_format == PERCENT_FORMAT
    assert rows[0]["Pass rate %"].number_format == PERCENT_FORMAT
    assert rows[0]["Change vs previous week, pp"].number_format == CHANGE_FORMAT
    assert rows[0]["NPS"].number_format == "0"  # a whole number, as NPS is quoted


def test_missing_figures_are_empty_cells_never_zero(
    book: Any, calamine: dict[str, list[list[Any]]]
) -> None:
    s2 = values(records(book["Summary"], SUMMARY_HEADER_ROW)[1])
    assert s2 == {
        "Store code": "S2",
        "Store": "Второй магазин",
        "Visits": 0,
        "Average score %": None,
        "Pass rate %": None,
        "Critical failures": 0,
        "NPS": None,
        "Change vs previous week, pp": None,
        "Pass mark %": None,
    }
    assert calamine["Summary"][5][:9] == ["S2", "Второй магазин", 0, "", "", 0, "", "", ""]
    e2 = values(records(book["Employees"])[1])
    assert e2["Average score %"] is None
    assert [e2[label] for label in TREND_LABELS] == [None] * 8
    visit = values(records(book["Visits"])[2])
    assert visit["Score %"] is None
    assert visit["Employee code"] is None
    assert visit["Seconds to greeting"] is None


def test_weekly_trend_table_feeds_the_line_chart(book: Any) -> None:
    sheet = book["Summary"]
    # Below the stores and the charts beside each other; stores by name, as in the legend.
    assert sheet["A30"].value == "Weekly trend: average score"
    rows = [values(row) for row in records(sheet, 31)]
    assert [row["Week"] for row in rows] == TREND_LABELS
    assert [row["All stores"] for row in rows] == [None] + [0.8 + n / 100 for n in range(1, 8)]
    assert [row[HYPERLINK] for row in rows] == [0.7] * 8
    assert [row["Второй магазин"] for row in rows] == [None] * 8
    assert [row["Pass mark %"] for row in rows] == [None] * 8
    assert sheet["B33"].number_format == PERCENT_FORMAT


def test_standards_show_the_met_share_per_store_and_overall_with_a_colour_scale(
    book: Any,
) -> None:
    sheet = book["Standards"]
    rows = [values(row) for row in records(sheet)]
    # Each share with the number of visits it rests on; none where it never counted.
    assert rows == [
        {
            "Checklist": "In-store visit",
            "Section": "Greeting",
            "Item id": "greet_30s",
            "Standard": "Greeted within 30 s",
            "S1": 0.5,
            "S1, n": 2,
            "S2": None,
            "S2, n": None,
            "Overall": 0.5,
            "Overall, n": 2,
        },
        {
            "Checklist": "In-store visit",
            "Section": "Offer",
            "Item id": "three_yes",
            "Standard": "+3 yes before the offer",
            "S1": 1.0,
            "S1, n": 3,
            "S2": 0.0,
            "S2, n": 1,
            "Overall": 0.75,
            "Overall, n": 4,
        },
    ]
    shares = [sheet[f"{c}{r}"] for c in "EGI" for r in (2, 3)]
    assert all(c.number_format == PERCENT_FORMAT for c in shares if c.value is not None)
    assert sheet["F2"].number_format == "General"
    assert sheet["D3"].data_type == "s" and sheet["D3"].quotePrefix
    ranges = {str(entry.sqref): entry.rules for entry in sheet.conditional_formatting}
    assert list(ranges) == ["E2:E3 G2:G3 I2:I3"]  # the shares, not their counts
    (rule,) = ranges["E2:E3 G2:G3 I2:I3"]
    assert rule.type == "colorScale"
    assert [value.val for value in rule.colorScale.cfvo] == [0, 0.5, 1]


def test_employees_show_scores_weakest_standards_and_the_weekly_trend(book: Any) -> None:
    rows = [values(row) for row in records(book["Employees"])]
    assert rows[0] == {
        "Employee code": "E1",
        "Employee": "Ann Lee",
        "Store code": "S1",
        "On staff": "Yes",
        "Visits": 2,
        "Average score %": 0.9,
        # Shares rounded as the percent cells show them (62.5, not 62), each with its n.
        "Weakest standards": "Smiles — 40.0 % (2 of 5); @SUM(A1) — 62.5 % (5 of 8)",
        **dict(zip(TREND_LABELS, [None] * 6 + [0.8, 0.9], strict=True)),
    }
    assert rows[2]["Employee"] == "Борис"
    assert [rows[2][label] for label in TREND_LABELS] == [0.6] * 8
    assert rows[1]["Employee"] == "-1"
    assert rows[1]["On staff"] == "No"  # no longer on the staff list
    assert rows[1]["Weakest standards"] is None
    row = records(book["Employees"])[0]
    assert row["Average score %"].number_format == PERCENT_FORMAT
    assert row[TREND_LABELS[-1]].number_format == PERCENT_FORMAT


def test_unmatched_employees_are_listed_below_for_the_manager_to_match(book: Any) -> None:
    sheet = book["Employees"]
    title = "Employees not in the staff list: match each visit to an employee"
    title_row = next(
        row for row in range(1, sheet.max_row + 1) if sheet.cell(row, 1).value == title
    )
    assert title_row == 6  # three employees, an empty row, the block title
    rows = [values(row) for row in records(sheet, title_row + 1)]
    assert rows == [
        {
            "Visit id": 103,
            "Description of the employee": "#N/A tall, glasses",
            "Store code": "S2",
            "Date and time": datetime(2026, 11, 20, 14, 5),
        },
        {
            "Visit id": 104,
            "Description of the employee": "=1+1 red scarf",
            "Store code": "S1",
            "Date and time": datetime(2026, 11, 21, 9, 15),
        },
    ]
    assert sheet.auto_filter.ref == "A1:O4"  # the filter covers the employees only


def test_visits_have_real_datetimes_answers_as_numbers_and_comments(
    book: Any, calamine: dict[str, list[list[Any]]]
) -> None:
    rows = records(book["Visits"])
    first = values(rows[0])
    assert first == {
        "Visit id": 101,
        "Date and time": datetime(2026, 11, 17, 10, 30),
        "Store code": "S1",
        "Employee code": "E1",
        "Evaluator": "E-07",
        "Checklist": "In-store visit",
        "Score %": 0.8,
        "Passed": "Yes",
        "Critical failed": "No",
        "Greeted within 30 s": "Yes",
        "Seconds to greeting": 25,
        "What the employee said": HYPERLINK,
        "Comments": "remark: +7 999 123\nsecond line",
        "Photos": 2,
        "Recordings": 1,
        "Integrity flags": None,
        "Managers": "seen by 1 of 2",
    }
    assert rows[0]["Date and time"].is_date
    assert rows[0]["Date and time"].number_format == "yyyy-mm-dd hh:mm"
    assert rows[0]["Score %"].number_format == PERCENT_FORMAT
    assert rows[0]["Seconds to greeting"].data_type == "n"
    second = values(rows[1])
    assert second["Date and time"] == datetime(2026, 11, 18, 18, 45, 30)
    assert (second["Passed"], second["Critical failed"]) == ("No", "Yes")
    assert values(rows[2])["Greeted within 30 s"] == "N/A"
    assert calamine["Visits"][1][:3] == [101, datetime(2026, 11, 17, 10, 30), "S1"]
    assert calamine["Visits"][1][10] == 25


def test_hr_workbook_has_no_evaluator_column(tmp_path: Path) -> None:
    path = build(make_report(scope=Scope(ScopeKind.HR)), tmp_path)
    sheet = openpyxl.load_workbook(path)["Visits"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [h for h in VISITS_HEADERS if h != "Evaluator"]
    everything = " ".join(str(c.value) for row in sheet.iter_rows() for c in row)
    assert "E-07" not in everything and "E-08" not in everything
    assert "all employees (HR)" in openpyxl.load_workbook(path)["Summary"]["A1"].value


def test_a_manager_workbook_names_its_stores_in_the_title(tmp_path: Path) -> None:
    path = build(make_report("ru", Scope.parse("store:S2,S1")), tmp_path)
    title = openpyxl.load_workbook(path)["Сводка"]["A1"].value
    assert title == (
        "Неделя 2026-W47, 16–22 ноября 2026 · магазины S1, S2 · сформировано 2026-11-23 09:00"
    )


# --- Text typed by people --------------------------------------------------------------------


def test_typed_text_that_looks_like_a_formula_stays_a_literal_string(
    workbook_path: Path, book: Any, calamine: dict[str, list[list[Any]]]
) -> None:
    summary = book["Summary"]
    assert summary["B5"].value == HYPERLINK
    assert summary["B5"].data_type == "s" and summary["B5"].quotePrefix
    assert calamine["Summary"][4][1] == HYPERLINK
    # The store's name heads its trend column: a header is quoted too.
    assert summary["D31"].value == HYPERLINK and summary["D31"].quotePrefix
    visits = calamine["Visits"]
    assert visits[1][11] == HYPERLINK
    assert visits[2][12] == "#N/A"
    assert visits[3][12] == "@SUM(A1)"
    assert book["Visits"]["M3"].data_type == "s" and book["Visits"]["M3"].quotePrefix
    assert calamine["Employees"][2][1] == "-1"
    for name, xml in sheet_xml(workbook_path).items():
        assert "<f>" not in xml and "<f " not in xml, name
        assert 't="e"' not in xml, name
        assert "<t>'" not in xml, name  # no literal apostrophe prepended


def test_only_text_that_looks_like_a_formula_is_quoted(book: Any) -> None:
    # Cells share registered styles: quoting one must not quote its neighbours.
    quoted = [
        (sheet.title, cell.coordinate, cell.value)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.quotePrefix
    ]
    assert quoted
    looks_like_formula = [
        q for q in quoted if q[2].startswith(FORMULA_STARTS) or q[2].strip().upper() in ERROR_CODES
    ]
    assert quoted == looks_like_formula


@pytest.mark.parametrize("text", [*INJECTIONS, "Greets = smiles"])
def test_each_dangerous_string_is_written_as_quoted_text_and_no_other(
    text: str, tmp_path: Path
) -> None:
    report = make_report()
    visit = replace(report.visits[0], comments=text)
    path = build(replace(report, visits=[visit]), tmp_path)
    cell = openpyxl.load_workbook(path)["Visits"]["M2"]
    dangerous = text != "Greets = smiles"
    assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", dangerous)
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Visits").to_python()
    assert sheet[1][12] == text


def test_control_characters_are_stripped_and_the_file_still_opens(
    book: Any, calamine: dict[str, list[list[Any]]]
) -> None:
    assert book["Employees"]["B2"].value == "Ann Lee"
    assert book["Summary"]["B6"].value == "Второй магазин"
    assert book["Visits"]["M4"].value == "@SUM(A1)"
    assert calamine["Employees"][1][1] == "Ann Lee"
    assert clean_text("a\x00b\x08c\x0bd\x0ce\x0ef\x1fg\tx\ny") == "abcdefg\tx\ny"
    assert clean_text("line\r\nnext\rlast") == "line\nnext\nlast"
    assert clean_text("lone \ud800 surrogate \uffff") == "lone  surrogate "


def test_over_long_text_is_cut_with_a_visible_marker(
    book: Any, calamine: dict[str, list[list[Any]]]
) -> None:
    remark = book["Visits"]["L3"].value
    assert len(remark) == MAX_CELL_TEXT
    assert remark.endswith("… [cut]")
    assert remark.startswith(LONG_REMARK[:1000])
    assert calamine["Visits"][2][11] == remark


def test_the_cut_counts_utf16_units_as_excel_does() -> None:
    emoji = "😀" * 20_000  # 40,000 UTF-16 units
    cut = clean_text(emoji, "[cut]")
    assert len(cut.encode("utf-16-le")) // 2 <= MAX_CELL_TEXT
    assert cut.endswith("[cut]") and set(cut[:-5]) == {"😀"}
    assert clean_text("x" * MAX_CELL_TEXT) == "x" * MAX_CELL_TEXT


def test_the_cut_marker_is_in_the_report_language(tmp_path: Path) -> None:
    path = build(make_report("ru"), tmp_path)
    assert openpyxl.load_workbook(path)["Визиты"]["L3"].value.endswith("… [обрезано]")


# --- Edges and catalogues --------------------------------------------------------------------


def test_an_empty_week_still_makes_a_valid_workbook(tmp_path: Path) -> None:
    report = replace(
        make_report(),
        stores=[],
        standards=[],
        employees=[],
        unmatched=[],
        item_columns=[],
        visits=[],
        trend=[],
    )
    path = build(report, tmp_path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "Summary", "Standards", "Employees", "Visits", "Actions", "Coaching"
    ]  # fmt: skip
    assert book["Summary"].auto_filter.ref == "A4:I4"
    assert book["Visits"].freeze_panes == "E2"
    assert not any(name.startswith("xl/charts/") for name in zipfile.ZipFile(path).namelist())
    # Every sheet says the week is empty, rather than leave the reader to wonder.
    note = "No visits were counted this week."
    assert book["Summary"]["A2"].value == note
    for name in ("Standards", "Employees", "Visits", "Actions", "Coaching"):
        assert book[name]["A2"].value == note, name
    assert CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Visits").to_python()[0][0] == (
        "Visit id"
    )


@pytest.mark.parametrize(
    ("week", "en", "ru"),
    [
        (Week(2026, 47), "16–22 Nov 2026", "16–22 ноября 2026"),
        (Week(2026, 44), "26 Oct – 1 Nov 2026", "26 октября – 1 ноября 2026"),
        (Week(2026, 53), "28 Dec 2026 – 3 Jan 2027", "28 декабря 2026 – 3 января 2027"),
    ],
)
def test_the_week_is_shown_as_its_days(week: Week, en: str, ru: str) -> None:
    assert week_period(week, Translator("en", "reports")) == en
    assert week_period(week, Translator("ru", "reports")) == ru


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_report_catalogues_have_the_same_keys_and_placeholders() -> None:
    ru, en = catalogue("ru", "reports"), catalogue("en", "reports")
    assert ru.keys() == en.keys()
    for key in ru:
        assert _placeholders(ru[key]) == _placeholders(en[key]), key


def test_every_report_key_the_workbook_asks_for_exists() -> None:
    source = (Path(__file__).resolve().parent.parent / "exports" / "workbook.py").read_text()
    keys = set(re.findall(r'\bt\(\s*"([a-z_]+\.[a-z_.]+)"', source))
    assert len(keys) > 30
    assert keys - catalogue("en", "reports").keys() == set()
    assert {f"month.{n:02d}" for n in range(1, 13)} <= catalogue("ru", "reports").keys()


def test_corrective_actions_show_status_owner_dates_and_what_was_done(tmp_path: Path) -> None:
    report = replace(
        make_report(),
        actions=[
            ActionRow(
                "S1",
                101,
                "Smiled",
                "=training on Friday",
                date(2026, 11, 27),
                "Irina Petrova",
                "closed",
                date(2026, 11, 18),
                3,
                date(2026, 11, 21),
                "Talked it over with the team",
                closed_by="Irina Petrova",
            ),
            ActionRow(
                "S2",
                103,
                "Greeting",
                "",
                date(2026, 11, 20),
                "store managers",
                "overdue",
                date(2026, 11, 13),
                9,
            ),
        ],
    )
    sheet = openpyxl.load_workbook(build(report, tmp_path))["Actions"]
    assert [c.value for c in sheet[1]] == [
        "Store code",
        "Visit id",
        "Standard",
        "Status",
        "Owner",
        "Opened",
        "Due",
        "Days open",
        "Closed",
        "Closed by",
        "What was done",
        "Verified",
        "Promised",
    ]
    assert [c.value for c in sheet[2]] == [
        "S1",
        101,
        "Smiled",
        "closed",
        "Irina Petrova",
        datetime(2026, 11, 18),
        datetime(2026, 11, 27),
        3,
        datetime(2026, 11, 21),
        "Irina Petrova",
        "Talked it over with the team",
        None,
        "=training on Friday",
    ]
    assert sheet["M2"].data_type == "s" and sheet["G2"].number_format == "yyyy-mm-dd"
    assert [c.value for c in sheet[3]][3:5] == ["overdue", "store managers"]
    assert sheet.freeze_panes == "D2" and sheet.auto_filter.ref == "A1:M3"


# --- Totals, the network, coaching ------------------------------------------------------------


def manager_report() -> Report:
    """A manager of S1 and S2: their total, and the network beside it, anonymous."""
    report = make_report(scope=Scope.parse("store:S1,S2"))
    return replace(
        report,
        total=StoreRow("", "", 3, 0.873, 2 / 3, 1, 33.3, -0.05, 0.8),
        network=StoreRow("", "", 40, 0.79, 0.55, 4, 12.0, 0.013, 0.8),
        network_stores=20,
        trend=[replace(point, network=0.75) for point in report.trend],
    )


def test_a_managers_summary_shows_their_total_and_the_network_below_the_filter(
    tmp_path: Path,
) -> None:
    sheet = openpyxl.load_workbook(build(manager_report(), tmp_path))["Summary"]
    assert sheet.auto_filter.ref == "A4:I6"  # the two stores only: sorting keeps totals below
    total, network = (
        [cell.value for cell in row] for row in sheet.iter_rows(min_row=7, max_row=8, max_col=9)
    )
    assert total == ["Total", "stores S1, S2", 3, 0.873, pytest.approx(2 / 3), 1, 33.3,
                     pytest.approx(-5.0), 0.8]  # fmt: skip
    assert network == ["Network", "all 20 stores, anonymous", 40, 0.79, 0.55, 4, 12.0,
                       pytest.approx(1.3), 0.8]  # fmt: skip
    assert sheet["A7"].font.bold and sheet["D8"].font.bold
    # The trend shows the manager's stores as "Your stores" and the network's line.
    header = [cell.value for cell in sheet[33]][:4]  # two rows lower: the totals
    assert header == ["Week", "Your stores", "Network", "Pass mark %"]
    assert [sheet.cell(row, 3).value for row in range(34, 42)] == [0.75] * 8


def test_scores_below_the_pass_mark_drops_and_critical_failures_are_marked_red(
    tmp_path: Path,
) -> None:
    sheet = openpyxl.load_workbook(build(manager_report(), tmp_path))["Summary"]
    rules = {str(entry.sqref): entry.rules for entry in sheet.conditional_formatting}
    assert set(rules) == {"D5:D8", "F5:F8", "H5:H8"}  # the stores and both totals
    (below,) = rules["D5:D8"]
    assert below.formula == ["AND(ISNUMBER($D5),ISNUMBER($I5),$D5<$I5)"]
    (critical,) = rules["F5:F8"]
    assert (critical.operator, critical.formula) == ("greaterThan", ["0"])
    (drop,) = rules["H5:H8"]
    assert drop.formula == ["AND(ISNUMBER($H5),$H5<0)"]


def test_an_admins_summary_has_a_total_and_no_network_row(tmp_path: Path) -> None:
    report = replace(make_report(), total=StoreRow("", "", 3, 0.873, 2 / 3, 1, 33.3, None, 0.8))
    sheet = openpyxl.load_workbook(build(report, tmp_path))["Summary"]
    assert [sheet.cell(7, column).value for column in (1, 2, 3)] == ["Total", "all stores", 3]
    assert sheet["A8"].value is None


def test_coaching_lists_what_to_talk_about_with_each_employee(tmp_path: Path) -> None:
    rows = [
        CoachingRow("E1", "Ann\x07 Lee", "S1", datetime(2026, 11, 17, 10, 30), 101,
                    "In-store visit", "Smiles", "not met", "No", "=looked away"),
        CoachingRow("E1", "Ann\x07 Lee", "S1", datetime(2026, 11, 17, 10, 30), 101,
                    "In-store visit", "Approached within 30 s", "partly met", "45 s", ""),
    ]  # fmt: skip
    path = build(replace(make_report("en"), coaching=rows), tmp_path)
    sheet = openpyxl.load_workbook(path)["Coaching"]
    assert [values(row) for row in records(sheet)] == [
        {
            "Employee code": "E1",
            "Employee": "Ann Lee",
            "Store code": "S1",
            "Date and time": datetime(2026, 11, 17, 10, 30),
            "Visit id": 101,
            "Checklist": "In-store visit",
            "Standard": "Smiles",
            "Result": "not met",
            "Answer": "No",
            "Comments": "=looked away",
        },
        {
            "Employee code": "E1",
            "Employee": "Ann Lee",
            "Store code": "S1",
            "Date and time": datetime(2026, 11, 17, 10, 30),
            "Visit id": 101,
            "Checklist": "In-store visit",
            "Standard": "Approached within 30 s",
            "Result": "partly met",
            "Answer": "45 s",
            "Comments": None,
        },
    ]
    assert sheet["J2"].quotePrefix and sheet["D2"].number_format == "yyyy-mm-dd hh:mm"
    russian = openpyxl.load_workbook(build(replace(make_report("ru"), coaching=rows), tmp_path))
    assert [c.value for c in russian["Коучинг"][1]][6:9] == ["Стандарт", "Результат", "Ответ"]


def test_an_empty_week_keeps_its_earlier_actions_and_says_it_is_empty_below_them(
    tmp_path: Path,
) -> None:
    action = ActionRow("S1", 90, "Greeting", "", date(2026, 11, 13), "store managers",
                       "overdue", date(2026, 11, 6), 17)  # fmt: skip
    empty = replace(make_report(), stores=[], visits=[], employees=[], standards=[],
                    unmatched=[], item_columns=[], trend=[], actions=[action])  # fmt: skip
    sheet = openpyxl.load_workbook(build(empty, tmp_path))["Actions"]
    assert [sheet.cell(2, column).value for column in (1, 2, 4)] == ["S1", 90, "overdue"]
    assert sheet["A4"].value == "No visits were counted this week."
