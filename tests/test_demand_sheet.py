"""The demand sheet: template → filled sheet with shifts → import (bad rows named) → coverage at
the four times of the day strip, equal to a brute-force count.

The oracle is independent of the engine: it reads the rows the test wrote (not the store),
projects them with its own pyproj transformer, asks :class:`stations.hours.OpeningHours` which
stations are open and decides "on shift" from the shift text by hand.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from pyproj import Transformer

from geodata.io.demand import TEMPLATE_COLUMNS, import_demand_sheet, write_template
from geodata.planning.coverage import STRIP_TIMES, area_coverage
from stations.demand_points import demand_summary, pending_pins, set_pin
from stations.hours import TZ, OpeningHours
from stations.records import Station
from webmap.cli import main

DAY = date(2026, 3, 4)  # a Wednesday
RADIUS = 500.0
TO_M = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)
TO_LL = Transformer.from_crs("EPSG:4548", "EPSG:4326", always_xy=True)
# 广外's middle in EPSG:4548 (metres); every point of the test lies within ~1.2 km of it
CX, CY = TO_M.transform(116.3300, 39.8840)
SHIFTS = ["05:00-13:00", "13:00-21:00", "21:00-05:00", "07:00-19:00", "", "10:00-14:00",
          "17:00-22:00", "00:00-24:00"]
KINDS = ["环卫作业点/环卫所", "快递网点", "外卖集中点/商圈", "出租车/网约车候客点", "公交场站",
         "建筑工地", "洗车行"]
HOURS = ["24/7", "Mo-Fr 09:00-17:00", "Mo-Su 05:00-10:00", "Mo-Su 20:00-02:00",
         "Mo-Su 06:00-22:00", "Sa,Su 10:00-16:00", ""]


def _minutes(text: str) -> tuple[int, int] | None:
    """The oracle's own reading of a shift (``None``: no shift)."""
    if not text:
        return None
    a, b = text.split("-")
    start = int(a[:2]) * 60 + int(a[3:])
    end = int(b[:2]) * 60 + int(b[3:])
    return start, end + 1440 if end <= start else end


def _working(shift: str, minute: int) -> bool:
    span = _minutes(shift)
    if span is None:
        return True
    start, end = span
    return start <= minute < end or (end > 1440 and minute + 1440 < end)


def _fill(template, path, rows):
    """The union's work: open the template, drop the example row, write the rows, save."""
    book = load_workbook(template)
    sheet = book["需求点"]
    sheet.delete_rows(2)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def _good_rows(rng, n):
    rows = []
    for i in range(n):
        x, y = CX + rng.uniform(-1200, 1200), CY + rng.uniform(-1000, 1000)
        lon, lat = TO_LL.transform(x, y)
        rows.append({"名称": f"聚集点{i + 1}", "类型": KINDS[i % len(KINDS)],
                     "人数": int(rng.integers(1, 60)), "班次": SHIFTS[i % len(SHIFTS)],
                     "经度": round(lon, 7), "纬度": round(lat, 7)})
    return rows


def _as_sheet_row(row: dict) -> list:
    headers = [c[0] for c in TEMPLATE_COLUMNS]
    return [row.get(h) for h in headers]


@pytest.fixture
def sheet(tmp_path):
    rng = np.random.default_rng(1604)
    template = write_template(tmp_path / "template.xlsx")
    good = _good_rows(rng, 40)
    bad = [
        {"名称": "班次写错", "人数": 5, "班次": "25:00-26:00", "经度": 116.33, "纬度": 39.88},
        {"名称": "人数为负", "人数": -3, "经度": 116.33, "纬度": 39.88},
        {"名称": "既无坐标也无地址", "人数": 4},
        {"名称": "经度不是数", "人数": 2, "经度": "东经116", "纬度": 39.88},
        {"名称": "坐标系不认识", "人数": 2, "经度": 116.33, "纬度": 39.88, "坐标系": "mars"},
    ]
    by_address = [
        {"名称": "红莲南里快递点", "类型": "快递网点", "人数": 7, "班次": "08:00-18:00",
         "地址": "北京市西城区广安门外街道红莲南里社区"},
        {"名称": "只写了区", "类型": "快递网点", "人数": 9, "地址": "北京市西城区"},
    ]
    rows = good[:20] + bad + good[20:] + by_address
    path = _fill(template, tmp_path / "filled.xlsx", [_as_sheet_row(r) for r in rows])
    return {"path": path, "rows": rows, "good": good}


def test_template_names_the_columns_and_explains_them(tmp_path):
    path = write_template(tmp_path / "t.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["需求点", "填写说明"]
    header = [c.value for c in book["需求点"][1]]
    assert header[:4] == ["名称", "类型", "人数", "班次"]
    assert {"地址", "经度", "纬度", "备注"} <= set(header)
    notes = "\n".join(str(c.value) for row in book["填写说明"].iter_rows() for c in row if c.value)
    for kind in ("快递网点", "外卖集中点/商圈", "环卫作业点/环卫所", "出租车/网约车候客点",
                 "公交场站", "建筑工地"):
        assert kind in notes
    assert "06:00-14:00" in notes or "22:00-06:00" in notes
    csv_path = write_template(tmp_path / "t.csv")
    assert csv_path.read_text(encoding="utf-8-sig").splitlines()[0].startswith("名称,类型,人数")
    with pytest.raises(Exception, match="xlsx"):
        write_template(tmp_path / "t.pdf")


def test_import_names_bad_rows_and_queues_rows_it_cannot_place(store, sheet):
    report = import_demand_sheet(store, sheet["path"], progress=False)
    bad = {(r["row"], r["column"]) for r in report["rejected"]}
    # data rows count from 1 under the header: the bad rows are 21..25
    assert bad == {(21, "班次"), (22, "人数"), (23, "经度"), (24, "经度"), (25, "坐标系")}
    reasons = {r["row"]: r["reason"] for r in report["rejected"]}
    assert "25:00-26:00" in reasons[21] and "-3" in reasons[22]
    assert report["imported"] == 40 + 2  # the district-only row is stored, waiting for a pin
    assert [p["row"] for p in report["pending_pin"]] == [47]
    assert report["pending_pin"][0]["precision"] == "district"
    assert "待定位" in report["pending_pin"][0]["precision_zh"]
    assert report["geocoded"] == {"community": 1, "district": 1}
    assert report["people"] == sum(r["人数"] for r in sheet["good"]) + 7
    waiting = pending_pins(store)
    assert [w["name"] for w in waiting] == ["只写了区"] and waiting[0]["lon"] is None
    # placed rows belong to the street they lie in; kinds are kept as written
    summary = demand_summary(store)
    assert summary == [{"source": "filled.xlsx", "points": 42, "people": report["people"] + 9,
                        "pending_pin": 1, "sample": False}]
    placed = set_pin(store, waiting[0]["id"], lon=116.331, lat=39.884, district="西城区",
                     street="广安门外街道")
    assert placed["precision"] == "field" and pending_pins(store) == []


def test_coverage_at_the_four_times_equals_brute_force(store, sheet):
    rng = np.random.default_rng(7)
    stations = []
    for j in range(12):
        x, y = CX + rng.uniform(-1300, 1300), CY + rng.uniform(-1100, 1100)
        lon, lat = TO_LL.transform(x, y)
        stations.append(Station(name=f"驿站{j}", lon=lon, lat=lat, opening_hours=HOURS[j % 7]))
    store.add_stations(stations)
    import_demand_sheet(store, sheet["path"], progress=False)
    result = area_coverage(store, street="广外", radius_m=RADIUS, min_stations=2,
                           day=DAY, strip=True, network=None)
    assert result.demand.source == "imported" and result.demand.unit == "people"
    strip = {row["time"]: row for row in result.strip}
    assert tuple(strip) == STRIP_TIMES
    # the oracle: every imported row (as written), its own projection, its own shift reading
    import shapely

    from geodata.places.areas import street_polygon

    polygon = street_polygon("广外")
    rows = [r for r in sheet["good"]] + [{"人数": 7, "班次": "08:00-18:00", "经度": 116.329198,
                                           "纬度": 39.8787477}]  # the community-level row
    rows = [r for r in rows if shapely.intersects_xy(polygon, r["经度"], r["纬度"])]
    assert len(rows) >= 20
    dxy = np.array([TO_M.transform(r["经度"], r["纬度"]) for r in rows])
    sxy = np.array([TO_M.transform(s.lon, s.lat) for s in stations])
    dist = np.hypot(dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1])
    parsed = [OpeningHours.parse(s.opening_hours or None) for s in stations]
    figures = {}
    for text in STRIP_TIMES:
        at = datetime.combine(DAY, datetime.strptime(text, "%H:%M").time(), tzinfo=TZ)
        open_now = np.array([h.is_open(at) is True for h in parsed])
        minute = at.hour * 60 + at.minute
        working = np.array([_working(r.get("班次") or "", minute) for r in rows])
        people = np.array([float(r["人数"]) for r in rows])
        reach = ((dist <= RADIUS) & open_now[None, :]).sum(axis=1)
        total, covered = people[working].sum(), people[working & (reach >= 1)].sum()
        multi = people[working & (reach >= 2)].sum()
        at_result = area_coverage(store, street="广外", radius_m=RADIUS, min_stations=2,
                                  at=at.isoformat(), network=None, gaps=False)
        assert at_result.demand_total == pytest.approx(total)
        assert at_result.demand_covered == pytest.approx(covered)
        assert at_result.demand_multi_covered == pytest.approx(multi)
        assert strip[text]["demand_total"] == pytest.approx(total)
        assert strip[text]["covered_share"] == pytest.approx(covered / total, abs=1e-6)
        assert strip[text]["stations_open"] == int(open_now.sum())
        figures[text] = covered / total
    # the times differ: the strip is not one number repeated
    assert len({round(v, 6) for v in figures.values()}) > 1


def test_host_sheet_with_head_counts_feeds_demand(store, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "地址", "类型", "经度", "纬度", "户外劳动者人数", "开放时间"])
    sheet.append(["某银行网点", "广外某路1号", "银行", 116.331, 39.884, 12, "每天 9:00-17:00"])
    sheet.append(["某超市", "广外某路2号", "超市", 116.332, 39.885, None, ""])
    sheet.append(["某加油站", "广外某路3号", "加油站", 116.333, 39.886, 30, ""])
    book.save(tmp_path / "hosts.xlsx")
    report = import_demand_sheet(store, tmp_path / "hosts.xlsx", progress=False)
    assert report["imported"] == 2 and report["people"] == 42
    assert [s["row"] for s in report["skipped"]] == [2] and report["rejected"] == []


def test_rows_outside_the_accounts_street_are_rejected(store, sheet):
    import sqlalchemy as sa

    from stations.schema import demand_table
    from stations.scope import Area, Scope

    def streets():
        with store.engine.connect() as conn:
            return [s for (s,) in conn.execute(sa.select(demand_table.c.street))]

    scope = Scope(role="street", area=Area(district="西城区", street="广安门外街道"))
    report = import_demand_sheet(store, sheet["path"], progress=False, scope=scope)
    outside = [r for r in report["rejected"] if r["column"] == "街道"]
    assert report["imported"] + len(outside) == 42
    assert all("不在本账号的管辖范围" in r["reason"] for r in outside)
    assert set(streets()) == {"广安门外街道"} and len(streets()) == report["imported"]
    # the row found only to 西城区 waits for a pin in the account's own street
    assert [p["name"] for p in pending_pins(store, street="广安门外街道")] == ["只写了区"]
    # the same sheet by another street's union: only the rows in that street (and the
    # unplaced one, as its own) get in
    other = import_demand_sheet(store, sheet["path"], progress=False, source="other",
                                scope=Scope(role="street",
                                            area=Area(district="西城区", street="白纸坊街道")))
    assert other["imported"] == streets().count("白纸坊街道") < report["imported"]


def test_cli_template_import_and_pending(store, tmp_path, sheet):
    runner = CliRunner()
    made = runner.invoke(main, ["demand", "template", str(tmp_path / "mine.xlsx")])
    assert made.exit_code == 0 and (tmp_path / "mine.xlsx").exists()
    result = runner.invoke(main, ["demand", "import", str(sheet["path"]), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["imported"] == 42 and len({r["row"] for r in body["rejected"]}) == 5
    again = runner.invoke(main, ["demand", "import", str(sheet["path"]), "--json"])
    assert json.loads(again.stdout)["imported"] == 42
    assert demand_summary(store)[0]["points"] == 42  # re-importing a file replaces its rows
    text = runner.invoke(main, ["demand", "import", str(sheet["path"])])
    assert "第 21 行" in text.stdout and "待定位 1 行" in text.stdout
    pending = runner.invoke(main, ["demand", "pending", "--json"])
    assert [p["name"] for p in json.loads(pending.stdout)] == ["只写了区"]
    bad = runner.invoke(main, ["demand", "template", str(tmp_path / "x.doc")])
    assert bad.exit_code == 2 and "xlsx" in bad.stderr
    point = json.loads(pending.stdout)[0]["id"]
    pinned = runner.invoke(main, ["demand", "pin", str(point), "--lon", "116.331", "--lat",
                                  "39.884", "--json"])
    assert pinned.exit_code == 0, pinned.output
    assert json.loads(pinned.stdout)["street"] == "广安门外街道"
    assert json.loads(runner.invoke(main, ["demand", "pending", "--json"]).stdout) == []
    missing = runner.invoke(main, ["demand", "pin", "99999", "--lon", "116.3", "--lat", "39.9"])
    assert missing.exit_code != 0 and "99999" in (missing.stderr or missing.output)


def test_sheet_pins_and_coverage_on_both_backends(backend_store, sheet):
    """The import, the pin queue and the counted demand are the same on SQLite and PostGIS
    (where a point waiting for a pin has a null ``geom``)."""
    report = import_demand_sheet(backend_store, sheet["path"], progress=False)
    assert report["imported"] == 42 and len(report["pending_pin"]) == 1
    waiting = pending_pins(backend_store)
    assert len(waiting) == 1 and waiting[0]["lat"] is None
    result = area_coverage(backend_store, street="广外", radius_m=RADIUS, network=None,
                           gaps=False)
    assert result.demand.source == "imported"
    assert result.as_dict()["demand_pending_pin"] == 0  # it has no street yet
    before = result.demand_total
    set_pin(backend_store, waiting[0]["id"], lon=116.331, lat=39.884, district="西城区",
            street="广安门外街道")
    after = area_coverage(backend_store, street="广外", radius_m=RADIUS, network=None,
                          gaps=False)
    assert after.demand_total == before + 9  # the pinned row now counts
