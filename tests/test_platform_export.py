"""Publishing where workers already look (issue 13 item 5): the upload sheets for Amap, Baidu
and Tianditu through the real CLI, their coordinates checked against the datum conversion
functions, and ``nuanxin stations diff`` on two exports."""

from __future__ import annotations

import csv
import json
import math

import openpyxl
import pytest
from click.testing import CliRunner

from geodata.crs.datums import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02
from stations import lifecycle
from stations.records import Station
from webmap.cli import main as cli

#: platform → (forward conversion from WGS84, its inverse, the datum's words in the sheet)
ORACLES = {
    "amap": (wgs84_to_gcj02, gcj02_to_wgs84, "GCJ-02"),
    "baidu": (wgs84_to_bd09, bd09_to_wgs84, "BD-09"),
    "tianditu": (lambda x, y: (x, y), lambda x, y: (x, y), "CGCS2000"),
}


@pytest.fixture
def stations(store):
    store.add_stations([
        Station(name="鸭子桥驿站", lon=116.3384227, lat=39.8728584, code="GW-001",
                address="广安门外大街 1 号", district="西城区", street="广安门外街道",
                opening_hours="24/7", public_phone="010-63450000", contact_name="王经理",
                contact_phone="13900000000", access="open",
                amenities={"hot_water": "yes", "toilet": "yes", "microwave": "no"}),
        Station(name="=HYPERLINK(\"http://x\",\"点我\")", lon=116.3420, lat=39.8760,
                code="GW-002", opening_hours="Mo-Fr 08:30-11:00,13:30-17:00"),
        Station(name="天宁寺驿站", lon=116.3450, lat=39.8900, code="GW-003",
                opening_hours="Mo-Su 06:00-22:00"),
        Station(name="暂停的驿站", lon=116.3500, lat=39.8800, code="GW-004", status="suspended",
                status_reason="装修"),
        Station(name="关闭的驿站", lon=116.3510, lat=39.8810, code="GW-005", status="closed",
                status_reason="拆迁"),
    ])
    return {s.code: s for s in store.list_stations()}


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _read(path) -> list[dict]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    book = openpyxl.load_workbook(path, read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
@pytest.mark.parametrize("platform", list(ORACLES))
def test_each_platform_sheet_is_in_its_datum_with_chinese_headers(store, stations, tmp_path,
                                                                 platform, suffix):
    out = tmp_path / f"{platform}{suffix}"
    result = _run("stations", "export", str(out), "--for", platform)
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert [r["名称"] for r in rows] == ["鸭子桥驿站", '=HYPERLINK("http://x","点我")' if
                                       suffix == ".xlsx" else "'=HYPERLINK(\"http://x\",\"点我\")",
                                       "天宁寺驿站"]  # open only; the CSV keeps its guard
    forward, inverse, words = ORACLES[platform]
    for row in rows:
        station = stations[row["站点编码"]]
        want_lon, want_lat = forward(station.lon, station.lat)
        lon, lat = float(row["经度"]), float(row["纬度"])
        assert math.isclose(lon, want_lon, abs_tol=1e-7) and \
            math.isclose(lat, want_lat, abs_tol=1e-7)
        back_lon, back_lat = inverse(lon, lat)  # and back to what the store holds
        assert abs(back_lon - station.lon) < 1e-5 and abs(back_lat - station.lat) < 1e-5
        assert words in row["坐标系"]
    first = rows[0]
    assert (first["电话"], first["营业时间"], first["24小时"], first["进入方式"]) == (
        "010-63450000", "24小时开放", "是", "直接进入")
    assert first["服务内容"] == "热水、卫生间"
    assert "13900000000" not in out.read_bytes().decode("utf-8", "replace")
    assert "王经理" not in json.dumps(rows, ensure_ascii=False)
    assert "13:30-17:00" in rows[1]["营业时间"]
    if platform != "tianditu":  # the datum moved the point: hundreds of metres in Beijing
        assert abs(float(first["经度"]) - stations["GW-001"].lon) > 1e-3


def test_the_xlsx_keeps_a_formula_name_as_text(store, stations, tmp_path):
    out = tmp_path / "amap.xlsx"
    assert _run("stations", "export", str(out), "--for", "amap").exit_code == 0
    sheet = openpyxl.load_workbook(out).worksheets[0]
    cell = sheet.cell(row=3, column=2)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


@pytest.mark.parametrize(("args", "words"), [
    (["--for", "google"], "google"),
    (["--for", "amap", "--out-ext", ".pdf"], "--out-ext"),
], ids=["unknown-platform", "unknown-option"])
def test_bad_export_requests_are_one_line_exit_2(store, stations, tmp_path, args, words):
    result = _run("stations", "export", str(tmp_path / "x.xlsx"), *args)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0]


def test_a_platform_sheet_is_xlsx_or_csv(store, stations, tmp_path):
    result = _run("stations", "export", str(tmp_path / "x.geojson"), "--for", "baidu")
    assert result.exit_code == 2 and ".xlsx" in result.output


def test_the_plain_export_is_unchanged(store, stations, tmp_path):
    out = tmp_path / "all.geojson"
    assert _run("stations", "export", str(out)).exit_code == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert len(doc["features"]) == 5  # every status, WGS84, as before


# -- diff --------------------------------------------------------------------------------------
def test_diff_lists_added_changed_and_closed_stations(store, stations, tmp_path):
    old = tmp_path / "old.xlsx"
    assert _run("stations", "export", str(old), "--for", "amap").exit_code == 0
    changed = stations["GW-001"]
    changed.opening_hours = "Mo-Su 05:00-23:00"
    changed.public_phone = "010-63459999"
    store.update_station(changed, actor="测试")
    lifecycle.close(store, station_id=stations["GW-003"].id, actor="测试", reason="搬走了")
    store.add_stations([Station(name="新开的驿站", lon=116.3300, lat=39.8700, code="GW-006",
                                opening_hours="24/7")])
    new = tmp_path / "new.csv"  # an .xlsx against a .csv: same sheet, other file type
    assert _run("stations", "export", str(new), "--for", "amap").exit_code == 0
    result = _run("stations", "diff", str(old), str(new), "--json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    assert diff["added"] == [{"code": "GW-006", "name": "新开的驿站"}]
    assert diff["closed"] == [{"code": "GW-003", "name": "天宁寺驿站"}]
    assert [c["code"] for c in diff["changed"]] == ["GW-001"]
    fields = diff["changed"][0]["fields"]
    assert set(fields) == {"电话", "营业时间", "24小时"}
    assert fields["电话"] == {"before": "010-63450000", "after": "010-63459999"}
    assert fields["24小时"] == {"before": "是", "after": "否"}
    table = _run("stations", "diff", str(old), str(new))
    assert table.exit_code == 0
    for words in ("新增 1 个站点", "变更 1 个", "撤下（关闭或暂停）1 个", "新开的驿站",
                  "电话：010-63450000 → 010-63459999", "天宁寺驿站"):
        assert words in table.output


def test_diff_of_an_export_with_itself_is_empty(store, stations, tmp_path):
    out = tmp_path / "a.csv"
    _run("stations", "export", str(out), "--for", "tianditu")
    diff = json.loads(_run("stations", "diff", str(out), str(out), "--json").output)
    assert diff == {"added": [], "changed": [], "closed": []}


def test_diff_refuses_exports_in_different_datums_and_other_files(store, stations, tmp_path):
    amap, baidu = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    _run("stations", "export", str(amap), "--for", "amap")
    _run("stations", "export", str(baidu), "--for", "baidu")
    for args in ((amap, baidu), (amap, tmp_path / "missing.csv"), (amap, tmp_path / "x.txt")):
        result = _run("stations", "diff", *map(str, args))
        assert result.exit_code == 2
        assert len([line for line in result.output.splitlines() if line.strip()]) == 1
