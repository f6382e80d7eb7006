"""Importing stores and staff from the spreadsheets operations teams already keep.

A file is ``.xlsx`` (first worksheet) or ``.csv`` (UTF-8, with or without BOM, or
Windows-1251; ``,`` ``;`` or tab); its header is the first non-empty row, in English or
Russian. Every row is checked before the session is touched: any problem raises
:class:`RosterError` listing all of them, so a file is applied whole or not at all. Rows match
the database by code, so re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from checklists.schema import Channel
from storage.models import Employee, Store

__all__ = ["ImportReport", "RosterError", "Row", "Table", "import_staff", "import_stores"]


class RosterError(Exception):
    """Every problem found in a roster file; nothing was written, so all can be fixed at once."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class ImportReport:
    """What an import changed (or, in a dry run, would change), for the operator to review."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    deactivated: list[str] = field(default_factory=list)
    dry_run: bool = False

    def lines(self) -> list[str]:
        """One line per change, then a summary, worded for a dry run or a real one."""
        if self.dry_run:
            add, update, deactivate = "would add", "would update", "would deactivate"
        else:
            add, update, deactivate = "added", "updated", "deactivated"
        out = [f"{add} {code}" for code in self.added]
        out += [f"{update} {change}" for change in self.updated]
        out += [f"{deactivate} {code}" for code in self.deactivated]
        counts = (len(self.added), len(self.updated), len(self.deactivated), self.unchanged)
        if self.dry_run:
            out.append(
                "Dry run, nothing was changed: would add {}, update {}, deactivate {}; "
                "{} unchanged.".format(*counts)
            )
        else:
            out.append("Added {}, updated {}, deactivated {}; {} unchanged.".format(*counts))
        return out


# Accepted headers per field, as shown to the operator; matching ignores case, spaces, "_",
# "-" and "." (so "Store code", "store_code" and "STORECODE" are one header).
_ACTIVE_HEADERS = ("active", "активен", "активна", "активный")
_STORE_HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("code", "код"),
    "name": ("name", "название", "наименование"),
    "address": ("address", "адрес"),
    "latitude": ("latitude", "широта"),
    "longitude": ("longitude", "долгота"),
    "timezone": ("timezone", "часовой пояс"),
    "channels": ("channels", "каналы"),
    "active": _ACTIVE_HEADERS,
}
_STAFF_HEADERS: dict[str, tuple[str, ...]] = {
    "store code": ("store code", "код магазина"),
    "code": ("code", "employee code", "код", "табельный номер", "таб. номер"),
    "name": ("name", "employee", "имя", "фио", "сотрудник"),
    "position": ("position", "должность"),
    "active": _ACTIVE_HEADERS,
}
_CHANNELS = {
    **{channel.value: channel for channel in Channel},
    "магазин": Channel.STORE,
    "телефон": Channel.PHONE,
    "онлайн": Channel.ONLINE,
    "чат": Channel.ONLINE,
}
"""Channel names an operator may type, in English or Russian, and the checklist channel each
one means."""
_TRUE = frozenset({"yes", "y", "true", "1", "да", "д", "истина"})
_FALSE = frozenset({"no", "n", "false", "0", "нет", "н", "ложь"})

# Column sizes in storage.models: PostgreSQL refuses longer text, so say so per row.
_MAX_CODE, _MAX_NAME, _MAX_ADDRESS, _MAX_POSITION = 64, 200, 500, 200


def import_stores(session: Session, path: Path, *, dry_run: bool = False) -> ImportReport:
    """Add or update stores by code from ``path``.

    ``code`` and ``name`` are required; ``address``, ``latitude``/``longitude`` (both or
    neither), ``timezone``, ``channels`` (which checklists apply: ``store, phone``; empty for
    all) and ``active`` are optional columns, and a field whose column is absent is left as
    it is. A listed store is active unless its ``active`` cell says no.
    """
    table = Table.read(path, _STORE_HEADERS, required=("code", "name"))
    problems: list[str] = []
    has_coordinates = table.has("latitude") and table.has("longitude")
    if table.has("latitude") != table.has("longitude"):
        given, other = (
            ("latitude", "longitude") if table.has("latitude") else ("longitude", "latitude")
        )
        problems.append(
            f"row {table.header_row}: the header has a '{given}' column but no '{other}' column; "
            "give both or neither"
        )
    zones = _known_zones() if table.has("timezone") else frozenset()
    records: list[tuple[str, dict[str, Any]]] = []
    for row in table.rows:
        code = row.code()
        values: dict[str, Any] = {"name": row.text("name", _MAX_NAME, required=True)}
        if table.has("address"):
            values["address"] = row.text("address", _MAX_ADDRESS)
        if has_coordinates:
            values["latitude"], values["longitude"] = row.coordinates()
        if table.has("timezone"):
            values["timezone"] = row.timezone(zones)
        if table.has("channels"):
            values["channels"] = row.channels()
        values["active"] = row.active()
        records.append((code, values))
        problems += row.problems
    if problems:
        raise RosterError(problems)

    report = ImportReport(dry_run=dry_run)
    existing = {store.code: store for store in session.scalars(select(Store))}
    for code, values in records:
        store = existing.get(code)
        if store is None:
            report.added.append(code)
            if not dry_run:
                session.add(Store(code=code, **values))
            continue
        changes = _changes(store, values)
        if not changes:
            report.unchanged += 1
            continue
        report.updated.append(f"{code}: {', '.join(changes)}")
        if not dry_run:
            for attribute, value in values.items():
                setattr(store, attribute, value)
    if not dry_run:
        session.flush()
    return report


def import_staff(
    session: Session, path: Path, *, dry_run: bool = False, deactivate_missing: bool = False
) -> ImportReport:
    """Add or update employees by code from ``path``; a changed store code moves the employee.

    ``store code``, ``code`` and ``name`` are required and the store must already be in the
    database (import stores first). A listed employee is active unless its ``active`` cell
    says no, so someone who comes back is reactivated. With ``deactivate_missing`` the file is
    the whole roster: every active employee whose code is not in it is deactivated (never
    deleted, so their past visits keep their name).
    """
    table = Table.read(path, _STAFF_HEADERS, required=("store code", "code", "name"))
    stores = {store.code: store for store in session.scalars(select(Store))}
    problems: list[str] = []
    records: list[tuple[str, Store, dict[str, Any]]] = []
    for row in table.rows:
        code = row.code()
        store_code = row.text("store code", _MAX_CODE, required=True)
        store = stores.get(store_code)
        if store_code and store is None:
            row.problem(f"store code '{store_code}' is not in the database; import stores first")
        values: dict[str, Any] = {"name": row.text("name", _MAX_NAME, required=True)}
        if table.has("position"):
            values["position"] = row.text("position", _MAX_POSITION)
        values["active"] = row.active()
        if store is not None:
            records.append((code, store, values))
        problems += row.problems
    if problems:
        raise RosterError(problems)

    report = ImportReport(dry_run=dry_run)
    store_codes = {store.id: code for code, store in stores.items()}
    existing = {employee.code: employee for employee in session.scalars(select(Employee))}
    for code, store, values in records:
        employee = existing.get(code)
        if employee is None:
            report.added.append(code)
            if not dry_run:
                session.add(Employee(code=code, store=store, **values))
            continue
        changes = _changes(employee, values)
        if employee.store_id != store.id:
            changes.insert(
                0, f"store {_show(store_codes[employee.store_id])} → {_show(store.code)}"
            )
        if not changes:
            report.unchanged += 1
            continue
        report.updated.append(f"{code}: {', '.join(changes)}")
        if not dry_run:
            employee.store = store
            for attribute, value in values.items():
                setattr(employee, attribute, value)
    if deactivate_missing:
        listed = {code for code, _, _ in records}
        for code in sorted(existing.keys() - listed):
            if existing[code].active:
                report.deactivated.append(code)
                if not dry_run:
                    existing[code].active = False
    if not dry_run:
        session.flush()
    return report


def _changes(obj: object, values: Mapping[str, Any]) -> list[str]:
    return [
        f"{attribute} {_show(old)} → {_show(new)}"
        for attribute, new in values.items()
        if (old := getattr(obj, attribute)) != new
    ]


def _show(value: object) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _known_zones() -> frozenset[str]:
    # "localtime" is the host's own zone file, not an IANA name.
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def _header_key(header: str) -> str:
    return re.sub(r"[\s_.\-]+", "", header.casefold()).replace("ё", "е")


class Row:
    """One data row: reads and checks cells, collecting problems under the row's number."""

    def __init__(self, number: int, cells: list[str], columns: Mapping[str, int]) -> None:
        self.number = number
        self.problems: list[str] = []
        self._cells = cells
        self._columns = columns

    def problem(self, message: str) -> None:
        self.problems.append(f"row {self.number}: {message}")

    def cell(self, name: str) -> str:
        index = self._columns.get(name)
        return self._cells[index] if index is not None and index < len(self._cells) else ""

    def text(self, name: str, max_length: int, *, required: bool = False) -> str:
        value = self.cell(name)
        if required and not value:
            self.problem(f"{name} is empty")
        elif len(value) > max_length:
            self.problem(f"{name} is longer than {max_length} characters")
        return value

    def code(self) -> str:
        return self.text("code", _MAX_CODE, required=True)

    def active(self) -> bool:
        value = self.cell("active")
        if not value or value.casefold() in _TRUE:
            return True
        if value.casefold() in _FALSE:
            return False
        self.problem(f"active '{value}' is not one of yes/no/1/0/да/нет")
        return True

    def coordinates(self) -> tuple[float | None, float | None]:
        latitude = self._number("latitude", 90)
        longitude = self._number("longitude", 180)
        if (self.cell("latitude") == "") != (self.cell("longitude") == ""):
            given, other = (
                ("latitude", "longitude") if self.cell("latitude") else ("longitude", "latitude")
            )
            self.problem(f"{given} is given but {other} is empty; give both or neither")
        return latitude, longitude

    def _number(self, name: str, limit: int) -> float | None:
        raw = self.cell(name)
        if not raw:
            return None
        try:
            value = float(raw.replace(",", ".") if "." not in raw else raw)
        except ValueError:
            self.problem(f"{name} '{raw}' is not a number")
            return None
        if not math.isfinite(value) or not -limit <= value <= limit:
            self.problem(f"{name} '{raw}' is not between -{limit} and {limit}")
            return None
        return value

    def channels(self) -> str | None:
        """``store,phone``: the channels named in the cell, in a fixed order; None when empty."""
        named = [part for part in re.split(r"[,;\s]+", self.cell("channels").casefold()) if part]
        unknown = [part for part in named if part not in _CHANNELS]
        if unknown:
            self.problem(
                f"channels: '{unknown[0]}' is not a channel; use store, phone or online "
                "(магазин, телефон, онлайн), separated by commas"
            )
            return None
        wanted = {_CHANNELS[part] for part in named}
        return ",".join(channel for channel in Channel if channel in wanted) or None

    def timezone(self, zones: frozenset[str]) -> str | None:
        value = self.cell("timezone")
        if not value or value in zones:
            return value or None
        hint = next((zone for zone in zones if zone.casefold() == value.casefold()), None)
        self.problem(
            f"timezone '{value}' is not an IANA time zone"
            + (f"; did you mean '{hint}'?" if hint else " like 'Europe/Moscow'")
        )
        return None


@dataclass
class Table:
    """A roster file's rows, with its columns located by header."""

    header_row: int
    columns: dict[str, int]
    rows: list[Row]

    def has(self, name: str) -> bool:
        return name in self.columns

    @classmethod
    def read(
        cls, path: Path, headers: Mapping[str, tuple[str, ...]], *, required: Sequence[str]
    ) -> Table:
        cells = _read_cells(path)
        header_index = next((i for i, row in enumerate(cells) if any(row)), None)
        if header_index is None:
            raise RosterError([f"{path.name}: the file is empty"])
        header_row = header_index + 1
        by_key = {
            _header_key(alias): name for name, aliases in headers.items() for alias in aliases
        }
        columns: dict[str, int] = {}
        found = [header for header in cells[header_index] if header]
        problems: list[str] = []
        for index, header in enumerate(cells[header_index]):
            name = by_key.get(_header_key(header)) if header else None
            if name is None:
                continue  # other columns the team keeps are fine
            if name in columns:
                first = cells[header_index][columns[name]]
                problems.append(
                    f"row {header_row}: columns '{first}' and '{header}' both mean {name}; keep one"
                )
            else:
                columns[name] = index
        for name in required:
            if name not in columns:
                problems.append(
                    f"row {header_row}: the header has no '{name}' column (write one of: "
                    f"{', '.join(headers[name])}); headers found: "
                    f"{', '.join(found) or '(none)'}"
                )
        if problems:
            raise RosterError(problems)
        rows = [
            Row(number, row, columns)
            for number, row in enumerate(cells[header_index + 1 :], start=header_row + 1)
            if any(row)
        ]
        if not rows:
            raise RosterError(
                [f"{path.name}: there is a header in row {header_row} but no data rows"]
            )
        seen: dict[str, int] = {}
        for row in rows:
            code = row.cell("code")
            if code in seen:
                row.problem(f"code '{code}' is already used in row {seen[code]}")
            elif code:
                seen[code] = row.number
        return cls(header_row, columns, rows)


def _read_cells(path: Path) -> list[list[str]]:
    """Every row of the file as trimmed text; list index + 1 is the spreadsheet's row number."""
    suffix = path.suffix.casefold()
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xls":
        raise RosterError([f"{path.name}: old .xls workbooks cannot be read; save it as .xlsx"])
    raise RosterError([f"{path.name}: unsupported file type '{path.suffix}'; use .xlsx or .csv"])


def _read_xlsx(path: Path) -> list[list[str]]:
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a missing or corrupt file
        raise RosterError(
            [f"{path.name}: cannot be read as an .xlsx workbook ({error})"]
        ) from error
    try:
        if not workbook.worksheets:
            raise RosterError([f"{path.name}: the workbook has no worksheet"])
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong size; read every cell there is
        return [[_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code typed as 101 is stored as 101.0
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip()


def _read_csv(path: Path) -> list[list[str]]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RosterError([f"{path.name}: cannot be read ({error.strerror or error})"]) from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")  # what Excel in a Russian locale saves as "CSV"
        except UnicodeDecodeError as error:
            raise RosterError(
                [f"{path.name}: is neither UTF-8 nor Windows-1251 text; save it as CSV UTF-8"]
            ) from error
    if "\x00" in text:
        raise RosterError([f"{path.name}: looks like UTF-16 text; save it as CSV UTF-8"])
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=header.count)
    try:
        return [
            [cell.strip() for cell in row]
            for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as error:
        raise RosterError([f"{path.name}: is not valid CSV ({error})"]) from error
