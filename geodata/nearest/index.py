"""The in-memory spatial index over the store's stations: "which stations are nearest?".

Stations (WGS84 lon/lat) are projected once to a metric CRS (EPSG:4548 around Beijing, see
:func:`geodata.crs.projection.metric_crs_for`) and put in a :class:`scipy.spatial.cKDTree`;
distances are straight-line metres in that projection (the Gauss-Krüger scale error is
3-6e-5 in the urban core and 2.3e-4 at Beijing's western edge, i.e. 3-23 cm per km). Query
points may come in WGS84, GCJ-02 or BD-09 and are converted to WGS84 first.

Walking time
------------
Until a walking network is loaded, the walking distance is the straight-line distance times
:data:`DETOUR_FACTOR` = 1.3, walked at :data:`WALK_SPEED_KMH` = 4.5 km/h. Nobody walks in a
straight line: planning studies commonly put the route factor (network distance ÷ straight
distance) of urban walking trips at about 1.2-1.4, and Beijing's gated compounds (大院, 小区)
and arterial roads crossed only at junctions or footbridges push real detours towards the upper
end. 1.3 is a middle value and an assumption, not a measurement; it errs on the side of telling
a worker "further" rather than "nearer". With it, 1 km straight ≈ 1.3 km ≈ 17 minutes on foot,
and the ACFTU "15 minutes on foot" target is about 865 m straight-line. When a ``network`` is
given (an object with ``walk_distances(lon, lat, positions) -> metres``; ``positions`` is an
``(m, 2)`` array of WGS84 lon/lat), straight-line candidates are re-ranked by it.

Filters
-------
* ``amenities``: every named amenity must be recorded ``yes`` (``unknown`` is not yes).
* ``open_at``: arrival = ``open_at`` + walking time; only stations open at *their own* arrival
  time are kept (hours unknown are not kept). Without ``open_at`` nothing is filtered and
  ``open_at_arrival`` is reported for "now" (Asia/Shanghai).
* ``radius_m``: straight-line distance limit.

Filtered queries widen the candidate set progressively (``k*4``, then doubling) until ``k``
stations match or the stations (within the radius) are exhausted. Ties are broken by position
in :attr:`StationIndex.stations` (store id order).

Speed
-----
``cKDTree.query`` costs tens of microseconds per call however small the tree, so single
queries go through a uniform grid scanned in plain Python (:meth:`StationIndex.nearest_ids`,
exact, falling back to the tree when the grid cannot prove its answer); many points at once
go through :meth:`StationIndex.nearest_bulk` (one vectorised tree query per chunk).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree

from geodata.crs.datums import convert, normalise_datum
from geodata.crs.projection import BEIJING_CRS, metric_crs_for, to_metric, transformer
from stations import settings
from stations.amenities import normalise_amenity
from stations.errors import ValidationError
from stations.holidays import NORMAL as NORMAL_DAY
from stations.holidays import calendar_note, day_kind
from stations.hours import SLOT_MINUTES as _SLOT
from stations.hours import WEEK_SLOTS, OpeningHours, hours_of, parse_open_at
from stations.records import Station
from stations.settings import DETOUR_FACTOR, TZ, WALK_SPEED_KMH  # the one walking model

__all__ = [
    "DETOUR_FACTOR",
    "WALK_SPEED_KMH",
    "METHOD_NETWORK",
    "METHOD_STRAIGHT",
    "NearestResult",
    "StationIndex",
]

METHOD_STRAIGHT = "straight_line_x_detour"
METHOD_NETWORK = "network"

_NETWORK_POOL = 8  # straight-line candidates per wanted result before network re-ranking
_NETWORK_CAP = 32  # ... and at most this many per wanted result in total
_GRID_MAX_K = 16  # larger k goes straight to the k-d tree
_WIDEN_BUDGET = 16  # candidates asked before an open-at query turns to the open-interval index
_SLOT_TREES = 32  # per-quarter-hour k-d trees kept (each ≤ a quarter of the stations)
_SPARSE_SHARE = 0.05  # fewer may be open at departure: straight to the open-interval index
_SORT_MAX = 4096  # a group this small is sorted by distance once per query


@dataclass(frozen=True, slots=True)
class NearestResult:
    """One station found by a query.

    ``distance_m`` is straight-line metres; ``walk_distance_m`` the network distance or the
    straight-line distance × detour factor (see ``method``); ``arrival`` the time of arrival
    (aware, Asia/Shanghai); ``open_at_arrival`` ``None`` when the hours are unknown;
    ``index`` the position in :attr:`StationIndex.stations`.
    """

    station: Station
    distance_m: float
    walk_distance_m: float
    walk_minutes: float
    arrival: datetime
    open_at_arrival: bool | None
    method: str
    index: int = -1

    @property
    def calendar_note(self) -> str | None:
        """The warning to show with ``open_at_arrival`` when China's holiday calendar does not
        know the arrival's year (:func:`stations.holidays.calendar_note`), else ``None``."""
        return calendar_note(self.arrival)


class StationIndex:
    """k-nearest, radius and bulk queries over a fixed list of stations.

    Parameters
    ----------
    stations : iterable of Station
        WGS84 lon/lat; stations without finite coordinates are left out (counted in
        :attr:`skipped`).
    network : object, optional
        Walking network with ``walk_distances(lon, lat, positions) -> np.ndarray`` (metres).
    detour_factor : float, default :data:`DETOUR_FACTOR`
        Walking distance ÷ straight-line distance when no network is given (≥ 1).
    walk_speed_kmh : float, default :data:`WALK_SPEED_KMH`
    crs : str, optional
        Metric CRS; by default chosen from the stations' extent (EPSG:4548 around Beijing).
    """

    def __init__(self, stations: Iterable[Station], *, network=None,
                 detour_factor: float = DETOUR_FACTOR, walk_speed_kmh: float = WALK_SPEED_KMH,
                 crs: str | None = None):
        if not (math.isfinite(detour_factor) and detour_factor >= 1.0):
            raise ValidationError(f"detour_factor 必须 ≥ 1 (must be ≥ 1), got {detour_factor!r}")
        if not (math.isfinite(walk_speed_kmh) and walk_speed_kmh > 0):
            raise ValidationError(f"walk_speed_kmh 必须 > 0 (must be > 0), got {walk_speed_kmh!r}")
        listed = list(stations)
        kept = [s for s in listed if _finite(s.lon) and _finite(s.lat)]
        self.skipped = len(listed) - len(kept)
        self.stations: tuple[Station, ...] = tuple(kept)
        self.lon = np.array([s.lon for s in kept], dtype=float)
        self.lat = np.array([s.lat for s in kept], dtype=float)
        self.crs = crs or (metric_crs_for(self.lon, self.lat) if kept else BEIJING_CRS)
        if kept:
            x, y = to_metric(self.lon, self.lat, self.crs)
            self.xy = np.column_stack([x, y])
            self._tree = cKDTree(self.xy)
            self._bbox = (float(np.min(x)), float(np.min(y)), float(np.max(x)), float(np.max(y)))
        else:
            self.xy = np.empty((0, 2))
            self._tree = None
        self.network = network
        self.detour_factor = float(detour_factor)
        self.walk_speed_kmh = float(walk_speed_kmh)
        self._metres_per_minute = self.walk_speed_kmh * 1000.0 / 60.0
        self._forward = self._project  # the calling thread's Transformer, each time
        self._grid: _Grid | None = None
        self._lock = threading.Lock()
        self._masks: dict[str, np.ndarray] = {}
        self._slots: _OpenSlots | None = None
        self._hours_list: list[OpeningHours] | None = None
        penalty = float(settings.get("FLAGGED_RANK_PENALTY_M"))
        if not (math.isfinite(penalty) and penalty >= 0):
            raise ValidationError(
                f"NUANXIN_FLAGGED_RANK_PENALTY_M 必须 ≥ 0 (metres), got {penalty!r}")
        # in walking metres, so "penalty metres farther" in a straight line
        walk_penalty = penalty * self.detour_factor
        self._penalty = [walk_penalty if getattr(s, "trust", "ok") == "flagged" else 0.0
                         for s in kept]

    def __len__(self) -> int:
        return len(self.stations)

    def __repr__(self) -> str:
        return f"StationIndex({len(self)} stations, crs={self.crs!r}, method={self.method!r})"

    @property
    def method(self) -> str:
        """``"network"`` with a walking network, else ``"straight_line_x_detour"``."""
        return METHOD_NETWORK if self.network is not None else METHOD_STRAIGHT

    # ---------------------------------------------------------------- coordinates
    def project(self, lon, lat, *, crs: str = "wgs84"):
        """Query coordinates (any datum) → metric ``x, y`` in :attr:`crs`."""
        wlon, wlat = _to_wgs84(lon, lat, crs)
        return self._forward(wlon, wlat)

    # ---------------------------------------------------------------- lean paths
    def _project(self, lon, lat):
        """WGS84 → this index's metric CRS with the calling thread's own Transformer (the
        index is shared by the web server's threads; :func:`transformer`)."""
        return transformer("EPSG:4326", self.crs).transform(lon, lat)

    def nearest_ids(self, x: float, y: float, k: int = 1) -> tuple[list[float], list[int]]:
        """Fast single query on metric coordinates: ``(distances, positions)``, nearest first.

        No datum conversion, filters or result objects; at most ``min(k, len(self))`` items.
        Uses a uniform grid of 3×3-cell blocks (exact: it falls back to the k-d tree when the
        block cannot prove its answer) to avoid the fixed cost of ``cKDTree.query``.
        """
        if k < 1:
            raise ValidationError(f"k 必须是正整数 (k must be a positive integer), got {k!r}")
        if self._tree is None:
            return [], []
        grid = self._grid
        if grid is None:
            with self._lock:
                if self._grid is None:
                    self._grid = _Grid(self.xy, self._tree)
                grid = self._grid
        found = grid.query(x, y, k) if k <= _GRID_MAX_K else None
        if found is not None:
            return found
        d, i = self._tree.query((x, y), k=k)
        d, i = np.atleast_1d(d), np.atleast_1d(i)
        ok = i < len(self)
        return d[ok].tolist(), i[ok].tolist()

    def nearest_bulk(self, lon, lat, *, k: int = 1, crs: str = "wgs84",
                     radius_m: float | None = None, chunk_size: int = 262_144,
                     workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """k nearest stations for many points at once (vectorised, chunked).

        Parameters
        ----------
        lon, lat : array-like
            Query points in ``crs`` (any shape; flattened).
        k : int, default 1
        crs : str, default ``"wgs84"``
            ``wgs84``, ``gcj02`` or ``bd09``.
        radius_m : float, optional
            Straight-line limit (inclusive); farther neighbours come back as ``-1``/``inf``.
        chunk_size : int
            Points per chunk (bounds memory for millions of points).
        workers : int, default 1
            Passed to ``cKDTree.query`` (``-1`` = every core).

        Returns
        -------
        dist_m : ndarray (n, k)
            Straight-line metres, ``inf`` where there is no station (k > stations, radius,
            non-finite query point).
        idx : ndarray of int64 (n, k)
            Positions in :attr:`stations`, ``-1`` where there is none.
        """
        k = _check_k(k)
        radius = _check_radius(radius_m)
        lon_a = np.asarray(lon, dtype=float).ravel()
        lat_a = np.asarray(lat, dtype=float).ravel()
        if lon_a.shape != lat_a.shape:
            raise ValidationError(
                f"lon 与 lat 数量不同 (lon and lat differ in length): {lon_a.size} vs {lat_a.size}")
        src = normalise_datum(crs)
        n = len(self)
        dist = np.full((lon_a.size, k), np.inf)
        idx = np.full((lon_a.size, k), -1, dtype=np.int64)
        if n == 0 or lon_a.size == 0:
            return dist, idx
        bound = np.inf if radius is None else radius * (1 + 1e-12)  # inclusive, as within()
        step = max(int(chunk_size), 1)
        for start in range(0, lon_a.size, step):
            stop = min(start + step, lon_a.size)
            qlon, qlat = lon_a[start:stop], lat_a[start:stop]
            if src != "wgs84":
                qlon, qlat = convert(qlon, qlat, src=src, dst="wgs84")
            x, y = self._forward(qlon, qlat)
            q = np.column_stack([x, y])
            good = np.isfinite(q).all(axis=1)
            if not good.all():
                q = q[good]
            d, i = self._tree.query(q, k=k, distance_upper_bound=bound, workers=workers)
            d, i = d.reshape(-1, k), i.reshape(-1, k)
            if radius is not None:
                d = np.where(d <= radius, d, np.inf)
            i = np.where(np.isfinite(d) & (i < n), i, -1)
            if good.all():
                dist[start:stop], idx[start:stop] = d, i
            else:
                rows = np.nonzero(good)[0] + start
                dist[rows], idx[rows] = d, i
        return dist, idx

    # ---------------------------------------------------------------- full queries
    def nearest(self, lon: float, lat: float, *, k: int = 5, crs: str = "wgs84",
                amenities: Sequence[str] | str = (), open_at: datetime | str | None = None,
                radius_m: float | None = None, require_open: bool | None = None
                ) -> list[NearestResult]:
        """The ``k`` nearest stations matching the filters, nearest (walking) first.

        Parameters
        ----------
        lon, lat : float
            Query point in ``crs`` (``wgs84``, ``gcj02`` or ``bd09``).
        k : int, default 5
        amenities : sequence of str
            Keys or Chinese names (``热水``); each must be recorded ``yes``.
        open_at : datetime or ISO text, optional
            Departure time (naive = Asia/Shanghai). Given, only stations open at arrival are
            kept; absent, "now" is used for ``open_at_arrival`` and nothing is filtered.
        radius_m : float, optional
            Straight-line limit in metres.
        require_open : bool, optional
            Override whether to keep only stations open at arrival (default: ``open_at`` given).

        Ranking is by walking distance; a station flagged by worker reports
        (``trust == "flagged"``) ranks as if it were ``NUANXIN_FLAGGED_RANK_PENALTY_M`` metres
        (straight line) farther, with its true distances reported.
        """
        q = self._query(lon, lat, k, crs, amenities, open_at, radius_m, require_open)
        if q is None:
            return []
        if q.only_open and self.network is None:
            # Cheap when much is open: the nearest few candidates settle it. When little is
            # open, the open-interval index answers without widening to everything.
            if self._open_slots().share(_local_naive(q.when)) < _SPARSE_SHARE:
                return self._nearest_by_slots(q)
            found = self._widen(q, budget=max(_WIDEN_BUDGET, q.k * 4))
            return found if found is not None else self._nearest_by_slots(q)
        return self._widen(q)

    def nearest_widening(self, lon: float, lat: float, *, k: int = 5, crs: str = "wgs84",
                         amenities: Sequence[str] | str = (),
                         open_at: datetime | str | None = None, radius_m: float | None = None,
                         require_open: bool | None = None) -> list[NearestResult]:
        """:meth:`nearest` by widening the candidate set alone (``k*4``, then doubling, up to
        every station): the path before the open-interval index, kept as the benchmark's
        baseline. Same answers as :meth:`nearest`."""
        q = self._query(lon, lat, k, crs, amenities, open_at, radius_m, require_open)
        return [] if q is None else self._widen(q)

    def _query(self, lon, lat, k, crs, amenities, open_at, radius_m, require_open
               ) -> _Query | None:
        """Checked query arguments; ``None`` when nothing can match."""
        k = _check_k(k)
        radius = _check_radius(radius_m)
        wanted = _amenity_keys(amenities)
        when = parse_open_at(open_at)
        only_open = (open_at is not None) if require_open is None else bool(require_open)
        wlon, wlat = _check_point(lon, lat, crs)
        if not len(self):
            return None
        qx, qy = self._query_xy(wlon, wlat)
        mask = self._mask(wanted)
        if mask is not None and not mask.any():
            return None
        return _Query(wlon, wlat, qx, qy, k, radius, mask, when, only_open)

    def _widen(self, q: _Query, budget: int | None = None) -> list[NearestResult] | None:
        """Widen the nearest candidates (``k*4``, doubling) until ``k`` matches are proven;
        ``None`` when more than ``budget`` candidates would be needed."""
        n, k = len(self), q.k
        filtered = q.mask is not None or q.only_open
        networked = self.network is not None
        m = min(n, k * 4 if filtered else k)
        if networked:
            m = min(n, max(m, k * _NETWORK_POOL, 16))
        cap = max(k * _NETWORK_CAP, 256)
        seen: set[int] = set()  # by position, not prefix: robust to ties at the boundary
        matches: list[NearestResult] = []
        while True:
            d, i = self._candidates(q.qx, q.qy, m, q.radius)
            fresh = [(a, p) for a, p in zip(d, i, strict=True)
                     if p not in seen and (q.mask is None or q.mask[p])]
            seen.update(i)
            matches.extend(self._evaluate(q.wlon, q.wlat, [a for a, _ in fresh],
                                          [p for _, p in fresh], q.when, q.only_open))
            if len(i) < m or m >= n:  # the stations (within the radius) are exhausted
                break
            if len(matches) >= k:
                matches.sort(key=self._rank)
                # walking ≥ straight line × detour (network: ≥ straight line), and a penalty
                # only adds: nothing unseen can beat the k-th match
                bound = d[-1] if networked else d[-1] * self.detour_factor
                if self._rank(matches[k - 1])[0] <= bound or (networked and m >= cap):
                    break
            if budget is not None and m >= budget:
                return None
            m = min(n, m * 2)
        matches.sort(key=self._rank)
        return matches[:k]

    def _nearest_by_slots(self, q: _Query) -> list[NearestResult]:
        """Exact k nearest open at arrival, walking out in bands of arrival quarter-hours.

        Stations at straight-line distance ``d`` arrive at ``when + d·detour/speed``; band
        ``j`` holds those arriving in the ``j``-th quarter-hour from the departure's. For each
        band only the stations that may be open in that quarter-hour (the open-interval index,
        :class:`_OpenSlots`) are fetched and then asked exactly, so a night when little is
        open costs a few small lookups instead of every station.
        """
        slots = self._open_slots()
        start = _local_naive(q.when)
        first = start.replace(minute=start.minute - start.minute % _SLOT, second=0,
                              microsecond=0)
        step = timedelta(minutes=_SLOT)
        per_minute = self._metres_per_minute / self.detour_factor  # straight metres / minute
        reach = self._farthest(q.qx, q.qy)
        if q.radius is not None:
            reach = min(reach, q.radius)
        matches: list[NearestResult] = []
        ordered: dict[int, tuple] = {}  # per group: stations by distance, up to a radius
        band = 0
        while True:
            lo = first + band * step
            hi_m = max(0.0, ((lo + step) - start).total_seconds() / 60.0 * per_minute)
            group = slots.group(lo)
            if group is not None:
                lo_m = max(0.0, (lo - start).total_seconds() / 60.0 * per_minute)
                high = min(hi_m, reach)
                near = ordered.get(group)
                if near is None or near[2] < high:
                    # fetched once per group and reused by its later bands: a radius well
                    # ahead of this band (every station of a small group)
                    ahead = min(reach, max(high * 1.5, high + 8 * _SLOT * per_minute))
                    near = ordered[group] = self._by_distance(q, slots.tree(group), ahead)
                matches.extend(self._band(q, near, lo, lo_m, high))
            if len(matches) >= q.k:
                matches.sort(key=self._rank)
                if self._rank(matches[q.k - 1])[0] <= hi_m * self.detour_factor:
                    break
            if hi_m >= reach:
                break
            band += 1
        matches.sort(key=self._rank)
        return matches[:q.k]

    def _by_distance(self, q: _Query, tree_positions: tuple, radius: float) -> tuple:
        """``(distances, positions, covered)``: a group's stations within ``radius`` (every
        station of a small group: ``covered`` infinite) sorted by distance from the query."""
        tree, positions = tree_positions
        if tree is None:
            return np.empty(0), np.empty(0, dtype=np.int64), math.inf
        if isinstance(positions, np.ndarray) and positions.size <= _SORT_MAX:
            idx, covered = positions, math.inf
        else:
            found = tree.query_ball_point((q.qx, q.qy), r=radius * (1 + 1e-12) + 1e-9)
            idx, covered = positions[np.asarray(found, dtype=np.int64)], radius
        dist = np.hypot(self.xy[idx, 0] - q.qx, self.xy[idx, 1] - q.qy)
        order = np.argsort(dist, kind="stable")
        return dist[order], idx[order], covered

    def _band(self, q: _Query, near: tuple, lo: datetime, inner: float, radius: float
              ) -> list[NearestResult]:
        """Matches among a group's stations (``near``, by distance) arriving in the
        quarter-hour ``lo`` (distances about ``inner``..``radius``; the arrival decides)."""
        low, high = inner * (1 - 1e-9) - 1e-6, radius * (1 + 1e-12) + 1e-9
        a, b = np.searchsorted(near[0], [low, high], side="left")
        dist, idx = near[0][a:b], near[1][a:b]  # nearer ones arrived in an earlier band
        if q.radius is not None or q.mask is not None:
            keep = np.ones(len(idx), dtype=bool) if q.radius is None else dist <= q.radius
            if q.mask is not None:
                keep &= q.mask[idx]
            idx, dist = idx[keep], dist[keep]
        if not len(idx):
            return []
        start = _local_naive(q.when)
        # minutes after ``lo`` of each arrival; the exact datetime decides near the edges
        offset = (start - lo).total_seconds() / 60.0 + dist * (
            self.detour_factor / self._metres_per_minute)
        inside = (offset >= 1e-6) & (offset < _SLOT - 1e-6)
        edge = ~inside & (offset > -1e-6) & (offset < _SLOT + 1e-6)
        if edge.any():
            end = lo + timedelta(minutes=_SLOT)
            for j in np.flatnonzero(edge).tolist():
                arrival = start + timedelta(
                    minutes=float(dist[j]) * self.detour_factor / self._metres_per_minute)
                inside[j] = lo <= arrival < end
        return self._evaluate(q.wlon, q.wlat, dist[inside].tolist(), idx[inside].tolist(),
                              q.when, True)

    def _open_slots(self) -> _OpenSlots:
        slots = self._slots
        if slots is None:
            with self._lock:
                if self._slots is None:
                    self._slots = _OpenSlots(self.stations, self.xy, self._tree)
                slots = self._slots
        return slots

    def _farthest(self, qx: float, qy: float) -> float:
        """An upper bound of the straight-line distance to any station (bounding box)."""
        x0, y0, x1, y1 = self._bbox
        dx = max(abs(qx - x0), abs(qx - x1))
        dy = max(abs(qy - y0), abs(qy - y1))
        return math.hypot(dx, dy) * (1 + 1e-9) + 1e-6

    def _rank(self, r: NearestResult) -> tuple[float, float, int]:
        """Ranking key: walking metres (plus the flagged penalty), then distance, then order."""
        return (r.walk_distance_m + self._penalty[r.index], r.distance_m, r.index)

    def within(self, lon: float, lat: float, radius_m: float, *, crs: str = "wgs84",
               amenities: Sequence[str] | str = (), open_at: datetime | str | None = None,
               require_open: bool | None = None) -> list[NearestResult]:
        """Every station within ``radius_m`` straight-line metres, nearest (walking) first."""
        radius = _check_radius(radius_m)
        if radius is None:
            raise ValidationError("within() 需要半径 (needs radius_m in metres)")
        wanted = _amenity_keys(amenities)
        when = parse_open_at(open_at)
        only_open = (open_at is not None) if require_open is None else bool(require_open)
        wlon, wlat = _check_point(lon, lat, crs)
        if not len(self):
            return []
        qx, qy = self._query_xy(wlon, wlat)
        i = np.asarray(self._tree.query_ball_point((qx, qy), r=radius), dtype=np.int64)
        mask = self._mask(wanted)
        if mask is not None and i.size:
            i = i[mask[i]]
        d = np.hypot(self.xy[i, 0] - qx, self.xy[i, 1] - qy)
        order = np.lexsort((i, d))
        results = self._evaluate(wlon, wlat, d[order].tolist(), i[order].tolist(), when,
                                 only_open)
        results.sort(key=self._rank)
        return results

    # ---------------------------------------------------------------- helpers
    def _query_xy(self, wlon: float, wlat: float) -> tuple[float, float]:
        qx, qy = self._forward(wlon, wlat)
        if not (math.isfinite(qx) and math.isfinite(qy)):
            raise ValidationError(
                f"查询点 ({wlon}, {wlat}) 离站点所在区域太远 (query point too far from the "
                f"stations to project in {self.crs})")
        return qx, qy

    def _mask(self, wanted: tuple[str, ...]) -> np.ndarray | None:
        if not wanted:
            return None
        mask = np.ones(len(self), dtype=bool)
        for key in wanted:
            col = self._masks.get(key)
            if col is None:
                col = np.fromiter((s.has(key) for s in self.stations),
                                  dtype=bool, count=len(self))
                self._masks[key] = col
            mask &= col
        return mask

    def hours(self, position: int) -> OpeningHours:
        """Parsed opening hours of ``stations[position]`` (unreadable text counts as unknown)."""
        return hours_of(self.stations[position])

    def _candidates(self, qx: float, qy: float, m: int, radius: float | None
                    ) -> tuple[list[float], list[int]]:
        """Up to ``m`` nearest (distances, positions), nearest first, within ``radius``."""
        if radius is None:
            return self.nearest_ids(qx, qy, m)
        d, i = self._tree.query((qx, qy), k=m, distance_upper_bound=radius * (1 + 1e-12))
        n = len(self)
        pairs = [(a, b) for a, b in zip(np.atleast_1d(d).tolist(), np.atleast_1d(i).tolist(),
                                        strict=True) if b < n and a <= radius]
        return [a for a, _ in pairs], [b for _, b in pairs]

    def _evaluate(self, wlon: float, wlat: float, dist: list[float], idx: list[int],
                  when: datetime, only_open: bool) -> list[NearestResult]:
        if not idx:
            return []
        walk = [d * self.detour_factor for d in dist]
        methods = [METHOD_STRAIGHT] * len(idx)
        if self.network is not None:
            positions = np.column_stack([self.lon[idx], self.lat[idx]])
            net = np.asarray(self.network.walk_distances(wlon, wlat, positions), dtype=float)
            if net.shape != (len(idx),):
                raise ValidationError(
                    f"network.walk_distances returned shape {net.shape}, expected {len(idx)}")
            usable = np.isfinite(net).tolist()
            walk = [n if u else w for n, w, u in zip(net.tolist(), walk, usable, strict=True)]
            methods = [METHOD_NETWORK if u else METHOD_STRAIGHT for u in usable]
        out = []
        local = _local_naive(when)  # naive Shanghai time: asked without a conversion each
        hours = self._hours()
        for d, w, i, method in zip(dist, walk, idx, methods, strict=True):
            minutes = w / self._metres_per_minute
            step = timedelta(minutes=minutes)
            is_open = hours[i].is_open(local + step)
            if only_open and is_open is not True:
                continue
            out.append(NearestResult(self.stations[i], d, w, minutes, when + step, is_open,
                                     method, i))
        return out

    def _hours(self) -> list[OpeningHours]:
        """Every station's parsed hours, by position (shared per distinct text)."""
        hours = self._hours_list
        if hours is None:
            hours = self._hours_list = [hours_of(s) for s in self.stations]
        return hours


def _local_naive(when: datetime) -> datetime:
    """Asia/Shanghai wall-clock time (naive) of an aware or naive (= local) datetime."""
    if when.tzinfo is None or when.utcoffset() is None:
        return when
    return when.astimezone(TZ).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class _Query:
    wlon: float
    wlat: float
    qx: float
    qy: float
    k: int
    radius: float | None
    mask: np.ndarray | None
    when: datetime
    only_open: bool


class _OpenSlots:
    """Stations by the quarter-hours of the week in which they may be open.

    Each distinct hours text gets two bit masks from :meth:`OpeningHours.week_slots` (an
    ordinary day; a day that is or follows a holiday or make-up working day). For a
    quarter-hour the stations that may be open are those whose mask has its bit, plus every
    station whose hours are not weekly (months, sun events …: asked every time). Quarter-hours
    with the same set share one group and one small k-d tree, built on first use (at most
    :data:`_SLOT_TREES` kept; a set holding more than a quarter of the stations uses the full
    tree with a mask instead).
    """

    def __init__(self, stations: Sequence[Station], xy: np.ndarray, tree: cKDTree):
        texts = [s.opening_hours or "" for s in stations]
        uniq, pattern = np.unique(np.asarray(texts, dtype=object).astype(str),
                                  return_inverse=True)
        rows = [hours_of(t).week_slots() for t in uniq.tolist()]
        irregular = np.array([r is None for r in rows], dtype=bool)
        bits = np.zeros((2, len(uniq), WEEK_SLOTS), dtype=bool)
        for p, r in enumerate(rows):
            for kind, mask in enumerate(r or (0, 0)):
                if mask:
                    bits[kind, p] = [(mask >> i) & 1 == 1 for i in range(WEEK_SLOTS)]
        bits[:, irregular] = True
        # one group per distinct set of patterns: columns deduplicated per kind
        self._groups: list[np.ndarray] = []
        self._slot_group = np.zeros((2, WEEK_SLOTS), dtype=np.int64)
        seen: dict[bytes, int] = {}
        for kind in (0, 1):
            for slot in range(WEEK_SLOTS):
                col = bits[kind, :, slot]
                key = col.tobytes()
                if key not in seen:
                    seen[key] = len(self._groups)
                    self._groups.append(col)
                self._slot_group[kind, slot] = seen[key]
        self._slot_group = self._slot_group.tolist()
        self._empty = [not col.any() for col in self._groups]
        counts = np.bincount(pattern.ravel(), minlength=len(uniq))
        total = max(1, len(stations))
        self._share = [float(counts[col].sum()) / total for col in self._groups]
        self._pattern = pattern.ravel()
        self._xy, self._tree = xy, tree
        self._trees: OrderedDict[int, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def group(self, lo: datetime) -> int | None:
        """The group of the quarter-hour starting at naive local ``lo``; ``None`` if empty."""
        slot = lo.weekday() * (1440 // _SLOT) + (lo.hour * 60 + lo.minute) // _SLOT
        g = self._slot_group[1 if _special_day(lo.date()) else 0][slot]
        return None if self._empty[g] else g

    def share(self, lo: datetime) -> float:
        """Share of the stations that may be open in the quarter-hour of naive local ``lo``."""
        g = self.group(lo)
        return 0.0 if g is None else self._share[g]

    def tree(self, group: int) -> tuple[cKDTree | None, np.ndarray]:
        """``(tree, positions)``: a k-d tree over the group's stations and their positions."""
        with self._lock:
            hit = self._trees.get(group)
            if hit is not None:
                self._trees.move_to_end(group)
                return hit
        positions = np.flatnonzero(self._groups[group][self._pattern])
        if positions.size > len(self._pattern) // 4:
            built = (_MaskedTree(self._tree, positions, len(self._pattern)), _IDENTITY)
        else:
            built = (cKDTree(self._xy[positions]) if positions.size else None, positions)
        with self._lock:
            self._trees[group] = built
            while len(self._trees) > _SLOT_TREES:
                self._trees.popitem(last=False)
        return built


@lru_cache(maxsize=4096)
def _special_day(day: date) -> bool:
    """A holiday or make-up working day, or the day after one (its spill differs)."""
    return day_kind(day) != NORMAL_DAY or day_kind(day - timedelta(days=1)) != NORMAL_DAY


class _MaskedTree:
    """The full k-d tree restricted to some positions (for groups holding most stations)."""

    def __init__(self, tree: cKDTree, positions: np.ndarray, n: int):
        self._tree = tree
        self._keep = np.zeros(n, dtype=bool)
        self._keep[positions] = True

    def query_ball_point(self, point, r: float) -> list[int]:
        found = np.asarray(self._tree.query_ball_point(point, r=r), dtype=np.int64)
        return found[self._keep[found]].tolist()


class _Identity:
    def __getitem__(self, idx):
        return idx


_IDENTITY = _Identity()


_SHIFT = 1 << 21  # grid cell key = column * _SHIFT + row
_RINGS = {r: [dx * _SHIFT + dy for dx in range(-r, r + 1) for dy in range(-r, r + 1)
              if max(abs(dx), abs(dy)) == r] for r in (2, 3)}


class _Grid:
    """Uniform grid for fast single queries in plain Python (no per-call numpy overhead).

    Each cell lists the points of its 3×3 block, and (separately) its own points. A query
    scans the block around its cell, then up to two more rings of cells; the answer is exact
    as soon as the k-th distance found is within the distance from the query to the edge of
    the cells scanned. Otherwise :meth:`query` returns ``None`` and the caller asks the k-d
    tree (far-away queries, sparse corners, large k).
    """

    _SHIFT = _SHIFT
    _RINGS = _RINGS

    def __init__(self, xy: np.ndarray, tree: cKDTree):
        n = len(xy)
        x, y = xy[:, 0], xy[:, 1]
        self.x0, self.y0 = float(x.min()), float(y.min())
        extent = max(float(x.max()) - self.x0, float(y.max()) - self.y0)
        size = 0.0
        if n > 1:  # ~1 point per cell: 2.13 × the median nearest-neighbour spacing
            sample = xy[:: max(1, n // 4096)]
            nn = tree.query(sample, k=2)[0][:, 1]
            size = 2.13 * float(np.median(nn))
        size = max(size, extent / (self._SHIFT - 8), 1e-3)
        self.size, self.inv = size, 1.0 / size
        cx = np.floor((x - self.x0) * self.inv).astype(np.int64)
        cy = np.floor((y - self.y0) * self.inv).astype(np.int64)
        self.nx, self.ny = int(cx.max()) + 1, int(cy.max()) + 1
        points = list(zip(x.tolist(), y.tolist(), range(n), strict=True))
        own = cx * self._SHIFT + cy
        self.cells = _groups(own, np.arange(n), points)
        offsets = np.array([dx * self._SHIFT + dy for dx in (-1, 0, 1) for dy in (-1, 0, 1)])
        keys = (own[:, None] + offsets[None, :]).ravel()
        self.blocks = _groups(keys, np.repeat(np.arange(n), offsets.size), points)

    def query(self, qx: float, qy: float, k: int):
        fx = (qx - self.x0) * self.inv
        fy = (qy - self.y0) * self.inv
        if not (-1.0 <= fx <= self.nx and -1.0 <= fy <= self.ny):
            return None  # also catches NaN
        ix, iy = math.floor(fx), math.floor(fy)
        base = ix * self._SHIFT + iy
        edge = min(fx - ix, ix + 1 - fx, fy - iy, iy + 1 - fy)
        block = self.blocks.get(base)
        if k == 1:
            best, found = math.inf, -1
            if block is not None:
                for px, py, i in block:
                    dx, dy = px - qx, py - qy
                    d = dx * dx + dy * dy
                    if d < best:
                        best, found = d, i
                reach = (edge + 1.0) * self.size
                if best <= reach * reach * (1.0 - 1e-9):
                    return [math.sqrt(best)], [found]
            cands = [(best, found)] if found >= 0 else []
        else:
            cands = [] if block is None else [((px - qx) ** 2 + (py - qy) ** 2, i)
                                              for px, py, i in block]
            found = self._proven(cands, k, edge + 1.0)
            if found is not None:
                return found
        for r in (2, 3):
            for offset in self._RINGS[r]:
                cell = self.cells.get(base + offset)
                if cell is not None:
                    cands.extend(((px - qx) ** 2 + (py - qy) ** 2, i) for px, py, i in cell)
            found = self._proven(cands, k, edge + r)
            if found is not None:
                return found
        return None

    def _proven(self, cands: list, k: int, reach_cells: float):
        if len(cands) < k:
            return None
        cands.sort()
        reach = reach_cells * self.size
        if cands[k - 1][0] > reach * reach * (1.0 - 1e-9):
            return None
        return [math.sqrt(d) for d, _ in cands[:k]], [i for _, i in cands[:k]]


def _groups(keys: np.ndarray, owner: np.ndarray, points: list) -> dict[int, tuple]:
    """``{key: tuple of points}`` from parallel arrays of keys and point positions."""
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    flat = [points[i] for i in owner[order].tolist()]
    uniq, starts = np.unique(keys, return_index=True)
    bounds = np.append(starts, keys.size).tolist()
    return {key: tuple(flat[bounds[j]:bounds[j + 1]]) for j, key in enumerate(uniq.tolist())}


# -------------------------------------------------------------------- validation helpers
def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValidationError(f"k 必须是正整数 (k must be a positive integer), got {k!r}")
    return int(k)


def _check_radius(radius_m) -> float | None:
    if radius_m is None:
        return None
    if not _finite(radius_m) or float(radius_m) < 0:  # 0: only a station at the point
        raise ValidationError(
            f"半径不能为负数 (radius_m must be metres ≥ 0), got {radius_m!r}")
    return float(radius_m)


def _to_wgs84(lon, lat, crs: str):
    src = normalise_datum(crs)
    if src == "wgs84":
        return lon, lat
    return convert(lon, lat, src=src, dst="wgs84")


def _check_point(lon, lat, crs: str) -> tuple[float, float]:
    if not (_finite(lon) and -180 <= float(lon) <= 180):
        raise ValidationError(f"经度无效 (lon must be a number in -180..180), got {lon!r}")
    if not (_finite(lat) and -90 <= float(lat) <= 90):
        raise ValidationError(f"纬度无效 (lat must be a number in -90..90), got {lat!r}")
    wlon, wlat = _to_wgs84(float(lon), float(lat), crs)
    return float(wlon), float(wlat)


def _amenity_keys(amenities: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(amenities, str):
        amenities = [amenities]
    keys: list[str] = []
    for name in amenities or ():
        key = normalise_amenity(name)
        if key not in keys:
            keys.append(key)
    return tuple(keys)
