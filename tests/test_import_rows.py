"""Issue 8, item 3: imports keep every good row.

A cell the store cannot hold rejects its own row (row, column, reason), never the file; a
code that is already a station's is an update only when asked; row numbers are the sheet's
own (blank lines count); a row is rejected once however many problems it has; a database
failure still leaves nothing behind.

Row numbers here are data-row numbers (INTERFACE.md: "count data rows from 1, the header is
not a row"): data row N is the spreadsheet's row N + 1.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from geodata.io.stations import export_stations, import_stations
from geodata.io.tables import read_rows
from stations.errors import RowError, StoreError, ValidationError
from stations.records import (
    AREA_CODE_MAX_LENGTH,
    AREA_M2_MAX,
    CAPACITY_MAX,
    CODE_MAX_LENGTH,
    ID_MAX,
    Station,
    parse_int,
    station_from_row,
)
from stations.schema import stations_table
from stations.store import Store
from tests.test_io import _write_csv, _write_xlsx  # one writer of test sheets
from webmap.cli import main

HEADER = ["id", "code", "name", "lon", "lat", "area_m2", "capacity"]


def _good(i: int) -> list[str]:
    return ["", f"OK-{i}", f"好驿站{i}", f"116.3{i}", "39.88", "20", "6"]


def _six_good_and(bad: list[str]) -> list[list[str]]:
    """The reproducer's sheet: six good rows with one bad row in the middle (data row 4)."""
    rows = [_good(i) for i in range(1, 7)]
    return rows[:3] + [bad] + rows[3:]




def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# -- a cell the store cannot hold rejects that row only ----------------------------------------

UNSTORABLE = [
    # (column, value, words the reason must contain)
    ("id", "99999999999999999999", "2147483647"),          # reproducer: OverflowError before
    ("id", str(2**31), "2147483647"),                     # fits SQLite, not PostGIS INTEGER
    ("id", "0", "≥ 1"),
    ("id", "3.5", "whole number"),
    ("capacity", "1e300", "1e300"),                       # reproducer: OverflowError before
    ("capacity", "10001", "≤ 10000"),
    ("capacity", "0", "≥ 1"),
    ("capacity", "5.5", "whole number"),
    ("capacity", "inf", "not a finite number"),
    ("area_m2", "1e308", "≤ 100000"),                     # reproducer: accepted as an area
    ("area_m2", "0", "≥ 1"),
    ("area_m2", "nan", "not a finite number"),
    ("area_m2", "-inf", "not a finite number"),
    ("area_m2", "1e999", "not a finite number"),           # overflows to inf when read
    ("lon", "nan", "not a finite number"),
    ("code", "C" * (CODE_MAX_LENGTH + 1), "at most 64"),  # String(64) on PostgreSQL
]


@pytest.mark.parametrize("column,value,words", UNSTORABLE,
                         ids=[f"{c}={v[:12]}" for c, v, _ in UNSTORABLE])
def test_a_cell_the_store_cannot_hold_rejects_only_its_row(store, tmp_path, column, value,
                                                           words):
    bad = ["", "BAD-1", "坏驿站", "116.35", "39.88", "20", "6"]
    bad[HEADER.index(column)] = value
    path = _write_csv(tmp_path / "s.csv", HEADER, _six_good_and(bad))
    report = import_stations(store, path)
    assert (report.imported, report.inserted, report.total) == (6, 6, 7)
    [rejected] = report.rejected
    assert (rejected["row"], rejected["column"]) == (4, column)
    assert words in rejected["reason"]
    assert sorted(s.name for s in store.list_stations()) == [f"好驿站{i}" for i in range(1, 7)]


def test_unstorable_numbers_from_an_xlsx_sheet(store, tmp_path):
    """Excel stores numbers as doubles: 1e20 as an id and 1e300 as a capacity."""
    rows = [[None, f"OK-{i}", f"好驿站{i}", 116.31 + i / 100, 39.88, 20, 6] for i in range(6)]
    rows[2][0] = 1e20
    rows[4][6] = 1e300
    rows[5][5] = 1e308
    path = _write_xlsx(tmp_path / "s.xlsx", HEADER, rows)
    report = import_stations(store, path)
    assert report.imported == 3
    assert [(r["row"], r["column"]) for r in report.rejected] == [
        (3, "id"), (5, "capacity"), (6, "area_m2")]
    assert store.count_stations() == 3


def test_bounds_are_inclusive_and_the_edges_import(store, tmp_path):
    rows = [["", "LO", "最小", "116.31", "39.88", "1", "1"],
            ["", "HI", "最大", "116.32", "39.88", str(AREA_M2_MAX), str(CAPACITY_MAX)],
            ["", "SIX", "六", "116.33", "39.88", "", "6.0"]]
    path = _write_csv(tmp_path / "s.csv", HEADER, rows)
    assert import_stations(store, path).as_dict()["rejected"] == []
    _write_csv(path, HEADER, [[str(ID_MAX), "TOP", "最大编号", "116.34", "39.88", "", ""]])
    assert import_stations(store, path).inserted == 1
    got = {s.code: s for s in store.list_stations()}
    assert (got["LO"].area_m2, got["LO"].capacity) == (1.0, 1)
    assert (got["HI"].area_m2, got["HI"].capacity) == (AREA_M2_MAX, CAPACITY_MAX)
    assert got["SIX"].capacity == 6 and got["TOP"].id == ID_MAX


def test_an_id_near_the_top_leaves_room_for_the_rows_the_store_numbers(store, tmp_path):
    rows = [[str(ID_MAX - 1), "HIGH", "高编号", "116.31", "39.88", "", ""], _good(1), _good(2)]
    report = import_stations(store, _write_csv(tmp_path / "s.csv", HEADER, rows))
    assert (report.inserted, [(r["row"], r["column"]) for r in report.rejected]) == (
        2, [(1, "id")])
    assert "leave id blank" in report.rejected[0]["reason"]
    assert max(s.id for s in store.list_stations()) < ID_MAX


def test_fresh_ids_beyond_the_id_column_roll_everything_back(store, tmp_path):
    store.add_stations([Station(name="顶", lon=116.3, lat=39.9, id=ID_MAX)])
    path = _write_csv(tmp_path / "s.csv", HEADER, [_good(1)])
    with pytest.raises(StoreError, match="would exceed 2147483647.*nothing was imported"):
        import_stations(store, path)
    assert store.count_stations() == 1


def test_text_with_a_nul_character_is_rejected(store, tmp_path):
    path = _write_csv(tmp_path / "s.csv", HEADER, _six_good_and(
        ["", "NUL", "坏\x00名", "116.35", "39.88", "", ""]))
    report = import_stations(store, path)
    assert report.imported == 6
    assert [(r["row"], r["column"]) for r in report.rejected] == [(4, "name")]


def test_an_overflowing_candidate_id_in_geojson_is_named(store, tmp_path):
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [116.3, 39.9]},
                 "properties": {"name": f"站{i}", "candidate_id": cid}}
                for i, cid in enumerate([1, 10**20, None])]
    path = tmp_path / "s.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    report = import_stations(store, path)
    assert report.imported == 2
    assert [(r["row"], r["column"]) for r in report.rejected] == [(2, "candidate_id")]


def test_record_bounds_match_the_schema_columns():
    assert stations_table.c.code.type.length == CODE_MAX_LENGTH
    assert stations_table.c.district_code.type.length == AREA_CODE_MAX_LENGTH
    assert stations_table.c.street_code.type.length == AREA_CODE_MAX_LENGTH


@pytest.mark.parametrize("value,expected", [
    ("6", 6), ("6.0", 6), (6.0, 6), (7, 7), (" ６ ", 6), ("", None), (None, None),
    (float("nan"), None),
], ids=["text", "text-float", "float", "int", "fullwidth", "blank", "none", "nan-cell"])
def test_parse_int_reads_whole_numbers(value, expected):
    assert parse_int(value, column="capacity") == expected


@pytest.mark.parametrize("value,match", [
    ("99999999999999999999", "99999999999999999999 大于 2147483647"),  # exact, not rounded
    ("5.5", "whole number"), ("abc", "not a number"), ("inf", "not a finite number"),
    (True, "whole number"),
], ids=["huge", "fraction", "word", "inf", "bool"])
def test_parse_int_refuses(value, match):
    with pytest.raises(ValidationError, match=match):
        parse_int(value, column="id", minimum=1, maximum=ID_MAX)


# -- a code that is already a station's ------------------------------------------------------


def test_existing_code_is_rejected_unless_update_is_asked(store, tmp_path):
    store.add_stations([Station(name="原驿站", lon=116.3, lat=39.9, code="GW-1", capacity=3)])
    rows = [["", "GW-1", "改过的名字", "116.3", "39.9", "", "9"], _good(1), _good(2)]
    path = _write_csv(tmp_path / "s.csv", HEADER, rows)

    report = import_stations(store, path)  # reproducer: silently overwrote it before
    assert (report.imported, report.inserted, report.updated) == (2, 2, 0)
    [dup] = report.rejected
    assert (dup["row"], dup["column"]) == (1, "code")
    assert "GW-1" in dup["reason"] and "--update" in dup["reason"]
    assert "name" in dup["reason"] and "capacity" in dup["reason"]  # what would change
    [kept] = [s for s in store.list_stations() if s.code == "GW-1"]
    assert (kept.name, kept.capacity) == ("原驿站", 3)

    again = import_stations(store, path, update=True)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 1, 2, [])
    assert again.imported == 3 and store.count_stations() == 3
    [kept] = [s for s in store.list_stations() if s.code == "GW-1"]
    assert (kept.id, kept.name, kept.capacity) == (1, "改过的名字", 9)


def test_reimporting_an_export_changes_nothing_and_rejects_nothing(store, tmp_path):
    from geodata.places.assign import assign_areas

    # each with the district and street of its location, as an import derives them (issue 10)
    store.add_stations(assign_areas(Station(name=f"站{i}", lon=116.3 + i / 100, lat=39.9,
                                            capacity=i + 1) for i in range(4)))
    version = store.version()
    for suffix in (".geojson", ".csv", ".xlsx"):
        path = tmp_path / f"all{suffix}"
        export_stations(store, path)
        report = import_stations(store, path)
        assert (report.imported, report.unchanged, report.inserted, report.rejected) == (
            4, 4, 0, []), suffix
    assert store.count_stations() == 4 and store.version() == version  # nothing written


def test_cli_update_flag_and_counts(store, tmp_path):
    store.add_stations([Station(name="原驿站", lon=116.3, lat=39.9, code="GW-1")])
    path = _write_csv(tmp_path / "s.csv", HEADER,
                      [["", "GW-1", "新名", "116.3", "39.9", "", ""], _good(1)])
    refused = _run("stations", "import", path, "--json")
    assert refused.exit_code == 0
    body = json.loads(refused.stdout)
    assert {k: body[k] for k in ("imported", "inserted", "updated", "unchanged")} == {
        "imported": 1, "inserted": 1, "updated": 0, "unchanged": 0}
    assert [(r["row"], r["column"]) for r in body["rejected"]] == [(1, "code")]
    updated = _run("stations", "import", path, "--update", "--json")
    body = json.loads(updated.stdout)
    assert (body["imported"], body["updated"], body["unchanged"], body["rejected"]) == (
        2, 1, 1, [])
    assert [s.name for s in store.list_stations()] == ["新名", "好驿站1"]


# -- row numbers are the sheet's own -------------------------------------------------------------


def test_blank_lines_keep_their_row_numbers_in_csv(store, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("name,lon,lat,capacity\n"
                    "站一,116.31,39.88,5\n"      # data row 1 (sheet row 2)
                    "站二,116.32,39.88,5\n"      # 2
                    "\n"                         # 3: blank (reproducer: was not counted)
                    "站四,116.34,39.88,1e300\n"  # 4 (sheet row 5)
                    ",,,\n"                      # 5: blank cells
                    "站六,东经116,39.88,5\n",     # 6 (sheet row 7)
                    encoding="utf-8")
    report = import_stations(store, path)
    assert report.total == 4 and report.imported == 2
    assert [(r["row"], r["column"]) for r in report.rejected] == [(4, "capacity"), (6, "lon")]


def test_blank_rows_keep_their_row_numbers_in_xlsx(store, tmp_path):
    path = _write_xlsx(tmp_path / "s.xlsx", ["名称", "经度", "纬度"],
                       [["站一", 116.31, 39.88], [None, None, None], [None, None, None],
                        ["", 116.34, 39.88]])
    report = import_stations(store, path)
    assert [(r["row"], r["column"]) for r in report.rejected] == [(4, "name")]


def test_a_quoted_line_break_is_one_row(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text('name,notes,lon,lat\n站一,"两行\n备注",116.3,39.9\n\n站三,,116.3,39.9\n',
                    encoding="utf-8")
    assert [n for n, _ in read_rows(path)] == [1, 3]  # as a spreadsheet shows the records


# -- several problems in one row: one rejected row, every problem listed ----------------------


def test_a_row_with_two_problems_is_rejected_once_listing_both(store, tmp_path):
    path = _write_csv(tmp_path / "s.csv", HEADER, _six_good_and(
        ["99999999999999999999", "BAD", "两处错", "116.35", "39.88", "1e308", "1e300"]))
    report = import_stations(store, path)
    assert report.imported == 6 and len(report.rejected) == 1
    assert report.imported + len(report.rejected) == report.total
    [row] = report.rejected
    assert (row["row"], row["column"]) == (4, "area_m2")
    for column in ("area_m2", "capacity", "id"):
        assert f"{column}:" in row["reason"]
    assert [(p["row"], p["column"]) for p in report.problems] == [
        (4, "area_m2"), (4, "capacity"), (4, "id")]


def test_station_from_row_names_every_problem():
    with pytest.raises(RowError) as info:
        station_from_row({"name": "", "lon": "200", "lat": "39.9", "capacity": "1e300"},
                         row_number=7)
    error = info.value
    assert (error.row, error.column) == (7, "name")
    assert "name:" in error.reason and "lon:" in error.reason and "capacity:" in error.reason


def test_geometry_problem_is_not_also_reported_as_missing_coordinates(store, tmp_path):
    line = {"type": "Feature", "properties": {"name": "线", "capacity": 1e300},
            "geometry": {"type": "LineString", "coordinates": [[116.3, 39.8], [116.4, 39.9]]}}
    path = tmp_path / "g.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [line]}),
                    encoding="utf-8")
    report = import_stations(store, path)
    assert [(p["row"], p["column"]) for p in report.problems] == [
        (1, "geometry"), (1, "capacity")]


def test_out_of_range_coordinates_in_another_datum_are_named_not_converted(store, tmp_path):
    path = _write_csv(tmp_path / "s.csv", ["name", "lon", "lat"],
                      [["站一", "116.3", "39.9"], ["无穷", "inf", "39.9"],
                       ["越界", "1e300", "39.9"]])
    report = import_stations(store, path, crs="gcj02")  # warnings are errors here
    assert report.imported == 1
    assert [(r["row"], r["column"]) for r in report.rejected] == [(2, "lon"), (3, "lon")]
    assert "not a finite number" in report.rejected[0]["reason"]


# -- nothing half-written ----------------------------------------------------------------------


def test_database_failure_with_rejected_rows_still_writes_nothing(store, tmp_path, monkeypatch):
    path = _write_csv(tmp_path / "s.csv", HEADER,
                      _six_good_and(["", "BAD", "坏", "116.35", "39.88", "", "1e300"]))
    real_add = Store.add_stations

    def add_then_fail(self, stations, *, conn=None, **kw):
        real_add(self, list(stations)[:2], conn=conn, **kw)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "add_stations", add_then_fail)
    with pytest.raises(StoreError, match="nothing was imported.*disk full"):
        import_stations(store, path)
    monkeypatch.undo()
    assert store.count_stations() == 0


def test_cli_database_failure_is_one_line_exit_2(store, tmp_path, monkeypatch):
    path = _write_csv(tmp_path / "s.csv", HEADER, [_good(1)])

    def fail(self, stations, *, conn=None, **kw):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "add_stations", fail)
    result = _run("stations", "import", path)
    assert result.exit_code == 2 and "nothing was imported" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.output


# -- command line ------------------------------------------------------------------------------


def test_cli_prints_each_problem_as_row_column_reason_and_exits_0(store, tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("id,name,lon,lat,area_m2,capacity\n"
                    + "".join(f",站{i},116.3{i},39.88,20,6\n" for i in range(1, 4))
                    + "\n"
                    + "99999999999999999999,坏编号,116.35,39.88,20,6\n"
                    + ",两处错,116.36,39.88,1e308,1e300\n"
                    + "".join(f",站{i},116.3{i},39.88,20,6\n" for i in range(7, 10)),
                    encoding="utf-8")
    result = _run("stations", "import", path)
    assert result.exit_code == 0
    out = result.stdout
    assert "已导入 6 个站点" in out and "拒绝 2 行" in out
    assert "row 5, column id: " in out and "2147483647" in out
    assert "row 6, column area_m2: " in out and "row 6, column capacity: " in out
    assert "第 5 行 [id]" in out
    assert store.count_stations() == 6


@pytest.mark.parametrize("args,match", [
    (["stations", "import"], "Missing argument 'FILE'"),
    (["stations", "import", "x.csv", "--bogus"], "--bogus"),
    (["stations", "import", "x.csv", "--crs"], "--crs"),
    (["stations", "export"], "Missing argument 'FILE'"),
], ids=["no-file", "unknown-option", "option-without-value", "export-no-file"])
def test_cli_bad_usage_is_one_line_exit_2(store, args, match):
    result = _run(*args)
    assert result.exit_code == 2
    assert match in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# -- the union's station form validates through the same record code ---------------------------


def test_union_station_form_refuses_capacity_1e300_without_a_500(store):
    from geodata.demo import load_demo
    from webmap.app import create_app
    from webmap.testing import csrf_token_from, login
    from webmap.users import add_user

    load_demo(store)
    add_user(store, "guangwai", "correct horse battery", district="西城区")
    client = create_app({"TESTING": True, "TILES": "none"}).test_client()
    assert login(client, "guangwai", "correct horse battery").status_code == 302
    s = store.list_stations()[0]
    url = f"/union/stations/{s.id}"
    form = {"csrf_token": csrf_token_from(client.get(url).get_data(as_text=True)),
            "name": s.name, "address": s.address, "host_type": s.host_type,
            "district": s.district, "street": s.street, "lon": str(s.lon), "lat": str(s.lat),
            "access": s.access, "opening_hours": "", "area_m2": "", "capacity": "1e300",
            "contact_name": "", "contact_phone": "", "notes": "", "verified_on": ""}
    response = client.post(url, data=form)
    assert response.status_code in (200, 400)  # the form shown again with the error
    page = response.get_data(as_text=True)
    assert "capacity" in page and "10000" in page
    assert store.get_station(s.id).capacity == s.capacity


# -- the same on PostGIS ----------------------------------------------------------------------


@pytest.mark.postgis
def test_reproducers_on_postgis(pg_fresh_url, tmp_path):
    store = Store(pg_fresh_url)
    store.init()
    try:
        rows = _six_good_and(["99999999999999999999", "BAD", "坏", "116.35", "39.88", "", ""])
        rows.append([str(2**31), "BIG", "超出32位", "116.36", "39.88", "", ""])
        rows.append(["", "CAP", "坏容量", "116.37", "39.88", "1e308", "1e300"])
        rows.append(["", "C" * 65, "长编码", "116.38", "39.88", "", ""])
        rows.append(["", "NUL", "坏\x00名", "116.39", "39.88", "", ""])
        path = _write_csv(tmp_path / "s.csv", HEADER, rows)
        report = import_stations(store, path)
        assert report.inserted == 6 and len(report.rejected) == 5
        assert [(r["row"], r["column"]) for r in report.rejected] == [
            (4, "id"), (8, "id"), (9, "area_m2"), (10, "code"), (11, "name")]
        again = import_stations(store, path)
        assert (again.inserted, again.unchanged, len(again.rejected)) == (0, 6, 5)
        _write_csv(path, HEADER, [["", "OK-1", "改名", "116.31", "39.88", "20", "6"]])
        dup = import_stations(store, path)
        assert [(r["row"], r["column"]) for r in dup.rejected] == [(1, "code")]
        assert import_stations(store, path, update=True).updated == 1
        assert [s.name for s in store.list_stations() if s.code == "OK-1"] == ["改名"]
        # the largest id the INTEGER column holds is accepted (on its own: fresh ids are
        # drawn above the highest one, see the report of issue 8)
        _write_csv(path, HEADER, [[str(ID_MAX), "TOP", "最大编号", "116.40", "39.88", "", ""]])
        assert import_stations(store, path).inserted == 1
        assert store.get_station(ID_MAX).name == "最大编号"
    finally:
        store.dispose()
