"""Station import/export: every format, datums, bad rows, atomic writes, round trips, CLI."""

from __future__ import annotations

import csv
import json
from datetime import date

import openpyxl
import pytest
from click.testing import CliRunner

from geodata.crs.datums import wgs84_to_bd09, wgs84_to_gcj02
from geodata.errors import GeodataError
from geodata.io.stations import (
    EXPORT_HEADERS_ZH,
    ImportReport,
    export_stations,
    import_stations,
)
from stations.errors import StoreError
from stations.records import STATION_FIELDS, Station
from stations.store import Store
from webmap.cli import main

FORMATS = [".geojson", ".gpkg", ".csv", ".xlsx"]


def _write_csv(path, header, rows, *, encoding="utf-8"):
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _write_xlsx(path, header, rows):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _write_geojson(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features},
                               ensure_ascii=False), encoding="utf-8")
    return path


def _point(props, lon, lat):
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


# -- reading each format ---------------------------------------------------------------------

CN_HEADER = ["名称", "地址", "经度", "纬度", "类型", "设施", "开放时间", "进入方式", "面积 (m²)",
             "示例", "核实日期", "备忘二"]
CN_ROW = ["鸭子桥社区暖心驿站", "北京市西城区广安门外街道鸭子桥社区", "116.3384227", "39.8728584",
          "社区", "热水,微波炉、手机充电", "周一至周五 8:30-11:00，13:30-17:00", "直接进入", "15",
          "是", "2025-03-14", "ignored column"]
EN_HEADER = ["name", "address", "lon", "lat", "host_type", "amenities", "opening_hours",
             "access", "area_m2", "sample", "verified_on", "whatever"]


def _inserted(n: int) -> dict:
    """The report of an import that inserted ``n`` new stations and rejected nothing."""
    return {"imported": n, "inserted": n, "updated": 0, "unchanged": 0, "rejected": [],
            "problems": []}


def _check_cn_station(store):
    [station] = store.list_stations()
    assert station.name == "鸭子桥社区暖心驿站"
    assert (station.lon, station.lat) == (116.3384227, 39.8728584)
    assert station.host_type == "community" and station.access == "open"
    assert station.amenities["hot_water"] == "yes" and station.amenities["microwave"] == "yes"
    assert station.amenities["phone_charging"] == "yes" and station.amenities["toilet"] == "unknown"
    assert station.opening_hours == "Mo-Fr 08:30-11:00,13:30-17:00"
    assert station.area_m2 == 15.0 and station.sample is True
    assert station.verified_on == date(2025, 3, 14)


@pytest.mark.parametrize("header", [CN_HEADER, EN_HEADER], ids=["chinese", "english"])
def test_import_csv(store, tmp_path, header):
    path = _write_csv(tmp_path / "s.csv", header, [CN_ROW])
    report = import_stations(store, path)
    assert report.as_dict() == _inserted(1)
    _check_cn_station(store)


def test_import_csv_in_gb18030(store, tmp_path):
    path = _write_csv(tmp_path / "s.csv", CN_HEADER, [CN_ROW], encoding="gb18030")
    assert import_stations(store, path).imported == 1
    _check_cn_station(store)


@pytest.mark.parametrize("header", [CN_HEADER, EN_HEADER], ids=["chinese", "english"])
def test_import_xlsx(store, tmp_path, header):
    row = list(CN_ROW)
    row[2], row[3], row[8] = 116.3384227, 39.8728584, 15  # numbers as Excel stores them
    path = _write_xlsx(tmp_path / "s.xlsx", header, [row])
    assert import_stations(store, path).as_dict() == _inserted(1)
    _check_cn_station(store)


def test_import_geojson(store, tmp_path):
    props = dict(zip(CN_HEADER, CN_ROW, strict=True))
    del props["经度"], props["纬度"]
    path = _write_geojson(tmp_path / "s.geojson", [_point(props, 116.3384227, 39.8728584)])
    assert import_stations(store, path).as_dict() == _inserted(1)
    _check_cn_station(store)


def test_import_gpkg(store, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    props = dict(zip(EN_HEADER, CN_ROW, strict=True))
    del props["lon"], props["lat"]
    frame = gpd.GeoDataFrame([props], geometry=[Point(116.3384227, 39.8728584)],
                             crs="EPSG:4326")
    frame.to_file(tmp_path / "s.gpkg", driver="GPKG")
    assert import_stations(store, tmp_path / "s.gpkg").imported == 1
    _check_cn_station(store)


# -- datums ----------------------------------------------------------------------------------

WGS = (116.3384227, 39.8728584)


@pytest.mark.parametrize("crs,forward", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_import_with_crs_lands_on_the_wgs84_point(store, tmp_path, crs, forward):
    lon, lat = (float(v) for v in forward(*WGS))
    path = _write_csv(tmp_path / "s.csv", ["名称", "经度", "纬度"], [["站", repr(lon), repr(lat)]])
    import_stations(store, path, crs=crs)
    [station] = store.list_stations()
    assert station.lon == pytest.approx(WGS[0], abs=1e-7)
    assert station.lat == pytest.approx(WGS[1], abs=1e-7)
    assert abs(station.lon - lon) > 0.005  # the file's datum really was converted


def test_gcj02_import_matches_published_tianditu_point(store, tmp_path):
    # 东华门街道办事处: Amap/GCJ-02 (Vonng/adcode) vs Beijing Tianditu (≈WGS84), SOURCES.md.
    path = _write_csv(tmp_path / "s.csv", ["name", "lon", "lat"],
                      [["东华门街道办事处", "116.407239", "39.916094"]])
    import_stations(store, path, crs="gcj02")
    [station] = store.list_stations()
    from pyproj import Geod

    metres = Geod(ellps="WGS84").inv(station.lon, station.lat, 116.4010383, 39.9145862)[2]
    assert metres < 15


def test_unknown_crs_is_refused_before_reading(store, tmp_path):
    path = _write_csv(tmp_path / "s.csv", ["name", "lon", "lat"], [["站", "116.3", "39.9"]])
    with pytest.raises(GeodataError, match="mars"):
        import_stations(store, path, crs="mars")
    assert store.count_stations() == 0


# -- bad rows --------------------------------------------------------------------------------

BAD_HEADER = ["名称", "经度", "纬度", "开放时间", "设施", "进入方式", "核实日期", "编码", "备忘"]
BAD_ROWS = [
    ["好驿站一", "116.33", "39.87", "Mo-Fr 09:00-17:00", "热水", "直接进入", "2025-01-02", "G1",
     "x"],
    ["", "116.33", "39.87", "", "", "", "", "", ""],                        # 2 no name
    ["坏经度", "东经116", "39.87", "", "", "", "", "", ""],                  # 3 bad lon
    ["坏纬度", "116.33", "95", "", "", "", "", "", ""],                      # 4 lat out of range
    ["坏时间", "116.33", "39.87", "有空就开", "", "", "", "", ""],            # 5 bad hours
    ["坏设施", "116.33", "39.87", "", "热水,喷泉机", "", "", "", ""],         # 6 bad amenity
    ["坏进入", "116.33", "39.87", "", "", "翻墙进入", "", "", ""],            # 7 bad access
    ["坏日期", "116.33", "39.87", "", "", "", "2025-13-45", "", ""],          # 8 bad date
    ["好驿站二", "116.34", "39.88", "24/7", "", "", "", "", "unknown col"],
    ["重复编码", "116.35", "39.89", "", "", "", "", "G1", ""],                # 10 duplicate code
    ["缺坐标", "", "", "", "", "", "", "", ""],                               # 11 no coordinates
]
EXPECTED_BAD = {2: "name", 3: "lon", 4: "lat", 5: "opening_hours", 6: "amenities",
                7: "access", 8: "verified_on", 10: "code", 11: "lon"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_every_bad_row_is_named_and_good_rows_kept(store, tmp_path, suffix):
    writer = _write_csv if suffix == ".csv" else _write_xlsx
    path = writer(tmp_path / f"bad{suffix}", BAD_HEADER, BAD_ROWS)
    report = import_stations(store, path)
    assert report.imported == 2 and report.total == len(BAD_ROWS)
    assert {r["row"]: r["column"] for r in report.rejected} == EXPECTED_BAD
    assert [r["row"] for r in report.rejected] == sorted(EXPECTED_BAD)
    assert all(r["reason"] for r in report.rejected)
    reasons = {r["row"]: r["reason"] for r in report.rejected}
    assert "95" in reasons[4] and "喷泉机" in reasons[6] and "第 1 行" in reasons[10]
    assert sorted(s.name for s in store.list_stations()) == ["好驿站一", "好驿站二"]


@pytest.mark.postgis
def test_import_and_round_trip_on_postgis(pg_fresh_url, tmp_path):
    store = Store(pg_fresh_url)
    store.init()
    try:
        path = _write_csv(tmp_path / "bad.csv", BAD_HEADER, BAD_ROWS)
        report = import_stations(store, path)
        assert report.imported == 2
        assert {r["row"]: r["column"] for r in report.rejected} == EXPECTED_BAD
        store.add_stations(_sample_stations())
        export_stations(store, tmp_path / "pg.geojson")
        copy = _fresh_store(tmp_path, "copy.db")
        assert import_stations(copy, tmp_path / "pg.geojson").imported == 5
        assert [s.as_dict() for s in copy.list_stations()] == \
            [s.as_dict() for s in store.list_stations()]
    finally:
        store.dispose()


def test_non_point_geometry_is_rejected(store, tmp_path):
    line = {"type": "Feature", "properties": {"name": "一条线"},
            "geometry": {"type": "LineString", "coordinates": [[116.3, 39.8], [116.4, 39.9]]}}
    path = _write_geojson(tmp_path / "g.geojson", [
        _point({"name": "点"}, 116.3, 39.8), line, _point({"名称": ""}, 116.3, 39.8)])
    report = import_stations(store, path)
    assert report.imported == 1
    assert [(r["row"], r["column"]) for r in report.rejected] == [(2, "geometry"), (3, "name")]
    assert "LineString" in report.rejected[0]["reason"]


def test_reimport_updates_by_code_instead_of_duplicating(store, tmp_path):
    path = _write_csv(tmp_path / "s.csv", ["code", "name", "lon", "lat"],
                      [["GW-1", "旧名", "116.3", "39.8"]])
    first = import_stations(store, path)
    _write_csv(path, ["code", "name", "lon", "lat"], [["GW-1", "新名", "116.3", "39.8"]])
    second = import_stations(store, path, update=True)  # issue 8: overwriting is asked for
    assert (second.inserted, second.updated, second.rejected) == (0, 1, [])
    assert first.ids == second.ids and store.count_stations() == 1
    assert store.list_stations()[0].name == "新名"


def test_failed_database_write_leaves_nothing(store, tmp_path, monkeypatch):
    path = _write_csv(tmp_path / "s.csv", ["name", "lon", "lat"],
                      [[f"站{i}", "116.3", "39.8"] for i in range(5)])
    real_add = Store.add_stations

    def add_then_fail(self, stations, *, conn=None, **kw):
        stations = list(stations)
        real_add(self, stations[:3], conn=conn, **kw)  # three rows really written...
        raise RuntimeError("disk full")  # ...then the write fails

    monkeypatch.setattr(Store, "add_stations", add_then_fail)
    version = store.version()
    with pytest.raises(StoreError, match="nothing was imported"):
        import_stations(store, path)
    monkeypatch.undo()
    assert store.count_stations() == 0 and store.version() == version


@pytest.mark.parametrize("name,content,match", [
    ("missing.csv", None, "file not found"),
    ("s.txt", b"name,lon,lat\n", "unsupported file type"),
    ("broken.xlsx", b"this is not a zip", "not a valid .xlsx"),
    ("broken.geojson", b"{not json", "invalid JSON"),
    ("list.geojson", b"[1, 2]", "FeatureCollection"),
    ("broken.gpkg", b"garbage bytes", "cannot read"),
    ("empty.csv", b"", "empty file"),
], ids=["missing", "unsupported", "xlsx", "json", "not-fc", "gpkg", "empty"])
def test_unreadable_file_is_a_clear_error(store, tmp_path, name, content, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(GeodataError, match=match):
        import_stations(store, path)
    assert store.count_stations() == 0


def test_progress_bar_only_for_long_imports(store, tmp_path, capsys):
    small = _write_csv(tmp_path / "small.csv", ["name", "lon", "lat"], [["站", "116.3", "39.8"]])
    import_stations(store, small, progress=None)
    assert capsys.readouterr().err == ""  # stderr is not a TTY under pytest
    rows = [[f"站{i}", f"{116 + i / 10000:.4f}", "39.8"] for i in range(2100)]
    big = _write_csv(tmp_path / "big.csv", ["name", "lon", "lat"], rows)
    report = import_stations(store, big, progress=None)
    captured = capsys.readouterr()
    assert report.imported == 2100
    assert "validating" in captured.err and "writing" in captured.err
    assert "/2100 [" in captured.err
    assert captured.out == ""


# -- export and round trips ------------------------------------------------------------------


def _sample_stations() -> list[Station]:
    """Three stations, each with the district and street of its location (an import derives
    them from the location, issue 10, so a round trip keeps them only when they agree)."""
    amen = {k: "unknown" for k in Station("x", 0, 0).amenities}
    return [
        Station(name="鸭子桥社区暖心驿站", lon=116.3384227, lat=39.8728584, code="NX-110102020-001",
                host_type="community", address="北京市西城区广安门外街道鸭子桥社区党群服务中心",
                district="西城区", district_code="110102", street="广安门外街道",
                street_code="110102020", amenities={**amen, "hot_water": "yes", "toilet": "no"},
                access="open", area_m2=None, capacity=6,
                opening_hours="Mo-Fr 08:30-11:00,13:30-17:00", sample=True,
                verified_on=date(2025, 6, 25), contact_name="鸭子桥社区工会",
                contact_phone="01063450000", notes='含逗号, "引号"\n和换行'),
        Station(name="Night owl 24h", lon=116.123456789012, lat=39.987654321098, access="register",
                host_type="gas_station", area_m2=12.5, opening_hours="Mo-Su 18:00-02:00",
                status="suspended", status_reason="检修 (repairs)", amenities=amen,
                district="门头沟区", district_code="110109", street="军庄镇",
                street_code="110109104"),
        Station(name="关闭的驿站", lon=116.4, lat=39.9, status="closed",
                district="东城区", district_code="110101", street="东华门街道",
                street_code="110101001",
                status_reason="承建单位搬迁", verified_on=date(2024, 12, 31),
                opening_hours="24/7", candidate_id=7),
    ]


def _fresh_store(tmp_path, name) -> Store:
    store = Store(f"sqlite:///{tmp_path / name}")
    store.init()
    return store


def _file_content(path):
    suffix = path.suffix
    if suffix in (".csv", ".geojson"):
        return path.read_bytes()
    if suffix == ".xlsx":
        book = openpyxl.load_workbook(path)
        return [list(r) for r in book.active.iter_rows(values_only=True)]
    import geopandas as gpd

    frame = gpd.read_file(path)
    return json.dumps(frame.to_wkt().to_dict(orient="records"), default=str)  # NaN == NaN


@pytest.mark.parametrize("suffix", FORMATS)
def test_export_import_export_round_trips_losslessly(tmp_path, suffix):
    source = _fresh_store(tmp_path, "a.db")
    source.add_stations(_sample_stations())
    first = tmp_path / f"first{suffix}"
    assert export_stations(source, first) == 3
    target = _fresh_store(tmp_path, "b.db")
    report = import_stations(target, first)
    assert report.as_dict() == _inserted(3)
    second = tmp_path / f"second{suffix}"
    export_stations(target, second)
    assert _file_content(first) == _file_content(second)
    timestamps = suffix in (".geojson", ".gpkg")  # the flat forms carry no timestamps
    for a, b in zip(source.list_stations(), target.list_stations(), strict=True):
        da, db = a.as_dict(), b.as_dict()
        if not timestamps:
            for key in ("created_at", "updated_at", "candidate_id"):
                da.pop(key), db.pop(key)
        assert da == db


def test_geojson_export_shape(store, tmp_path):
    store.add_stations(_sample_stations())
    export_stations(store, tmp_path / "s.geojson")
    doc = json.loads((tmp_path / "s.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
    feature = doc["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [116.3384227, 39.8728584]}
    props = feature["properties"]
    for key in ("id", "code", "name", "address", "amenities", "opening_hours", "status",
                "district", "street", "host_type", "access", "area_m2", "sample", "verified_on"):
        assert key in props
    assert props["amenities"]["hot_water"] == "yes" and props["amenities"]["aed"] == "unknown"
    assert props["verified_on"] == "2025-06-25" and props["sample"] is True


def test_csv_export_has_bom_and_flat_columns(store, tmp_path):
    store.add_stations(_sample_stations())
    path = tmp_path / "s.csv"
    export_stations(store, path)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(data.decode("utf-8-sig").splitlines(keepends=True)))
    assert tuple(rows[0]) == EXPORT_HEADERS_ZH  # Chinese, the field name in brackets (issue 12)
    assert rows[0]["设施·热水 (amenity_hot_water)"] == "有"
    assert rows[0]["设施·卫生间 (amenity_toilet)"] == "无"
    assert rows[0]["设施·AED (amenity_aed)"] == "未知" and rows[0]["面积(m²) (area_m2)"] == ""


def test_xlsx_export_bold_header_and_frozen_pane(store, tmp_path):
    store.add_stations(_sample_stations())
    export_stations(store, tmp_path / "s.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "s.xlsx").active
    assert [c.value for c in sheet[1]] == list(EXPORT_HEADERS_ZH)
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.cell(row=2, column=STATION_FIELDS.index("contact_phone") + 1).value == \
        "01063450000"


def test_gpkg_export_is_epsg4326(store, tmp_path):
    import geopandas as gpd

    store.add_stations(_sample_stations())
    export_stations(store, tmp_path / "s.gpkg")
    frame = gpd.read_file(tmp_path / "s.gpkg")
    assert frame.crs.to_epsg() == 4326 and len(frame) == 3
    assert frame.geometry.iloc[0].x == 116.3384227
    assert "amenity_hot_water" in frame.columns


def test_export_refuses_unknown_extension(store, tmp_path):
    with pytest.raises(GeodataError, match="unsupported export type"):
        export_stations(store, tmp_path / "s.shp")


def test_report_as_dict_is_the_interface_shape():
    bad = {"row": 2, "column": "lon", "reason": "x"}
    report = ImportReport(imported=1, inserted=1, rejected=[bad], problems=[bad])
    assert report.as_dict() == {"imported": 1, "inserted": 1, "updated": 0, "unchanged": 0,
                                "rejected": [bad], "problems": [bad]}


# -- command line ----------------------------------------------------------------------------


def _run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_import_json_reports_rejected_rows_and_exits_0(store, tmp_path):
    path = _write_csv(tmp_path / "bad.csv", BAD_HEADER, BAD_ROWS)
    result = _run("stations", "import", str(path), "--json")
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["imported"] == 2
    assert [(r["row"], r["column"]) for r in body["rejected"]] == sorted(EXPECTED_BAD.items())
    assert all(set(r) == {"row", "column", "reason"} for r in body["rejected"])
    assert store.count_stations() == 2


def test_cli_import_readable_summary_lists_each_rejected_row(store, tmp_path):
    path = _write_csv(tmp_path / "bad.csv", BAD_HEADER, BAD_ROWS)
    result = _run("stations", "import", str(path))
    assert result.exit_code == 0
    assert "已导入 2 个站点" in result.stdout
    for row, column in EXPECTED_BAD.items():
        assert f"第 {row} 行 [{column}]" in result.stdout


def test_cli_import_with_crs(store, tmp_path):
    lon, lat = (float(v) for v in wgs84_to_gcj02(*WGS))
    path = _write_csv(tmp_path / "s.csv", ["名称", "经度", "纬度"], [["站", repr(lon), repr(lat)]])
    assert _run("stations", "import", str(path), "--crs", "gcj02").exit_code == 0
    assert store.list_stations()[0].lon == pytest.approx(WGS[0], abs=1e-7)


@pytest.mark.parametrize("args,match", [
    (["stations", "import", "/no/such/file.csv"], "file not found"),
    (["stations", "import", "FILE", "--crs", "mars"], "unknown datum"),
    (["stations", "export", "out.shp"], "unsupported export type"),
], ids=["missing", "bad-crs", "bad-export"])
def test_cli_user_errors_exit_2_with_one_line(store, tmp_path, args, match):
    path = _write_csv(tmp_path / "s.csv", ["name", "lon", "lat"], [["站", "116.3", "39.8"]])
    args = [str(path) if a == "FILE" else (str(tmp_path / a) if a == "out.shp" else a)
            for a in args]
    result = _run(*args)
    assert result.exit_code == 2
    assert match in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_cli_unreachable_database_exits_2_without_leaking_password(monkeypatch, tmp_path):
    url = f"postgresql+psycopg://nx:s3cret@/nx?host={tmp_path}&port=1"
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    result = _run("init")
    assert result.exit_code == 2
    assert "cannot open the store" in result.stderr and "s3cret" not in result.output + \
        result.stderr


@pytest.mark.parametrize("suffix", FORMATS)
def test_cli_export_by_extension(store, tmp_path, suffix):
    store.add_stations(_sample_stations())
    path = tmp_path / f"out{suffix}"
    result = _run("stations", "export", str(path))
    assert result.exit_code == 0 and "3" in result.stdout
    fresh = _fresh_store(tmp_path, "fresh.db")
    assert import_stations(fresh, path).imported == 3


def test_cli_init_demo_and_if_empty(store):
    result = _run("init", "--demo")
    assert result.exit_code == 0
    demo_count = store.count_stations()
    assert demo_count >= 20
    assert all(s.sample for s in store.list_stations())
    again = _run("init", "--demo", "--if-empty")
    assert again.exit_code == 0 and "未载入" in again.stdout
    assert store.count_stations() == demo_count
    reloaded = _run("init", "--demo")  # loading twice updates by code, never duplicates
    assert reloaded.exit_code == 0 and store.count_stations() == demo_count
    reset = _run("init", "--reset")
    assert reset.exit_code == 0 and store.count_stations() == 0
    assert _run("init", "--demo", "--if-empty").exit_code == 0
    assert store.count_stations() == demo_count
