"""Spreadsheet cells that hold data, never code: the one way every CSV and workbook row is written.

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, in some
programs, a tab or carriage return before one) as a formula, so a station or candidate named
``=HYPERLINK("http://x","点我")`` would become a live link in the union's Excel (CSV
injection). Every text cell the product writes follows the OWASP rule:

* **XLSX** (:func:`append_row`): such text is a *string* cell (openpyxl would otherwise store
  ``=…`` as a formula) with Excel's quote prefix, so it stays text when someone edits the
  cell; control characters XML cannot hold (openpyxl raises ``IllegalCharacterError``, which
  made a whole download fail) are shown as U+FFFD.
* **CSV** (:func:`csv_row`): such text gets one single quote in front (``'=HYPERLINK(…)``).

Only text is neutralised: numbers (``-1.5`` in a numeric column) stay numbers. The importers
undo the CSV quote (:func:`unquote`, :func:`unquote_row`): a text cell that is ``'`` followed
by one of those characters loses that one quote, so an exported file imports back to the
same names.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from stations.errors import ValidationError

__all__ = ["FORMULA_LEADS", "is_formula_like", "cell_value", "append_row", "csv_cell", "csv_row",
           "unquote", "unquote_row", "unquote_rows", "SPREADSHEET_SUFFIXES", "write_template"]

#: Files whose text cells may carry the quote :func:`csv_cell` adds.
SPREADSHEET_SUFFIXES = (".csv", ".xlsx", ".xlsm")
#: Leading characters a spreadsheet may read as the start of a formula (OWASP).
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: object) -> bool:
    """``value`` is text that a spreadsheet could take for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_LEADS)


def cell_value(value):
    """``value`` as a workbook can hold it (control characters in text → U+FFFD)."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def append_row(sheet, values) -> None:
    """Append ``values`` to ``sheet``; text that looks like a formula stays a text cell."""
    sheet.append([cell_value(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f" or is_formula_like(cell.value):
            cell.data_type = "s"  # openpyxl reads "=..." as a formula: keep it text
            cell.quotePrefix = True  # and Excel keeps it text when the cell is edited


def csv_cell(value: object) -> str:
    """One CSV cell: blank for ``None``, the shortest exact text of a float, and text that
    could start a formula behind a single quote (``'=…``)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same double
    if isinstance(value, str):
        return "'" + value if is_formula_like(value) else value
    return str(value)


def csv_row(values) -> list[str]:
    """A CSV row of :func:`csv_cell` texts (give it to ``csv.writer.writerow``)."""
    return [csv_cell(v) for v in values]


def unquote(value):
    """Undo :func:`csv_cell`: ``'`` followed by a formula lead loses that one quote."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and \
            value[1] in FORMULA_LEADS:
        return value[1:]
    return value


def unquote_row(row: dict) -> dict:
    """:func:`unquote` every value of an imported row, in place; the row."""
    for key, value in row.items():
        if isinstance(value, str):
            row[key] = unquote(value)
    return row


def unquote_rows(rows: list[tuple[int, dict]], path: str | Path) -> list[tuple[int, dict]]:
    """:func:`unquote_row` every row read from ``path`` when it is a CSV or workbook."""
    if Path(path).suffix.lower() in SPREADSHEET_SUFFIXES:
        for _, row in rows:
            unquote_row(row)
    return rows


def write_template(path: str | Path, *, columns, sheet_title: str, widths, note: str) -> Path:
    """Write a sheet template people fill in: ``.csv`` (header and the example row) or
    ``.xlsx`` (sheet ``sheet_title`` with the header, required columns shaded, and one example
    row; sheet 填写说明 listing each column and ``note``).

    ``columns`` are ``(header, 必填/选填…, explanation, example)`` rows; ``widths`` the
    column widths of the first sheet, in order. The one template writer for candidate and
    demand sheets."""
    path = Path(path)
    headers = [c[0] for c in columns]
    example = [c[3] for c in columns]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import csv

        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(csv_row(headers))
            writer.writerow(csv_row(example))
        return path
    if suffix != ".xlsx":
        raise ValidationError(
            f"模板只能保存为 .xlsx 或 .csv (template must be .xlsx or .csv): {path.name}")
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_title
    append_row(sheet, headers)
    append_row(sheet, example)
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="FDE9D9")
    for cell, column in zip(sheet[1], columns, strict=True):
        cell.font = bold
        if column[1] == "必填":
            cell.fill = fill
    for i, width in enumerate(widths[:len(columns)], start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填写说明")
    append_row(notes, ["列名", "是否必填", "说明", "示例"])
    for cell in notes[1]:
        cell.font = bold
    for column in columns:
        append_row(notes, list(column))
    notes.append([])
    append_row(notes, ["说明", "", note, ""])
    for letter, width in zip("ABCD", (14, 12, 70, 40), strict=True):
        notes.column_dimensions[letter].width = width
    for row in notes.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.save(path)
    return path
