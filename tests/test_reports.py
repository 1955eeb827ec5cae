"""Outputs: GeoJSON, the Excel report for a union's leaders, and the pure Folium planning map."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from geodata.crs.datums import convert
from geodata.crs.projection import from_metric
from geodata.io.reports import coverage_geojson, siting_geojson, write_excel_report, write_geojson
from geodata.network import service_area_polygons
from geodata.planning.coverage import AreaSpec, StationArrays, compute_coverage
from geodata.planning.demand import DemandSet
from webmap.planmap import planning_layers, planning_map

CRS = "EPSG:4548"
EVIL = '<script>alert("x")</script>'


@pytest.fixture
def result():
    rng = np.random.default_rng(4)
    x = rng.uniform(440_000, 443_000, 300)
    y = rng.uniform(4_414_000, 4_416_000, 300)
    lon, lat = from_metric(x, y, CRS)
    demand = DemandSet(lon=lon, lat=lat, weight=rng.integers(1, 5, 300),
                       group=rng.choice(["sanitation", "courier"], 300),
                       name=[f"点{i}" for i in range(300)])
    slon, slat = from_metric([440_500, 441_500], [4_414_500, 4_415_500], CRS)
    stations = StationArrays.from_arrays(slon, slat, ids=[7, 8], names=[EVIL, "广外驿站"],
                                         hours=["24/7", "Mo-Fr 09:00-17:00"])
    (lon0, lon1), (lat0, lat1) = from_metric([439_900, 443_100], [4_413_900, 4_416_100], CRS)
    mid = (lon0 + lon1) / 2
    west, east = shapely.box(lon0, lat0, mid, lat1), shapely.box(mid, lat0, lon1, lat1)
    spec = AreaSpec("polygon", None, shapely.union_all([west, east]), sub_level="street",
                    sub_names=["西街道", "东街道"], sub_districts=["某区", "某区"],
                    sub_geoms=[west, east])
    return compute_coverage(demand, stations, radius_m=700, area=spec, crs=CRS)


SITING = {"chosen": [{"id": 3, "name": "候选<b>甲</b>", "lon": 116.35, "lat": 39.89,
                      "gain": 12.0, "gain_share": 0.1, "unique_gain": 12.0, "rank": 1,
                      "address": "某路 1 号", "street": "广安门外街道"}],
          "covered_before": 50.0, "covered_after": 62.0, "covered_share_before": 0.5,
          "covered_share_after": 0.62, "model": "mclp", "mode": "exact"}


def test_coverage_geojson_lists_every_uncovered_point_and_the_gap(result, tmp_path):
    doc = coverage_geojson(result)
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert kinds.count("station") == 2
    assert kinds.count("uncovered_demand") == int((~result.covered).sum()) > 0
    assert kinds.count("uncovered_area") == 1 and kinds.count("farthest_demand") == 1
    assert doc["summary"]["demand_total"] == result.demand_total
    assert len(doc["summary"]["by_area"]) == 2
    path = write_geojson(tmp_path / "c.geojson", doc)
    back = json.loads(path.read_text(encoding="utf-8"))
    gap = next(f for f in back["features"] if f["properties"]["kind"] == "uncovered_area")
    geom = shapely.geometry.shape(gap["geometry"])
    pts = [f["geometry"]["coordinates"] for f in back["features"]
           if f["properties"]["kind"] == "uncovered_demand"]
    assert all(geom.contains(shapely.Point(p)) for p in pts)
    site = siting_geojson(SITING)
    assert site["features"][0]["properties"]["rank"] == 1
    assert site["summary"]["covered_after"] == 62.0


def test_excel_report_has_chinese_sheets_and_every_row(result, tmp_path):
    from openpyxl import load_workbook

    path = write_excel_report(tmp_path / "report.xlsx", coverage=result, siting=SITING)
    book = load_workbook(path)
    assert book.sheetnames == ["汇总", "分街道", "分群体", "缺口", "未覆盖需求", "推荐站点"]
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["需求来源"] == "导入的需求点" and summary["需求计量"].startswith("人数")
    assert summary["覆盖率"] == pytest.approx(result.covered_share, abs=1e-6)
    assert summary["需求总量 (人)"] == result.demand_total
    streets = list(book["分街道"].iter_rows(values_only=True))
    assert streets[0][:5] == ("街道/区", "所属区", "需求总量 (人)", "已覆盖 (人)", "覆盖率")
    assert [r[0] for r in streets[1:]] == ["西街道", "东街道"]
    gaps = list(book["未覆盖需求"].iter_rows(min_row=2, values_only=True))
    assert len(gaps) == int((~result.covered).sum())
    first = result.uncovered_points(1)[0]
    glon, glat = convert(first["lon"], first["lat"], src="wgs84", dst="gcj02")
    assert gaps[0][7] == first["lon"] and gaps[0][9] == pytest.approx(float(glon), abs=1e-6)
    sites = list(book["推荐站点"].iter_rows(values_only=True))
    assert sites[0][0] == "排名" and sites[1][2] == "候选<b>甲</b>"
    only_sites = write_excel_report(tmp_path / "s.xlsx", siting=SITING)
    assert load_workbook(only_sites).sheetnames == ["汇总", "推荐站点"]


def test_planning_map_draws_in_the_tile_datum_and_escapes_text(result):
    html = planning_map(to_tiles="gcj02", coverage=result, siting=SITING).get_root().render()
    lon, lat = float(result.stations.lon[0]), float(result.stations.lat[0])
    glon, glat = convert(lon, lat, src="wgs84", dst="gcj02")
    assert f"{float(glat)}, {float(glon)}" in html  # folium writes [lat, lon]
    assert f"{lat}, {lon}" not in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "候选&lt;b&gt;甲&lt;/b&gt;" in html
    plain = planning_map(to_tiles="wgs84", coverage=result).get_root().render()
    assert f"{lat}, {lon}" in plain
    names = [g.layer_name for g in planning_layers(coverage=result, siting=SITING)]
    assert names == ["服务范围", "驿站", "未覆盖需求", "推荐新站点"]


def test_planning_map_text_cannot_break_out_of_folium_template_literals():
    """Folium puts popup/tooltip HTML inside JS template literals: ` ${ and \\ are entities."""
    slon, slat = from_metric([440_500], [4_414_500], CRS)
    hostile = "x`);alert(1);//${alert(2)}\\"
    stations = StationArrays.from_arrays(slon, slat, ids=[1], names=[hostile], hours=["24/7"])
    html = planning_map(stations=stations, radius_m=500).get_root().render()
    assert "alert(1)" in html  # the name is drawn...
    assert "`);alert" not in html and "${alert" not in html  # ...but cannot end the literal
    assert "x&#96;);alert(1);//&#36;&#123;alert(2)&#125;&#92;<" in html  # { } too (issue 8)


def test_isochrones_replace_service_circles():
    from pathlib import Path

    from geodata.network import load_network

    net = load_network(Path(__file__).parent / "data" / "riverside.osm")
    stations = [{"id": 1, "name": "北岸", "lon": 116.3460, "lat": 39.8832}]
    polys = service_area_polygons(net, stations, 600)
    assert len(polys) == 1 and polys[0].contains(shapely.Point(116.3420, 39.8830))
    (service, *_), = [planning_layers(stations=stations, isochrones=polys, to_tiles="gcj02")]
    html = planning_map(stations=stations, isochrones=polys).get_root().render()
    assert "步行可达范围" in html and "L.circle(" not in html
    assert service.layer_name == "服务范围"


def _gapped(result):
    from geodata.planning.gaps import CandidateArrays, find_gaps

    clon, clat = from_metric([442_800], [4_415_800], CRS)
    result.gaps = find_gaps(result, candidates=CandidateArrays(
        ids=np.array([5]), names=np.array(["候选=甲"], dtype=object), lon=clon, lat=clat))
    return result


def test_excel_report_has_a_gap_sheet_per_street(result, tmp_path):
    from openpyxl import load_workbook

    result = _gapped(result)
    assert result.gaps
    book = load_workbook(write_excel_report(tmp_path / "g.xlsx", coverage=result))
    streets = {g.street for g in result.gaps}
    assert {n for n in book.sheetnames if n.startswith("缺口-")} == {f"缺口-{s}" for s in streets}
    listed = []
    for street in streets:
        rows = list(book[f"缺口-{street}"].iter_rows(values_only=True))
        assert rows[0][:3] == ("缺口编号", "规模", "规模 (人)")
        listed += [(r[0], r[2]) for r in rows[1:]]
    assert sorted(listed) == sorted((g.rank, pytest.approx(g.size)) for g in result.gaps)
    named = [r for s in streets for r in book[f"缺口-{s}"].iter_rows(min_row=2, values_only=True)
             if r[6] == "候选=甲"]
    assert named and all(isinstance(r[6], str) for r in named)  # a name, never a formula


@pytest.mark.parametrize("source, unit, words", [
    ("area", "m2", ("按面积", "面积 (不是人数)", "需求总量 (平方米)")),
    ("community_proxy", "points", ("社区代理点", "点数", "需求总量 (个点)")),
], ids=["area", "proxy"])
def test_excel_report_names_the_demand_source_in_words(result, tmp_path, source, unit, words):
    from openpyxl import load_workbook

    result.demand.source, result.demand.unit, result.demand.cell_m = source, unit, 100.0
    book = load_workbook(write_excel_report(tmp_path / "w.xlsx", coverage=result))
    cells = [c for row in book["汇总"].iter_rows(values_only=True) for c in row if c]
    assert words[0] in next(c for c in cells if str(c).startswith(words[0]))
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=2, values_only=True)}
    assert summary["需求计量"].startswith(words[1]) and words[2] in summary
    assert "导入" in summary["说明"]  # the report invites the union to import its own


def test_geojson_and_map_carry_the_gaps(result):
    result = _gapped(result)
    doc = coverage_geojson(result)
    gaps = [f for f in doc["features"] if f["properties"]["kind"] == "gap"]
    assert [g["properties"]["rank"] for g in gaps] == [g.rank for g in result.gaps]
    html = planning_map(to_tiles="wgs84", coverage=result).get_root().render()
    assert "缺口 #1" in html and "候选=甲" in html
