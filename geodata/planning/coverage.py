"""Coverage: which demand is within reach of a station, and by how many (交叉覆盖).

The core works on plain arrays (:func:`geodata.planning.reach.coverage_arrays`, re-exported here:
metric coordinates in, per-point station count and nearest distance out, KD-tree plus a
raster pre-pass for city-sized grids); :func:`compute_coverage` adds time of day, areas and
groups on top, and :func:`area_coverage` reads everything from a store for a district, a
street or any polygon.

Distances
---------
* ``radius_m`` alone: straight-line metres (the ACFTU "1 km service radius"), ``method`` is
  ``"straight_line"``.
* ``minutes``: walking minutes at :data:`stations.settings.WALK_SPEED_KMH`; without a network
  the walking distance is the straight-line distance × :data:`stations.settings.DETOUR_FACTOR`
  (``"straight_line_x_detour"``).
* With a :class:`geodata.network.WalkingNetwork`, radius and minutes are metres along the
  network (``"network"``).
* Both ``radius_m`` and ``minutes``: within both (the smaller reach, and its method).

A point at exactly the radius is covered (``distance <= radius``).

Time of day
-----------
* ``at``: only stations open at that moment count (hours unknown count as closed unless
  ``unknown_hours="include"``).
* With ``at``, a demand point with a ``shift`` counts only when ``at`` falls in its shift
  (the sanitation crew of 05:00-13:00 is counted at 06:00, not at 18:00); points without a
  shift always count. Those left out are reported (``demand_off_shift``).
* Without ``at``, a demand point with a ``shift`` counts only stations open at some moment of
  its shift (:meth:`stations.hours.OpeningHours.open_during`) on ``day`` (default: today in
  Asia/Shanghai).
* :func:`coverage_strip` answers the day as a strip: the covered share at 06:00, 12:00, 18:00
  and 22:00 (:data:`STRIP_TIMES`).

Demand
------
:func:`area_coverage` counts what :func:`geodata.planning.demand.demand_for_area` gives:
imported points (people), else the area view (m² of the street polygons within reach); proxy
community points only when asked for (``demand="community_proxy"``). The body says which, in
words (``demand_source``, ``demand_unit``, ``demand_label_zh``), and lists the gaps
(:mod:`geodata.planning.gaps`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np

from geodata.crs.projection import from_metric, to_metric
from geodata.nearest.index import METHOD_NETWORK, METHOD_STRAIGHT
from geodata.network.loaders import CONFIGURED, resolve_network
from geodata.planning.demand import (
    GROUP_LABELS_ZH,
    SOURCE_LABELS_ZH,
    UNIT_LABELS_ZH,
    DemandSet,
    default_crs,
    demand_for_area,
)
from geodata.planning.reach import CoverageArrays, coverage_arrays
from geodata.planning.shifts import on_shift, station_masks
from stations.errors import ValidationError
from stations.hours import TZ
from stations.settings import DEFAULT_RADIUS_M, DETOUR_FACTOR, WALK_SPEED_KMH, now

__all__ = [
    "DEFAULT_RADIUS_M",
    "METHOD_EUCLIDEAN",
    "StationArrays",
    "CoverageArrays",
    "CoverageResult",
    "AreaSpec",
    "walk_radius",
    "coverage_arrays",
    "station_masks",
    "compute_coverage",
    "coverage_strip",
    "STRIP_TIMES",
    "on_shift",
    "resolve_area",
    "area_coverage",
]

#: The ACFTU target for big cities: a 1 km service radius.
METHOD_EUCLIDEAN = "straight_line"
_M_PER_MIN = WALK_SPEED_KMH * 1000 / 60
#: The times of the day strip (local time).
STRIP_TIMES = ("06:00", "12:00", "18:00", "22:00")


# ----------------------------------------------------------------------------- inputs
@dataclass
class StationArrays:
    """Stations as arrays: ids, names, WGS84 lon/lat and opening-hours text."""

    ids: np.ndarray
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    hours_text: np.ndarray

    @classmethod
    def from_stations(cls, stations: Sequence) -> StationArrays:
        """From :class:`stations.records.Station` records (or anything with those fields)."""
        return cls(ids=np.array([s.id if s.id is not None else -1 for s in stations], np.int64),
                   names=np.array([s.name for s in stations], dtype=object),
                   lon=np.array([s.lon for s in stations], dtype=float),
                   lat=np.array([s.lat for s in stations], dtype=float),
                   hours_text=np.array([s.opening_hours or "" for s in stations], dtype=object))

    @classmethod
    def from_arrays(cls, lon, lat, *, ids=None, names=None, hours=None) -> StationArrays:
        """From plain arrays (hours text per station, blank = unknown)."""
        lon = np.asarray(lon, dtype=float)
        n = lon.size
        return cls(ids=np.arange(n) if ids is None else np.asarray(ids, np.int64),
                   names=np.array([""] * n if names is None else names, dtype=object),
                   lon=lon, lat=np.asarray(lat, dtype=float),
                   hours_text=np.array([""] * n if hours is None else hours, dtype=object))

    def __len__(self) -> int:
        return int(self.lon.size)


def walk_radius(*, radius_m: float | None = None, minutes: float | None = None,
                network: bool = False, detour_factor: float = DETOUR_FACTOR
                ) -> tuple[float, str]:
    """The search radius in metres and the method name.

    Returns ``(radius, method)``: with a network the radius is metres along it; otherwise
    straight-line metres (minutes converted at the walking speed, divided by the detour factor).
    Given both ``radius_m`` and ``minutes``, a point is within reach when it is within both:
    the smaller of the two radii, with the method of the one that binds.
    """
    by_minutes = None if minutes is None else _minutes_radius(minutes, network, detour_factor)
    if radius_m is None and by_minutes is not None:
        return by_minutes
    radius = DEFAULT_RADIUS_M if radius_m is None else radius_m
    if not _positive(radius):
        raise ValidationError(f"radius 必须为正数 (radius_m must be a positive number of metres), "
                              f"got {radius_m!r}")
    by_radius = (float(radius), METHOD_NETWORK if network else METHOD_EUCLIDEAN)
    if by_minutes is not None and by_minutes[0] < by_radius[0]:
        return by_minutes
    return by_radius


def _minutes_radius(minutes: float, network: bool, detour_factor: float) -> tuple[float, str]:
    """Walking ``minutes`` as ``(radius, method)`` (see :func:`walk_radius`)."""
    if not _positive(minutes):
        raise ValidationError(
            f"minutes 必须为正数 (must be a positive number), got {minutes!r}")
    walk = float(minutes) * _M_PER_MIN
    if network:
        return walk, METHOD_NETWORK
    if not (_positive(detour_factor) and detour_factor >= 1):
        raise ValidationError(f"detour_factor must be ≥ 1, got {detour_factor!r}")
    return walk / detour_factor, METHOD_STRAIGHT


def _positive(value) -> bool:
    try:
        return math.isfinite(float(value)) and float(value) > 0
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- areas
@dataclass
class AreaSpec:
    """What is measured: the polygon (WGS84, ``None`` = everything) and its sub-areas."""

    level: str  # "all" | "district" | "street" | "polygon"
    name: str | None
    polygon: object | None
    district: str | None = None
    sub_level: str = "district"
    sub_names: list = field(default_factory=list)
    sub_districts: list = field(default_factory=list)
    sub_geoms: list = field(default_factory=list)


def resolve_area(*, district: str | None = None, street: str | None = None,
                 polygon=None) -> AreaSpec:
    """The area of a district or street (any form the gazetteer's
    :meth:`~geodata.places.gazetteer.Gazetteer.find_district` /
    :meth:`~geodata.places.gazetteer.Gazetteer.find_street` accept) or of a polygon.

    Raises
    ------
    GeodataError
        Unknown or ambiguous names (the message lists close matches or the choices).
    """
    from geodata.places import areas
    from geodata.places.gazetteer import load_gazetteer

    if street:
        found = load_gazetteer().find_street(street, district=district)
        geom = areas.street_polygon(found.code)
        return AreaSpec("street", found.name, geom, district=found.district,
                        sub_level="street", sub_names=[found.name],
                        sub_districts=[found.district], sub_geoms=[geom])
    if district:
        found = load_gazetteer().find_district(district)
        geom = areas.district_polygon(found.code)
        frame = areas.load_street_areas()
        frame = frame[frame["district"] == found.name]
        return AreaSpec("district", found.name, geom, district=found.name, sub_level="street",
                        sub_names=list(frame["name"]), sub_districts=list(frame["district"]),
                        sub_geoms=list(frame.geometry.values))
    if polygon is not None:
        frame = areas.load_street_areas()
        frame = frame[frame.intersects(polygon)]
        return AreaSpec("polygon", None, polygon, sub_level="street",
                        sub_names=list(frame["name"]), sub_districts=list(frame["district"]),
                        sub_geoms=list(frame.geometry.values))
    frame = areas.load_districts()
    return AreaSpec("all", None, None, sub_level="district", sub_names=list(frame["name"]),
                    sub_districts=list(frame["name"]), sub_geoms=list(frame.geometry.values))


def _assign_by_name(out: np.ndarray, names: np.ndarray, districts: np.ndarray,
                    spec: AreaSpec) -> None:
    """Points that carry a sub-area's name get its index (vectorised over the distinct
    names: a city's area view has millions of cells and a few hundred names)."""
    by_name: dict = {}
    for i, nm in enumerate(spec.sub_names):
        by_name.setdefault(nm, []).append(i)
    uniq, inverse = np.unique(names.astype(str), return_inverse=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    bounds = np.searchsorted(inverse.ravel()[order], np.arange(len(uniq) + 1))
    for k, name in enumerate(uniq.tolist()):
        hits = by_name.get(name, ()) if name else ()
        if not hits:
            continue
        rows = order[bounds[k]:bounds[k + 1]]
        if len(hits) == 1:
            out[rows] = hits[0]
            continue
        for h in hits:  # the same street name in two districts
            out[rows[districts[rows] == spec.sub_districts[h]]] = h


def _assign_areas(demand: DemandSet, spec: AreaSpec) -> np.ndarray:
    """Index into ``spec.sub_names`` per demand point (-1 when in none).

    An explicit street (district) name on a point wins over the approximate polygons; the
    others go to the first polygon holding them (bounding-box filter, then a prepared
    point-in-polygon test).
    """
    import shapely

    n = len(demand)
    out = np.full(n, -1, dtype=np.int64)
    if not spec.sub_names or n == 0:
        return out
    names = np.asarray(demand.street if spec.sub_level == "street" else demand.district,
                       dtype=object)
    if n:
        _assign_by_name(out, names, np.asarray(demand.district, dtype=object), spec)
    for i, geom in enumerate(spec.sub_geoms):
        todo = np.flatnonzero(out < 0)
        if not todo.size:
            break
        minx, miny, maxx, maxy = geom.bounds
        lon, lat = demand.lon[todo], demand.lat[todo]
        box = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
        if not box.any():
            continue
        prepare_shared(geom)
        hit = shapely.intersects_xy(geom, lon[box], lat[box])
        out[todo[box][hit]] = i
    return out


_PREPARING = threading.Lock()


def prepare_shared(geom) -> None:
    """``shapely.prepare(geom)`` for a geometry several threads use (dask's worker threads,
    the web server's): preparing changes the geometry in place, and two threads preparing
    the same one at once crash GEOS (seen here: "Fatal Python error: Aborted" in
    ``intersects_xy``). Once prepared, queries from any thread are safe."""
    import shapely

    if geom is not None and not shapely.is_prepared(geom):
        with _PREPARING:
            shapely.prepare(geom)  # a no-op when another thread got there first


# ----------------------------------------------------------------------------- the result
def _share(part: float, total: float) -> float | None:
    return None if total <= 0 else part / total


#: Most grid cells dissolved exactly for a drawing; beyond, cells are merged 2×2, 4×4... first.
MAX_OUTLINE_CELLS = 30_000


def _cells_outline(x: np.ndarray, y: np.ndarray, cell_m: float):
    """The union of grid cells centred at ``x, y`` (metres), fast and bounded.

    The cells of one grid tile the plane, so :func:`shapely.coverage_union_all` dissolves them
    in linear time. Cells of several areas' grids may be offset from each other (GEOS then
    refuses), and a whole city has millions: centres are then snapped to one grid, coarsened
    until at most :data:`MAX_OUTLINE_CELLS` remain (an outline within a cell or two, for maps).
    """
    import shapely

    h = cell_m / 2
    if len(x) <= MAX_OUTLINE_CELLS:  # a border cell of two areas appears twice
        xy = np.unique(np.round(np.column_stack([x, y]), 3), axis=0)
        x, y = xy[:, 0], xy[:, 1]
    if len(x) <= MAX_OUTLINE_CELLS:
        try:
            return shapely.coverage_union_all(shapely.box(x - h, y - h, x + h, y + h))
        except shapely.errors.GEOSException:
            pass
    size = cell_m
    while True:
        kx, ky = np.floor(x / size).astype(np.int64), np.floor(y / size).astype(np.int64)
        bx, by = int(kx.min()), int(ky.min())
        span = int(ky.max()) - by + 1
        keys = np.unique((kx - bx) * span + (ky - by))  # one integer per cell: a fast unique
        if len(keys) <= MAX_OUTLINE_CELLS:
            break
        size *= 2
    x0, y0 = (keys // span + bx) * size, (keys % span + by) * size
    return shapely.coverage_union_all(shapely.box(x0, y0, x0 + size, y0 + size))


@dataclass
class CoverageResult:
    """Everything measured; :meth:`as_dict` is the JSON body (INTERFACE.md keys + extras)."""

    demand: DemandSet
    stations: StationArrays
    arrays: CoverageArrays
    radius_m: float
    min_stations: int
    method: str
    crs: str
    area: AreaSpec | None = None
    area_index: np.ndarray | None = None
    at: datetime | None = None
    minutes: float | None = None
    detour_factor: float = DETOUR_FACTOR
    network: dict | None = None
    info: dict = field(default_factory=dict)
    gaps: list | None = None  # geodata.planning.gaps.Gap, largest first
    strip: list | None = None  # coverage_strip rows

    # demand in words -----------------------------------------------------------------
    def demand_words(self) -> dict:
        """Which demand was counted, in words: source, unit, label and a note for the page."""
        d = self.demand
        unit_zh = UNIT_LABELS_ZH.get(d.unit, d.unit)
        label = SOURCE_LABELS_ZH.get(d.source, d.source)
        if d.source == "area":
            amount = f"{self.demand_total / 1e6:,.2f} 平方公里"
            note = (f"需求按面积计：{d.cell_m:g} 米网格裁剪到"
                    + ("街道范围（近似边界）" if d.meta.get("approx") else "区域范围")
                    + f"，共 {amount}；覆盖率是“可达面积占比”，不是人数。"
                    "请导入本工会掌握的户外劳动者聚集点（需求表），结果才反映人。")
        elif d.source == "community_proxy":
            amount = f"{len(d)} 个社区点"
            note = (f"需求为社区代理点：每个社区党群服务中心计 1 个点，共 {len(d)} 个点，"
                    "不代表人数。请导入本工会掌握的户外劳动者聚集点（需求表）。")
        else:
            amount = f"{self.demand_total:,.10g} 人"
            note = f"需求为导入的需求点：{len(d)} 个点，共 {self.demand_total:,.10g} 人。"
        return {"demand_source": d.source, "demand_unit": d.unit, "demand_unit_zh": unit_zh,
                "demand_label_zh": label, "demand_amount_zh": amount, "demand_note_zh": note,
                "demand_approx": bool(d.meta.get("approx", False))}

    # totals ---------------------------------------------------------------------------
    @property
    def covered(self) -> np.ndarray:
        """Boolean per demand point: within reach of at least one station."""
        return self.arrays.count >= 1

    @property
    def multi_covered(self) -> np.ndarray:
        """Boolean per demand point: within reach of at least ``min_stations`` stations."""
        return self.arrays.count >= max(1, self.min_stations)

    @property
    def demand_total(self) -> float:
        return float(self.demand.weight.sum())

    @property
    def demand_covered(self) -> float:
        return float(self.demand.weight[self.covered].sum())

    @property
    def demand_multi_covered(self) -> float:
        return float(self.demand.weight[self.multi_covered].sum())

    @property
    def covered_share(self) -> float | None:
        return _share(self.demand_covered, self.demand_total)

    @property
    def multi_covered_share(self) -> float | None:
        return _share(self.demand_multi_covered, self.demand_total)

    def _summary(self, mask: np.ndarray) -> dict:
        w = self.demand.weight[mask]
        total = float(w.sum())
        covered = float(w[self.covered[mask]].sum())
        multi = float(w[self.multi_covered[mask]].sum())
        return {"demand_total": _r(total), "demand_covered": _r(covered),
                "covered_share": _rs(_share(covered, total)),
                "multi_covered_share": _rs(_share(multi, total)),
                "demand_points": int(mask.sum()),
                "uncovered_points": int((mask & ~self.covered).sum())}

    def by_area(self) -> list[dict]:
        """Per street (or district) breakdown."""
        if self.area is None or self.area_index is None:
            return []
        out = []
        for i, name in enumerate(self.area.sub_names):
            row = {"name": name, "district": self.area.sub_districts[i],
                   "level": self.area.sub_level}
            row.update(self._summary(self.area_index == i))
            out.append(row)
        outside = self.area_index < 0
        if outside.any():
            row = {"name": "未归属区域", "district": None, "level": "none"}
            row.update(self._summary(outside))
            out.append(row)
        return out

    def by_group(self) -> list[dict]:
        """Per worker group breakdown."""
        groups = np.asarray(self.demand.group, dtype=str)
        out = []
        for g in sorted(set(groups.tolist())):
            row = {"group": g, "label_zh": GROUP_LABELS_ZH.get(g, g)}
            row.update(self._summary(groups == g))
            out.append(row)
        return out

    def farthest(self) -> dict | None:
        """The demand point farthest from any (eligible) station."""
        d = self.arrays.nearest_m
        if d.size == 0 or not np.isfinite(d).any():
            return None
        i = int(np.argmax(np.where(np.isfinite(d), d, -1.0)))
        j = int(self.arrays.nearest_idx[i])
        return {"lon": round(float(self.demand.lon[i]), 7),
                "lat": round(float(self.demand.lat[i]), 7),
                "distance_m": round(float(d[i]), 1), "weight": float(self.demand.weight[i]),
                "name": str(self.demand.name[i]), "group": str(self.demand.group[i]),
                "nearest_station_id": int(self.stations.ids[j]),
                "nearest_station_name": str(self.stations.names[j])}

    def uncovered_points(self, limit: int | None = None) -> list[dict]:
        """Uncovered demand, heaviest and farthest first (``distance_m`` null: no station)."""
        idx = np.nonzero(~self.covered)[0]
        d = self.arrays.nearest_m[idx]
        order = np.lexsort((-np.where(np.isfinite(d), d, 1e300), -self.demand.weight[idx]))
        idx = idx[order][:limit]
        out = []
        for i in idx.tolist():
            dist = self.arrays.nearest_m[i]
            area = None
            if self.area_index is not None and self.area_index[i] >= 0:
                area = self.area.sub_names[self.area_index[i]]
            out.append({"id": int(self.demand.ids[i]) if self.demand.ids[i] >= 0 else None,
                        "name": str(self.demand.name[i]),
                        "lon": round(float(self.demand.lon[i]), 7),
                        "lat": round(float(self.demand.lat[i]), 7),
                        "weight": float(self.demand.weight[i]), "group": str(self.demand.group[i]),
                        "shift": self.demand.shift_text(i), "area": area,
                        "nearest_m": round(float(dist), 1) if np.isfinite(dist) else None})
        return out

    def uncovered_geometry(self, *, buffer_m: float | None = None):
        """Uncovered demand dissolved into (Multi)Polygons, WGS84.

        Grid demand: the union of the uncovered cells. Point demand: the union of discs of
        ``buffer_m`` (default 100 m) around uncovered points. Clipped to the area polygon.
        """
        import shapely

        mask = ~self.covered
        if not mask.any():
            return shapely.MultiPolygon()
        x, y = to_metric(self.demand.lon[mask], self.demand.lat[mask], self.crs)
        x, y = np.asarray(x), np.asarray(y)
        if self.demand.source in ("grid", "area") and self.demand.cell_m and buffer_m is None:
            if self.demand.crs and self.demand.crs != self.crs:
                x, y = to_metric(self.demand.lon[mask], self.demand.lat[mask], self.demand.crs)
            geom = _cells_outline(x, y, float(self.demand.cell_m))
            crs = self.demand.crs or self.crs
        else:
            geom = shapely.union_all(shapely.buffer(shapely.points(x, y), buffer_m or 100.0,
                                                    quad_segs=8))
            crs = self.crs
        geom = shapely.transform(geom, lambda xy: np.column_stack(
            from_metric(xy[:, 0], xy[:, 1], crs)))
        if self.area is not None and self.area.polygon is not None:
            geom = shapely.intersection(geom, shapely.make_valid(self.area.polygon))
        return geom

    def as_dict(self, *, max_points: int = 200) -> dict:
        """The JSON body: INTERFACE.md keys first, then the extras."""
        uncovered = int((~self.covered).sum())
        note = {
            METHOD_NETWORK: "步行路网距离 (walking distance along the loaded network)",
            METHOD_STRAIGHT: f"直线距离 × 绕行系数 {self.detour_factor} (straight-line × detour "
                             "factor; no walking network loaded)",
            METHOD_EUCLIDEAN: "直线距离 (straight-line service radius; no walking network loaded)",
        }[self.method]
        area = None
        if self.area is not None:
            area = {"level": self.area.level, "name": self.area.name,
                    "district": self.area.district,
                    "approx": self.area.level == "street"}
        return {
            "demand_total": _r(self.demand_total),
            "demand_covered": _r(self.demand_covered),
            "covered_share": _rs(self.covered_share),
            "multi_covered_share": _rs(self.multi_covered_share),
            "by_area": self.by_area(),
            "demand_multi_covered": _r(self.demand_multi_covered),
            "radius_m": round(self.radius_m, 1),
            "walk_minutes": self.minutes,
            "min_stations": self.min_stations,
            "at": self.at.isoformat(timespec="minutes") if self.at else None,
            "method": self.method,
            "method_note": note,
            "detour_factor": self.detour_factor if self.method == METHOD_STRAIGHT else None,
            "network": self.network,
            "area": area,
            **self.demand_words(),
            "cell_m": self.demand.cell_m,
            "demand_points": len(self.demand),
            "stations_counted": len(self.stations),
            "farthest": self.farthest(),
            "uncovered": uncovered,
            "uncovered_weight": _r(self.demand_total - self.demand_covered),
            "uncovered_points": self.uncovered_points(max_points),
            "uncovered_points_truncated": uncovered > max_points,
            "by_group": self.by_group(),
            "gaps": [g.as_dict(self.demand.unit) for g in (self.gaps or [])],
            "time_strip": self.strip,
            **self.info,
        }


def _r(value: float) -> float:
    return round(float(value), 3)


def _rs(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


# ----------------------------------------------------------------------------- facades
def _check_options(*, radius_m, minutes, min_stations, at, network, detour_factor):
    """Validate the options once, before any data is loaded: ``(at, radius, method)``."""
    from stations.hours import parse_open_at

    if isinstance(min_stations, bool) or not isinstance(min_stations, (int, np.integer)) \
            or min_stations < 1:
        raise ValidationError(f"min_stations 必须为 ≥ 1 的整数 (must be an integer ≥ 1), "
                              f"got {min_stations!r}")
    when = parse_open_at(at) if at is not None else None
    radius, method = walk_radius(radius_m=radius_m, minutes=minutes,
                                 network=network is not None, detour_factor=detour_factor)
    return when, radius, method


def compute_coverage(demand: DemandSet, stations: StationArrays | Sequence, *,
                     radius_m: float | None = None, minutes: float | None = None,
                     min_stations: int = 2, at: datetime | str | None = None,
                     day: date | None = None, network=None,
                     detour_factor: float = DETOUR_FACTOR, area: AreaSpec | None = None,
                     unknown_hours: str = "exclude", crs: str | None = None) -> CoverageResult:
    """Coverage of ``demand`` by ``stations`` (see the module notes for the rules).

    Parameters
    ----------
    demand : DemandSet
    stations : StationArrays or sequence of Station
        Stations that may count (usually the open ones).
    radius_m, minutes : float, optional
        Reach in metres and/or walking minutes (default 1,000 m; both: within both).
    min_stations : int
        N of "covered by ≥ N stations" (交叉覆盖), default 2.
    at : datetime or ISO text, optional
        Only stations open then count.
    day : date, optional
        Day on which shifts are checked when ``at`` is not given (default today).
    network : WalkingNetwork, optional
        Measure along this network.
    area : AreaSpec, optional
        For the per-street/district breakdown and polygon clipping.
    """
    if not isinstance(stations, StationArrays):
        stations = StationArrays.from_stations(list(stations))
    when, radius, method = _check_options(radius_m=radius_m, minutes=minutes,
                                          min_stations=min_stations, at=at, network=network,
                                          detour_factor=detour_factor)
    info_shift = {}
    if when is not None and (demand.shift_start >= 0).any():
        working = on_shift(demand, when)
        info_shift = {"demand_off_shift": int((~working).sum()),
                      "demand_off_shift_weight": _r(demand.weight[~working].sum())}
        demand = demand.subset(working)
    if network is not None:
        crs = network.crs
    crs = crs or default_crs((demand.lon, demand.lat), (stations.lon, stations.lat))
    dx, dy = to_metric(demand.lon, demand.lat, crs)
    sx, sy = to_metric(stations.lon, stations.lat, crs)
    demand_class, masks, info = station_masks(stations.hours_text, demand, at=when, day=day,
                                              unknown_hours=unknown_hours)
    arrays = coverage_arrays(np.column_stack([dx, dy]), np.column_stack([sx, sy]), radius,
                             min_stations=min_stations, demand_class=demand_class,
                             class_masks=masks, network=network)
    info.update(info_shift)
    if masks is not None:
        info["stations_open_at"] = int(masks[0].sum()) if when is not None else None
    area_index = _assign_areas(demand, area) if area is not None else None
    return CoverageResult(demand=demand, stations=stations, arrays=arrays, radius_m=radius,
                          min_stations=int(min_stations), method=method, crs=crs, area=area,
                          area_index=area_index, at=when, minutes=minutes,
                          detour_factor=detour_factor,
                          network=network.describe() if network is not None else None,
                          info=info)


def coverage_strip(demand: DemandSet, stations: StationArrays | Sequence, *,
                   times: Sequence[str] = STRIP_TIMES, day: date | None = None,
                   **options) -> list[dict]:
    """The day as a strip: coverage at each of ``times`` (``HH:MM``, local) on ``day``
    (default today). Each entry: ``{time, at, demand_total, demand_covered, covered_share,
    multi_covered_share, stations_open, demand_off_shift}``; ``options`` as for
    :func:`compute_coverage` (radius, minutes, min_stations, network, area...)."""
    day = day or now().date()
    if not isinstance(stations, StationArrays):
        stations = StationArrays.from_stations(list(stations))
    out = []
    for text in times:
        try:
            moment = datetime.combine(day, time.fromisoformat(text), tzinfo=TZ)
        except ValueError:
            raise ValidationError(f"时刻 {text!r} 不是 HH:MM (strip times must be HH:MM)") \
                from None
        res = compute_coverage(demand, stations, at=moment,
                               **{k: v for k, v in options.items() if k != "area"})
        out.append({"time": text, "at": moment.isoformat(timespec="minutes"),
                    "demand_total": _r(res.demand_total),
                    "demand_covered": _r(res.demand_covered),
                    "covered_share": _rs(res.covered_share),
                    "multi_covered_share": _rs(res.multi_covered_share),
                    "stations_open": res.info.get("stations_open_at"),
                    "demand_off_shift": res.info.get("demand_off_shift", 0)})
    return out


def area_coverage(store, *, district: str | None = None, street: str | None = None,
                  polygon=None, radius_m: float | None = None, minutes: float | None = None,
                  min_stations: int = 2, at: datetime | str | None = None,
                  day: date | None = None, network=CONFIGURED, cell_m: float = 100.0,
                  detour_factor: float = DETOUR_FACTOR, unknown_hours: str = "exclude",
                  statuses: Sequence[str] = ("open",), demand: str = "auto",
                  gaps: bool = True, strip: bool = False) -> CoverageResult:
    """Coverage for a district, a street, a polygon or (no area) everything in the store.

    Demand (``demand``, see :func:`geodata.planning.demand.demand_for_area`): the imported
    demand inside the area, else the area view over its street polygons (no area: over every
    district); community proxy points only with ``demand="community_proxy"``. Every station
    with a status in ``statuses`` counts, wherever it is (a station across the border still
    serves). ``gaps`` adds the gap clusters (:func:`geodata.planning.gaps.find_gaps`, with the
    passing candidates that would cover them); ``strip`` the day strip
    (:func:`coverage_strip`).
    """
    from geodata.planning.gaps import find_gaps, passing_candidates

    network = resolve_network(network)
    _check_options(radius_m=radius_m, minutes=minutes, min_stations=min_stations, at=at,
                   network=network, detour_factor=detour_factor)
    spec = resolve_area(district=district, street=street, polygon=polygon)
    points = demand_for_area(store, spec.polygon, cell_m=cell_m, demand=demand,
                             sub_geoms=spec.sub_geoms, sub_names=spec.sub_names,
                             sub_districts=spec.sub_districts, sub_level=spec.sub_level)
    stations = StationArrays.from_stations(store.list_stations(status=list(statuses)))
    options = {"radius_m": radius_m, "minutes": minutes, "min_stations": min_stations,
               "network": network, "detour_factor": detour_factor, "area": spec,
               "unknown_hours": unknown_hours}
    result = compute_coverage(points, stations, at=at, day=day, **options)
    result.info["demand_pending_pin"] = _pending_pins(store, spec)
    if gaps:
        result.gaps = find_gaps(result, candidates=passing_candidates(store))
    if strip:
        result.strip = coverage_strip(points, stations, day=day or (
            result.at.date() if result.at else None), **options)
    return result


def _pending_pins(store, spec: AreaSpec) -> int:
    """Demand rows of the area still waiting for a pin (not counted anywhere)."""
    from stations.demand_points import pending_pins

    if spec.level == "street":
        return len(pending_pins(store, street=spec.name))
    if spec.level == "district":
        return len(pending_pins(store, district=spec.name))
    return len(pending_pins(store)) if spec.level == "all" else 0
