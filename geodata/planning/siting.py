"""Siting: which candidate hosts to open next, existing stations fixed — the store adapter.

:func:`site` reads the candidates (screened ``pass``, not yet stations), the open stations and
the demand of an area from the store, builds the coverage matrix in metres and hands it to the
models of :mod:`geodata.planning.mclp` (MCLP / LSCP, exact or fast); the answer is the
INTERFACE.md payload of ``nuanxin site --json``.
"""

from __future__ import annotations

import numpy as np

from geodata.crs.projection import to_metric
from geodata.network.loaders import CONFIGURED, resolve_network
from geodata.planning.coverage import AreaSpec, resolve_area, walk_radius
from geodata.planning.demand import DemandSet, default_crs, demand_for_area
from geodata.planning.mclp import (
    SitingProblem,
    SitingSolution,
    coverage_matrix,
    solve_lscp,
    solve_mclp,
)
from stations.errors import ValidationError
from stations.settings import DEFAULT_RADIUS_M, DETOUR_FACTOR

__all__ = ["candidate_sites", "site"]

_CLOSED_STAGES = ("opened", "suspended", "closed", "declined")


def candidate_sites(store, *, polygon=None) -> tuple[list, dict]:
    """Candidates that may be chosen: screening ``pass``, not yet a station, located.

    Returns ``(candidates, excluded_counts)``.
    """
    import shapely

    from stations.candidates import list_candidates

    everything = list_candidates(store)
    excluded = {"not_passed": 0, "already_station": 0, "no_location": 0, "outside_area": 0}
    keep = []
    for cand in everything:
        if cand.screening_result != "pass":
            excluded["not_passed"] += 1
        elif cand.station_id is not None or cand.stage in _CLOSED_STAGES:
            excluded["already_station"] += 1
        elif cand.lon is None or cand.lat is None:
            excluded["no_location"] += 1
        elif polygon is not None and not shapely.intersects_xy(polygon, cand.lon, cand.lat):
            excluded["outside_area"] += 1
        else:
            keep.append(cand)
    return keep, excluded


def site(store, *, district: str | None = None, street: str | None = None, polygon=None,
         radius_m: float | None = None, minutes: float | None = None, add: int | None = None,
         exact: bool = False, lscp: bool = False, backup: bool = False,
         backup_weight: float = 1.0, network=CONFIGURED, cell_m: float = 100.0,
         detour_factor: float = DETOUR_FACTOR, time_limit: float = 120.0) -> dict:
    """Which candidates to open next in an area (the body of ``nuanxin site --json``).

    Returns
    -------
    dict
        ``{chosen: [{id, name, lon, lat, gain, ...}], covered_before, covered_after, ...}``;
        ``covered_*`` are covered demand weights (shares in ``covered_share_*``).
    """
    if not lscp and add is None:
        raise ValidationError("需要 --add P (how many stations to add) unless --lscp is given")
    if not lscp and (isinstance(add, bool) or not isinstance(add, (int, np.integer)) or add < 0):
        raise ValidationError(f"--add 必须为非负整数 (p must be an integer ≥ 0), got {add!r}")
    network = resolve_network(network)
    spec: AreaSpec = resolve_area(district=district, street=street, polygon=polygon)
    if radius_m is None and minutes is None:
        radius_m = DEFAULT_RADIUS_M
    radius, method = walk_radius(radius_m=radius_m, minutes=minutes,
                                 network=network is not None, detour_factor=detour_factor)
    demand = _demand(store, spec, cell_m)
    candidates, excluded = candidate_sites(store, polygon=spec.polygon)
    stations = store.list_stations(status="open")
    c_lon = np.array([c.lon for c in candidates], dtype=float)
    c_lat = np.array([c.lat for c in candidates], dtype=float)
    s_lon = np.array([s.lon for s in stations], dtype=float)
    s_lat = np.array([s.lat for s in stations], dtype=float)
    crs = network.crs if network is not None else default_crs(
        (demand.lon, demand.lat), (c_lon, c_lat), (s_lon, s_lat))
    dxy = np.column_stack(to_metric(demand.lon, demand.lat, crs))
    cxy = np.column_stack(to_metric(c_lon, c_lat, crs))
    sxy = np.column_stack(to_metric(s_lon, s_lat, crs))
    existing = np.asarray(coverage_matrix(dxy, sxy, radius, network=network).sum(axis=1)
                          ).ravel().astype(np.int64)
    problem = SitingProblem(demand.weight, coverage_matrix(dxy, cxy, radius, network=network),
                            existing=existing)
    bw = backup_weight if backup else 0.0
    if lscp:
        sol = solve_lscp(problem, exact=exact, backup=backup, time_limit=time_limit)
    else:
        sol = solve_mclp(problem, int(add), exact=exact, backup_weight=bw, time_limit=time_limit)
    return _payload(sol, problem, candidates, demand, spec, radius, method, minutes,
                    excluded, add, network, detour_factor)


def _demand(store, spec: AreaSpec, cell_m: float) -> DemandSet:
    if spec.polygon is None:
        demand = demand_for_area(store, None, cell_m=cell_m)
        if not len(demand):
            import shapely

            demand = demand_for_area(store, shapely.union_all(spec.sub_geoms), cell_m=cell_m)
        return demand
    return demand_for_area(store, spec.polygon, cell_m=cell_m)


def _payload(sol: SitingSolution, problem, candidates, demand, spec, radius, method, minutes,
             excluded, add, network, detour_factor) -> dict:
    total = sol.before["total"]

    def share(v):
        return None if total <= 0 else round(v / total, 6)

    chosen = []
    for rank, (j, gain, unique) in enumerate(zip(sol.chosen, sol.gains, sol.unique_gains,
                                                 strict=True), start=1):
        c = candidates[j]
        chosen.append({"id": c.id, "name": c.name, "lon": round(float(c.lon), 7),
                       "lat": round(float(c.lat), 7), "gain": round(gain, 3),
                       "gain_share": share(gain), "unique_gain": round(unique, 3),
                       "rank": rank, "address": c.address, "district": c.district,
                       "street": c.street, "host_type": c.host_type,
                       "location_precision": c.geocode_precision})
    uncoverable = float(problem.weights[(problem.existing == 0)
                                        & (np.diff(problem.matrix.indptr) == 0)].sum())
    return {
        "chosen": chosen,
        "covered_before": round(sol.before["covered"], 3),
        "covered_after": round(sol.after["covered"], 3),
        "demand_total": round(total, 3),
        "covered_share_before": share(sol.before["covered"]),
        "covered_share_after": share(sol.after["covered"]),
        "multi_covered_before": round(sol.before["multi_covered"], 3),
        "multi_covered_after": round(sol.after["multi_covered"], 3),
        "multi_covered_share_before": share(sol.before["multi_covered"]),
        "multi_covered_share_after": share(sol.after["multi_covered"]),
        "uncoverable_weight": round(uncoverable, 3),
        "model": sol.model,
        "mode": sol.mode,
        "optimal": sol.optimal,
        "backup_weight": sol.backup_weight,
        "add": add,
        "radius_m": round(radius, 1),
        "walk_minutes": minutes,
        "method": method,
        "detour_factor": detour_factor if method == "straight_line_x_detour" else None,
        "network": network.describe() if network is not None else None,
        "area": {"level": spec.level, "name": spec.name, "district": spec.district},
        "demand_source": demand.source,
        "demand_points": len(demand),
        "candidates_considered": problem.n_sites,
        "candidates_excluded": excluded,
        "solve_seconds": round(sol.seconds, 4),
    }
