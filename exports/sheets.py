"""Tables streamed into an XlsxWriter worksheet: typed cells, safe text, widths and heights.

The workbook is written in XlsxWriter's ``constant_memory`` mode: each row goes to disk as
soon as the next one starts, so memory stays flat however many visits a week holds, but rows
must be written top to bottom. A sheet is therefore laid out first (titles and tables at known
rows) and written in one pass by ``finish``; column widths, frozen panes, the filter and
print setup are set at the end (XlsxWriter writes them when the file is closed).

Text typed by people (names, prompts, comments, answers) is always written with
``write_string``: never a formula, an error value or a link. Text a spreadsheet program would
turn into a formula when the cell is edited gets the quote prefix; characters an .xlsx cannot
hold are dropped; over-long text is cut with a visible marker.

Rows with wrapped text get a height from their line count: LibreOffice does not grow a row
to fit wrapped text, and without a height the text prints over the rows below.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum, auto
from typing import Any, Generic, Protocol, TypeVar

from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

PERCENT_FORMAT = "0.0%"
CHANGE_FORMAT = "+0.0;-0.0;0.0"
"""Percentage points, the unit in the column's header."""
NPS_FORMAT = "0"
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

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""Control characters XML 1.0 forbids, lone surrogates (not UTF-8 encodable) and the two
non-characters."""

MIN_WIDTH, MAX_WIDTH, HEADER_WIDTH = 6, 50, 16
WRAP_AT = MAX_WIDTH - 4
"""Characters a line of wrapped text holds in a column of the widest width."""
LINE_HEIGHT = 15.0
"""Points per line of Calibri 11, Excel's and LibreOffice's default row height."""
MAX_HEIGHT = 409.0
"""Excel's tallest row."""
HEADER_COLOUR = "#DDEBF7"
T = TypeVar("T")


def clean_text(value: str, cut_marker: str = CUT_MARKER) -> str:
    """The text without characters an .xlsx cannot hold, cut to Excel's cell limit with a
    visible marker."""
    if value.isprintable() and len(value) <= MAX_CELL_TEXT // 2:
        # The common case, checked in C: no control, separator or unassigned character, and
        # too short to reach the limit even in UTF-16 surrogate pairs.
        return value
    text = _ILLEGAL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    if _units(text) <= MAX_CELL_TEXT:
        return text
    budget = MAX_CELL_TEXT - _units(cut_marker)
    cut = text[:budget]
    while (excess := _units(cut) - budget) > 0:
        cut = cut[: len(cut) - excess]
    return cut + cut_marker


def _units(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def needs_quote(value: str) -> bool:
    """Text a spreadsheet would read as a formula or an error value if it were typed."""
    return value.startswith(FORMULA_STARTS) or value.strip().upper() in ERROR_CODES


def wrapped_lines(text: str, width: int) -> int:
    """Lines ``text`` takes wrapped at ``width`` characters, as a spreadsheet wraps it at
    spaces (a word longer than the line is broken)."""
    lines = 0
    for line in text.split("\n"):
        if len(line) <= width:
            lines += 1
        elif len(line) > width * 40:
            return 10**6  # taller than any row can be
        else:
            lines += len(textwrap.wrap(line, width)) or 1
    return lines


class Kind(Enum):
    TEXT = auto()
    NUMBER = auto()
    PERCENT = auto()
    POINTS = auto()
    """A difference of two fractions, shown in percentage points."""
    NPS = auto()
    DATETIME = auto()
    DATE = auto()
    ANSWER = auto()
    """Text as text, numbers as numbers."""


_NUMBER_FORMATS = {
    Kind.PERCENT: PERCENT_FORMAT,
    Kind.POINTS: CHANGE_FORMAT,
    Kind.NPS: NPS_FORMAT,
    Kind.DATETIME: DATETIME_FORMAT,
    Kind.DATE: DATE_FORMAT,
}


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = Kind.TEXT


class Rows(Protocol):
    """A table's rows: its length is known before they are read (once)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Sequence[object]]: ...


class RowsOf(Generic[T]):
    """``Rows`` made from ``items`` as they are read, not kept."""

    def __init__(self, items: Sequence[T], values: Callable[[T], Sequence[object]]) -> None:
        self.items, self.values = items, values

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Sequence[object]]:
        return map(self.values, self.items)


class Formats:
    """The workbook's cell formats, each made once (XlsxWriter formats are objects shared
    by every cell that uses them)."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self.made: dict[tuple[tuple[str, object], ...], Format] = {}

    def get(self, **properties: object) -> Format:
        key = tuple(sorted(properties.items()))
        made = self.made.get(key)
        if made is None:
            made = self.made[key] = self.workbook.add_format(dict(properties))
        return made


@dataclass
class _Line:
    row: int
    column: int
    text: str
    style: dict[str, object]


@dataclass
class _Table:
    top: int
    left: int
    columns: Sequence[Column]
    rows: Rows
    header: bool
    style: dict[str, object]

    @property
    def first(self) -> int:
        """The row of the first data row."""
        return self.top + 1 if self.header else self.top

    @property
    def bottom(self) -> int:
        """The last row the table takes (its header, when it has no rows)."""
        return self.first + len(self.rows) - 1 if self.rows else self.top


@dataclass
class Sheet:
    """One worksheet, laid out (``line``, ``table``) then written in row order (``finish``).

    Rows and columns count from 0, as XlsxWriter counts them.
    """

    ws: Worksheet
    formats: Formats
    cut_marker: str = CUT_MARKER
    lines: list[_Line] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)
    widths: dict[int, int] = field(default_factory=dict)
    """Per column: the longest content, in characters."""

    def line(self, row: int, text: str, style: dict[str, object], column: int = 0) -> None:
        """A line of text that overflows to the right: it does not widen its column."""
        self.lines.append(_Line(row, column, text, style))

    def table(
        self,
        top: int,
        columns: Sequence[Column],
        rows: Rows,
        left: int = 0,
        *,
        header: bool = True,
        **style: object,
    ) -> int:
        """A header at row ``top`` (unless ``header`` is false) and one row per item below;
        returns the last row it takes. ``style`` is added to every cell's format (bold)."""
        table = _Table(top, left, columns, rows, header, style)
        self.tables.append(table)
        if header:
            for index, column in enumerate(columns, start=left):
                # A long header wraps onto more lines rather than widen a column of numbers.
                self._measure(index, min(len(column.header), HEADER_WIDTH))
        return table.bottom

    def _measure(self, column: int, length: int) -> None:
        if length > self.widths.get(column, 0):
            self.widths[column] = length

    def finish(
        self,
        header_row: int,
        last_column: int,
        last_row: int,
        frozen_columns: int = 0,
        *,
        wide: bool = False,
    ) -> None:
        """Write every row, then freeze below the header (and right of the identifying
        columns), filter the table, set widths and print setup.

        Printed, a sheet is one page wide, as many pages down as needed; a ``wide`` one (a
        column per standard) would be unreadable so, and prints across pages instead, the
        identifying columns repeated on each."""
        self._write_rows()
        ws = self.ws
        ws.freeze_panes(header_row + 1, frozen_columns)
        ws.autofilter(header_row, 0, max(last_row, header_row), max(last_column, 0))
        ws.repeat_rows(header_row)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        if wide and frozen_columns:
            ws.repeat_columns(0, frozen_columns - 1)
        else:
            ws.fit_to_pages(1, 0)
        for column, length in self.widths.items():
            ws.set_column(column, column, min(max(length + 2, MIN_WIDTH), MAX_WIDTH))

    def _write_rows(self) -> None:
        lines: dict[int, list[_Line]] = {}
        for line in self.lines:
            lines.setdefault(line.row, []).append(line)
        bottom = max([*lines, *(t.bottom for t in self.tables), -1])
        readers = [iter(table.rows) for table in self.tables]
        writers = [_TableWriter(self, table) for table in self.tables]
        for row in range(bottom + 1):
            height = 0.0
            for table, reader, writer in zip(self.tables, readers, writers, strict=True):
                if row == table.top and table.header:
                    height = max(height, writer.header(row))
                elif table.first <= row <= table.bottom:
                    height = max(height, writer.row(row, next(reader)))
            for line in lines.get(row, ()):
                text = clean_text(line.text, self.cut_marker)
                if text:
                    self.ws.write_string(row, line.column, text, self.formats.get(**line.style))
            if height:
                self.ws.set_row(row, min(height, MAX_HEIGHT))


class _TableWriter:
    """Writes one table's rows, measuring widths and heights as it goes."""

    def __init__(self, sheet: Sheet, table: _Table) -> None:
        self.sheet, self.table = sheet, table
        self.ws = sheet.ws
        self.cut_marker = sheet.cut_marker
        formats = sheet.formats
        self.kinds = [column.kind for column in table.columns]
        self.indexes = range(table.left, table.left + len(table.columns))
        self.widths = sheet.widths
        style = table.style
        self.plain = [
            formats.get(num_format=_NUMBER_FORMATS[k], **style) if k in _NUMBER_FORMATS else None
            for k in self.kinds
        ]
        if style:
            self.plain = [f or formats.get(**style) for f in self.plain]
        self.top = [formats.get(valign="top", **_with_number_format(k, style)) for k in self.kinds]
        self.wrap = formats.get(valign="top", text_wrap=True, **style)
        self.quoted = formats.get(quote_prefix=True, **style)
        self.quoted_top = formats.get(quote_prefix=True, valign="top", **style)
        self.quoted_wrap = formats.get(quote_prefix=True, valign="top", text_wrap=True, **style)
        header = {"bold": True, "bg_color": HEADER_COLOUR, "text_wrap": True, "valign": "vcenter"}
        self.header_format = formats.get(**header)
        self.quoted_header = formats.get(quote_prefix=True, **header)

    def header(self, row: int) -> float:
        lines = 1
        for column, spec in zip(self.indexes, self.table.columns, strict=True):
            text = clean_text(spec.header, self.cut_marker)
            quote = needs_quote(text)
            self.ws.write_string(
                row, column, text, self.quoted_header if quote else self.header_format
            )
            lines = max(lines, wrapped_lines(text, max(HEADER_WIDTH, MIN_WIDTH)))
        return lines * LINE_HEIGHT if lines > 1 else 0.0

    def row(self, row: int, values: Sequence[object]) -> float:
        """Write one row; its height when a cell wraps (0: the default height)."""
        cells = list(map(self._stored, self.kinds, values))
        wrapped = 0
        for column, cell in zip(self.indexes, cells, strict=True):
            if isinstance(cell, str):
                length = max(map(len, cell.split("\n"))) if "\n" in cell else len(cell)
                if length + 2 > MAX_WIDTH or "\n" in cell:
                    wrapped = max(wrapped, wrapped_lines(cell, WRAP_AT))
            elif cell is not None:
                length = _display_length(cell, self.kinds[column - self.table.left])
            else:
                continue
            if length > self.widths.get(column, 0):
                self.widths[column] = length
        ws = self.ws
        for offset, (column, cell) in enumerate(zip(self.indexes, cells, strict=True)):
            if cell is None:
                continue
            if isinstance(cell, str):
                quote = needs_quote(cell)
                if wrapped:
                    long = "\n" in cell or len(cell) + 2 > MAX_WIDTH
                    cell_format = (
                        (self.quoted_wrap if quote else self.wrap)
                        if long
                        else (self.quoted_top if quote else self.top[offset])
                    )
                else:
                    cell_format = self.quoted if quote else self.plain[offset]
                ws.write_string(row, column, cell, cell_format)
            elif isinstance(cell, datetime | date):
                ws.write_datetime(
                    row, column, cell, self.top[offset] if wrapped else self.plain[offset]
                )
            else:
                ws.write_number(
                    row, column, cell, self.top[offset] if wrapped else self.plain[offset]
                )
        return wrapped * LINE_HEIGHT if wrapped > 1 else 0.0

    def _stored(self, kind: Kind, value: object) -> object:
        """The value as the cell holds it: cleaned text, a finite number, a naive date and
        time, or None for an empty cell."""
        if value is None:
            return None
        if kind is Kind.DATETIME:
            # Local wall time: Excel has no time zones.
            return value.replace(tzinfo=None) if isinstance(value, datetime) else None
        if kind is Kind.DATE:
            return value if isinstance(value, date) else None
        if kind is Kind.TEXT or not isinstance(value, int | float):
            return clean_text(str(value), self.cut_marker) or None
        if isinstance(value, bool) or not math.isfinite(value):
            # .xlsx stores neither NaN nor infinity; a flag is never a number.
            return None
        return value * 100 if kind is Kind.POINTS else value


def _with_number_format(kind: Kind, style: dict[str, object]) -> dict[str, object]:
    number_format = _NUMBER_FORMATS.get(kind)
    return {**style, "num_format": number_format} if number_format else dict(style)


def _display_length(value: object, kind: Kind) -> int:
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if kind is Kind.PERCENT and isinstance(value, int | float):
        return len(f"{value * 100:.1f}") + 1
    if isinstance(value, float):
        return len(f"{value:.1f}")
    return len(str(value))


def abandon(workbook: Workbook) -> None:
    """Remove the row files of a workbook that failed (a full disk): ``constant_memory``
    keeps each sheet's rows in a temporary file until the workbook is closed."""
    for worksheet in workbook.worksheets():
        handle: Any = worksheet.row_data_fh
        name: Any = worksheet.row_data_filename
        with contextlib.suppress(Exception):
            if handle is not None:
                handle.close()
        with contextlib.suppress(Exception):
            if name:
                os.unlink(name)
