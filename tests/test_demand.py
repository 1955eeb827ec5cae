"""Demand: importing worker gathering points, shifts, groups, and the grid stand-in."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

from geodata.crs.datums import convert
from geodata.crs.projection import from_metric, to_metric
from geodata.planning.demand import (
    PROXY_SOURCES,
    DemandSet,
    count_demand,
    demand_for_area,
    grid_demand,
    import_demand,
    load_demand,
    normalise_group,
    parse_shift,
)
from stations.errors import ValidationError
from stations.schema import demand_table


def _csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _rows(store):
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.select(demand_table).order_by(demand_table.c.id)).mappings()]


# ----------------------------------------------------------------------------- shifts, groups
@pytest.mark.parametrize("text, expected", [
    ("05:00-13:00", (300, 780)),
    ("5:30-13:00", (330, 780)),
    ("22:00-06:00", (1320, 1800)),
    ("05：00～13：00", (300, 780)),
    ("5点-13点", (300, 780)),
    ("06:00至14:30", (360, 870)),
    ("00:00-24:00", (0, 1440)),
    ("", None),
    (None, None),
], ids=["plain", "short-hour", "past-midnight", "full-width", "dian", "zhi", "all-day", "blank",
        "none"])
def test_parse_shift_reads_common_forms(text, expected):
    assert parse_shift(text) == expected


@pytest.mark.parametrize("text, match", [
    ("25:00-26:00", "超出范围"),
    ("05:61-06:00", "超出范围"),
    ("05:00-05:00", "起止时间相同"),
    ("morning", "无法识别"),
    ("05:00-13:00,14:00-18:00", "无法识别"),
], ids=["hour", "minute", "empty-interval", "words", "two-intervals"])
def test_parse_shift_rejects_bad_text(text, match):
    with pytest.raises(ValidationError, match=match):
        parse_shift(text)


@pytest.mark.parametrize("text, key", [
    ("环卫", "sanitation"), ("环卫工人", "sanitation"), ("快递员", "courier"),
    ("外卖骑手", "delivery"), ("Taxi", "taxi"), ("网约车司机", "ride_hailing"),
    ("ride-hailing", "ride_hailing"), ("保安", "保安"), ("", ""),
])
def test_groups_are_normalised_and_unknown_text_kept(text, key):
    assert normalise_group(text) == key


# ----------------------------------------------------------------------------- import
def test_import_csv_keeps_good_rows_and_names_every_bad_one(store, tmp_path):
    path = _csv(tmp_path / "demand.csv", ["名称", "经度", "纬度", "人数", "分组", "班次"], [
        ["广外环卫所", "116.3401", "39.8801", "12", "环卫", "05:00-13:00"],
        ["顺丰快递站", "116.3452", "39.8756", "30", "快递", "08:00-22:00"],
        ["负人数", "116.3400", "39.8800", "-3", "环卫", ""],
        ["坏班次", "116.3400", "39.8800", "2", "环卫", "早班"],
        ["", "", "39.88", "1", "", ""],
        ["夜班出租车", "116.3500", "39.8900", "", "出租", "22:00-06:00"],
        ["坏纬度", "116.35", "north", "1", "", ""],
    ])
    report = import_demand(store, path)
    assert report["imported"] == 3
    assert [(r["row"], r["column"]) for r in report["rejected"]] == [
        (3, "人数"), (4, "班次"), (5, "经度"), (7, "纬度")]
    assert all(r["reason"] for r in report["rejected"])
    rows = _rows(store)
    assert [r["name"] for r in rows] == ["广外环卫所", "顺丰快递站", "夜班出租车"]
    assert [r["weight"] for r in rows] == [12.0, 30.0, 1.0]  # blank weight → 1
    assert [r["group"] for r in rows] == ["sanitation", "courier", "taxi"]
    assert [r["shift"] for r in rows] == ["05:00-13:00", "08:00-22:00", "22:00-06:00"]
    assert {r["source"] for r in rows} == {"demand.csv"}


def test_import_geojson_converts_gcj02_to_wgs84(store, tmp_path):
    lon, lat = 116.3460, 39.8812
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"name": "快递站", "weight": 8, "group": "courier"}},
        {"type": "Feature", "geometry": {"type": "LineString",
                                         "coordinates": [[lon, lat], [lon + 0.01, lat]]},
         "properties": {"name": "线"}},
    ]}
    path = tmp_path / "demand.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    report = import_demand(store, path, crs="gcj02")
    assert report["imported"] == 1
    assert report["rejected"][0]["row"] == 2 and report["rejected"][0]["column"] == "几何"
    row = _rows(store)[0]
    want = convert(lon, lat, src="gcj02", dst="wgs84")
    assert row["lon"] == pytest.approx(float(want[0]), abs=1e-9)
    assert row["lat"] == pytest.approx(float(want[1]), abs=1e-9)
    assert abs(row["lon"] - lon) > 0.004  # really moved (~550 m in Beijing)


def test_import_xlsx_with_english_headers(store, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["name", "lon", "lat", "headcount", "group", "shift"])
    sheet.append(["taxi rank", 116.35, 39.88, 20, "taxi", "06:00-18:00"])
    sheet.append(["site", 116.36, 39.89, 5.5, "工地", None])
    book.save(tmp_path / "demand.xlsx")
    report = import_demand(store, tmp_path / "demand.xlsx")
    assert (report["imported"], report["rejected"], report["people"]) == (2, [], 25.5)
    assert [(r["weight"], r["group"]) for r in _rows(store)] == [(20.0, "taxi"),
                                                                 (5.5, "construction")]


def test_import_is_one_transaction(store, tmp_path, monkeypatch):
    path = _csv(tmp_path / "d.csv", ["name", "lon", "lat"], [["a", "116.3", "39.9"],
                                                             ["b", "116.4", "39.9"]])

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "bump_version", boom)
    with pytest.raises(RuntimeError):
        import_demand(store, path)
    assert count_demand(store) == 0


def test_replace_source_reloads_without_duplicates(store, tmp_path):
    path = _csv(tmp_path / "d.csv", ["name", "lon", "lat"], [["a", "116.3", "39.9"]])
    other = _csv(tmp_path / "other.csv", ["name", "lon", "lat"], [["x", "116.3", "39.9"]])
    import_demand(store, other)
    import_demand(store, path, replace_source=True)
    import_demand(store, path, replace_source=True)
    assert sorted(r["name"] for r in _rows(store)) == ["a", "x"]
    import_demand(store, path, replace=True)
    assert [r["name"] for r in _rows(store)] == ["a"]


def test_load_demo_goes_through_import_demand(store):
    import geodata.demo as demo

    assert demo.DEMAND_SOURCE in PROXY_SOURCES
    first = demo.load_demo(store)
    again = demo.load_demo(store)
    with open(demo.DEMO_DIR / "demo_demand.csv", encoding="utf-8") as fh:
        expected = sum(1 for _ in csv.DictReader(fh))
    assert first["demand"] == again["demand"] == expected == count_demand(store)
    rows = _rows(store)
    assert all(r["sample"] and r["source"] == demo.DEMAND_SOURCE for r in rows)
    assert load_demand(store, include_proxy=True).source == "community_proxy"
    assert len(load_demand(store)) == 0  # proxy demand only when asked for


# ----------------------------------------------------------------------------- arrays
def _square(x0, y0, size, crs="EPSG:4548"):
    xs = np.array([x0, x0 + size, x0 + size, x0, x0])
    ys = np.array([y0, y0, y0 + size, y0 + size, y0])
    lon, lat = from_metric(xs, ys, crs)
    return shapely.Polygon(np.column_stack([lon, lat]))


def test_grid_is_aligned_and_inside_the_polygon():
    poly = _square(440_000, 4_416_000, 1000)
    grid = grid_demand(poly, cell_m=100, crs="EPSG:4548")
    assert len(grid) == 100 and grid.source == "grid" and grid.cell_m == 100
    x, y = to_metric(grid.lon, grid.lat, "EPSG:4548")
    np.testing.assert_allclose(np.sort(np.unique(np.round(x, 3))),
                               440_050 + 100 * np.arange(10), atol=1e-3)
    assert np.all(shapely.contains_xy(poly, grid.lon, grid.lat))
    assert np.all(grid.weight == 1)
    assert len(grid_demand(poly, cell_m=250, crs="EPSG:4548")) == 16


def test_grid_weights_from_a_polygon_layer_keep_headcounts():
    import geopandas as gpd

    poly = _square(440_000, 4_416_000, 1000)
    west = _square(440_000, 4_416_000, 500)
    east = _square(440_500, 4_416_500, 500)
    layer = gpd.GeoDataFrame({"people": [50.0, 30.0]}, geometry=[west, east], crs="EPSG:4326")
    grid = grid_demand(poly, cell_m=100, crs="EPSG:4548", weight_layer=layer,
                       weight_column="people")
    assert grid.weight.sum() == pytest.approx(80.0)
    assert np.count_nonzero(grid.weight) == 50
    assert set(np.round(grid.weight[grid.weight > 0], 9)) == {2.0, 1.2}
    with pytest.raises(ValidationError, match="weight_column"):
        grid_demand(poly, weight_layer=layer, weight_column="nope")


def test_grid_weights_from_a_raster():
    poly = _square(440_000, 4_416_000, 400)
    values = np.arange(16, dtype=float).reshape(4, 4)  # 100 m pixels, top-left corner
    grid = grid_demand(poly, cell_m=100, crs="EPSG:4548",
                       raster=(values, (440_000, 4_416_400, 100, 100), "EPSG:4548"))
    x, y = to_metric(grid.lon, grid.lat, "EPSG:4548")
    row = np.floor((4_416_400 - np.asarray(y)) / 100).astype(int)
    col = np.floor((np.asarray(x) - 440_000) / 100).astype(int)
    np.testing.assert_array_equal(grid.weight, values[row, col])
    assert grid.weight.sum() == values.sum()


def test_area_uses_imported_demand_else_a_grid(store, tmp_path):
    poly = _square(440_000, 4_416_000, 1000)
    empty = demand_for_area(store, poly)
    assert empty.source == "area" and np.count_nonzero(empty.weight > 1.0) == 100  # + slivers
    assert empty.total == pytest.approx(1_000_000, rel=1e-6) and empty.unit == "m2"
    lon, lat = from_metric(440_500, 4_416_500, "EPSG:4548")
    path = _csv(tmp_path / "d.csv", ["name", "lon", "lat", "weight"],
                [["in", lon, lat, 4], ["out", lon + 0.5, lat, 9]])
    import_demand(store, path)
    inside = demand_for_area(store, poly)
    assert inside.source == "imported" and list(inside.name) == ["in"]
    assert inside.total == 4.0


def test_demandset_rejects_negative_weights():
    with pytest.raises(ValidationError):
        DemandSet(lon=[1.0], lat=[2.0], weight=[-1.0])
