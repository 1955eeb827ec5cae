"""Spreadsheet cells that hold data, never code: the one way every workbook row is written.

openpyxl stores a string that starts with ``=`` as a formula, so a station or candidate named
``=HYPERLINK("http://x","点我")`` would become a live link in the union's Excel; and XML cannot
hold most control characters (openpyxl raises ``IllegalCharacterError``, which made a whole
download fail). :func:`append_row` writes such text as a plain string cell (with Excel's quote
prefix, so it stays text when edited) and shows control characters as U+FFFD.
"""

from __future__ import annotations

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

__all__ = ["cell_value", "append_row"]


def cell_value(value):
    """``value`` as a workbook can hold it (control characters in text → U+FFFD)."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def append_row(sheet, values) -> None:
    """Append ``values`` to ``sheet``; text that looks like a formula stays text."""
    sheet.append([cell_value(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":  # openpyxl reads "=..." as a formula: keep it text
            cell.data_type = "s"
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited
