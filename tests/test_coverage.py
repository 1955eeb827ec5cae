"""Coverage: equal to an independent brute-force count, exactly, on random data.

The oracle measures every demand-station pair with ``sqrt(dx² + dy²)`` and decides who may
serve whom by asking :class:`stations.hours.OpeningHours` directly, point by point.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geodata.crs.projection import from_metric, to_metric
from geodata.planning.coverage import (
    DEFAULT_RADIUS_M,
    AreaSpec,
    StationArrays,
    area_coverage,
    compute_coverage,
    coverage_arrays,
    walk_radius,
)
from geodata.planning.demand import DemandSet
from stations.errors import NuanxinError, ValidationError
from stations.hours import TZ, OpeningHours
from stations.records import Station
from stations.settings import DETOUR_FACTOR

CRS = "EPSG:4548"
HOURS = ["24/7", "Mo-Fr 09:00-17:00", "Mo-Su 05:00-10:00", "Mo-Su 20:00-02:00",
         "Mo-Fr 08:30-11:00,13:30-17:00", "Sa,Su 10:00-16:00", ""]
SHIFTS = [(-1, -1), (300, 780), (1320, 1800), (480, 1320), (360, 600)]


def _brute(demand_xy, station_xy, radius, eligible=None):
    d = np.sqrt((demand_xy[:, None, 0] - station_xy[None, :, 0]) ** 2
                + (demand_xy[:, None, 1] - station_xy[None, :, 1]) ** 2)
    if eligible is not None:
        d = np.where(eligible, d, np.inf)
    return (d <= radius).sum(axis=1), d.min(axis=1) if d.shape[1] else np.full(len(d), np.inf)


def test_counts_equal_brute_force_on_random_data():
    rng = np.random.default_rng(20240501)
    for case in range(300):
        integer = case % 2 == 1  # integer grids make exact ties at the radius common
        n, m = int(rng.integers(0, 250)), int(rng.integers(0, 40))
        if integer:
            demand = rng.integers(0, 40, (n, 2)).astype(float)
            stations = rng.integers(0, 40, (m, 2)).astype(float)
            radius = float(rng.integers(1, 20))
        else:
            demand = rng.uniform(0, 2000, (n, 2))
            stations = rng.uniform(0, 2000, (m, 2))
            radius = float(rng.uniform(20, 600))
        cap = int(rng.integers(1, 5))
        got = coverage_arrays(demand, stations, radius, min_stations=cap)
        count, nearest = _brute(demand, stations, radius)
        np.testing.assert_array_equal(got.count, np.minimum(count, cap), err_msg=f"case {case}")
        np.testing.assert_array_equal(got.nearest_m, nearest, err_msg=f"case {case}")


@pytest.mark.parametrize("integer", [False, True], ids=["float", "integer-ties"])
def test_raster_prepass_gives_exactly_the_per_point_counts(integer):
    from geodata.planning.reach import capped_counts

    rng = np.random.default_rng(31 + integer)
    for case in range(40):
        n, m = int(rng.integers(1, 3000)), int(rng.integers(1, 60))
        scale = 60 if integer else 5000.0
        demand = rng.integers(0, scale, (n, 2)).astype(float) if integer else rng.uniform(
            0, scale, (n, 2))
        stations = rng.integers(0, scale, (m, 2)).astype(float) if integer else rng.uniform(
            0, scale, (m, 2))
        radius = float(rng.integers(2, 25)) if integer else float(rng.uniform(100, 1500))
        cap = int(rng.integers(1, 4))
        count, _ = _brute(demand, stations, radius)
        got = capped_counts(demand, stations, radius, cap, raster=True)
        np.testing.assert_array_equal(got, np.minimum(count, cap), err_msg=f"case {case}")


def test_large_inputs_take_the_raster_path_and_stay_exact():
    from geodata.planning import reach

    rng = np.random.default_rng(8)
    demand = rng.uniform(0, 20_000, (60_000, 2))
    stations = rng.uniform(0, 20_000, (400, 2))
    assert reach._raster_cell(60_000, 400, 1000.0, demand) is not None
    got = coverage_arrays(demand, stations, 1000.0, min_stations=3)
    count = np.zeros(len(demand), dtype=np.int64)
    for chunk in range(0, len(demand), 10_000):
        part, _ = _brute(demand[chunk:chunk + 10_000], stations, 1000.0)
        count[chunk:chunk + 10_000] = part
    np.testing.assert_array_equal(got.count, np.minimum(count, 3))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=40),
       st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=12),
       st.integers(1, 15), st.integers(1, 4))
def test_counts_equal_brute_force_property(demand, stations, radius, cap):
    d = np.array(demand, dtype=float).reshape(-1, 2)
    s = np.array(stations, dtype=float).reshape(-1, 2)
    got = coverage_arrays(d, s, float(radius), min_stations=cap)
    count, _ = _brute(d, s, float(radius))
    np.testing.assert_array_equal(got.count, np.minimum(count, cap))


def _oracle_window(start, end, at, day):
    """The shift instance holding ``at`` (yesterday's or today's), else today's."""
    if at is None:
        base = datetime.combine(day, datetime.min.time(), tzinfo=TZ)
        return base + timedelta(minutes=start), base + timedelta(minutes=end)
    for back in (1, 0):
        base = datetime.combine(at.date() - timedelta(days=back), datetime.min.time(), tzinfo=TZ)
        a, b = base + timedelta(minutes=start), base + timedelta(minutes=end)
        if a <= at < b:
            return a, b
    base = datetime.combine(at.date(), datetime.min.time(), tzinfo=TZ)
    return base + timedelta(minutes=start), base + timedelta(minutes=end)


@pytest.mark.parametrize("at", [None, "2026-03-04T06:30", "2026-03-04T01:00",
                                "2026-03-07T12:00", "2026-03-05T21:15"],
                         ids=["no-time", "wed-morning", "after-midnight", "saturday", "evening"])
def test_time_of_day_and_shifts_equal_brute_force(at):
    rng = np.random.default_rng(7)
    day = date(2026, 3, 4)
    when = None if at is None else datetime.fromisoformat(at).replace(tzinfo=TZ)
    for _case in range(8):
        n, m = 120, 20
        d_xy = rng.uniform(0, 3000, (n, 2))
        s_xy = rng.uniform(0, 3000, (m, 2))
        hours = [HOURS[i] for i in rng.integers(0, len(HOURS), m)]
        shifts = np.array([SHIFTS[i] for i in rng.integers(0, len(SHIFTS), n)])
        weight = rng.integers(0, 20, n).astype(float)
        lon, lat = from_metric(d_xy[:, 0] + 440_000, d_xy[:, 1] + 4_410_000, CRS)
        slon, slat = from_metric(s_xy[:, 0] + 440_000, s_xy[:, 1] + 4_410_000, CRS)
        demand = DemandSet(lon=lon, lat=lat, weight=weight, shift_start=shifts[:, 0],
                           shift_end=shifts[:, 1])
        stations = StationArrays.from_arrays(slon, slat, hours=hours)
        result = compute_coverage(demand, stations, radius_m=700, min_stations=2, at=at,
                                  day=day, crs=CRS)
        parsed = [OpeningHours.parse(h or None) for h in hours]
        eligible = np.ones((n, m), dtype=bool)
        for i in range(n):
            for j in range(m):
                ok = True
                if when is not None:
                    ok = parsed[j].is_open(when) is True
                if ok and shifts[i, 0] >= 0:
                    a, b = _oracle_window(int(shifts[i, 0]), int(shifts[i, 1]), when, day)
                    ok = parsed[j].open_during(a, b) is True
                eligible[i, j] = ok
        # with a time, a point on a shift counts only when the time falls in its shift
        working = np.ones(n, dtype=bool)
        if when is not None:
            for i in range(n):
                if shifts[i, 0] >= 0:
                    a, b = _oracle_window(int(shifts[i, 0]), int(shifts[i, 1]), when, day)
                    working[i] = a <= when < b
        dx, dy = to_metric(lon, lat, CRS)
        sx, sy = to_metric(slon, slat, CRS)
        count, nearest = _brute(np.column_stack([dx, dy]), np.column_stack([sx, sy]), 700.0,
                                eligible)
        count, nearest, w = count[working], nearest[working], weight[working]
        np.testing.assert_array_equal(result.arrays.count, np.minimum(count, 2))
        np.testing.assert_array_equal(result.arrays.nearest_m, nearest)
        assert result.demand_total == w.sum()
        assert result.demand_covered == w[count >= 1].sum()
        assert result.demand_multi_covered == w[count >= 2].sum()
        assert result.info.get("demand_off_shift", 0) == int((~working).sum())


def test_minutes_use_the_detour_factor_without_a_network():
    radius, method = walk_radius(minutes=15)
    assert radius == pytest.approx(15 * 75 / DETOUR_FACTOR)  # ≈ 865 m straight
    assert method == "straight_line_x_detour"
    assert walk_radius(minutes=15, network=True) == (pytest.approx(1125.0), "network")
    assert walk_radius() == (DEFAULT_RADIUS_M, "straight_line")


@pytest.mark.parametrize("kwargs, match", [
    ({"radius_m": -5}, "radius"),
    ({"minutes": 0}, "minutes"), ({"min_stations": 0}, "min_stations"),
    ({"at": "tomorrow morning"}, "ISO 8601"),
], ids=["negative-radius", "zero-minutes", "zero-n", "bad-time"])
def test_bad_arguments_are_user_errors(kwargs, match):
    demand = DemandSet(lon=[116.34], lat=[39.88], weight=[1])
    with pytest.raises(ValidationError, match=match):
        compute_coverage(demand, StationArrays.from_arrays([116.34], [39.88]), **kwargs)


def _spec(names, districts, geoms):
    return AreaSpec("polygon", None, shapely.union_all(geoms), sub_level="street",
                    sub_names=names, sub_districts=districts, sub_geoms=geoms)


def _box(x0, y0, x1, y1):
    lon, lat = from_metric([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], CRS)
    return shapely.Polygon(np.column_stack([lon, lat]))


def test_json_body_breakdowns_and_farthest_are_consistent():
    rng = np.random.default_rng(3)
    x = rng.uniform(440_000, 444_000, 500)
    y = rng.uniform(4_410_000, 4_412_000, 500)
    lon, lat = from_metric(x, y, CRS)
    groups = rng.choice(["sanitation", "courier", "taxi"], 500)
    weight = rng.integers(1, 9, 500).astype(float)
    demand = DemandSet(lon=lon, lat=lat, weight=weight, group=groups)
    slon, slat = from_metric([440_500, 441_000, 443_500], [4_411_000, 4_411_200, 4_410_500], CRS)
    west, east = _box(440_000, 4_410_000, 442_000, 4_412_000), _box(442_000, 4_410_000,
                                                                    444_000, 4_412_000)
    spec = _spec(["西片", "东片"], ["某区", "某区"], [west, east])
    result = compute_coverage(demand, StationArrays.from_arrays(slon, slat), radius_m=800,
                              area=spec, crs=CRS)
    body = result.as_dict()
    for key in ("demand_total", "demand_covered", "covered_share", "multi_covered_share",
                "by_area", "radius_m", "min_stations", "at", "method", "farthest", "uncovered",
                "by_group", "demand_source"):
        assert key in body
    assert body["demand_total"] == weight.sum()
    assert sum(a["demand_total"] for a in body["by_area"]) == pytest.approx(weight.sum())
    assert sum(a["demand_covered"] for a in body["by_area"]) == pytest.approx(
        body["demand_covered"])
    west_mask = x < 442_000
    assert body["by_area"][0]["demand_points"] == int(west_mask.sum())
    assert sum(g["demand_total"] for g in body["by_group"]) == pytest.approx(weight.sum())
    sx, sy = to_metric(slon, slat, CRS)
    dist = np.sqrt((x[:, None] - sx[None]) ** 2 + (y[:, None] - sy[None]) ** 2)
    # to_metric(from_metric(x)) round-trips to well below a millimetre
    i = int(np.argmax(dist.min(axis=1)))
    assert body["farthest"]["lon"] == pytest.approx(lon[i], abs=1e-7)
    assert body["farthest"]["distance_m"] == pytest.approx(dist.min(axis=1)[i], abs=0.06)
    assert body["uncovered"] == int((dist.min(axis=1) > 800).sum())
    assert body["uncovered_points"][0]["weight"] == weight[dist.min(axis=1) > 800].max()


def test_explicit_street_names_win_over_approximate_polygons():
    west, east = _box(440_000, 4_410_000, 442_000, 4_412_000), _box(442_000, 4_410_000,
                                                                    444_000, 4_412_000)
    lon, lat = from_metric([441_000, 441_000], [4_411_000, 4_411_000], CRS)
    demand = DemandSet(lon=lon, lat=lat, weight=[1, 1], street=["东片", ""])
    result = compute_coverage(demand, StationArrays.from_arrays(lon[:1], lat[:1]),
                              area=_spec(["西片", "东片"], ["区", "区"], [west, east]), crs=CRS)
    assert result.area_index.tolist() == [1, 0]


def test_uncovered_grid_cells_dissolve_to_their_area():
    from geodata.planning.demand import grid_demand

    square = _box(440_000, 4_410_000, 441_000, 4_411_000)
    grid = grid_demand(square, cell_m=100, crs=CRS)
    slon, slat = from_metric([440_000], [4_410_000], CRS)
    result = compute_coverage(grid, StationArrays.from_arrays(slon, slat), radius_m=500,
                              crs=CRS)
    geom = result.uncovered_geometry()
    gx = shapely.transform(geom, lambda xy: np.column_stack(to_metric(xy[:, 0], xy[:, 1], CRS)))
    n_uncovered = int((~result.covered).sum())
    assert 0 < n_uncovered < 100
    assert gx.area == pytest.approx(n_uncovered * 100 * 100, rel=1e-6)
    pts = shapely.points(result.demand.lon[~result.covered], result.demand.lat[~result.covered])
    assert shapely.contains(geom, pts).all()


def test_demo_district_matches_brute_force(store):
    from geodata.demo import load_demo
    from geodata.places import areas
    from geodata.planning.demand import load_demand

    load_demo(store)
    result = area_coverage(store, district="西城", radius_m=1000, demand="community_proxy")
    polygon = areas.district_polygon("西城区")
    demand = load_demand(store, include_proxy=True)
    inside = shapely.intersects_xy(polygon, demand.lon, demand.lat)
    stations = store.list_stations(status="open")
    forward = Transformer.from_crs("EPSG:4326", "EPSG:4548", always_xy=True)
    dx, dy = forward.transform(demand.lon[inside], demand.lat[inside])
    sx, sy = forward.transform([s.lon for s in stations], [s.lat for s in stations])
    count, _ = _brute(np.column_stack([dx, dy]), np.column_stack([sx, sy]), 1000.0)
    w = demand.weight[inside]
    assert result.demand_total == w.sum() > 0
    assert result.demand_covered == w[count >= 1].sum()
    assert result.demand_multi_covered == w[count >= 2].sum()
    body = result.as_dict()
    assert body["demand_source"] == "community_proxy" and body["demand_unit"] == "points"
    assert body["demand_label_zh"] == "社区代理点" and "不代表人数" in body["demand_note_zh"]
    # the proxy is a choice: by default the same store is measured by area
    assert area_coverage(store, district="西城", radius_m=1000).demand.source == "area"
    streets = areas.load_street_areas()
    assert {a["name"] for a in body["by_area"]} >= set(streets[streets["district"] == "西城区"]
                                                       ["name"])
    assert body["area"]["name"] == "西城区"
    with pytest.raises(NuanxinError, match="close matches"):
        area_coverage(store, district="西城县")


def test_area_without_demand_is_measured_by_area(store):
    from geodata.places import areas

    row = areas.find_street("广外")
    store.add_stations([Station(name="驿站", lon=row["lon"], lat=row["lat"],
                                opening_hours="24/7")])
    result = area_coverage(store, street="广外", radius_m=600)
    polygon = areas.street_polygon("广外")
    assert result.demand.source == "area" and len(result.demand) > 50
    # every cell overlaps the street; the weights add up to its area (m²)
    h = 50.0
    x, y = to_metric(result.demand.lon, result.demand.lat, result.demand.crs)
    boxes = shapely.transform(shapely.box(x - h, y - h, x + h, y + h), lambda xy: np.column_stack(
        from_metric(xy[:, 0], xy[:, 1], result.demand.crs)))
    assert np.all(shapely.intersects(boxes, polygon))
    import geopandas as gpd

    area = gpd.GeoSeries([polygon], crs="EPSG:4326").to_crs(result.demand.crs).area.iloc[0]
    assert result.demand_total == pytest.approx(area, rel=1e-9)
    assert 0 < result.covered_share < 1
    body = result.as_dict()
    assert body["demand_source"] == "area" and body["demand_unit"] == "m2"
    assert body["demand_label_zh"] == "按面积" and "不是人数" in body["demand_note_zh"]
    assert body["demand_approx"] is True


def test_unknown_hours_count_only_when_asked():
    lon, lat = from_metric([440_000, 440_100], [4_410_000, 4_410_000], CRS)
    demand = DemandSet(lon=lon[:1], lat=lat[:1], weight=[1])
    stations = StationArrays.from_arrays(lon, lat, hours=["", "Mo-Fr 09:00-17:00"])
    at = "2026-03-04T20:00"  # Wednesday evening: the 9-5 station is closed
    strict = compute_coverage(demand, stations, at=at, crs=CRS)
    lenient = compute_coverage(demand, stations, at=at, crs=CRS, unknown_hours="include")
    assert strict.demand_covered == 0 and lenient.demand_covered == 1
    assert strict.as_dict()["stations_unknown_hours"] == 1
    assert compute_coverage(demand, stations, at="2026-03-04T10:00",
                            crs=CRS).demand_covered == 1


def test_area_default_equals_an_independent_grid_computation(store):
    """The area view of 广外 against geopandas directly: 100 m boxes aligned in EPSG:4548,
    clipped to the street polygon, covered when the box centre is within the radius of a
    station; and within a few per cent of the exact disc-union area."""
    import geopandas as gpd

    from geodata.places import areas

    polygon = areas.street_polygon("广外")
    rng = np.random.default_rng(1616)
    minx, miny, maxx, maxy = polygon.bounds
    slon = rng.uniform(minx, maxx, 6)
    slat = rng.uniform(miny, maxy, 6)
    store.add_stations([Station(name=f"站{i}", lon=float(a), lat=float(b), opening_hours="24/7")
                        for i, (a, b) in enumerate(zip(slon, slat, strict=True))])
    radius = 450.0
    result = area_coverage(store, street="广外", radius_m=radius, network=None, gaps=False)
    assert result.demand.source == "area" and result.demand.crs == CRS
    street = gpd.GeoDataFrame(geometry=[polygon], crs="EPSG:4326").to_crs(CRS)
    bx0, by0, bx1, by1 = street.total_bounds
    xs = np.arange(np.floor(bx0 / 100), np.ceil(bx1 / 100)) * 100
    ys = np.arange(np.floor(by0 / 100), np.ceil(by1 / 100)) * 100
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    cells = gpd.GeoDataFrame({"cx": gx + 50, "cy": gy + 50},
                             geometry=shapely.box(gx, gy, gx + 100, gy + 100), crs=CRS)
    clipped = gpd.overlay(cells, street, how="intersection", keep_geom_type=True)
    clipped = clipped[clipped.area > 0]
    forward = Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    sx, sy = forward.transform(slon, slat)
    d = np.hypot(clipped["cx"].to_numpy()[:, None] - np.asarray(sx)[None, :],
                 clipped["cy"].to_numpy()[:, None] - np.asarray(sy)[None, :]).min(axis=1)
    area = clipped.area.to_numpy()
    assert result.demand_total == pytest.approx(area.sum(), rel=1e-9)
    assert result.demand_total == pytest.approx(street.area.iloc[0], rel=1e-9)
    assert result.demand_covered == pytest.approx(area[d <= radius].sum(), rel=1e-9)
    assert len(result.demand) == len(clipped)
    discs = shapely.union_all(shapely.buffer(shapely.points(sx, sy), radius, quad_segs=64))
    exact = shapely.area(shapely.intersection(discs, street.geometry.iloc[0]))
    assert result.covered_share == pytest.approx(exact / street.area.iloc[0], abs=0.03)
    assert 0.05 < result.covered_share < 0.98


def test_radius_and_minutes_together_mean_within_both():
    """Issue 15: radius and minutes together are no longer an error: a point counts when it
    is within both (the smaller reach, with the method of the one that binds)."""
    from geodata.planning.coverage import walk_radius

    by_minutes, method = walk_radius(minutes=5)
    assert walk_radius(radius_m=100, minutes=5) == (100.0, "straight_line")
    assert walk_radius(radius_m=10_000, minutes=5) == (by_minutes, method)
    demand = DemandSet(lon=[116.34, 116.3445], lat=[39.88, 39.88], weight=[1, 1])  # 0, ~385 m
    stations = StationArrays.from_arrays([116.34], [39.88])
    both = compute_coverage(demand, stations, radius_m=300, minutes=10)
    assert both.as_dict()["demand_covered"] == 1
    assert compute_coverage(demand, stations, radius_m=1000, minutes=10
                            ).as_dict()["demand_covered"] == 2
