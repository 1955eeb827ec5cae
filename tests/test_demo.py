"""The shipped Beijing demo: matches its builder, real geometry, sample stations, loaders, CLI."""

from __future__ import annotations

import csv
import json
from datetime import datetime

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import Point, shape

from geodata.crs.datums import wgs84_to_gcj02
from geodata.crs.projection import BEIJING_CRS, transformer
from geodata.demo import DEMO_DIR, load_demo
from geodata.demo.build import DEFAULT_SOURCE, build
from geodata.errors import GeodataError
from geodata.places import areas
from stations.hours import OpeningHours
from stations.schema import demand_table
from tests.conftest import require
from webmap.cli import main

GEOMETRY_FILES = ("districts.geojson", "streets_approx.geojson")


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    require((DEFAULT_SOURCE / "vonng-adcode").is_dir(),
            f"the demo source data at {DEFAULT_SOURCE} (kept in the repository)")
    dest = tmp_path_factory.mktemp("demo")
    figures = build(DEFAULT_SOURCE, dest)
    return dest, figures


def _features(path):
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def _csv(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _metric(geom):
    fwd = transformer("EPSG:4326", BEIJING_CRS)
    return shapely.transform(geom, lambda c: np.column_stack(fwd.transform(c[:, 0], c[:, 1])))


# -- shipped files equal a fresh build -------------------------------------------------------


def test_shipped_file_list_matches_build(rebuilt):
    dest, _ = rebuilt
    assert sorted(p.name for p in dest.iterdir()) == sorted(p.name for p in DEMO_DIR.iterdir())


@pytest.mark.parametrize("name", sorted(p.name for p in DEMO_DIR.iterdir()
                                        if p.name not in GEOMETRY_FILES))
def test_shipped_file_equals_build(rebuilt, name):
    dest, _ = rebuilt
    assert (DEMO_DIR / name).read_bytes() == (dest / name).read_bytes(), (
        f"{name} differs from `python -m geodata.demo build`; rebuild and commit")


@pytest.mark.parametrize("name", GEOMETRY_FILES)
def test_shipped_polygons_equal_build(rebuilt, name):
    """Byte-equal with the pinned GEOS; otherwise same properties and same shapes."""
    dest, _ = rebuilt
    if (DEMO_DIR / name).read_bytes() == (dest / name).read_bytes():
        return
    shipped, fresh = _features(DEMO_DIR / name), _features(dest / name)
    assert [f["properties"] for f in shipped] == [f["properties"] for f in fresh]
    for a, b in zip(shipped, fresh, strict=True):
        ga, gb = shape(a["geometry"]), shape(b["geometry"])
        assert ga.symmetric_difference(gb).area <= 1e-6 * ga.area


def test_build_is_deterministic(rebuilt, tmp_path):
    dest, _ = rebuilt
    build(DEFAULT_SOURCE, tmp_path)
    for path in dest.iterdir():
        assert path.read_bytes() == (tmp_path / path.name).read_bytes(), path.name


def test_build_figures_match_the_sources(rebuilt):
    _, figures = rebuilt
    rank = {"4": 0, "5": 0}
    with_point = 0
    for path in sorted((DEFAULT_SOURCE / "vonng-adcode" / "adcode").glob("1101*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for rec in csv.reader(handle):
                if rec[4] in rank:
                    rank[rec[4]] += 1
                    with_point += rec[4] == "5" and rec[12] != ""
    assert figures["districts"] == 16
    assert figures["communities"] == rank["5"] and figures["communities_with_point"] == with_point
    assert figures["demo_demand"] == with_point
    assert figures["streets"] >= rank["4"]


def test_build_refuses_a_missing_source(tmp_path):
    with pytest.raises(GeodataError, match="source"):
        build(tmp_path / "nowhere", tmp_path / "out")


def test_demo_files_stay_small():
    sizes = {p.name: p.stat().st_size for p in DEMO_DIR.iterdir()}
    assert sizes["districts.geojson"] < 1.5e6
    assert sum(sizes.values()) < 3.0e6


def test_licences_shipped_beside_the_data():
    assert "licenses/by/4.0" in (DEMO_DIR / "LICENSE-vonng-adcode.md").read_text(encoding="utf-8")
    assert "DO WHAT THE" in (DEMO_DIR / "LICENSE-modood-divisions.txt").read_text(encoding="utf-8")
    assert "MIT" in (DEMO_DIR / "LICENSE-areacity.txt").read_text(encoding="utf-8")
    readme = (DEMO_DIR / "README.md").read_text(encoding="utf-8")
    for needle in ("Vonng/adcode", "WGS84", "GCJ-02", "approx", "2016", "2023", "示例数据"):
        assert needle in readme


# -- districts -------------------------------------------------------------------------------


def test_sixteen_valid_districts_in_wgs84():
    frame = areas.load_districts()
    assert len(frame) == 16 and frame.crs.to_epsg() == 4326
    assert frame.geometry.is_valid.all()
    assert {"东城区", "西城区", "朝阳区", "海淀区", "延庆区"} <= set(frame["name"])
    assert set(frame["datum"]) == {"wgs84"}
    total_km2 = sum(_metric(g).area for g in frame.geometry) / 1e6
    assert total_km2 == pytest.approx(16410, rel=0.02)  # Beijing: 16,410 km²
    minx, miny, maxx, maxy = frame.total_bounds
    assert 115.4 < minx < maxx < 117.6 and 39.4 < miny < maxy < 41.1


def test_districts_were_converted_vertex_by_vertex():
    source = {f["properties"]["adcode"]: shape(f["geometry"]) for f in _features(
        DEFAULT_SOURCE / "vonng-adcode" / "beijing_districts_gcj02.geojson")} \
        if DEFAULT_SOURCE.exists() else None
    require(source is not None, f"the demo source data at {DEFAULT_SOURCE}")
    for feat in _features(DEMO_DIR / "districts.geojson"):
        shipped = shape(feat["geometry"])
        coords = shapely.get_coordinates(shipped)
        back = np.column_stack(wgs84_to_gcj02(coords[:, 0], coords[:, 1]))
        original = shapely.get_coordinates(source[feat["properties"]["adcode"]])
        assert len(back) == len(original)
        assert np.abs(back - original).max() < 2e-7  # 7-decimal rounding, nothing else
        assert np.abs(coords - original).max() > 1e-3  # and it really moved off GCJ-02


# -- streets and communities -----------------------------------------------------------------


def test_streets_table():
    streets = areas.load_streets()
    guangwai = areas.find_street("广安门外街道")
    assert guangwai["code"] == "110102020" and guangwai["short_name"] == "广安门外"
    assert guangwai["pinyin"] == "guang an men wai" and guangwai["district"] == "西城区"
    # Office point 116.340061, 39.879314 (GCJ-02) converted to WGS84.
    assert (guangwai["lon"], guangwai["lat"]) != (116.340061, 39.879314)
    gx, gy = wgs84_to_gcj02(guangwai["lon"], guangwai["lat"])
    assert (float(gx), float(gy)) == pytest.approx((116.340061, 39.879314), abs=2e-7)
    xicheng = [s for s in streets if s["district_code"] == "110102"]
    assert len(xicheng) == 15
    renamed = areas.find_street("六里桥街道")
    assert renamed["name_2016"] == "卢沟桥街道" and renamed["vintage"] == "2016-2023"
    assert all(s["vintage"] in ("2016-2023", "2016", "2023") for s in streets)


def test_communities_table():
    communities = areas.load_communities()
    ours = [c for c in communities if c["street_code"] == "110102020"]
    assert len(ours) == 30 and sum(c["lon"] is not None for c in ours) == 19
    duck = next(c for c in ours if c["name"] == "鸭子桥社区居委会")
    assert duck["short_name"] == "鸭子桥" and duck["kind"] == "community"
    assert duck["street"] == "广安门外街道" and duck["district"] == "西城区"
    assert all((c["lon"] is None) == (c["lat"] is None) for c in communities)
    xicheng = [c for c in communities if c["district_code"] == "110102"]
    assert len(xicheng) == 261 and sum(c["lon"] is not None for c in xicheng) == 156


def test_every_street_with_a_point_has_an_approximate_polygon():
    streets = areas.load_streets()
    communities = areas.load_communities()
    with_point = {s["code"] for s in streets if s["lon"] is not None}
    with_point |= {c["street_code"] for c in communities if c["lon"] is not None}
    frame = areas.load_street_areas()
    assert set(frame["code"]) == with_point
    assert frame["approx"].all() and frame.geometry.is_valid.all()


def test_approximate_streets_tile_their_district():
    frame = areas.load_street_areas()
    districts = areas.load_districts().set_index("adcode")
    for dcode, group in frame.groupby("district_code"):
        district = _metric(districts.loc[dcode, "geometry"])
        parts = [_metric(g) for g in group.geometry]
        union = shapely.union_all(parts)
        assert sum(p.area for p in parts) == pytest.approx(union.area, rel=1e-3)  # no overlaps
        assert union.difference(district).area < 0.002 * district.area  # inside the district


def test_community_points_fall_in_their_approximate_street():
    frame = areas.load_street_areas().set_index("code")
    points = [c for c in areas.load_communities()
              if c["district_code"] == "110102" and c["lon"] is not None]
    inside = sum(frame.loc[c["street_code"], "geometry"].covers(Point(c["lon"], c["lat"]))
                 for c in points)
    assert inside >= 0.95 * len(points)  # shared coordinates may hand a point to a neighbour


# -- demo stations ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_stations():
    return _features(DEMO_DIR / "demo_stations.geojson")


def test_demo_stations_are_samples_in_xicheng(demo_stations):
    xicheng = areas.district_polygon("西城区")
    assert len(demo_stations) >= 25
    codes = [f["properties"]["code"] for f in demo_stations]
    assert len(set(codes)) == len(codes)
    for feat in demo_stations:
        props, point = feat["properties"], shape(feat["geometry"])
        assert props["sample"] is True
        assert xicheng.contains(point), props["name"]
        street = areas.street_polygon(props["street_code"])
        assert street.contains(point), props["name"]
        assert areas.locate(point.x, point.y) == ("西城区", props["street"])
    in_guangwai = [f for f in demo_stations if f["properties"]["street"] == "广安门外街道"]
    assert len(in_guangwai) >= 20


def test_demo_stations_sit_on_real_points(demo_stations):
    real = {(c["lon"], c["lat"]) for c in areas.load_communities() if c["lon"] is not None}
    real |= {(s["lon"], s["lat"]) for s in areas.load_streets() if s["lon"] is not None}
    for feat in demo_stations:
        assert tuple(feat["geometry"]["coordinates"]) in real, feat["properties"]["name"]


def test_news_station_placed_at_the_street_office(demo_stations):
    office = areas.find_street("广外")
    name = "北京宝林轩国际大酒店暖心驿站"
    [hotel] = [f for f in demo_stations if f["properties"]["name"] == name]
    assert hotel["geometry"]["coordinates"] == [office["lon"], office["lat"]]
    assert "街道办事处点位" in hotel["properties"]["notes"]
    assert set(hotel["properties"]["amenities"].values()) == {"unknown"}


def test_demo_stations_vary(demo_stations):
    props = [f["properties"] for f in demo_stations]
    assert {p["status"] for p in props} == {"open", "suspended", "closed"}
    assert all(p["status_reason"] for p in props if p["status"] != "open")
    assert {"open", "ask_staff", "register", "unknown"} <= {p["access"] for p in props}
    assert len({p["host_type"] for p in props}) >= 6
    assert any(p["area_m2"] is None for p in props) and any(p["verified_on"] for p in props)
    states = {v for p in props for v in p["amenities"].values()}
    assert states == {"yes", "no", "unknown"}
    hours = [OpeningHours.parse(p["opening_hours"]) for p in props if p["opening_hours"]]
    assert any(h.always_open for h in hours)                               # 24/7
    texts = {p["opening_hours"] for p in props}
    assert any("," in t for t in texts)                                    # split hours
    assert "Mo-Su 06:00-18:00" in texts and "Mo-Fr 09:00-17:00" in texts
    half_past_midnight = datetime(2025, 6, 4, 0, 30)  # a Wednesday night
    assert any(h.is_open(half_past_midnight) and not h.always_open for h in hours)  # past 24:00
    assert any(not p["opening_hours"] for p in props)                      # unknown hours


def test_demo_candidates_sheet():
    rows = _csv(DEMO_DIR / "demo_candidates.csv")
    assert list(rows[0])[:13] == ["名称", "地址", "类型", "经度", "纬度", "面积", "楼层",
                                  "是否临街", "开放时间", "设施", "进入方式", "联系人", "电话"]
    assert "示例" in rows[0] and all(r["示例"] == "是" for r in rows)
    community = [r for r in rows if r["类型"] == "社区"]
    assert len(community) == 30 and len(rows) - len(community) >= 12
    assert any(r["经度"] == "" for r in rows) and any(r["经度"] for r in rows)
    duck = next(r for r in rows if r["名称"].startswith("鸭子桥"))
    assert (duck["经度"], duck["纬度"]) == ("116.344576", "39.874188")  # GCJ-02 as in the source
    assert any(r["楼层"] == "2" for r in rows) and any(r["面积"] == "8" for r in rows)
    assert any(r["进入方式"] == "需注册" for r in rows) and any(r["面积"] == "" for r in rows)


def test_demo_candidates_read_with_the_domain_parsers():
    from geodata.io.tables import read_rows
    from stations.amenities import parse_amenity_list
    from stations.records import parse_access, parse_bool, parse_host_type

    rows = read_rows(DEMO_DIR / "demo_candidates.csv")
    assert {"name", "address", "host_type", "lon", "lat", "area_m2", "floor", "street_facing",
            "opening_hours", "amenities", "access", "contact_name", "contact_phone",
            "sample"} <= set(rows[0][1])
    for _, row in rows:
        OpeningHours.parse(row["opening_hours"])
        parse_amenity_list(row["amenities"])
        parse_access(row["access"])
        parse_host_type(row["host_type"])
        assert parse_bool(row["sample"]) is True


def test_demo_demand_is_every_community_point():
    rows = _csv(DEMO_DIR / "demo_demand.csv")
    with_point = [c for c in areas.load_communities() if c["lon"] is not None]
    assert len(rows) == len(with_point)
    assert {r["weight"] for r in rows} == {"1"} and {r["group"] for r in rows} == {"community"}
    assert {r["sample"] for r in rows} == {"是"}


# -- area lookups ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["西城区", "西城", "xicheng", "110102"])
def test_district_polygon_accepts_names_and_codes(name):
    assert areas.district_polygon(name).equals(areas.district_polygon("西城区"))
    assert areas.district_polygon(name).contains(Point(116.3667, 39.9123))


@pytest.mark.parametrize("name", ["广安门外街道", "广安门外", "广外", "110102020",
                                  "广安门外街道办事处"])
def test_street_polygon_accepts_full_short_and_colloquial_names(name):
    polygon = areas.street_polygon(name)
    assert polygon.equals(areas.street_polygon("广安门外街道"))
    assert polygon.contains(Point(*(areas.find_street("广外")[k] for k in ("lon", "lat"))))


def test_unknown_names_suggest_close_matches():
    with pytest.raises(GeodataError, match="广安门外街道"):
        areas.street_polygon("广安门")
    with pytest.raises(GeodataError, match="西城区"):
        areas.district_polygon("西成区")


def test_ambiguous_street_needs_a_district():
    with pytest.raises(GeodataError, match="朝阳区.*海淀区"):
        areas.find_street("八里庄街道")
    assert areas.find_street("八里庄街道", district="海淀")["district"] == "海淀区"


def test_locate_and_locate_many():
    office = areas.find_street("广外")
    assert areas.locate(office["lon"], office["lat"]) == ("西城区", "广安门外街道")
    gx, gy = wgs84_to_gcj02(office["lon"], office["lat"])
    assert areas.locate(float(gx), float(gy), crs="gcj02") == ("西城区", "广安门外街道")
    assert areas.locate(121.47, 31.23) == (None, None)  # Shanghai
    many = areas.locate_many([office["lon"], 116.4010383, 0.0], [office["lat"], 39.9145862, 0])
    assert many == [("西城区", "广安门外街道"), ("东城区", "东华门街道"), (None, None)]


# -- loading ---------------------------------------------------------------------------------


def test_load_demo_is_idempotent(store):
    import sqlalchemy as sa

    first = load_demo(store)
    second = load_demo(store)
    assert first == second and first["stations"] == store.count_stations()
    with store.engine.connect() as conn:
        demand = conn.execute(sa.select(sa.func.count()).select_from(demand_table)).scalar()
    assert demand == first["demand"] == len(_csv(DEMO_DIR / "demo_demand.csv"))


@pytest.mark.postgis
def test_load_demo_into_postgis(pg_fresh_url):
    import sqlalchemy as sa

    from stations.store import Store

    store = Store(pg_fresh_url)
    store.init()
    try:
        figures = load_demo(store)
        assert load_demo(store) == figures
        assert store.count_stations() == figures["stations"] == len(
            _features(DEMO_DIR / "demo_stations.geojson"))
        sql = sa.text("SELECT count(*) FROM stations s JOIN demand_points d "
                      "ON ST_DWithin(s.geom::geography, d.geom::geography, 1.0)")
        with store.engine.connect() as conn:
            together = conn.execute(sql).scalar()
        assert together >= 20  # stations sit on community points, which are demand points
    finally:
        store.dispose()


def test_init_demo_then_nearest_returns_demo_stations_in_metres(store):
    from pyproj import Geod

    runner = CliRunner()
    assert runner.invoke(main, ["init", "--demo"], catch_exceptions=False).exit_code == 0
    result = runner.invoke(main, ["nearest", "--lon", "116.34", "--lat", "39.88", "--json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    results = json.loads(result.stdout)["results"]
    names = {f["properties"]["name"] for f in _features(DEMO_DIR / "demo_stations.geojson")}
    assert results and all(r["name"] in names for r in results)
    geod = Geod(ellps="WGS84")
    for r in results:
        metres = geod.inv(116.34, 39.88, r["lon"], r["lat"])[2]
        assert r["distance_m"] == pytest.approx(metres, abs=1.0)
    distances = [r["distance_m"] for r in results]
    assert distances == sorted(distances)
    open_stations = [s for s in store.list_stations(status="open")]
    nearest = min(geod.inv(116.34, 39.88, s.lon, s.lat)[2] for s in open_stations)
    assert distances[0] == pytest.approx(nearest, abs=1.0)
