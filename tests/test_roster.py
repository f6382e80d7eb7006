"""Importing stores and staff from real .csv and .xlsx files into a migrated database."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from storage.db import Database
from storage.models import Employee, Store
from storage.roster import ImportReport, RosterError, import_staff, import_stores

STORE_HEADER = ["code", "name", "address", "latitude", "longitude", "timezone", "active"]
STAFF_HEADER = ["store_code", "code", "name", "position", "active"]


def write_csv(
    path: Path, rows: Sequence[Sequence[Any]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> Path:
    with path.open("w", encoding=encoding, newline="") as file:
        csv.writer(file, delimiter=delimiter).writerows(rows)
    return path


def write_xlsx(path: Path, rows: Sequence[Sequence[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    workbook.create_sheet("Notes").append(["this sheet is not read"])
    workbook.save(path)
    return path


def stores_in(database: Database) -> dict[str, tuple[Any, ...]]:
    with database.read() as session:
        return {
            s.code: (s.name, s.address, s.latitude, s.longitude, s.timezone, s.active)
            for s in session.scalars(select(Store))
        }


def staff_in(database: Database) -> dict[str, tuple[str, str, str, bool]]:
    with database.read() as session:
        return {
            e.code: (e.store.code, e.name, e.position, e.active)
            for e in session.scalars(select(Employee))
        }


def load_stores(database: Database, path: Path, **options: Any) -> ImportReport:
    with database.write() as session:
        return import_stores(session, path, **options)


def load_staff(database: Database, path: Path, **options: Any) -> ImportReport:
    with database.write() as session:
        return import_staff(session, path, **options)


def problems_of(load: Any, database: Database, path: Path, **options: Any) -> list[str]:
    with pytest.raises(RosterError) as caught:
        load(database, path, **options)
    return caught.value.problems


@pytest.fixture
def two_stores(database: Database, tmp_path: Path) -> Database:
    load_stores(
        database,
        write_csv(
            tmp_path / "stores.csv",
            [["code", "name"], ["S1", "Tverskaya"], ["S2", "Arbat"]],
        ),
    )
    return database


# Stores


def test_stores_load_from_a_csv_with_english_headers(database: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "stores.csv",
        [
            STORE_HEADER,
            ["S1", "Tverskaya", "Tverskaya 1", "55.7575", "37.6136", "Europe/Moscow", "yes"],
            ["S2", " Arbat ", "", "", "", "", "0"],
        ],
    )

    report = load_stores(database, path)

    assert report == ImportReport(added=["S1", "S2"], updated=[], unchanged=0, deactivated=[])
    assert stores_in(database) == {
        "S1": ("Tverskaya", "Tverskaya 1", 55.7575, 37.6136, "Europe/Moscow", True),
        "S2": ("Arbat", "", None, None, None, False),
    }


def test_stores_load_from_an_xlsx_with_russian_headers_below_blank_rows(
    database: Database, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "магазины.xlsx",
        [
            [],
            [None, None],
            ["Код", "Наименование", "Адрес", "Широта", "Долгота", "Часовой пояс", "Активен"],
            ["M1", "Невский", "Невский пр., 28", 59.9357, 30.3259, "Europe/Moscow", "да"],
            [None, None, None],
            ["M2", "Казань", "Баумана, 1", "55,7887", "49,1221", None, "нет"],
        ],
    )

    report = load_stores(database, path)

    assert report.added == ["M1", "M2"]
    assert stores_in(database) == {
        "M1": ("Невский", "Невский пр., 28", 59.9357, 30.3259, "Europe/Moscow", True),
        "M2": ("Казань", "Баумана, 1", 55.7887, 49.1221, None, False),
    }


def test_a_semicolon_delimited_csv_with_a_bom_and_decimal_commas_is_read(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "stores.csv",
        [
            ["Код", "Название", "Адрес", "Широта", "Долгота"],
            ["S1", "Тверская", "Москва, Тверская 1", "55,7575", "37,6136"],
        ],
        delimiter=";",
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    load_stores(database, path)

    assert stores_in(database) == {
        "S1": ("Тверская", "Москва, Тверская 1", 55.7575, 37.6136, None, True)
    }


def test_a_windows_1251_csv_from_russian_excel_is_read(database: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "stores.csv",
        [["Код", "Название"], ["S1", "Магазин на Тверской"]],
        delimiter=";",
        encoding="cp1251",
    )

    load_stores(database, path)

    assert stores_in(database)["S1"][0] == "Магазин на Тверской"


def test_headers_match_whatever_their_case_spaces_and_underscores(
    two_stores: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "staff.csv",
        [["  Store_Code ", "ТАБЕЛЬНЫЙ  НОМЕР", "ФИО", "Должность"], ["S1", "E1", "Анна", "Кассир"]],
    )

    load_staff(two_stores, path)

    assert staff_in(two_stores) == {"E1": ("S1", "Анна", "Кассир", True)}


def test_columns_the_import_does_not_know_are_ignored(database: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "stores.csv", [["region", "code", "name", "notes"], ["North", "S1", "A", "x"]]
    )

    load_stores(database, path)

    assert list(stores_in(database)) == ["S1"]


def test_bad_rows_are_all_reported_by_row_number_and_nothing_is_written(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "stores.csv",
        [
            STORE_HEADER,
            ["S1", "Fine", "", "55.1", "37.2", "", ""],
            [],
            ["S2", "", "", "", "", "", ""],
            ["", "No code", "", "", "", "", ""],
            ["S3", "North pole plus", "", "95", "37", "", ""],
            ["S4", "Bad longitude", "", "55", "east", "", ""],
            ["S5", "Half", "", "55", "", "", ""],
            ["S6", "Zone", "", "", "", "Moscow", "maybe"],
            ["S7", "Zone case", "", "", "", "europe/moscow", ""],
            ["S1", "Again", "", "", "", "", ""],
        ],
    )

    problems = problems_of(load_stores, database, path)

    assert problems == [
        "row 4: name is empty",
        "row 5: code is empty",
        "row 6: latitude '95' is not between -90 and 90",
        "row 7: longitude 'east' is not a number",
        "row 8: latitude is given but longitude is empty; give both or neither",
        "row 9: timezone 'Moscow' is not an IANA time zone like 'Europe/Moscow'",
        "row 9: active 'maybe' is not one of yes/no/1/0/да/нет",
        "row 10: timezone 'europe/moscow' is not an IANA time zone; did you mean 'Europe/Moscow'?",
        "row 11: code 'S1' is already used in row 2",
    ]
    assert stores_in(database) == {}


def test_a_bad_row_after_good_updates_leaves_the_stored_stores_as_they_were(
    two_stores: Database, tmp_path: Path
) -> None:
    before = stores_in(two_stores)
    path = write_csv(
        tmp_path / "stores.csv",
        [
            ["code", "name", "latitude", "longitude"],
            ["S1", "Renamed", "1", "2"],
            ["S3", "X", "1", ""],
        ],
    )

    problems = problems_of(load_stores, two_stores, path)

    assert problems == ["row 3: latitude is given but longitude is empty; give both or neither"]
    assert stores_in(two_stores) == before


def test_a_missing_required_header_is_named_with_the_headers_found(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "stores.csv", [[], ["Код", "Адрес"], ["S1", "Somewhere"]])

    problems = problems_of(load_stores, database, path)

    assert problems == [
        "row 2: the header has no 'name' column (write one of: name, название, наименование); "
        "headers found: Код, Адрес"
    ]


def test_a_header_with_latitude_but_no_longitude_is_refused(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "stores.csv", [["code", "name", "latitude"], ["S1", "A", "55"]])

    problems = problems_of(load_stores, database, path)

    assert problems == [
        "row 1: the header has a 'latitude' column but no 'longitude' column; give both or neither"
    ]


def test_two_columns_meaning_the_same_field_are_refused(database: Database, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "stores.csv", [["code", "name", "Название"], ["S1", "A", "B"]])

    problems = problems_of(load_stores, database, path)

    assert problems == ["row 1: columns 'name' and 'Название' both mean name; keep one"]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("blank.csv", b"\r\n ; \r\n\r\n", "blank.csv: the file is empty"),
        (
            "header.csv",
            b"code,name\r\n,\r\n",
            "header.csv: there is a header in row 1 but no data rows",
        ),
        (
            "stores.txt",
            b"code,name\r\nS1,A\r\n",
            "stores.txt: unsupported file type '.txt'; use .xlsx or .csv",
        ),
        (
            "stores.xls",
            b"\xd0\xcf\x11\xe0",
            "stores.xls: old .xls workbooks cannot be read; save it as .xlsx",
        ),
        (
            "utf16.csv",
            "code,name\r\nS1,A\r\n".encode("utf-16"),
            "utf16.csv: looks like UTF-16 text; save it as CSV UTF-8",
        ),
    ],
)
def test_files_without_rows_or_of_an_unknown_kind_are_refused_with_a_sentence(
    database: Database, tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    assert problems_of(load_stores, database, path) == [problem]


def test_a_corrupt_or_missing_workbook_is_reported_as_unreadable(
    database: Database, tmp_path: Path
) -> None:
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(b"this is not a zip file")

    [problem] = problems_of(load_stores, database, corrupt)
    assert problem.startswith("corrupt.xlsx: cannot be read as an .xlsx workbook")
    [problem] = problems_of(load_stores, database, tmp_path / "missing.xlsx")
    assert problem.startswith("missing.xlsx: cannot be read as an .xlsx workbook")
    [problem] = problems_of(load_stores, database, tmp_path / "missing.csv")
    assert problem.startswith("missing.csv: cannot be read")


def test_an_empty_workbook_is_refused(database: Database, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", [])

    assert problems_of(load_stores, database, path) == ["empty.xlsx: the file is empty"]


def test_a_reimport_updates_stores_by_code(two_stores: Database, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "stores2.csv",
        [
            ["code", "name", "latitude", "longitude", "timezone", "active"],
            ["S1", "Tverskaya", "55.75", "37.61", "", ""],
            ["S2", "Arbat 2", "", "", "Europe/Samara", "no"],
            ["S3", "New", "", "", "", ""],
        ],
    )

    report = load_stores(two_stores, path)

    assert report == ImportReport(
        added=["S3"],
        updated=[
            "S1: latitude (none) → 55.75, longitude (none) → 37.61",
            "S2: name 'Arbat' → 'Arbat 2', timezone (none) → 'Europe/Samara', active yes → no",
        ],
        unchanged=0,
        deactivated=[],
    )
    assert stores_in(two_stores) == {
        "S1": ("Tverskaya", "", 55.75, 37.61, None, True),
        "S2": ("Arbat 2", "", None, None, "Europe/Samara", False),
        "S3": ("New", "", None, None, None, True),
    }


def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    database: Database, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "stores.xlsx",
        [STORE_HEADER, [101, "A", "Street 1", 55.123456789, 37.5, "Europe/Moscow", True]],
    )
    load_stores(database, path)

    report = load_stores(database, path)

    assert report == ImportReport(added=[], updated=[], unchanged=1, deactivated=[])


def test_a_column_left_out_of_the_file_keeps_the_stored_values(
    database: Database, tmp_path: Path
) -> None:
    load_stores(
        database,
        write_csv(
            tmp_path / "full.csv", [STORE_HEADER, ["S1", "A", "Street", "1", "2", "UTC", ""]]
        ),
    )

    report = load_stores(
        database, write_csv(tmp_path / "names.csv", [["code", "name"], ["S1", "B"]])
    )

    assert report.updated == ["S1: name 'A' → 'B'"]
    assert stores_in(database) == {"S1": ("B", "Street", 1.0, 2.0, "UTC", True)}


def test_a_dry_run_reports_the_same_changes_and_writes_nothing(
    two_stores: Database, tmp_path: Path
) -> None:
    before = stores_in(two_stores)
    path = write_csv(
        tmp_path / "stores.csv",
        [["code", "name"], ["S1", "Tverskaya"], ["S2", "Arbat 2"], ["S3", "New"]],
    )

    dry = load_stores(two_stores, path, dry_run=True)

    assert stores_in(two_stores) == before
    real = load_stores(two_stores, path)
    assert dry.dry_run and not real.dry_run
    assert (dry.added, dry.updated, dry.unchanged) == (real.added, real.updated, real.unchanged)
    assert (real.added, real.updated, real.unchanged) == (
        ["S3"],
        ["S2: name 'Arbat' → 'Arbat 2'"],
        1,
    )


def test_report_lines_say_would_in_a_dry_run_and_give_a_summary() -> None:
    report = ImportReport(
        added=["S3"], updated=["S2: name 'A' → 'B'"], unchanged=4, deactivated=["E9"], dry_run=True
    )

    assert report.lines() == [
        "would add S3",
        "would update S2: name 'A' → 'B'",
        "would deactivate E9",
        "Dry run, nothing was changed: would add 1, update 1, deactivate 1; 4 unchanged.",
    ]
    report.dry_run = False
    assert report.lines() == [
        "added S3",
        "updated S2: name 'A' → 'B'",
        "deactivated E9",
        "Added 1, updated 1, deactivated 1; 4 unchanged.",
    ]


# Staff


def test_staff_load_from_an_xlsx_with_russian_headers(two_stores: Database, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "сотрудники.xlsx",
        [
            ["Код магазина", "Табельный номер", "Сотрудник", "Должность", "Активен"],
            ["S1", "E1", "Иванова Анна", "Продавец-консультант", "да"],
            ["S2", "E2", "Петров Олег", None, "нет"],
        ],
    )

    report = load_staff(two_stores, path)

    assert report.added == ["E1", "E2"]
    assert staff_in(two_stores) == {
        "E1": ("S1", "Иванова Анна", "Продавец-консультант", True),
        "E2": ("S2", "Петров Олег", "", False),
    }


def test_staff_with_an_unknown_store_code_are_refused_naming_the_code(
    two_stores: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "staff.csv",
        [
            STAFF_HEADER,
            ["S1", "E1", "Anna", "", ""],
            ["S9", "E2", "Oleg", "", ""],
            ["", "E3", "Ira", "", ""],
        ],
    )

    problems = problems_of(load_staff, two_stores, path)

    assert problems == [
        "row 3: store code 'S9' is not in the database; import stores first",
        "row 4: store code is empty",
    ]
    assert staff_in(two_stores) == {}


def test_an_employee_moved_to_another_store_is_updated(
    two_stores: Database, tmp_path: Path
) -> None:
    load_staff(
        two_stores,
        write_csv(tmp_path / "staff1.csv", [STAFF_HEADER, ["S1", "E1", "Anna", "Cashier", ""]]),
    )

    report = load_staff(
        two_stores,
        write_csv(tmp_path / "staff2.csv", [STAFF_HEADER, ["S2", "E1", "Anna", "Manager", ""]]),
    )

    assert report.updated == ["E1: store 'S1' → 'S2', position 'Cashier' → 'Manager'"]
    assert staff_in(two_stores) == {"E1": ("S2", "Anna", "Manager", True)}


def test_deactivate_missing_deactivates_only_active_employees_left_out_of_the_file(
    two_stores: Database, tmp_path: Path
) -> None:
    load_staff(
        two_stores,
        write_csv(
            tmp_path / "staff1.csv",
            [
                STAFF_HEADER,
                ["S1", "E1", "Anna", "", ""],
                ["S1", "E2", "Oleg", "", ""],
                ["S2", "E3", "Ira", "", ""],
                ["S2", "E4", "Gone", "", "no"],
            ],
        ),
    )
    path = write_csv(tmp_path / "staff2.csv", [STAFF_HEADER, ["S1", "E1", "Anna", "", ""]])

    dry = load_staff(two_stores, path, deactivate_missing=True, dry_run=True)
    assert {code: e[3] for code, e in staff_in(two_stores).items()} == {
        "E1": True,
        "E2": True,
        "E3": True,
        "E4": False,
    }
    report = load_staff(two_stores, path, deactivate_missing=True)

    assert dry.deactivated == report.deactivated == ["E2", "E3"]
    assert report.unchanged == 1
    assert {code: e[3] for code, e in staff_in(two_stores).items()} == {
        "E1": True,
        "E2": False,
        "E3": False,
        "E4": False,
    }


def test_without_deactivate_missing_employees_left_out_stay_active(
    two_stores: Database, tmp_path: Path
) -> None:
    load_staff(
        two_stores,
        write_csv(
            tmp_path / "a.csv", [STAFF_HEADER, ["S1", "E1", "A", "", ""], ["S1", "E2", "B", "", ""]]
        ),
    )

    report = load_staff(
        two_stores, write_csv(tmp_path / "b.csv", [STAFF_HEADER, ["S1", "E1", "A", "", ""]])
    )

    assert report.deactivated == []
    assert staff_in(two_stores)["E2"][3] is True


def test_an_employee_listed_again_after_deactivation_is_reactivated(
    two_stores: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "staff.csv", [["store code", "code", "name"], ["S1", "E1", "Anna"]])
    load_staff(two_stores, path)
    load_staff(
        two_stores,
        write_csv(tmp_path / "other.csv", [["store code", "code", "name"], ["S1", "E2", "Oleg"]]),
        deactivate_missing=True,
    )

    report = load_staff(two_stores, path)

    assert report.updated == ["E1: active no → yes"]
    assert staff_in(two_stores)["E1"][3] is True


def test_numeric_codes_from_xlsx_become_plain_text(database: Database, tmp_path: Path) -> None:
    load_stores(
        database, write_xlsx(tmp_path / "stores.xlsx", [["code", "name"], [101, "A"], [102.0, "B"]])
    )
    path = write_xlsx(
        tmp_path / "staff.xlsx",
        [["store code", "code", "name"], [101, 5001, "Anna"], [102.0, 5002.0, "Oleg"]],
    )

    load_staff(database, path)

    assert sorted(stores_in(database)) == ["101", "102"]
    assert staff_in(database) == {
        "5001": ("101", "Anna", "", True),
        "5002": ("102", "Oleg", "", True),
    }


def test_an_xlsx_row_number_counts_every_row_above_it(database: Database, tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "stores.xlsx",
        [[], [None], ["code", "name", "latitude", "longitude"], ["S1", "A", 91, 0]],
    )

    assert problems_of(load_stores, database, path) == [
        "row 4: latitude '91' is not between -90 and 90"
    ]


def test_too_long_text_is_reported_before_the_database_refuses_it(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "stores.csv", [["code", "name"], ["S" * 65, "A"], ["S2", "n" * 201]]
    )

    assert problems_of(load_stores, database, path) == [
        "row 2: code is longer than 64 characters",
        "row 3: name is longer than 200 characters",
    ]


cell_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=30
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(cell_text, cell_text), min_size=1, max_size=5, unique_by=lambda r: r[0]
    ),
    delimiter=st.sampled_from([",", ";"]),
)
def test_any_csv_text_round_trips_and_a_second_import_is_unchanged(
    database: Database, tmp_path: Path, rows: list[tuple[str, str]], delimiter: str
) -> None:
    # Each example works in a session that is never committed, so examples do not meet.
    path = write_csv(tmp_path / "stores.csv", [["code", "name"], *rows], delimiter=delimiter)
    with database.read() as session:
        first = import_stores(session, path)
        second = import_stores(session, path)
        stored = {s.code: s.name for s in session.scalars(select(Store))}

    assert first.added == [code for code, _ in rows]
    assert second.unchanged == len(rows)
    assert stored == dict(rows)


def channels_in(database: Database) -> dict[str, str | None]:
    with database.read() as session:
        return {s.code: s.channels for s in session.scalars(select(Store))}


def test_a_stores_channels_are_read_in_russian_or_english_and_stored_in_one_order(
    database: Database, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path / "stores.xlsx",
        [
            ["Код", "Название", "Каналы"],
            ["S1", "Тверская", "телефон, магазин"],
            ["S2", "Онлайн-витрина", "online"],
            ["S3", "Every way", ""],
            ["S4", "Spaces and semicolons", "Phone;  Online  Store"],
        ],
    )

    load_stores(database, path)

    assert channels_in(database) == {
        "S1": "store,phone",
        "S2": "online",
        "S3": None,
        "S4": "store,phone,online",
    }


def test_an_unknown_channel_is_reported_by_row_and_nothing_is_written(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "stores.csv",
        [["code", "name", "channels"], ["S1", "Fine", "store"], ["S2", "Typo", "store, emial"]],
    )

    problems = problems_of(load_stores, database, path)

    assert problems == [
        "row 3: channels: 'emial' is not a channel; use store, phone or online "
        "(магазин, телефон, онлайн), separated by commas"
    ]
    assert channels_in(database) == {}


def test_a_file_without_a_channels_column_keeps_the_stored_channels(
    database: Database, tmp_path: Path
) -> None:
    load_stores(
        database,
        write_csv(tmp_path / "a.csv", [["code", "name", "channels"], ["S1", "A", "phone"]]),
    )

    report = load_stores(database, write_csv(tmp_path / "b.csv", [["code", "name"], ["S1", "B"]]))

    assert report.updated == ["S1: name 'A' → 'B'"]
    assert channels_in(database) == {"S1": "phone"}
