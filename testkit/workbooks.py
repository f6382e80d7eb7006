"""Reading delivered workbooks back, as a recipient's spreadsheet program would."""

from __future__ import annotations

import io

import openpyxl
from openpyxl.utils.cell import range_boundaries


def store_codes_in(workbook: bytes) -> set[str]:
    """The stores a workbook's Summary (its first sheet, in any language) lists: the rows its
    filter covers (the totals below it are not stores)."""
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).worksheets[0]
    first_column, header, _, last = range_boundaries(sheet.auto_filter.ref)
    return {
        str(row[0])
        for row in sheet.iter_rows(
            min_row=header + 1, max_row=last, min_col=first_column, values_only=True
        )
        if row[0]
    }
