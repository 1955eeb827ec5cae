"""Demand: where outdoor workers gather, as weighted points (imported, or a grid stand-in).

Demand points are sanitation depots, courier stations, taxi ranks, construction sites... each
with a ``weight`` (headcount, ≥ 0, default 1), a ``group`` (``sanitation``, ``courier``,
``taxi``...) and an optional ``shift`` (``05:00-13:00``; ``22:00-06:00`` runs past midnight).
They are imported from GeoJSON / CSV / XLSX with :func:`import_demand` into
the store's demand table (:mod:`stations.demand_points`).

Which demand a coverage question uses (:data:`DEMAND_CHOICES`, :func:`demand_for_area`):

* ``imported`` — the union's own points (the demand sheet, :mod:`geodata.io.demand`), counted
  in people (人数);
* ``area`` — without imported demand, the default: :func:`area_demand` lays a 100 m grid
  clipped to the street polygons, each cell weighing its area in m², so coverage is "the share
  of the street's area within reach", never people;
* ``community_proxy`` — community centre points standing in for demand (the demo ships them,
  ``source = "demo:beijing:communities"``): only when asked for by name, never by default.

:func:`grid_demand` (weight 1 per cell centre, or weights from a polygon layer or a raster)
stays for siting and benchmarks.

Everything downstream works on :class:`DemandSet`, a bundle of plain numpy arrays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geodata.crs.projection import BEIJING_CRS, from_metric, metric_crs_for, to_metric
from geodata.errors import GeodataError
from geodata.io.demand import (
    GROUP_LABELS_ZH,
    GROUPS,
    KINDS,
    PLACED_PRECISIONS,
    _shift_text,
    demand_from_row,
    import_demand_sheet,
    normalise_group,
    parse_shift,
)
from stations import demand_points
from stations.errors import ValidationError

__all__ = [
    "GROUPS",
    "GROUP_LABELS_ZH",
    "KINDS",
    "COMMUNITY_PROXY",
    "PROXY_SOURCES",
    "DEMAND_CHOICES",
    "SOURCE_LABELS_ZH",
    "UNIT_LABELS_ZH",
    "PLACED_PRECISIONS",
    "DemandSet",
    "parse_shift",
    "normalise_group",
    "demand_from_row",
    "import_demand",
    "load_demand",
    "grid_demand",
    "area_demand",
    "demand_for_area",
    "count_demand",
]

#: ``source`` value of community points standing in for real demand.
COMMUNITY_PROXY = "community_proxy"
#: Sources that are proxy demand (the second is ``geodata.demo.DEMAND_SOURCE``).
PROXY_SOURCES = frozenset({COMMUNITY_PROXY, "demo:beijing:communities"})
#: What a coverage question may count: ``auto`` = imported points, else the area grid.
DEMAND_CHOICES = ("auto", "imported", "area", "community_proxy")
#: The demand used, in words (page, Excel, CLI).
SOURCE_LABELS_ZH = {"imported": "导入的需求点", "community_proxy": "社区代理点",
                    "area": "按面积", "grid": "网格"}
#: What the demand totals count.
UNIT_LABELS_ZH = {"people": "人", "points": "个点", "m2": "平方米"}


# ----------------------------------------------------------------------------- import
def import_demand(store, path: str | Path, *, crs: str = "wgs84", replace: bool = False,
                  replace_source: bool = False, source: str | None = None,
                  sample: bool = False, geocoder=None, scope=None) -> dict:
    """Import demand points from a GeoJSON, CSV or XLSX file (the demand sheet).

    The one import path is :func:`geodata.io.demand.import_demand_sheet` (row-level error
    reporting, geocoding of rows given by address, pins for rows it cannot place); this is its
    planning-side name, kept for callers of the first round.

    Parameters
    ----------
    store : stations.store.Store
    path : str or Path
        ``.geojson``, ``.csv``, ``.xlsx`` (or ``.gpkg``) with points, lon/lat columns or
        addresses.
    crs : {"wgs84", "gcj02", "bd09"}
        Datum of the file's coordinates; stored coordinates are WGS84.
    replace : bool, default False
        Delete every existing demand point first (in the same transaction).
    replace_source : bool, default False
        Delete only the existing points of the same ``source`` first (re-loading a file).
    source : str, optional
        Recorded with each point; defaults to the file name. ``"community_proxy"`` marks
        proxy demand (the demo's community points).
    sample : bool
        Mark the points as sample data (示例数据).

    Returns
    -------
    dict
        ``{"imported": int, "rejected": [{"row", "column", "reason"}, ...], ...}`` (see
        :func:`geodata.io.demand.import_demand_sheet` for the other keys).
    """
    return import_demand_sheet(store, path, crs=crs, replace=replace,
                               replace_source=replace_source, source=source, sample=sample,
                               geocoder=geocoder, progress=False, scope=scope)


def count_demand(store) -> int:
    """How many demand points the store holds."""
    return demand_points.count_demand(store)


# ----------------------------------------------------------------------------- arrays
@dataclass
class DemandSet:
    """Demand as plain arrays (WGS84 lon/lat, weights...), one entry per point.

    ``shift_start``/``shift_end`` are minutes of the day (``end`` may pass 1440), ``-1`` when
    the point has no shift. ``ids`` are demand-table ids (``-1`` for grid cells). ``source``
    is ``"imported"``, ``"area"`` (cells weighing their area), ``"grid"`` (cells weighing 1)
    or ``"community_proxy"``; ``cell_m`` the grid spacing. ``unit`` says what the weights
    count: ``people`` (head counts), ``points`` (one each) or ``m2`` (area).
    """

    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    group: np.ndarray = None
    shift_start: np.ndarray = None
    shift_end: np.ndarray = None
    ids: np.ndarray = None
    name: np.ndarray = None
    district: np.ndarray = None
    street: np.ndarray = None
    kind: np.ndarray = None
    source: str = "imported"
    unit: str = "people"
    cell_m: float | None = None
    crs: str | None = None  # metric CRS the grid was laid in (grid only)
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lon = np.asarray(self.lon, dtype=float)
        self.lat = np.asarray(self.lat, dtype=float)
        n = self.lon.size
        self.weight = np.broadcast_to(np.asarray(self.weight, dtype=float), (n,)).copy()
        if self.lat.size != n:
            raise GeodataError(f"lon and lat differ in length ({n} vs {self.lat.size})")
        if np.any(~np.isfinite(self.weight)) or np.any(self.weight < 0):
            raise ValidationError("demand weights must be finite and ≥ 0")
        blank = np.full(n, "", dtype=object)
        for name in ("group", "name", "district", "street", "kind"):
            value = getattr(self, name)
            setattr(self, name, blank.copy() if value is None else np.asarray(value, dtype=object))
        for name in ("shift_start", "shift_end"):
            value = getattr(self, name)
            setattr(self, name, np.full(n, -1, dtype=np.int32) if value is None
                    else np.asarray(value, dtype=np.int32))
        self.ids = (np.full(n, -1, dtype=np.int64) if self.ids is None
                    else np.asarray(self.ids, dtype=np.int64))

    def __len__(self) -> int:
        return int(self.lon.size)

    @property
    def total(self) -> float:
        """Total weight."""
        return float(self.weight.sum())

    def subset(self, mask: np.ndarray) -> DemandSet:
        """The points where ``mask`` is true (or at the given indices)."""
        take = {k: getattr(self, k)[mask] for k in (
            "lon", "lat", "weight", "group", "shift_start", "shift_end", "ids", "name",
            "district", "street", "kind")}
        return DemandSet(**take, source=self.source, unit=self.unit, cell_m=self.cell_m,
                         crs=self.crs, meta=dict(self.meta))

    @property
    def label_zh(self) -> str:
        """Which demand this is, in words (导入的需求点 / 社区代理点 / 按面积)."""
        return SOURCE_LABELS_ZH.get(self.source, self.source)

    def shift_text(self, i: int) -> str:
        """Canonical shift text of point ``i`` (``""`` without a shift)."""
        if self.shift_start[i] < 0:
            return ""
        return _shift_text((int(self.shift_start[i]), int(self.shift_end[i])))


def load_demand(store, *, polygon=None, sources: Sequence[str] | None = None,
                include_proxy: bool = False) -> DemandSet:
    """Placed demand points, optionally only those inside a WGS84 ``polygon``.

    Proxy demand (:data:`PROXY_SOURCES`) is left out unless ``include_proxy`` or ``sources``
    names it: community points are an explicit choice, never a silent default. Points waiting
    for a pin are never loaded. ``source`` of the result is ``"community_proxy"`` when every
    point is proxy demand (``unit`` ``points`` then), otherwise ``"imported"`` (``people``).
    """
    import shapely

    records = demand_points.demand_rows(
        store, bbox=None if polygon is None else polygon.bounds, sources=sources,
        exclude_sources=None if (include_proxy or sources is not None) else PROXY_SOURCES)
    lon = np.array([r["lon"] for r in records], dtype=float)
    lat = np.array([r["lat"] for r in records], dtype=float)
    starts, ends = [], []
    for r in records:
        try:
            shift = parse_shift(r["shift"])
        except ValidationError:
            shift = None
        starts.append(-1 if shift is None else shift[0])
        ends.append(-1 if shift is None else shift[1])
    demand = DemandSet(
        lon=lon, lat=lat, weight=[r["weight"] for r in records] if records else np.zeros(0),
        group=[r["group"] for r in records], shift_start=starts, shift_end=ends,
        ids=[r["id"] for r in records], name=[r["name"] for r in records],
        district=[r["district"] for r in records], street=[r["street"] for r in records],
        kind=[r.get("kind") or "" for r in records], source="imported")
    if len(demand) and all(r["source"] in PROXY_SOURCES for r in records):
        demand.source, demand.unit = COMMUNITY_PROXY, "points"
    if polygon is not None and len(demand):
        inside = shapely.contains_xy(polygon, demand.lon, demand.lat) | shapely.intersects_xy(
            polygon.boundary, demand.lon, demand.lat)
        demand = demand.subset(inside)
    return demand


def grid_demand(polygon, *, cell_m: float = 100.0, crs: str | None = None,
                weight_layer=None, weight_column: str | None = None,
                raster: tuple | None = None) -> DemandSet:
    """A regular grid of demand over a WGS84 polygon (cell centres inside the polygon).

    The grid is aligned to multiples of ``cell_m`` in a metric CRS, so the same polygon always
    gives the same cells. Each cell weighs 1, unless

    * ``weight_layer`` (a GeoDataFrame of polygons) and ``weight_column`` are given: each
      polygon's value is spread evenly over the cells whose centres fall in it (a headcount
      per area stays a headcount); cells in no polygon weigh 0;
    * ``raster = (values, (x0, y0, dx, dy), raster_crs)`` is given: a 2-D array whose
      top-left corner is ``(x0, y0)`` with cell sizes ``dx``, ``dy`` (``dy`` positive,
      rows go south) in ``raster_crs``; each cell takes the raster value at its centre
      (0 outside the raster, NaN counts as 0).

    Parameters
    ----------
    polygon : shapely geometry
        Area in WGS84 lon/lat.
    cell_m : float
        Cell size in metres (default 100).
    crs : str, optional
        Metric CRS; defaults to :func:`geodata.crs.projection.metric_crs_for` the polygon.
    """
    import shapely

    if not cell_m or cell_m <= 0 or not math.isfinite(cell_m):
        raise ValidationError(f"cell_m must be a positive number of metres, got {cell_m!r}")
    if polygon is None or polygon.is_empty:
        return DemandSet(lon=[], lat=[], weight=[], source="grid", cell_m=cell_m, crs=crs)
    minx, miny, maxx, maxy = polygon.bounds
    crs = crs or metric_crs_for([minx, maxx], [miny, maxy])
    poly_m = shapely.transform(polygon, lambda xy: np.column_stack(
        to_metric(xy[:, 0], xy[:, 1], crs)))
    bx0, by0, bx1, by1 = poly_m.bounds
    xs = np.arange(math.floor(bx0 / cell_m), math.ceil(bx1 / cell_m) + 1) * cell_m + cell_m / 2
    ys = np.arange(math.floor(by0 / cell_m), math.ceil(by1 / cell_m) + 1) * cell_m + cell_m / 2
    xs, ys = xs[xs <= bx1], ys[ys <= by1]
    shapely.prepare(poly_m)
    keep_x, keep_y = [], []
    for y in ys:  # row by row keeps memory flat for city-sized grids
        row_y = np.full(xs.size, y)
        inside = shapely.contains_xy(poly_m, xs, row_y)
        keep_x.append(xs[inside])
        keep_y.append(row_y[inside])
    gx = np.concatenate(keep_x) if keep_x else np.zeros(0)
    gy = np.concatenate(keep_y) if keep_y else np.zeros(0)
    weight = np.ones(gx.size)
    if weight_layer is not None:
        weight = _weights_from_layer(gx, gy, crs, weight_layer, weight_column)
    elif raster is not None:
        weight = _weights_from_raster(gx, gy, crs, raster)
    lon, lat = from_metric(gx, gy, crs)
    return DemandSet(lon=lon, lat=lat, weight=weight, source="grid", cell_m=float(cell_m),
                     crs=crs)


def _weights_from_layer(gx, gy, crs, layer, column) -> np.ndarray:
    import shapely

    if not column or column not in layer.columns:
        raise ValidationError(
            f"weight_column {column!r} 不在图层中 (not a column of the weight layer); "
            f"columns: {', '.join(map(str, layer.columns))}")
    if layer.crs is None:
        raise GeodataError("weight layer has no CRS; set it (e.g. EPSG:4326) before use")
    layer_m = layer.to_crs(crs)
    points = shapely.points(gx, gy)
    tree = shapely.STRtree(layer_m.geometry.values)
    point_idx, poly_idx = tree.query(points, predicate="within")
    values = layer_m[column].to_numpy(dtype=float)
    weight = np.zeros(gx.size)
    if point_idx.size:
        # a centre on a shared edge belongs to the first polygon that holds it
        first = np.unique(point_idx, return_index=True)[1]
        point_idx, poly_idx = point_idx[first], poly_idx[first]
        cells_per_poly = np.bincount(poly_idx, minlength=len(layer_m))
        share = np.where(cells_per_poly > 0, np.nan_to_num(values) / np.maximum(cells_per_poly, 1),
                         0.0)
        weight[point_idx] = share[poly_idx]
    return weight


def _weights_from_raster(gx, gy, crs, raster) -> np.ndarray:
    from geodata.crs.projection import transformer

    values, (x0, y0, dx, dy), raster_crs = raster
    values = np.asarray(values, dtype=float)
    rx, ry = transformer(crs, raster_crs).transform(gx, gy)
    col = np.floor((np.asarray(rx) - x0) / dx).astype(np.int64)
    row = np.floor((y0 - np.asarray(ry)) / dy).astype(np.int64)
    ok = (row >= 0) & (row < values.shape[0]) & (col >= 0) & (col < values.shape[1])
    weight = np.zeros(gx.size)
    weight[ok] = np.nan_to_num(values[row[ok], col[ok]])
    if np.any(weight < 0):
        raise ValidationError("raster weights must be ≥ 0")
    return weight


def area_demand(polygons: Sequence, *, names: Sequence[str] | None = None,
                districts: Sequence[str] | None = None, level: str = "street",
                cell_m: float = 100.0, crs: str | None = None, clip=None,
                approx: bool = True) -> DemandSet:
    """The area view of demand: a ``cell_m`` grid clipped to each polygon.

    Every cell of a grid aligned to multiples of ``cell_m`` (one metric CRS for all the
    polygons) that overlaps a polygon is one demand entry at the cell's centre, weighing the
    area of the cell inside that polygon in m² (a full cell ``cell_m²``; a cell on a border
    between two polygons appears once for each, with its two parts). Coverage of this demand
    is "the share of the area within reach", never people.

    Parameters
    ----------
    polygons : sequence of shapely geometry
        WGS84 (the streets of a district, one street, or districts).
    names, districts : sequences of str, optional
        Each polygon's name and district, copied to its cells (``street`` or ``district``
        column as ``level`` says), so per-area sums need no point-in-polygon test.
    clip : shapely geometry, optional
        Each polygon is first clipped to it (WGS84).
    approx : bool
        The polygons are approximate (the shipped street polygons are): recorded in
        ``meta["approx"]``.
    """
    import shapely

    if not cell_m or cell_m <= 0 or not math.isfinite(cell_m):
        raise ValidationError(f"cell_m must be a positive number of metres, got {cell_m!r}")
    polys = [p for p in polygons]
    names = list(names) if names is not None else [""] * len(polys)
    districts = list(districts) if districts is not None else [""] * len(polys)
    if clip is not None:
        polys = [shapely.intersection(shapely.make_valid(p), shapely.make_valid(clip))
                 for p in polys]
    keep = [i for i, p in enumerate(polys) if p is not None and not p.is_empty]
    if crs is None:
        bounds = np.array([polys[i].bounds for i in keep]) if keep else np.zeros((0, 4))
        crs = (metric_crs_for(np.r_[bounds[:, 0], bounds[:, 2]], np.r_[bounds[:, 1],
                                                                          bounds[:, 3]])
               if keep else BEIJING_CRS)
    parts = [(*_clipped_cells(polys[i], cell_m, crs), i) for i in keep]
    gx = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)
    gy = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0)
    area = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    owner = np.concatenate([np.full(p[0].size, p[3]) for p in parts]) if parts else \
        np.zeros(0, dtype=np.int64)
    label = np.array(names, dtype=object)[owner] if owner.size else np.zeros(0, dtype=object)
    district = (np.array(districts, dtype=object)[owner] if owner.size
                else np.zeros(0, dtype=object))
    lon, lat = from_metric(gx, gy, crs)
    return DemandSet(lon=lon, lat=lat, weight=area, source="area", unit="m2",
                     cell_m=float(cell_m), crs=crs, district=district,
                     street=label if level == "street" else None,
                     meta={"approx": bool(approx), "level": level})


def _clipped_cells(polygon, cell_m: float, crs: str):
    """``(x, y, area)`` of the grid cells overlapping ``polygon`` (WGS84), metric ``crs``.

    Cells whose centre is inside and that no boundary passes through weigh ``cell_m²``; the
    cells the boundary may cross (found by sampling the boundary every ``cell_m / 4`` and
    taking each sample's 3 × 3 neighbourhood) are intersected exactly.
    """
    import shapely

    poly_m = shapely.make_valid(shapely.transform(polygon, lambda xy: np.column_stack(
        to_metric(xy[:, 0], xy[:, 1], crs))))
    bx0, by0, bx1, by1 = poly_m.bounds
    i0, j0 = math.floor(bx0 / cell_m), math.floor(by0 / cell_m)
    nx, ny = math.floor(bx1 / cell_m) - i0 + 1, math.floor(by1 / cell_m) - j0 + 1
    line = shapely.segmentize(poly_m.boundary, cell_m / 4)
    coords = shapely.get_coordinates(line)
    ci = np.floor(coords[:, 0] / cell_m).astype(np.int64) - i0
    cj = np.floor(coords[:, 1] / cell_m).astype(np.int64) - j0
    edge = np.zeros((ny + 2, nx + 2), dtype=bool)  # padded by one cell on each side
    for di in (0, 1, 2):
        for dj in (0, 1, 2):
            edge[np.clip(cj + dj, 0, ny + 1), np.clip(ci + di, 0, nx + 1)] = True
    edge = edge[1:-1, 1:-1]
    shapely.prepare(poly_m)
    xs = (np.arange(nx) + i0 + 0.5) * cell_m
    full_x, full_y = [], []
    for j in range(ny):  # row by row keeps memory flat for city-sized grids
        y = (j + j0 + 0.5) * cell_m
        inner = ~edge[j]
        inside = shapely.contains_xy(poly_m, xs[inner], np.full(int(inner.sum()), y))
        full_x.append(xs[inner][inside])
        full_y.append(np.full(int(inside.sum()), y))
    ej, ei = np.nonzero(edge)
    ex, ey = (ei + i0 + 0.5) * cell_m, (ej + j0 + 0.5) * cell_m
    part = _edge_areas(poly_m, ei, ej, ex, ey, cell_m)
    ok = part > 0
    fx = np.concatenate(full_x) if full_x else np.zeros(0)
    fy = np.concatenate(full_y) if full_y else np.zeros(0)
    return (np.concatenate([fx, ex[ok]]), np.concatenate([fy, ey[ok]]),
            np.concatenate([np.full(fx.size, cell_m * cell_m), part[ok]]))


_BLOCK = 16  # edge cells are intersected block by block with the polygon clipped to the block


def _edge_areas(poly_m, ei, ej, ex, ey, cell_m: float) -> np.ndarray:
    """Exact area of each edge cell inside ``poly_m``; the polygon is first cut to blocks of
    :data:`_BLOCK` × :data:`_BLOCK` cells, so each intersection sees a few vertices only."""
    import shapely

    h = cell_m / 2
    part = np.zeros(ex.size)
    if not ex.size:
        return part
    block = (ej // _BLOCK) * (int(ei.max()) // _BLOCK + 1) + ei // _BLOCK
    order = np.argsort(block, kind="stable")
    keys, starts = np.unique(block[order], return_index=True)
    bounds = np.append(starts, order.size)
    for k in range(keys.size):
        idx = order[bounds[k]:bounds[k + 1]]
        x0, y0 = ex[idx].min() - h, ey[idx].min() - h
        x1, y1 = ex[idx].max() + h, ey[idx].max() + h
        piece = shapely.clip_by_rect(poly_m, x0, y0, x1, y1)
        if piece.is_empty:
            continue
        boxes = shapely.box(ex[idx] - h, ey[idx] - h, ex[idx] + h, ey[idx] + h)
        part[idx] = shapely.area(shapely.intersection(boxes, piece))
    return part


def demand_for_area(store, polygon, *, cell_m: float = 100.0, demand: str = "auto",
                    sub_geoms: Sequence | None = None, sub_names: Sequence[str] | None = None,
                    sub_districts: Sequence[str] | None = None,
                    sub_level: str = "street") -> DemandSet:
    """The demand a coverage question counts inside ``polygon`` (``None``: everywhere).

    ``demand`` (:data:`DEMAND_CHOICES`): ``imported`` (the union's points, people),
    ``area`` (:func:`area_demand` over ``sub_geoms`` — the street polygons — clipped to
    ``polygon``, or over ``polygon`` itself), ``community_proxy`` (community points, one each:
    only when asked for), ``auto`` (imported points when the area has any, else the area).
    With neither a polygon nor sub-areas, ``auto`` gives the imported points (maybe none).
    """
    if demand not in DEMAND_CHOICES:
        raise ValidationError(f"demand 只能是 {', '.join(DEMAND_CHOICES)} (unknown demand "
                              f"choice {demand!r})")
    if demand == "community_proxy":
        proxy = load_demand(store, polygon=polygon, sources=sorted(PROXY_SOURCES))
        proxy.source, proxy.unit = COMMUNITY_PROXY, "points"
        return proxy
    if demand in ("auto", "imported"):
        points = load_demand(store, polygon=polygon)
        if demand == "imported" or len(points) or (polygon is None and not sub_geoms):
            return points
    if sub_geoms:
        return area_demand(sub_geoms, names=sub_names, districts=sub_districts,
                           level=sub_level, cell_m=cell_m, clip=polygon,
                           approx=sub_level == "street")
    if polygon is None:
        raise ValidationError("按面积计算需要一个区域 (the area view needs an area)")
    return area_demand([polygon], cell_m=cell_m, approx=False)


def default_crs(*arrays_lonlat) -> str:
    """Metric CRS for the extent of several (lon, lat) array pairs (Beijing's by default)."""
    lons = [np.asarray(lon, dtype=float) for lon, _ in arrays_lonlat if np.size(lon)]
    lats = [np.asarray(lat, dtype=float) for lon, lat in arrays_lonlat if np.size(lon)]
    if not lons:
        return BEIJING_CRS
    return metric_crs_for(np.concatenate(lons), np.concatenate(lats))
