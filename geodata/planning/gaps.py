"""Gaps you can act on: uncovered demand grouped into clusters (缺口).

:func:`find_gaps` takes a coverage result (:class:`geodata.planning.coverage.CoverageResult`,
used through its attributes only) and groups its uncovered demand with DBSCAN at the service
radius, weighted by head count (or area): two uncovered points closer than the radius belong
to the same gap, so one new station near the middle of a gap may serve much of it. Each gap
carries its size in people (or m², or points, as the demand counts), its street, the nearest
station and its distance, and the best passing candidate that would cover it (screening
``pass``, not yet a station, precisely located), if one exists.

Siting starts from the gaps: :func:`gaps_as_demand` gives the clustered uncovered demand as a
:class:`~geodata.planning.demand.DemandSet` (``meta["gap_id"]`` per point) that the siting
adapter (:mod:`geodata.planning.siting`) can take as its demand.

Large uncovered areas (a whole city's grid) are first binned into square bins of half the
radius, doubled until at most :data:`_BIN_TARGET` bins remain (weights summed at their
weighted centre; neighbouring bins always connect), so clustering stays fast; the gaps' sizes
and members are still exact sums over the points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geodata.crs.projection import from_metric, to_metric
from geodata.planning.demand import DemandSet

__all__ = ["Gap", "find_gaps", "gaps_as_demand", "passing_candidates", "CandidateArrays",
           "size_text"]

#: Above this many uncovered points, points are binned before clustering ...
_BIN_ABOVE = 20_000
#: ... into at most this many bins.
_BIN_TARGET = 20_000
#: Stages of a candidate that is (or will never be) a station.
_CLOSED_STAGES = ("opened", "suspended", "closed", "declined")


@dataclass
class CandidateArrays:
    """Candidates that could be opened: ids, names and WGS84 lon/lat."""

    ids: np.ndarray
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray

    def __len__(self) -> int:
        return int(np.asarray(self.lon).size)


def passing_candidates(store) -> CandidateArrays:
    """Candidates that pass screening, are not (and will not be) a station and are precisely
    located — those a gap may name as "would cover it"."""
    from stations.candidates import list_candidates

    keep = [c for c in list_candidates(store)
            if c.screening_result == "pass" and c.station_id is None
            and c.stage not in _CLOSED_STAGES and c.precisely_located]
    return CandidateArrays(ids=np.array([c.id for c in keep], dtype=np.int64),
                           names=np.array([c.name for c in keep], dtype=object),
                           lon=np.array([c.lon for c in keep], dtype=float),
                           lat=np.array([c.lat for c in keep], dtype=float))


@dataclass
class Gap:
    """One cluster of uncovered demand."""

    rank: int
    size: float
    points: int
    lon: float
    lat: float
    street: str | None
    district: str | None
    nearest_station_id: int | None
    nearest_station_name: str | None
    nearest_station_m: float | None
    candidate: dict | None
    members: np.ndarray = field(repr=False, default=None)
    outline: object = field(repr=False, default=None)

    def as_dict(self, unit: str) -> dict:
        """JSON form (the outline as a GeoJSON geometry, WGS84)."""
        import json

        import shapely

        return {"rank": self.rank, "size": round(float(self.size), 3), "unit": unit,
                "size_zh": size_text(self.size, unit),
                "points": self.points, "lon": round(self.lon, 7), "lat": round(self.lat, 7),
                "street": self.street, "district": self.district,
                "nearest_station_id": self.nearest_station_id,
                "nearest_station_name": self.nearest_station_name,
                "nearest_station_m": (None if self.nearest_station_m is None
                                      else round(self.nearest_station_m, 1)),
                "candidate": self.candidate,
                "outline": (None if self.outline is None or self.outline.is_empty
                            else json.loads(shapely.to_geojson(self.outline)))}


def size_text(size: float, unit: str) -> str:
    """A gap's size as a union officer reads it: ``110 人``, ``65.1 公顷``, ``3 个点``."""
    if unit == "m2":
        return f"{size / 10_000:,.1f} 公顷"
    if unit == "points":
        return f"{size:,.0f} 个点"
    return f"{size:,.10g} 人"


def _labels(xy: np.ndarray, weight: np.ndarray, eps: float, min_weight: float) -> np.ndarray:
    """DBSCAN labels of weighted points (-1: too light to be a gap on its own)."""
    from sklearn.cluster import DBSCAN

    if xy.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    model = DBSCAN(eps=eps, min_samples=1, metric="euclidean")  # weights in min_weight units
    return model.fit(xy, sample_weight=weight / min_weight).labels_.astype(np.int64)


def _bins(xy: np.ndarray, weight: np.ndarray, eps: float):
    """``(centres, weights, inverse, size)``: points binned into squares of ``eps / 2``,
    doubled until at most :data:`_BIN_TARGET` bins remain."""
    size = eps / 2
    lo = xy.min(axis=0)
    while True:
        kx = ((xy[:, 0] - lo[0]) // size).astype(np.int64)
        ky = ((xy[:, 1] - lo[1]) // size).astype(np.int64)
        uniq, inverse = np.unique(kx * (int(ky.max()) + 1) + ky, return_inverse=True)
        if len(uniq) <= _BIN_TARGET:
            break
        size *= 2
    inverse = inverse.ravel()
    w = np.bincount(inverse, weights=weight, minlength=len(uniq))
    safe = np.where(w > 0, w, 1.0)
    cx = np.bincount(inverse, weights=xy[:, 0] * weight, minlength=len(uniq)) / safe
    cy = np.bincount(inverse, weights=xy[:, 1] * weight, minlength=len(uniq)) / safe
    return np.column_stack([cx, cy]), w, inverse, size


def find_gaps(result, *, candidates: CandidateArrays | None = None,
              eps_m: float | None = None, min_weight: float | None = None,
              max_gaps: int | None = 50) -> list[Gap]:
    """The gaps of a coverage result, largest first.

    Parameters
    ----------
    result : CoverageResult
        Its ``demand``, ``covered``, ``stations``, ``radius_m``, ``crs``, ``area`` and
        ``area_index`` are used.
    candidates : CandidateArrays, optional
        Candidates that may be named as covering a gap (:func:`passing_candidates`).
    eps_m : float, optional
        Neighbourhood of DBSCAN in metres (default: the service radius).
    min_weight : float, optional
        Least weight a neighbourhood needs to seed a gap (default: one person, one point, or
        one full grid cell of area).
    max_gaps : int, optional
        Keep the largest ones only (``None``: all).
    """
    demand = result.demand
    idx = np.flatnonzero(~np.asarray(result.covered) & (demand.weight > 0))
    if idx.size == 0:
        return []
    x, y = to_metric(demand.lon[idx], demand.lat[idx], result.crs)
    xy = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    weight = demand.weight[idx]
    eps = float(eps_m or result.radius_m)
    if min_weight is None:
        min_weight = (demand.cell_m ** 2 if demand.unit == "m2" and demand.cell_m else 1.0)
    if xy.shape[0] > _BIN_ABOVE:
        bxy, bw, inverse, size = _bins(xy, weight, eps)
        eps = max(eps, 1.5 * size)  # neighbouring bins connect
    else:
        bxy, bw, inverse, size = xy, weight, np.arange(xy.shape[0]), 0.0
    blabels = _labels(bxy, bw, eps, float(min_weight))
    labels = blabels[inverse]
    ids = np.unique(blabels[blabels >= 0])
    sizes = np.bincount(labels[labels >= 0], minlength=int(ids.max()) + 1 if ids.size else 0,
                        weights=weight[labels >= 0])[ids] if ids.size else np.zeros(0)
    order = ids[np.argsort(-sizes, kind="stable")]
    if max_gaps is not None:
        order = order[:max_gaps]
    context = _Context(result, candidates, pad=size / 2)
    return [context.gap(rank, idx[labels == k], weight[labels == k], bxy[blabels == k],
                        bw[blabels == k]) for rank, k in enumerate(order.tolist(), start=1)]


class _Context:
    """What every gap of one result is described with (trees built once)."""

    def __init__(self, result, candidates: CandidateArrays | None, *, pad: float = 0.0) -> None:
        from scipy.spatial import cKDTree

        self.result, self.pad = result, pad
        st = result.stations
        sx, sy = to_metric(st.lon, st.lat, result.crs)
        self.station_tree = cKDTree(np.column_stack([sx, sy])) if len(st) else None
        self.candidates = candidates if candidates is not None and len(candidates) else None
        if self.candidates is not None:
            cx, cy = to_metric(self.candidates.lon, self.candidates.lat, result.crs)
            self.cand_xy = np.column_stack([np.asarray(cx), np.asarray(cy)])

    def gap(self, rank: int, members: np.ndarray, member_weight: np.ndarray, xy: np.ndarray,
            weight: np.ndarray) -> Gap:
        """One gap: its points (``members``, weights) and the places it is measured on
        (``xy``, ``weight``: the points themselves, or their bins)."""
        total = float(weight.sum())
        centre = (weight @ xy) / total if total > 0 else xy.mean(axis=0)
        lon, lat = from_metric(centre[0], centre[1], self.result.crs)
        street, district = self._area(members, member_weight)
        near = (None, None, None)
        if self.station_tree is not None:
            dist, j = self.station_tree.query(centre, k=1)
            st = self.result.stations
            near = (int(st.ids[j]), str(st.names[j]), float(dist))
        return Gap(rank=rank, size=float(member_weight.sum()), points=int(members.size),
                   lon=float(lon),
                   lat=float(lat), street=street, district=district,
                   nearest_station_id=near[0], nearest_station_name=near[1],
                   nearest_station_m=near[2], candidate=self._candidate(xy, weight, total),
                   members=members, outline=self._outline(xy))

    def _area(self, members: np.ndarray, weight: np.ndarray) -> tuple[str | None, str | None]:
        res = self.result
        if res.area is None or res.area_index is None:
            return None, None
        index = res.area_index[members]
        ok = index >= 0
        if not ok.any():
            return None, None
        best = int(np.argmax(np.bincount(index[ok], weights=weight[ok])))
        return str(res.area.sub_names[best]), str(res.area.sub_districts[best] or "") or None

    def _candidate(self, xy: np.ndarray, weight: np.ndarray, total: float) -> dict | None:
        """The passing candidate whose service radius holds most of the gap (ties: nearer)."""
        if self.candidates is None:
            return None
        from scipy.spatial import cKDTree

        radius = float(self.result.radius_m)
        tree = cKDTree(xy)
        best, best_w, best_d = None, 0.0, np.inf
        lo, hi = xy.min(axis=0) - radius, xy.max(axis=0) + radius
        near = np.flatnonzero(np.all((self.cand_xy >= lo) & (self.cand_xy <= hi), axis=1))
        for j in near.tolist():
            hits = tree.query_ball_point(self.cand_xy[j], radius)
            w = float(weight[hits].sum()) if hits else 0.0
            d = float(np.min(np.hypot(*(xy - self.cand_xy[j]).T)))
            if w > best_w + 1e-9 or (abs(w - best_w) <= 1e-9 and w > 0 and d < best_d):
                best, best_w, best_d = j, w, d
        if best is None:
            return None
        c = self.candidates
        return {"id": int(c.ids[best]), "name": str(c.names[best]),
                "lon": round(float(c.lon[best]), 7), "lat": round(float(c.lat[best]), 7),
                "covers": round(best_w, 3), "covers_share": round(best_w / total, 6)}

    def _outline(self, xy: np.ndarray):
        """The gap as a WGS84 polygon: the hull of its points, widened by half a cell (or
        50 m for points)."""
        import shapely

        demand = self.result.demand
        pad = (demand.cell_m / 2 if demand.cell_m else 50.0) + self.pad
        hull = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy)), pad, quad_segs=4)
        crs = self.result.crs
        return shapely.transform(hull, lambda pts: np.column_stack(
            from_metric(pts[:, 0], pts[:, 1], crs)))


def gaps_as_demand(result, gaps: list[Gap]) -> DemandSet:
    """The demand inside ``gaps`` (uncovered, clustered) as a DemandSet for siting;
    ``meta["gap_id"]`` holds each point's gap rank."""
    demand = result.demand
    if not gaps:
        empty = demand.subset(np.zeros(len(demand), dtype=bool))
        empty.meta["gap_id"] = np.zeros(0, dtype=np.int64)
        return empty
    members = np.concatenate([g.members for g in gaps])
    ranks = np.concatenate([np.full(g.members.size, g.rank) for g in gaps])
    out = demand.subset(members)
    out.meta["gap_id"] = ranks
    return out
