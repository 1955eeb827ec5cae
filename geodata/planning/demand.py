"""Demand: where outdoor workers gather, as weighted points (imported, or a grid stand-in).

Demand points are sanitation depots, courier stations, taxi ranks, construction sites... each
with a ``weight`` (headcount, ≥ 0, default 1), a ``group`` (``sanitation``, ``courier``,
``taxi``...) and an optional ``shift`` (``05:00-13:00``; ``22:00-06:00`` runs past midnight).
They are imported from GeoJSON / CSV / XLSX with :func:`import_demand` into
the store's demand table (:mod:`stations.demand_points`).

When an area has no imported demand, :func:`grid_demand` lays a regular grid over its polygon
(default 100 m cells, weight 1 per cell, or weights taken from a polygon layer's column or a
raster) so coverage can still be measured. The demo ships community points as a proxy demand
layer (``source = "community_proxy"``).

Everything downstream works on :class:`DemandSet`, a bundle of plain numpy arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geodata.crs.projection import BEIJING_CRS, from_metric, metric_crs_for, to_metric
from geodata.errors import GeodataError
from geodata.io.tables import read_rows, to_wgs84_rows
from stations import demand_points
from stations.errors import RowError, ValidationError
from stations.records import clean_text, parse_float
from stations.text import fold, half_width

__all__ = [
    "GROUPS",
    "GROUP_LABELS_ZH",
    "COMMUNITY_PROXY",
    "PROXY_SOURCES",
    "DemandSet",
    "parse_shift",
    "normalise_group",
    "demand_from_row",
    "import_demand",
    "load_demand",
    "grid_demand",
    "demand_for_area",
    "count_demand",
]

#: Worker groups with a fixed key (other text is kept as given).
GROUPS = ("sanitation", "courier", "delivery", "taxi", "ride_hailing", "traffic_police",
          "construction", "line_worker", "other")
GROUP_LABELS_ZH = {
    "sanitation": "环卫工人", "courier": "快递员", "delivery": "外卖骑手", "taxi": "出租车司机",
    "ride_hailing": "网约车司机", "traffic_police": "交通警察", "construction": "建筑工人",
    "line_worker": "电力/通信线路工", "other": "其他", "community": "社区 (代理需求)",
    "": "未分组",
}
_GROUP_SYNONYMS = {
    "环卫": "sanitation", "保洁": "sanitation", "清洁": "sanitation", "环卫工": "sanitation",
    "快递": "courier", "快递员": "courier", "快递小哥": "courier", "外卖": "delivery",
    "骑手": "delivery", "外卖员": "delivery", "出租": "taxi", "出租车": "taxi", "的哥": "taxi",
    "网约车": "ride_hailing", "交警": "traffic_police", "警察": "traffic_police",
    "建筑": "construction", "工地": "construction", "施工": "construction",
    "电力": "line_worker", "线路": "line_worker", "通信": "line_worker", "其他": "other",
    "其它": "other", "food_delivery": "delivery", "ridehailing": "ride_hailing",
    "police": "traffic_police",
}
#: ``source`` value of community points standing in for real demand.
COMMUNITY_PROXY = "community_proxy"
#: Sources that are proxy demand (the second is ``geodata.demo.DEMAND_SOURCE``).
PROXY_SOURCES = frozenset({COMMUNITY_PROXY, "demo:beijing:communities"})
_EXTRA_ALIASES = {"headcount": "weight", "workers": "weight", "count": "weight",
                  "班组": "group", "工种": "group", "worker_group": "group", "类别": "group",
                  "上班时间": "shift", "工作时间": "shift", "shift_hours": "shift"}
_SHIFT = re.compile(
    r"^\s*(\d{1,2})(?::(\d{2}))?\s*(?:-|–|—|~|至|到)\s*(\d{1,2})(?::(\d{2}))?\s*$")


# ----------------------------------------------------------------------------- values
def parse_shift(text: object) -> tuple[int, int] | None:
    """Read a shift ``HH:MM-HH:MM`` into minutes ``(start, end)``; blank → ``None``.

    An end at or before the start runs past midnight: ``22:00-06:00`` → ``(1320, 1800)``.
    Full-width colons, ``5点-13点``, ``至``/``~`` separators are accepted.

    Raises
    ------
    ValidationError
        When the text is not one interval or a time is out of range.
    """
    raw = clean_text(text)
    if not raw:
        return None
    norm = half_width(raw).replace("点", ":").replace("时", ":")
    norm = re.sub(r":(?=\s*(?:-|–|—|~|至|到|$))", "", norm)  # "5:-13:" from 5点-13点
    m = _SHIFT.match(norm)
    if not m:
        raise ValidationError(
            f"班次 '{raw}' 无法识别 (shift must look like 05:00-13:00, one interval)")
    h1, m1, h2, m2 = (int(g) if g else 0 for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValidationError(f"班次 '{raw}' 的时间超出范围 (hours 0-24, minutes 0-59)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise ValidationError(f"班次 '{raw}' 起止时间相同 (start equals end)")
    if end < start:
        end += 1440
    return start, end


def _shift_text(shift: tuple[int, int] | None) -> str:
    if shift is None:
        return ""
    s, e = shift
    e = e - 1440 if e > 1440 else e
    return f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"


#: Group keys are snake_case words: whitespace and ``-`` between words become ``_``
#: (``road sweeper`` → ``road_sweeper``), unlike the other folds of :mod:`stations.text`.
_GROUP_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_group(value: object) -> str:
    """Group key from English or Chinese (``环卫`` → ``sanitation``); unknown text kept."""
    text = clean_text(value)
    if not text:
        return ""
    folded = fold(text, drop=_GROUP_SEPARATORS, sep="_")
    if folded in GROUPS:
        return folded
    if folded in _GROUP_SYNONYMS:
        return _GROUP_SYNONYMS[folded]
    for label_key, label in GROUP_LABELS_ZH.items():
        if text == label and label_key:
            return label_key
    for word, key in _GROUP_SYNONYMS.items():
        if len(word) >= 2 and word in text:
            return key
    return text[:32]


def demand_from_row(row: dict, *, row_number: int | None = None) -> dict:
    """Validate one canonical row into values of the demand table.

    Raises
    ------
    RowError
        Naming the row number, the column and the reason.
    """
    row = {_EXTRA_ALIASES.get(k, k): v for k, v in row.items()}
    if row.get("_geometry_error"):
        raise RowError(f"几何类型错误 ({row['_geometry_error']}); demand must be points",
                       row=row_number, column="geometry")
    values: dict = {}
    for col, lo, hi in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        try:
            number = parse_float(row.get(col), column=col, minimum=lo, maximum=hi)
        except ValidationError as exc:
            raise RowError(exc.message, row=row_number, column=col) from None
        if number is None:
            raise RowError("缺少坐标 (longitude and latitude are required for demand)",
                           row=row_number, column=col)
        values[col] = number
    try:
        weight = parse_float(row.get("weight"), column="weight", minimum=0)
    except ValidationError as exc:
        raise RowError(exc.message, row=row_number, column="weight") from None
    values["weight"] = 1.0 if weight is None else weight
    try:
        values["shift"] = _shift_text(parse_shift(row.get("shift")))
    except ValidationError as exc:
        raise RowError(exc.message, row=row_number, column="shift") from None
    values["group"] = normalise_group(row.get("group"))
    for col in ("name", "district", "street"):
        values[col] = clean_text(row.get(col))
    return values


# ----------------------------------------------------------------------------- import
def import_demand(store, path: str | Path, *, crs: str = "wgs84", replace: bool = False,
                  replace_source: bool = False, source: str | None = None,
                  sample: bool = False) -> dict:
    """Import demand points from a GeoJSON, CSV or XLSX file.

    Every row is validated first; bad rows are reported (row, column, reason) and every good
    row is written in one transaction (nothing half-written). Each point's ``district`` and
    ``street`` come from its location (:mod:`geodata.places.assign`; the file's names only
    for a point outside the shipped data), so it belongs to the union where it is.

    Parameters
    ----------
    store : stations.store.Store
    path : str or Path
        ``.geojson``, ``.csv``, ``.xlsx`` (or ``.gpkg``) with points or lon/lat columns.
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
        ``{"imported": int, "rejected": [{"row", "column", "reason"}, ...]}``.
    """
    path = Path(path)
    rows = to_wgs84_rows(read_rows(path), crs)
    good: list[dict] = []
    rejected: list[dict] = []
    for number, row in rows:
        try:
            values = demand_from_row(row, row_number=number)
        except RowError as exc:
            rejected.append(exc.as_dict())
            continue
        values["source"] = source if source is not None else path.name
        values["sample"] = bool(sample)
        good.append(values)
    _place(good)
    demand_points.write_demand(
        store, good, replace_all=replace,
        replace_source=(source if source is not None else path.name) if replace_source else None)
    return {"imported": len(good), "rejected": rejected}


def _place(points: list[dict]) -> None:
    """Canonical district and street of each point, from its location."""
    from geodata.places.assign import areas_at

    areas = areas_at([p["lon"] for p in points], [p["lat"] for p in points],
                     districts=[p["district"] for p in points],
                     streets=[p["street"] for p in points])
    for point, area in zip(points, areas, strict=True):
        point["district"], point["street"] = area.district, area.street


def count_demand(store) -> int:
    """How many demand points the store holds."""
    return demand_points.count_demand(store)


# ----------------------------------------------------------------------------- arrays
@dataclass
class DemandSet:
    """Demand as plain arrays (WGS84 lon/lat, weights...), one entry per point.

    ``shift_start``/``shift_end`` are minutes of the day (``end`` may pass 1440), ``-1`` when
    the point has no shift. ``ids`` are demand-table ids (``-1`` for grid cells). ``source``
    is ``"imported"``, ``"grid"`` or ``"community_proxy"``; ``cell_m`` the grid spacing.
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
    source: str = "imported"
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
        for name in ("group", "name", "district", "street"):
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
            "district", "street")}
        return DemandSet(**take, source=self.source, cell_m=self.cell_m, crs=self.crs,
                         meta=dict(self.meta))

    def shift_text(self, i: int) -> str:
        """Canonical shift text of point ``i`` (``""`` without a shift)."""
        if self.shift_start[i] < 0:
            return ""
        return _shift_text((int(self.shift_start[i]), int(self.shift_end[i])))


def load_demand(store, *, polygon=None, sources: Sequence[str] | None = None) -> DemandSet:
    """Imported demand points, optionally only those inside a WGS84 ``polygon``.

    ``source`` of the result is ``"community_proxy"`` when every point is proxy demand,
    otherwise ``"imported"``.
    """
    import shapely

    records = demand_points.demand_rows(
        store, bbox=None if polygon is None else polygon.bounds, sources=sources)
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
        source="imported")
    if len(demand) and all(r["source"] in PROXY_SOURCES for r in records):
        demand.source = COMMUNITY_PROXY
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


def demand_for_area(store, polygon, *, cell_m: float = 100.0) -> DemandSet:
    """Imported demand inside ``polygon``; a grid over it when there is none.

    With ``polygon=None`` every imported point is used; without any, an empty set.
    """
    demand = load_demand(store, polygon=polygon)
    if len(demand) or polygon is None:
        return demand
    return grid_demand(polygon, cell_m=cell_m)


def default_crs(*arrays_lonlat) -> str:
    """Metric CRS for the extent of several (lon, lat) array pairs (Beijing's by default)."""
    lons = [np.asarray(lon, dtype=float) for lon, _ in arrays_lonlat if np.size(lon)]
    lats = [np.asarray(lat, dtype=float) for lon, lat in arrays_lonlat if np.size(lon)]
    if not lons:
        return BEIJING_CRS
    return metric_crs_for(np.concatenate(lons), np.concatenate(lats))
