"""The union's real sheet (issue 12), through the command line on a real store: the 30-row 广外
sheet (10 types that are none of ours, road + number addresses without coordinates, bad rows),
the needs-a-pin rows, a pin that sets the street and re-screens, a visit that records facts →
re-screen → open → the station carries the facts, and the override path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from webmap.cli import main

SHEET = Path(__file__).parent / "data" / "guangwai_candidates.csv"
UNLISTED = ("物业", "医院", "环卫", "市场", "交通", "书店", "餐饮", "警务", "药店", "洗车")


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    return result


def run_json(*args):
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def imported(store):
    return run_json("candidates", "import", SHEET)


def by_name(rows):
    return {r["name"]: r for r in rows}


def test_the_sheet_imports_every_good_row_whatever_its_type(imported):
    assert imported["total"] == 30 and imported["imported"] == 26
    # four bad rows (one with two problems: counted once), named in the sheet's own words
    assert imported["rejected_rows"] == [27, 28, 29, 30]
    assert {r["column"] for r in imported["rejected"]} == {"名称", "面积", "楼层", "纬度"}
    assert all(r["column"] != "host_type" for r in imported["rejected"])
    rows = by_name(run_json("candidates", "list"))
    written = {r["host_type"] for r in rows.values()}
    for kept in ("物业", "医院", "环卫", "交通", "洗车"):  # none of ours: kept as written
        assert kept in written
    assert rows["广外大街168号物业服务中心"]["host_category"] == "other"
    assert rows["天宁寺前街药店"]["host_type"] == "shop"  # a synonym of ours: our category
    assert rows["天宁寺前街药店"]["host_type_text"] == "药店"
    assert rows["红莲南里便利店"]["host_type"] == "supermarket"


def test_rows_are_located_honestly_and_reported_by_row(imported):
    located = {r["row"]: r for r in imported["located"]}
    assert imported["needs_pin"] == [10, 11]  # 天宁寺前街2号, 马连道路11号: no known neighbour
    assert {n for n, r in located.items() if r["precision"] == "road"} == {3, 4, 7, 19, 24}
    assert located[2]["source"] == "sheet" and located[2]["precision"] == "exact"
    assert located[25]["precision"] == "street"  # 西城区广外: about a kilometre
    rows = by_name(run_json("candidates", "list"))
    pin = rows["天宁寺前街药店"]
    assert pin["lon"] is None and pin["lat"] is None and pin["needs_pin"]
    assert pin["geocode_precision"] == "district" and pin["district"] == "西城区"
    road = rows["广安门外大街某医院门诊楼"]
    assert road["geocode_precision"] == "road" and road["street"] == "广安门外街道"
    # between the nearest known numbers on the same (odd) side of the road
    assert "217号" in road["geocode_matched"] and "401号" in road["geocode_matched"]
    text = run("candidates", "import", SHEET)  # again: every row a duplicate or rejected
    assert "已导入 0 个候选单位，拒绝 30 行，共 30 行" in text.stdout
    assert "按地址定位：仅到区，待定位：第 10、11 行" not in text.stdout  # nothing new imported


def test_text_report_lists_rows_by_how_they_were_located(store):
    result = run("candidates", "import", SHEET)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "已导入 26 个候选单位，拒绝 4 行，共 30 行" in out
    assert "按地址定位：道路（按门牌推算，约 150 m）：第 3、4、7、19、24 行" in out
    assert "按地址定位：仅到区，待定位：第 10、11 行" in out
    assert "待定位 2 行" in out


def _reasons(result_rows, name):
    row = next(r for r in result_rows if r["name"] == name)
    return row, {r["rule"]: r for r in row["reasons"]}


def test_screening_does_not_treat_an_approximate_point_as_real(imported):
    results = run_json("candidates", "screen", "--union-street", "广外")
    _, pin = _reasons(results, "天宁寺前街药店")
    assert pin["in_area"]["outcome"] == "unknown" and pin["gap"]["outcome"] == "unknown"
    _, street = _reasons(results, "广外某企业职工之家")
    assert street["in_area"]["outcome"] == "pass"  # a street-level point settles the street
    assert street["gap"]["outcome"] == "unknown" and "街道" in street["gap"]["detail"]
    _, road = _reasons(results, "广安门外大街某医院门诊楼")
    assert road["gap"]["outcome"] == "pass"  # a road point is good enough for the gap rule


def test_a_pin_sets_the_street_and_screens_again(imported):
    run_json("candidates", "screen", "--union-street", "广外")
    cid = by_name(run_json("candidates", "list"))["天宁寺前街药店"]["id"]
    pinned = run_json("candidates", "pin", cid, "--lon", "116.3400", "--lat", "39.8900",
                      "--union-street", "广外")
    assert pinned["street"] == "广安门外街道" and pinned["district"] == "西城区"
    assert pinned["geocode_precision"] == "exact" and pinned["location_source"] == "dragged_pin"
    reasons = {r["rule"]: r for r in pinned["screening"]}
    assert reasons["in_area"]["outcome"] == "pass" and reasons["gap"]["outcome"] != "unknown"
    history = run_json("candidates", "history", cid)
    assert any(h["action"] == "pin" for h in history)


def test_visit_facts_rescreen_open_and_the_worker_sees_them(imported, store):
    from webmap.app import create_app

    cid = by_name(run_json("candidates", "list"))["鸭子桥路餐饮门店"]["id"]
    run_json("candidates", "screen", "--union-street", "广外")
    visited = run_json("candidates", "visit", cid, "--notes", "实地看过：有座椅和卫生间",
                       "--seen", "面积=22", "--seen", "卫生间=有", "--seen", "座椅=有",
                       "--seen", "开放时间=每天 6:00-21:00", "--seen", "进入方式=直接进入",
                       "--union-street", "广外")
    assert visited["area_m2"] == 22 and visited["amenities"]["toilet"] == "yes"
    facts = visited["extra"]["visits"][-1]["facts"]
    assert facts["area_m2"] == {"seen": 22.0, "before": 15.0}  # the sheet's value kept
    assert visited["screening_result"] == "pass"
    run_json("candidates", "agree", cid)
    station = run_json("candidates", "open", cid)
    assert station["street"] == "广安门外街道" and station["street_code"] == "110102020"
    assert station["code"] == f"NX-110102020-{station['id']:05d}"
    assert station["location_source"] == "sheet" and station["location_precision"] == "exact"
    client = create_app({"TESTING": True, "DATABASE_URL": store.url}).test_client()
    feature = client.get(f"/api/stations/{station['id']}").get_json()
    props = feature["properties"]
    assert props["amenities"]["toilet"] == "yes" and props["amenities"]["seats"] == "yes"
    assert props["area_m2"] == 22


def test_override_opens_a_not_passing_candidate_with_a_reason(imported):
    cid = by_name(run_json("candidates", "list"))["马连道中里超市"]["id"]  # 是否临街 left blank
    run_json("candidates", "pin", cid, "--lon", "116.3259", "--lat", "39.8866",
             "--union-street", "广外")
    results = run_json("candidates", "screen", "--union-street", "广外")
    assert next(r for r in results if r["id"] == cid)["result"] == "unknown"
    run_json("candidates", "visit", cid, "--notes", "去过，临街情况未看清")
    run_json("candidates", "agree", cid)
    refused = run("candidates", "open", cid)
    assert refused.exit_code == 2 and "只有「符合」才能建站" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    opened = run_json("candidates", "open", cid, "--override", "超市店长确认临街，先开后补照片",
                      "--actor", "区总工会")
    assert opened["status"] == "open" and opened["street"] == "广安门外街道"
    history = run_json("candidates", "history", cid)
    event = next(h for h in history if h["action"] == "open")
    assert "强制建站" in event["note"] and "超市店长确认临街" in event["note"]
    assert event["actor"] == "区总工会"


def test_station_export_speaks_chinese_and_reads_back(store, tmp_path):
    import csv

    from geodata.io.stations import export_stations, import_stations
    from stations.records import Station
    from stations.store import Store

    store.add_stations([Station(name="广外驿站", lon=116.3339, lat=39.8780, host_type="bank",
                                access="open", status="open", sample=True,
                                amenities={"toilet": "yes", "microwave": "no"})])
    path = tmp_path / "站点.csv"
    export_stations(store, path)
    (row,) = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    assert row["名称 (name)"] == "广外驿站" and row["类型 (host_type)"] == "银行"
    assert row["状态 (status)"] == "开放" and row["进入方式 (access)"] == "直接进入"
    assert row["设施·卫生间 (amenity_toilet)"] == "有"
    assert row["设施·微波炉 (amenity_microwave)"] == "无"
    assert row["设施·热水 (amenity_hot_water)"] == "未知" and row["示例数据 (sample)"] == "是"
    assert not [h for h in row if not any("\u4e00" <= ch <= "\u9fff" for ch in h)]
    fresh = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh.init()
    report = import_stations(fresh, path)
    assert report.imported == 1 and not report.rejected
    (back,) = fresh.list_stations()
    assert (back.host_type, back.access, back.sample) == ("bank", "open", True)
    assert back.amenities["toilet"] == "yes" and back.amenities["microwave"] == "no"
    fresh.dispose()


def test_a_pin_corrected_on_the_visit_sets_the_street_and_rescreens(imported):
    run_json("candidates", "screen", "--union-street", "广外")
    cid = by_name(run_json("candidates", "list"))["马连道路洗车服务点"]["id"]
    before = next(r for r in run_json("candidates", "list") if r["id"] == cid)
    assert before["street"] == "" and before["needs_pin"]
    visited = run_json("candidates", "visit", cid, "--notes", "现场定位", "--lon", "116.3200",
                       "--lat", "39.8850", "--seen", "临街=是", "--union-street", "广外")
    assert visited["street"] == "广安门外街道" and visited["location_source"] == "visit_pin"
    reasons = {r["rule"]: r for r in visited["screening"]}
    assert reasons["in_area"]["outcome"] == "pass"
    assert reasons["ground_floor"]["outcome"] == "pass"  # 临街 seen on the visit
