"""Importing the union's candidate sheet: bad rows named, good rows kept, duplicates reported,
geocoded rows carrying their precision, CSV and XLSX, and the template round trip."""

from __future__ import annotations

import csv

import openpyxl
import pytest

from geodata.crs.datums import wgs84_to_gcj02
from geodata.io.candidates import (
    DUPLICATE_RADIUS_M,
    TEMPLATE_COLUMNS,
    import_candidates,
    write_template,
)
from geodata.io.tables import TableError
from geodata.places.gazetteer import load_gazetteer
from stations.candidates import get_candidate, list_candidates
from stations.errors import RowError

HEADER = ["名称", "地址", "类型", "经度", "纬度", "面积 (m²)", "楼层", "是否临街", "开放时间",
          "设施", "进入方式", "联系人", "电话", "坐标系"]


def community(name: str):
    return next(c for c in load_gazetteer().communities if c.name == name)


def write_csv(path, rows, header=HEADER):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def row(name="示例单位", address="", lon="", lat="", **kw):
    assert set(kw) <= {"类型", "面积 (m²)", "楼层", "是否临街", "开放时间", "设施", "进入方式",
                       "联系人", "电话", "坐标系"}, kw
    values = {"类型": "企业", "面积 (m²)": "15", "楼层": "1", "是否临街": "是",
              "开放时间": "每天 7:00-20:00", "设施": "热水,座椅", "进入方式": "直接进入",
              "联系人": "", "电话": "", "坐标系": ""}
    values.update(kw)
    return [name, address, values["类型"], lon, lat, values["面积 (m²)"], values["楼层"],
            values["是否临街"], values["开放时间"], values["设施"], values["进入方式"],
            values["联系人"], values["电话"], values["坐标系"]]


GOOD = [
    row("红莲南里便民店", "北京市西城区广安门外街道红莲南里社区红莲南街6号"),
    row("鸭子桥网点", "", "116.3384227", "39.8728584"),
    row("马连道中里超市", "西城区广外马连道中里3号楼", 楼层="首层", 是否临街=""),
    row("英文坐标系行", "", "116.3453", "39.8902", 坐标系="gcj02"),
]
BAD = [  # (row, expected column)
    (row("", "西城区广外"), "名称"),
    (row("坐标不是数字", "", "东经116", "39.9"), "经度"),
    (row("只有经度", "", "116.3", ""), "纬度"),
    (row("纬度越界", "", "116.3", "95"), "纬度"),
    (row("无法定位", ""), "地址"),
    (row("面积不是数字", "西城区广外", **{"面积 (m²)": "十五"}), "面积"),
    (row("面积为负", "西城区广外", **{"面积 (m²)": "-3"}), "面积"),
    (row("楼层乱写", "西城区广外", 楼层="楼顶"), "楼层"),
    (row("临街乱写", "西城区广外", 是否临街="也许"), "是否临街"),
    (row("时间乱写", "西城区广外", 开放时间="看心情"), "开放时间"),
    (row("未知设施", "西城区广外", 设施="热水,按摩椅"), "设施"),
    (row("进入方式乱写", "西城区广外", 进入方式="刷脸"), "进入方式"),
    (row("坐标系乱写", "", "116.3", "39.9", 坐标系="mars"), "坐标系"),
]


def test_a_sheet_with_bad_rows_of_every_kind_keeps_every_good_row(store, tmp_path):
    rows = [GOOD[0], BAD[0][0], GOOD[1]] + [b for b, _ in BAD[1:]] + GOOD[2:]
    path = write_csv(tmp_path / "sheet.csv", rows)
    report = import_candidates(store, path, progress=False)
    assert report.total == len(rows)
    assert report.imported == len(GOOD) == len(list_candidates(store))
    expected = {}
    for number, values in enumerate(rows, start=1):
        for bad, column in BAD:
            if values is bad:
                expected[number] = column
    got = {r["row"]: r["column"] for r in report.rejected}
    assert got == expected
    assert all(r["reason"] for r in report.rejected)
    names = {c.name for c in list_candidates(store)}
    assert names == {g[0] for g in GOOD}


def test_one_row_with_several_problems_reports_each(store, tmp_path):
    bad = row("多处错误", "西城区广外", 楼层="楼顶", 进入方式="刷脸", **{"面积 (m²)": "大"})
    path = write_csv(tmp_path / "sheet.csv", [bad])
    report = import_candidates(store, path, progress=False)
    assert report.imported == 0
    assert {(r["row"], r["column"]) for r in report.rejected} == {
        (1, "楼层"), (1, "进入方式"), (1, "面积")}
    assert report.rejected_rows == [1]  # one row, several reasons: counted once


def test_values_are_read_like_a_union_writes_them(store, tmp_path):
    path = write_csv(tmp_path / "sheet.csv", [
        row("地下室", "西城区广外莲花河社区", 楼层="地下一层", 是否临街="否",
            设施="热水、微波炉，无卫生间", 进入方式="需联系工作人员", **{"面积 (m²)": "30㎡"}),
    ])
    import_candidates(store, path, progress=False)
    (c,) = list_candidates(store)
    assert (c.floor, c.street_facing, c.area_m2, c.access) == (-1, False, 30.0, "ask_staff")
    assert c.amenities["microwave"] == "yes" and c.amenities["toilet"] == "no"
    assert c.amenities["first_aid"] == "unknown"


def test_geocoded_rows_carry_their_precision(store, tmp_path):
    path = write_csv(tmp_path / "sheet.csv", [
        row("社区级", "北京市西城区广安门外街道红莲南里社区"),
        row("街道级", "西城区广外某商场"),
        row("区级", "西城区某路88号"),
        row("找不到", "某地某处"),
        row("有坐标", "", "116.33", "39.88"),
    ])
    report = import_candidates(store, path, progress=False)
    assert report.imported == 5
    assert report.geocoded == {"community": 1, "street": 1, "district": 1, "none": 1}
    by_name = {c.name: c for c in list_candidates(store)}
    red = community("红莲南里社区居委会")
    assert (by_name["社区级"].lon, by_name["社区级"].lat) == (red.lon, red.lat)
    assert by_name["社区级"].geocode_precision == "community"
    assert by_name["社区级"].street == "广安门外街道" and by_name["社区级"].district == "西城区"
    assert by_name["街道级"].geocode_precision == "street"
    assert by_name["区级"].geocode_precision == "district" and by_name["区级"].street == ""
    assert by_name["区级"].lon is None and by_name["区级"].needs_pin  # a district centre: no place
    assert by_name["区级"].district == "西城区"
    assert sorted(report.as_dict()["needs_pin"]) == [3, 4]
    assert by_name["找不到"].lon is None and by_name["找不到"].geocode_precision == "none"
    assert by_name["有坐标"].geocode_precision == "exact"
    assert by_name["有坐标"].street == "广安门外街道"  # from the approximate street polygons
    assert by_name["有坐标"].extra["area_source"] == "approx_polygon"


def test_gcj02_coordinates_are_converted(store, tmp_path):
    red = community("红莲南里社区居委会")
    glon, glat = wgs84_to_gcj02(red.lon, red.lat)
    path = write_csv(tmp_path / "sheet.csv", [row("高德坐标", "", f"{glon:.7f}", f"{glat:.7f}")])
    import_candidates(store, path, crs="gcj02", progress=False)
    (c,) = list_candidates(store)
    assert c.lon == pytest.approx(red.lon, abs=2e-7) and c.lat == pytest.approx(red.lat, abs=2e-7)


def test_short_street_names_in_the_sheet_become_canonical(store, tmp_path):
    path = write_csv(tmp_path / "sheet.csv", [["简称", "红莲南街6号", "广外", "西城"]],
                     header=["名称", "地址", "街道", "区"])
    import_candidates(store, path, progress=False)
    (c,) = list_candidates(store)
    assert (c.district, c.street) == ("西城区", "广安门外街道")


# -- duplicates -----------------------------------------------------------------------------
def test_duplicates_in_the_sheet_are_reported_not_merged(store, tmp_path):
    path = write_csv(tmp_path / "sheet.csv", [
        row("红莲南里便民店", "北京市西城区广安门外街道红莲南里社区6号"),
        row("红莲南里便民店", "西城区广安门外街道红莲南里社区居委会6号"),  # same name+address
        row("车站西街网点", "", "116.3400000", "39.8790000"),
        row("车站西街网点", "", "116.3401000", "39.8791000"),  # ≈ 14 m away: same host
        row("车站西街网点", "", "116.3500000", "39.8790000"),  # 850 m away: another branch
        row("隔壁理发店", "", "116.3400100", "39.8790000"),  # 1 m away, other host
    ])
    report = import_candidates(store, path, progress=False)
    assert report.imported == 4
    dups = {d["row"]: d for d in report.duplicates}
    assert set(dups) == {2, 4}
    assert dups[2]["reason"] == "same_name_address" and dups[2]["duplicate_of"]["row"] == 1
    assert dups[4]["reason"] == "same_host_within_30m" and dups[4]["duplicate_of"]["row"] == 3
    assert 5 < dups[4]["distance_m"] <= DUPLICATE_RADIUS_M
    rejected = {r["row"]: r["reason"] for r in report.rejected}
    assert set(rejected) == {2, 4} and "第 1 行" in rejected[2] and "第 3 行" in rejected[4]


def test_reimporting_a_sheet_reports_every_row_as_a_duplicate(store, tmp_path):
    path = write_csv(tmp_path / "sheet.csv", GOOD)
    first = import_candidates(store, path, progress=False)
    again = import_candidates(store, path, progress=False)
    assert first.imported == len(GOOD) and again.imported == 0
    assert len(again.duplicates) == len(GOOD)
    assert all("candidate_id" in d["duplicate_of"] for d in again.duplicates)
    assert len(list_candidates(store)) == len(GOOD)


def test_rows_located_only_to_a_street_are_not_duplicates_by_distance(store, tmp_path):
    path = write_csv(tmp_path / "sheet.csv", [
        row("同名商店", "西城区广外甲商场"), row("同名商店", "西城区广外乙商场")])
    report = import_candidates(store, path, progress=False)
    assert report.imported == 2 and report.duplicates == []


# -- file formats ---------------------------------------------------------------------------
def test_xlsx_with_english_headers(store, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Name", "Address", "Type", "Longitude", "Latitude", "Area", "Floor",
                  "street_facing", "Opening hours", "Amenities", "Access"])
    sheet.append(["Bank branch", "", "bank", 116.3384227, 39.8728584, 20, 1, "yes",
                  "Mo-Fr 09:00-17:00", "hot_water, seats, toilet", "open"])
    sheet.append([None, "no name", None, None, None, None, None, None, None, None, None])
    sheet.append(["Shop", "西城区广外红莲中里", "shop", None, None, "9", "2", "no", "", "", ""])
    path = tmp_path / "sheet.xlsx"
    book.save(path)
    report = import_candidates(store, path, progress=False)
    assert report.imported == 2
    assert report.rejected == [{"row": 2, "column": "名称", "reason": report.rejected[0]["reason"]}]
    bank = next(c for c in list_candidates(store) if c.name == "Bank branch")
    assert (bank.host_type, bank.access, bank.floor, bank.street_facing) == ("bank", "open", 1,
                                                                             True)
    assert bank.opening_hours == "Mo-Fr 09:00-17:00"
    shop = next(c for c in list_candidates(store) if c.name == "Shop")
    assert shop.geocode_precision == "community"


def test_unreadable_files_raise_table_errors(store, tmp_path):
    with pytest.raises(TableError):
        import_candidates(store, tmp_path / "missing.csv")
    bad = tmp_path / "sheet.txt"
    bad.write_text("x")
    with pytest.raises(TableError):
        import_candidates(store, bad)


def test_good_rows_are_written_in_one_transaction(store, tmp_path, monkeypatch):
    import stations.candidates as repo

    original = repo._candidate_values
    calls = {"n": 0}

    def failing(candidate):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("database went away")
        return original(candidate)

    monkeypatch.setattr(repo, "_candidate_values", failing)
    with pytest.raises(RuntimeError):
        import_candidates(store, write_csv(tmp_path / "s.csv", GOOD), progress=False)
    assert list_candidates(store) == []


# -- the template ---------------------------------------------------------------------------
def test_template_xlsx_has_columns_example_and_notes(tmp_path):
    path = write_template(tmp_path / "模板.xlsx")
    book = openpyxl.load_workbook(path)
    main, notes = book.worksheets
    assert [c.value for c in main[1]] == [c[0] for c in TEMPLATE_COLUMNS]
    assert main.max_row == 2
    described = {r[0].value for r in notes.iter_rows(min_row=2) if r[0].value}
    assert {c[0] for c in TEMPLATE_COLUMNS} <= described
    assert notes.title == "填写说明"


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_template_round_trips_through_import(store, tmp_path, suffix):
    path = write_template(tmp_path / f"template{suffix}")
    report = import_candidates(store, path, progress=False)
    assert (report.imported, report.rejected) == (1, [])
    (c,) = list_candidates(store)
    example = {h: e for h, _, _, e in TEMPLATE_COLUMNS}
    assert c.name == example["名称"] and c.address == example["地址"]
    assert (c.lon, c.lat) == (float(example["经度"]), float(example["纬度"]))
    assert (c.district, c.street, c.host_type, c.access) == ("西城区", "广安门外街道", "bank",
                                                             "open")
    assert c.area_m2 == 15 and c.floor == 1 and c.street_facing is True
    assert all(c.amenities[a] == "yes" for a in ("hot_water", "seats", "microwave", "toilet"))
    assert get_candidate(store, c.id).opening_hours == "Mo-Su 06:00-21:00"


def test_template_refuses_other_formats(tmp_path):
    from stations.errors import ValidationError

    with pytest.raises(ValidationError):
        write_template(tmp_path / "t.ods")


def test_row_error_shape():
    assert RowError("x", row=3, column="lon").as_dict() == {"row": 3, "column": "lon",
                                                             "reason": "x"}


def test_geojson_candidates_and_per_row_datum_header_in_english(store, tmp_path):
    import json

    red = community("红莲南里社区居委会")
    glon, glat = wgs84_to_gcj02(red.lon, red.lat)
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "点", "datum": "gcj02"},
         "geometry": {"type": "Point", "coordinates": [glon, glat]}},
        {"type": "Feature", "properties": {"name": "线", "address": "西城区广外"},
         "geometry": {"type": "LineString", "coordinates": [[116.3, 39.8], [116.4, 39.9]]}},
    ]}
    path = tmp_path / "c.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = import_candidates(store, path, progress=False)
    assert report.imported == 1
    assert [(r["row"], r["column"]) for r in report.rejected] == [(2, "几何")]
    (c,) = list_candidates(store)
    assert c.lon == pytest.approx(red.lon, abs=2e-7)
