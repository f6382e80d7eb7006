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
import zipfile
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
WRAP_AT = MAX_WIDTH
"""Characters a line of wrapped text holds in a column of the widest width (its width is
counted in digits; letters are narrower)."""
LINE_HEIGHT = 15.0
"""Points per line of Calibri 11, Excel's and LibreOffice's default row height."""
MAX_HEIGHT = 409.0
"""Excel's tallest row."""
HEADER_COLOUR = "#DDEBF7"
PRINT_COLUMNS = 16
"""Columns a printed page holds and stays readable."""
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
        repeat_header: bool = True,
    ) -> None:
        """Write every row, then freeze below the header (and right of the identifying
        columns), filter the table, set widths and print setup.

        Printed, landscape A4: a sheet is one page wide and as many down as it needs, but a
        wide one (a column per standard, or per store) spreads over a page per
        ``PRINT_COLUMNS`` columns, so that it stays readable; the header row is repeated on
        every page unless ``repeat_header`` is false (the Summary: its trend table below
        has its own)."""
        self._write_rows()
        ws = self.ws
        ws.freeze_panes(header_row + 1, frozen_columns)
        ws.autofilter(header_row, 0, max(last_row, header_row), max(last_column, 0))
        if repeat_header:
            ws.repeat_rows(header_row)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        pages_wide = max(1, math.ceil((last_column + 1) / PRINT_COLUMNS))
        ws.fit_to_pages(pages_wide, 0)
        if pages_wide > 1 and frozen_columns:
            # Each page across says whose row it is: the identifying columns again.
            ws.repeat_columns(0, frozen_columns - 1)
        for column, length in self.widths.items():
            ws.set_column(column, column, min(max(length + 2, MIN_WIDTH), MAX_WIDTH))

    def _write_rows(self) -> None:
        lines: dict[int, list[_Line]] = {}
        for line in self.lines:
            lines.setdefault(line.row, []).append(line)
        bottom = max([*lines, *(t.bottom for t in self.tables), -1])
        readers = [iter(table.rows) for table in self.tables]
        writers = [_TableWriter(self, table) for table in self.tables]
        streamed = self.ws.constant_memory and not self.ws.charts
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
            if streamed and row:
                _forget(self.ws, row - 1)


def _forget(ws: Worksheet, row: int) -> None:
    """Drop what XlsxWriter keeps of a row it has written to disk: in ``constant_memory``
    mode it still holds every row's height (``row_info``, ``row_sizes``) until the file is
    closed, some 200 bytes a tall row — 40 MB for the wrapped rows of a 100,000-visit week.
    Both serve only rows not yet written and the placing of charts (none on the streamed
    sheets)."""
    ws.row_info.pop(row, None)
    ws.row_sizes.pop(row, None)


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
        converters: dict[Kind, Callable[[object], object]] = {
            Kind.TEXT: self._text,
            Kind.NUMBER: self._number,
            Kind.PERCENT: self._number,
            Kind.NPS: self._number,
            Kind.POINTS: self._points,
            Kind.ANSWER: self._answer,
            Kind.DATETIME: self._datetime,
            Kind.DATE: self._date,
        }
        self.converters = [converters[kind] for kind in self.kinds]
        self.free = [kind not in _FIXED_WIDTHS for kind in self.kinds]
        """Columns whose width follows their values."""
        for column, kind in zip(self.indexes, self.kinds, strict=True):
            if kind in _FIXED_WIDTHS:
                sheet._measure(column, _FIXED_WIDTHS[kind])
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
        """Write one row; its height when a cell wraps (0: the default height).

        The hot loop of a large week (every visit's every answer): each column's values go
        through the converter of its kind, and text is measured only where it is long.
        """
        cells = [
            None if value is None else convert(value)
            for convert, value in zip(self.converters, values, strict=True)
        ]
        wrapped = 0
        widths = self.widths
        for column, cell, free in zip(self.indexes, cells, self.free, strict=False):
            if not free:
                continue  # a fixed width, measured once
            if cell.__class__ is str:
                if len(cell) + 2 > MAX_WIDTH or "\n" in cell:
                    wrapped = max(wrapped, wrapped_lines(cell, WRAP_AT))
                    length = max(map(len, cell.split("\n")))
                else:
                    length = len(cell)
            elif cell.__class__ is int:
                length = len(str(cell))
            elif cell.__class__ is float:
                length = len(f"{cell:.1f}")
            else:
                continue
            if length > widths.get(column, 0):
                widths[column] = length
        ws = self.ws
        formats = self.top if wrapped else self.plain
        for offset, column in enumerate(self.indexes):
            cell = cells[offset]
            if cell is None:
                continue
            if cell.__class__ is str:
                text: str = cell
                quote = text[0] in _RISKY_FIRST and needs_quote(text)
                if wrapped and (len(text) + 2 > MAX_WIDTH or "\n" in text):
                    cell_format = self.quoted_wrap if quote else self.wrap
                elif quote:
                    cell_format = self.quoted_top if wrapped else self.quoted
                else:
                    cell_format = formats[offset]
                ws.write_string(row, column, text, cell_format)
            elif isinstance(cell, datetime | date):
                ws.write_datetime(row, column, cell, formats[offset])
            else:
                ws.write_number(row, column, cell, formats[offset])
        return wrapped * LINE_HEIGHT if wrapped > 1 else 0.0

    def _text(self, value: object) -> str | None:
        text = value if value.__class__ is str else str(value)
        return clean_text(text, self.cut_marker) or None

    @staticmethod
    def _number(value: object) -> object:
        """A finite number: .xlsx stores neither NaN nor infinity; a flag is never a number."""
        if value.__class__ is int or (value.__class__ is float and math.isfinite(value)):
            return value
        return None

    def _points(self, value: object) -> object:
        number = self._number(value)
        return None if number is None else number * 100  # type: ignore[operator]

    def _answer(self, value: object) -> object:
        """Text as text, numbers as numbers."""
        if value.__class__ in (int, float):
            return self._number(value)
        return self._text(value)

    @staticmethod
    def _datetime(value: object) -> object:
        # Local wall time: Excel has no time zones.
        return value.replace(tzinfo=None) if isinstance(value, datetime) else None

    @staticmethod
    def _date(value: object) -> object:
        return value if isinstance(value, date) else None


_RISKY_FIRST = frozenset("=+-@\t\n# \u00a0\u2007\u202f\u3000")
"""First characters of text that may need the quote prefix (formula starts, the errors'
"#", whitespace before them): other text skips the check."""
_FIXED_WIDTHS = {Kind.PERCENT: 7, Kind.POINTS: 6, Kind.NPS: 4, Kind.DATE: 10, Kind.DATETIME: 16}
"""Characters a cell of these kinds shows, whatever its value."""


def _with_number_format(kind: Kind, style: dict[str, object]) -> dict[str, object]:
    number_format = _NUMBER_FORMATS.get(kind)
    return {**style, "num_format": number_format} if number_format else dict(style)


def abandon(workbook: Workbook, error: BaseException) -> None:
    """Clean up after a workbook that failed (a full disk): remove the row files
    ``constant_memory`` keeps per sheet until the workbook is closed, and disarm the zip
    XlsxWriter was writing when it failed. Left alone, that zip would try to finish itself on
    the closed file when collected and print a traceback of its own after our one-line
    error."""
    cause: BaseException | None = error
    while cause is not None:  # XlsxWriter raises its own error from the zip's
        frame_traceback = cause.__traceback__
        while frame_traceback is not None:
            for value in frame_traceback.tb_frame.f_locals.values():
                if isinstance(value, zipfile.ZipFile):
                    value.fp = None  # closing a ZipFile without a file does nothing
            frame_traceback = frame_traceback.tb_next
        cause = cause.__cause__ or cause.__context__
    for worksheet in workbook.worksheets():
        handle: Any = worksheet.row_data_fh
        name: Any = worksheet.row_data_filename
        with contextlib.suppress(Exception):
            if handle is not None:
                handle.close()
        with contextlib.suppress(Exception):
            if name:
                os.unlink(name)
