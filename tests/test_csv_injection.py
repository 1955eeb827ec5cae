"""Issue 10 item 7: spreadsheets that cannot run code, and still round-trip through import.

Every CSV and XLSX the product writes (station exports, the union's download routes, the
Excel planning report, the candidate template) writes text beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return as inert text (OWASP): a ``'`` in front in CSV, a
quote-prefixed string cell in XLSX. Numbers stay numbers. The importers take the one added
``'`` off again, so hostile names come back equal to the originals.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from geodata.io.cells import (
    FORMULA_LEADS,
    append_row,
    csv_cell,
    csv_row,
    is_formula_like,
    unquote,
)
from geodata.io.stations import export_stations, import_stations
from stations.candidates import list_candidates
from stations.records import Station
from stations.store import Store

#: Names a spreadsheet would run (or start to), one per dangerous leading character.
HOSTILE = {
    "equals": '=HYPERLINK("http://x","点我")',
    "plus": "+1+2",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1 驿站",
    "carriage-return": "\r=1+1 驿站",
}
#: The ones that survive an import unchanged (an importer trims leading whitespace anyway).
ROUND_TRIP = {k: v for k, v in HOSTILE.items() if not v[0].isspace()}
HARMLESS = ["普通驿站", "'引号开头", "'plain quote", "A=B", "1-2 号"]


def _stations(names) -> list[Station]:
    """Stations in 广外, each with the district and street of its location (as an import
    derives them, so an export re-imports unchanged)."""
    from geodata.places.assign import assign_areas

    return assign_areas(Station(name=name, address="地址" + name, notes=name, contact_name=name,
                                lon=116.33 + 0.001 * i, lat=39.872, code=f"CI-{i}", area_m2=12.5,
                                capacity=8)
                        for i, name in enumerate(names))


def _fresh(tmp_path: Path, label: str) -> Store:
    store = Store(f"sqlite:///{tmp_path / (label + '.db')}")
    store.init()
    return store


def _field(header):
    """``名称 (name)`` → ``name``: the station export's Chinese headers name their field."""
    found = re.search(r"\((\w+)\)$", header or "")
    return found.group(1) if found else header


def _csv_rows(path_or_bytes) -> list[dict]:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    return [{_field(k): v for k, v in row.items()}
            for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))]


def _in_xml(text: str) -> str:
    """What an XLSX cell reads back as: XML turns a carriage return into a line feed."""
    return text.replace("\r", "\n")


def _xlsx_cells(path_or_bytes) -> list[dict]:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    sheet = load_workbook(source).active
    rows = list(sheet.iter_rows())
    header = [_field(c.value) for c in rows[0]]
    return [dict(zip(header, row, strict=True)) for row in rows[1:]]


# -- the cell rules ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE)
def test_formula_like_text_is_quoted_in_csv_and_unquoted_on_import(text):
    assert is_formula_like(text)
    assert csv_cell(text) == "'" + text
    assert unquote(csv_cell(text)) == text


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_text_is_written_as_is(text):
    assert csv_cell(text) == text
    assert unquote(text) == text  # a quote not followed by a formula lead stays


def test_only_text_is_neutralised_numbers_stay_numbers():
    assert csv_row([-1.5, -3, 0.1, None, "-1.5", True]) == [
        "-1.5", "-3", "0.1", "", "'-1.5", "True"]
    book = Workbook()
    sheet = book.active
    append_row(sheet, [-1.5, -3, "-1.5", "=1+1", "@x", "普通"])
    cells = list(sheet.iter_rows())[0]
    assert [c.data_type for c in cells] == ["n", "n", "s", "s", "s", "s"]
    assert [c.value for c in cells] == [-1.5, -3, "-1.5", "=1+1", "@x", "普通"]
    assert [bool(c.quotePrefix) for c in cells] == [False, False, True, True, True, False]


def test_the_leading_characters_are_the_owasp_list():
    assert set(FORMULA_LEADS) == {"=", "+", "-", "@", "\t", "\r"}


# -- station exports -----------------------------------------------------------------------------
def test_station_csv_export_writes_hostile_names_as_inert_text(store, tmp_path):
    store.add_stations(_stations(HOSTILE.values()))
    path = tmp_path / "stations.csv"
    export_stations(store, path)
    rows = {r["code"]: r for r in _csv_rows(path)}
    for i, text in enumerate(HOSTILE.values()):
        row = rows[f"CI-{i}"]
        for column in ("name", "notes", "contact_name"):
            assert row[column] == "'" + text, (column, text)
        assert row["address"] == "地址" + text  # not at the start: nothing to neutralise
        assert not any(is_formula_like(v) for v in row.values())
        assert (row["lon"], row["area_m2"], row["capacity"]) == (
            repr(116.33 + 0.001 * i), "12.5", "8")  # numbers as numbers


def test_station_xlsx_export_writes_hostile_names_as_string_cells(store, tmp_path):
    store.add_stations(_stations(HOSTILE.values()))
    path = tmp_path / "stations.xlsx"
    export_stations(store, path)
    rows = {r["code"].value: r for r in _xlsx_cells(path)}
    for i, text in enumerate(HOSTILE.values()):
        row = rows[f"CI-{i}"]
        for column in ("name", "notes", "contact_name"):
            cell = row[column]
            assert (cell.data_type, cell.value, cell.quotePrefix) == (
                "s", _in_xml(text), True), column
        assert all(c.data_type != "f" for c in row.values())
        assert (row["lon"].data_type, row["area_m2"].value, row["capacity"].value) == (
            "n", 12.5, 8)


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_hostile_names_round_trip_through_export_and_import(store, tmp_path, ext):
    store.add_stations(_stations(list(ROUND_TRIP.values()) + HARMLESS))
    path = tmp_path / f"stations.{ext}"
    export_stations(store, path)
    fresh = _fresh(tmp_path, "fresh")
    report = import_stations(fresh, path)
    assert report.rejected == []
    before = {s.code: s for s in store.list_stations()}
    after = {s.code: s for s in fresh.list_stations()}
    assert set(after) == set(before)
    for code, s in before.items():
        back = after[code]
        assert (back.name, back.address, back.notes, back.contact_name) == (
            s.name, s.address, s.notes, s.contact_name)
        assert (back.area_m2, back.capacity) == (s.area_m2, s.capacity)
    again = tmp_path / f"again.{ext}"
    export_stations(fresh, again)
    if ext == "csv":
        assert again.read_bytes() == path.read_bytes()  # export → import → export: same file
    fresh.dispose()


def test_re_importing_an_export_changes_nothing(store, tmp_path):
    store.add_stations(_stations(ROUND_TRIP.values()))
    path = tmp_path / "stations.csv"
    export_stations(store, path)
    report = import_stations(store, path)
    assert report.rejected == [] and report.unchanged == len(ROUND_TRIP)


# -- the union's download routes ----------------------------------------------------------------
@pytest.fixture
def union_client(store):
    from webmap.app import create_app
    from webmap.testing import login
    from webmap.users import add_user

    add_user(store, "admin-ci", "a long password 123")
    store.add_stations(_stations(HOSTILE.values()))
    app = create_app({"TESTING": True, "TILES": "none"})
    client = app.test_client()
    assert login(client, "admin-ci", "a long password 123").status_code == 302
    yield client
    app.extensions["nuanxin.store"].dispose()


def test_download_routes_write_inert_spreadsheets(union_client):
    response = union_client.get("/union/download/stations.csv")
    assert response.status_code == 200
    names = {r["name"] for r in _csv_rows(response.data)}
    assert names == {"'" + t for t in HOSTILE.values()}
    response = union_client.get("/union/download/stations.xlsx")
    assert response.status_code == 200
    cells = [r["name"] for r in _xlsx_cells(response.data)]
    assert {c.value for c in cells} == {_in_xml(t) for t in HOSTILE.values()}
    assert all(c.data_type == "s" and c.quotePrefix for c in cells)


def test_candidate_template_has_no_formulas(union_client, tmp_path):
    from geodata.io.candidates import write_template

    response = union_client.get("/union/candidates/template.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert not [c for sheet in book for row in sheet.iter_rows() for c in row
                if c.data_type == "f"]
    rows = list(csv.reader(io.StringIO(
        write_template(tmp_path / "t.csv").read_text(encoding="utf-8-sig"))))
    assert not any(is_formula_like(v) for row in rows for v in row)


# -- candidate sheets ----------------------------------------------------------------------------
def test_candidate_import_takes_the_added_quote_off(store, tmp_path):
    from geodata.io.candidates import import_candidates

    path = tmp_path / "candidates.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["名称", "地址", "经度", "纬度", "联系人"])
        for i, text in enumerate(ROUND_TRIP.values()):
            writer.writerow(csv_row([text, f"红莲南街{i + 1}号", 116.33 + 0.002 * i, 39.872,
                                     text]))
        writer.writerow(csv_row(["'plain quote", "红莲南街9号", 116.345, 39.872, "张三"]))
    report = import_candidates(store, path, crs="wgs84", progress=False)
    assert report.rejected == []
    got = {c.name: c for c in list_candidates(store)}
    assert set(got) == set(ROUND_TRIP.values()) | {"'plain quote"}
    assert all(got[t].contact_name == t for t in ROUND_TRIP.values())


# -- the Excel planning report -------------------------------------------------------------------
@pytest.mark.parametrize("text", [HOSTILE["plus"], HOSTILE["minus"], HOSTILE["at"]],
                         ids=["plus", "minus", "at"])
def test_excel_planning_report_keeps_every_leading_character_as_text(store, tmp_path, text):
    from geodata.io.reports import write_excel_report
    from tests.test_hostile_text import _spreadsheet_world

    coverage, siting = _spreadsheet_world(store, tmp_path, text)
    book = load_workbook(write_excel_report(tmp_path / "r.xlsx", coverage=coverage,
                                            siting=siting))
    assert not [c for sheet in book for row in sheet.iter_rows() for c in row
                if c.data_type == "f"]
    (site_row,) = book["推荐站点"].iter_rows(min_row=2)
    assert [(c.value, c.data_type, bool(c.quotePrefix)) for c in site_row[2:5]] == \
        [(text, "s", True)] * 3
    (demand_row,) = book["未覆盖需求"].iter_rows(min_row=2)
    assert (demand_row[1].value, demand_row[1].quotePrefix) == (text, True)
