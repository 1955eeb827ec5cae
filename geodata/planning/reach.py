"""Who reaches whom: per demand point, how many stations lie within a radius (capped).

The array core of :mod:`geodata.planning.coverage`, on metric coordinates:

* small inputs: a :class:`scipy.spatial.cKDTree` over the stations, one ``k = cap`` query
  per demand point bounded by the radius;
* large inputs (city grids): a raster pre-pass. Each station "stamps" two counts into the
  cells of a square raster laid over the demand (row runs in a difference raster, then one
  cumulative sum): cells whose *every* point is within the radius (centre distance ≤ r − h,
  ``h`` = half the cell diagonal) and cells that *some* point may be within the radius
  (centre distance ≤ r + h). A demand point whose cell has
  ``inner ≥ cap`` or ``inner == outer`` is decided from its cell alone (triangle
  inequality); only the others go to the KD-tree. A 1e-6 m margin keeps floating-point
  rounding on the safe side, so the answer is exactly the per-point one (tests compare with
  brute force).

Nearest distances (for the farthest point and the uncovered list) are computed only when
asked for (:attr:`CoverageArrays.nearest_m`), with an unbounded k = 1 KD-tree query.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["CoverageArrays", "coverage_arrays", "capped_counts"]

_EPS = 1e-6  # metres of safety margin in the raster pre-pass
_RASTER_MIN_POINTS = 50_000


class CoverageArrays:
    """Per demand point: stations within reach (capped), nearest distance, nearest station.

    ``nearest_m`` (``inf`` with no eligible station) and ``nearest_idx`` (index into the
    station array, ``-1`` when none) are computed on first access when not given.
    """

    def __init__(self, count, nearest_m=None, nearest_idx=None, *, resolver=None):
        self.count = count
        self._nearest_m = nearest_m
        self._nearest_idx = nearest_idx
        self._resolver = resolver

    def _resolve(self) -> None:
        if self._nearest_m is None:
            self._nearest_m, self._nearest_idx = self._resolver()
            self._resolver = None

    @property
    def nearest_m(self) -> np.ndarray:
        self._resolve()
        return self._nearest_m

    @property
    def nearest_idx(self) -> np.ndarray:
        self._resolve()
        return self._nearest_idx


def _kdtree_counts(tree: cKDTree, pts: np.ndarray, radius: float, cap: int,
                   workers: int) -> np.ndarray:
    k = min(cap, tree.n)
    upper = radius * (1 + 1e-9) + 1e-9  # cKDTree's bound is strict; we filter <= below
    d, _ = tree.query(pts, k=k, distance_upper_bound=upper, workers=workers)
    return (d.reshape(pts.shape[0], k) <= radius).sum(axis=1)


def _stamp(sx, sy, radius_sq, x0, y0, cell, nx, ny, w) -> np.ndarray:
    """How many stations have each raster cell's centre within ``sqrt(radius_sq)``.

    Returns a flat row-major ``(ny, nx + 1)`` raster (cell ``(ix, iy)`` at
    ``iy * (nx + 1) + ix``).

    Row by row a disk covers a contiguous run of cells, so each station adds +1/-1 at the
    ends of its runs in a difference raster and one cumulative sum finishes the count.
    """
    counts = np.zeros(ny * (nx + 1), dtype=np.int64)
    if radius_sq <= 0 or sx.size == 0:
        return counts
    iy = np.floor((sy - np.sqrt(radius_sq) - y0) / cell).astype(np.int64)[:, None] + np.arange(w)
    dy = y0 + (iy + 0.5) * cell - sy[:, None]
    left = radius_sq - dy * dy
    ok = (left >= 0) & (iy >= 0) & (iy < ny)
    half = np.sqrt(np.where(ok, left, 0.0))
    lo = np.ceil((sx[:, None] - half - x0) / cell - 0.5).astype(np.int64)
    hi = np.floor((sx[:, None] + half - x0) / cell - 0.5).astype(np.int64)
    lo, hi = np.maximum(lo, 0), np.minimum(hi, nx - 1)
    ok &= lo <= hi
    row = iy[ok] * (nx + 1)
    size = ny * (nx + 1)
    diff = (np.bincount(row + lo[ok], minlength=size)
            - np.bincount(row + hi[ok] + 1, minlength=size))
    # row-major (ny, nx + 1): the last column of each row is the run ends' spill, always 0
    return np.cumsum(diff.reshape(ny, nx + 1), axis=1).ravel()


def _raster_counts(tree: cKDTree, pts: np.ndarray, sxy: np.ndarray, radius: float, cap: int,
                   cell: float, workers: int) -> np.ndarray:
    px, py = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
    x0, y0 = float(px.min()), float(py.min())
    nx = int((px.max() - x0) / cell) + 1
    ny = int((py.max() - y0) / cell) + 1
    h = cell / np.sqrt(2.0)
    sx, sy = sxy[:, 0], sxy[:, 1]
    near = ((sx >= x0 - radius - h) & (sx <= x0 + nx * cell + radius + h)
            & (sy >= y0 - radius - h) & (sy <= y0 + ny * cell + radius + h))
    sx, sy = sx[near], sy[near]
    w = int(np.ceil(2 * (radius + h) / cell)) + 3
    small = np.int8 if cap < 127 else np.int64  # capped counts: small rasters, fast lookups
    outer = np.minimum(_stamp(sx, sy, (radius + h + _EPS) ** 2, x0, y0, cell, nx, ny, w),
                       cap).astype(small)
    inner_r = radius - h - _EPS
    inner = np.minimum(_stamp(sx, sy, inner_r ** 2 if inner_r > 0 else -1.0, x0, y0, cell,
                              nx, ny, w), cap).astype(small)
    index = np.int32 if (nx + 1) * ny < 2**31 - 1 else np.int64
    kx = np.minimum(((px - x0) * (1.0 / cell)).astype(index), nx - 1)
    key = np.minimum(((py - y0) * (1.0 / cell)).astype(index), ny - 1)
    key *= nx + 1  # the stamped rasters carry one spill column per row
    key += kx
    count = inner[key].astype(np.int64)
    open_ = np.flatnonzero(count < cap)
    todo = open_[outer[key[open_]] != count[open_]]
    if todo.size:
        count[todo] = _kdtree_counts(tree, pts[todo], radius, cap, workers)
    return count


def _raster_cell(n: int, m: int, radius: float, pts: np.ndarray) -> float | None:
    """Cell size for the raster pre-pass, or ``None`` when direct queries are cheaper."""
    if n < _RASTER_MIN_POINTS or m == 0:
        return None
    cell = radius / 6.0
    w = 2 * (radius + cell) / cell + 2
    span_x = float(pts[:, 0].max() - pts[:, 0].min())
    span_y = float(pts[:, 1].max() - pts[:, 1].min())
    cells = (span_x / cell + 1) * (span_y / cell + 1)
    if m * w * w > 8 * n or cells > 8 * n + 1_000_000:
        return None
    return cell


def capped_counts(pts: np.ndarray, sxy: np.ndarray, radius: float, cap: int, *,
                  tree: cKDTree | None = None, workers: int = -1,
                  raster: bool | None = None) -> np.ndarray:
    """``min(cap, #stations within radius)`` per point (``raster``: None = automatic)."""
    if sxy.shape[0] == 0 or pts.shape[0] == 0:
        return np.zeros(pts.shape[0], dtype=np.int64)
    tree = tree or cKDTree(sxy)
    cell = _raster_cell(pts.shape[0], sxy.shape[0], radius, pts) if raster is None else (
        radius / 6.0 if raster else None)
    if cell is None:
        return _kdtree_counts(tree, pts, radius, cap, workers)
    return _raster_counts(tree, pts, sxy, radius, cap, cell, workers)


def coverage_arrays(demand_xy: np.ndarray, station_xy: np.ndarray, radius_m: float, *,
                    min_stations: int = 2, demand_class: np.ndarray | None = None,
                    class_masks: Sequence[np.ndarray] | None = None, network=None,
                    workers: int = -1, raster: bool | None = None) -> CoverageArrays:
    """Count stations within ``radius_m`` of each demand point (metric coordinates).

    Parameters
    ----------
    demand_xy, station_xy : array, shape (n, 2) / (m, 2)
        Metric coordinates (same CRS).
    radius_m : float
        Reach; a station at exactly ``radius_m`` counts.
    min_stations : int
        Counting stops at ``max(1, min_stations)`` (that is all 交叉覆盖 needs).
    demand_class, class_masks : optional
        Eligibility: demand point ``i`` may only use stations where
        ``class_masks[demand_class[i]]`` is true (time of day, shifts).
    network : WalkingNetwork, optional
        Measure along this network (same metric CRS as the coordinates) instead of straight.
    raster : bool, optional
        Force (True) or forbid (False) the raster pre-pass; automatic by default.

    Returns
    -------
    CoverageArrays
        ``count`` (int, capped at ``max(1, min_stations)``), lazily ``nearest_m`` and
        ``nearest_idx``.
    """
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    station_xy = np.asarray(station_xy, dtype=float).reshape(-1, 2)
    n = demand_xy.shape[0]
    cap = max(1, int(min_stations))
    count = np.zeros(n, dtype=np.int64)
    if class_masks is None:
        class_masks = [np.ones(station_xy.shape[0], dtype=bool)]
        demand_class = None
    parts = []
    for k, mask in enumerate(class_masks):
        whole = demand_class is None  # one class over every point: no copies
        sel = slice(None) if whole else np.nonzero(demand_class == k)[0]
        st = np.nonzero(np.asarray(mask, dtype=bool))[0]
        if st.size == 0 or n == 0 or (not whole and sel.size == 0):
            continue
        pts = demand_xy if whole else demand_xy[sel]
        sxy = station_xy if st.size == station_xy.shape[0] else station_xy[st]
        if network is not None:
            d, j = network.nearest_distances(pts[:, 0], pts[:, 1], sxy[:, 0], sxy[:, 1])
            c = (d <= radius_m).astype(np.int64)
            if cap > 1 and st.size > 1:
                cov = np.nonzero(c)[0]
                c[cov] = network.count_within(pts[cov, 0], pts[cov, 1], sxy[:, 0], sxy[:, 1],
                                              radius_m, cap=cap)
            parts.append((sel, st, None, d, j))
        else:
            tree = cKDTree(sxy)
            c = capped_counts(pts, sxy, radius_m, cap, tree=tree, workers=workers,
                              raster=raster)
            parts.append((sel, st, tree, None, None))
        if whole:
            count = c
        else:
            count[sel] = c

    def resolve():
        nearest = np.full(n, np.inf)
        nearest_idx = np.full(n, -1, dtype=np.int64)
        for sel, st, tree, d, j in parts:
            if tree is not None:
                d, j = tree.query(demand_xy[sel], k=1, workers=workers)
            ok = (j >= 0) & (j < st.size)
            idx = np.full(j.shape, -1, dtype=np.int64)
            idx[ok] = st[j[ok]]
            nearest[sel], nearest_idx[sel] = d, idx
        return nearest, nearest_idx

    return CoverageArrays(count, resolver=resolve)
