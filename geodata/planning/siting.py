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

__all__ = ["candidate_sites", "site", "explain", "EXCLUDED_LABELS_ZH", "MODE_LABELS_ZH",
           "METHOD_LABELS_ZH"]

_CLOSED_STAGES = ("opened", "suspended", "closed", "declined")


#: Why a candidate was not considered, in Chinese (the keys of ``candidates_excluded``).
EXCLUDED_LABELS_ZH = {
    "not_passed": "筛选未通过或待确认", "already_station": "已建站或已放弃",
    "no_location": "待定位（没有位置）", "approximate": "位置只到社区或街道（需放置标记）",
    "outside_area": "不在所选区域",
}
MODE_LABELS_ZH = {"exact": "精确最优", "fast": "快速近似"}
METHOD_LABELS_ZH = {"straight_line_x_detour": "直线距离 × 绕行系数", "straight_line": "直线距离",
                    "network": "步行路网距离"}


def candidate_sites(store, *, polygon=None) -> tuple[list, dict]:
    """Candidates that may be chosen: screening ``pass``, not yet a station, placed well
    enough for siting (:attr:`stations.candidates.Candidate.siting_located`: exact, POI or a
    learnt road — never a street or district centre).

    Returns ``(candidates, excluded_counts)``.
    """
    import shapely

    from stations.candidates import list_candidates

    everything = list_candidates(store)
    excluded = {"not_passed": 0, "already_station": 0, "no_location": 0, "approximate": 0,
                "outside_area": 0}
    keep = []
    for cand in everything:
        if cand.station_id is not None or cand.stage in _CLOSED_STAGES:
            excluded["already_station"] += 1
        elif cand.screening_result != "pass":
            excluded["not_passed"] += 1
        elif cand.needs_pin:
            excluded["no_location"] += 1
        elif not cand.siting_located:
            excluded["approximate"] += 1
        elif polygon is not None and not shapely.intersects_xy(polygon, cand.lon, cand.lat):
            excluded["outside_area"] += 1
        else:
            keep.append(cand)
    return keep, excluded


def site(store, *, district: str | None = None, street: str | None = None, polygon=None,
         radius_m: float | None = None, minutes: float | None = None, add: int | None = None,
         exact: bool | None = None, lscp: bool = False, backup: bool = False,
         backup_weight: float = 1.0, network=CONFIGURED, cell_m: float = 100.0,
         detour_factor: float = DETOUR_FACTOR, time_limit: float = 120.0) -> dict:
    """Which candidates to open next in an area (the body of ``nuanxin site --json``).

    ``exact``: ``True`` exact MILP, ``False`` the fast heuristic, ``None`` (default) exact
    whenever HiGHS proves the optimum within a time budget, else the heuristic with its
    proven ``gap`` (:func:`geodata.planning.mclp.solve_mclp`).

    Returns
    -------
    dict
        ``{chosen: [{id, name, lon, lat, gain, ...}], covered_before, covered_after, ...,
        explanation: {case, message_zh, ...}}``; ``covered_*`` are covered demand weights
        (shares in ``covered_share_*``).
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
        sol = solve_lscp(problem, exact=bool(exact), backup=backup, time_limit=time_limit)
    else:
        sol = solve_mclp(problem, int(add), exact=exact, backup_weight=bw, time_limit=time_limit)
    body = _payload(sol, problem, candidates, demand, spec, radius, method, minutes,
                    excluded, add, network, detour_factor)
    body["explanation"] = explain(body, problem, dxy, cxy, candidates)
    return body


def explain(body: dict, problem, demand_xy, site_xy, candidates) -> dict:
    """Why the answer is what it is, in words: ``{case, message_zh, ...}``.

    ``case`` is ``no_eligible`` (no candidate may be chosen: why, by count), ``fully_covered``
    (the stations already reach every demand point any site could), ``no_gain`` (eligible
    candidates, none adds coverage at this radius: the best one, and the distance it would
    need to reach uncovered demand) or ``chosen``.
    """
    from scipy.spatial import cKDTree

    radius = body["radius_m"]
    uncovered = problem.existing == 0
    if body["demand_total"] > 0 and not (uncovered & (problem.weights > 0)).any():
        return {"case": "fully_covered", "message_zh": (
            f"需求已全部被现有站点覆盖（{radius:g} 米内），不需要新增站点。")}
    if not body["chosen"] and problem.n_sites == 0:
        why = "，".join(f"{EXCLUDED_LABELS_ZH[k]} {n} 个"
                       for k, n in body["candidates_excluded"].items() if n)
        return {"case": "no_eligible", "message_zh": (
            "没有可选的候选单位" + (f"（{why}）" if why else "（还没有候选单位）")
            + "：需筛选结果为“符合”、未建站，并有准确位置或道路级位置。")}
    if body["chosen"]:
        return {"case": "chosen", "message_zh": (
            f"推荐 {len(body['chosen'])} 个候选单位，覆盖率从 "
            f"{_pct(body['covered_share_before'])} 提高到 {_pct(body['covered_share_after'])}。")}
    # eligible candidates, none adds anything: how far the best one is from uncovered demand
    targets = demand_xy[uncovered & (problem.weights > 0)]
    dist, _ = cKDTree(targets).query(site_xy, k=1)
    best = int(np.argmin(dist))
    need = float(dist[best])
    c = candidates[best]
    return {"case": "no_gain", "best": {"id": c.id, "name": c.name, "gain": 0.0,
                                        "distance_needed_m": round(need, 1)},
            "message_zh": (
                f"{problem.n_sites} 个候选单位符合条件，但在 {radius:g} 米服务半径内都不能新增覆盖"
                f"（周边需求已被现有站点覆盖）。最接近的是「{c.name}」：新增覆盖 0，"
                f"它离最近的未覆盖需求 {need:.0f} 米，半径需要约 {need:.0f} 米才有作用。")}


def _pct(share) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


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
        "mode_zh": MODE_LABELS_ZH.get(sol.mode, sol.mode),
        "optimal": sol.optimal,
        "gap": sol.extra.get("gap"),
        "solver": sol.extra.get("solver"),
        "backup_weight": sol.backup_weight,
        "add": add,
        "radius_m": round(radius, 1),
        "walk_minutes": minutes,
        "method": method,
        "method_zh": METHOD_LABELS_ZH.get(method, method),
        "detour_factor": detour_factor if method == "straight_line_x_detour" else None,
        "network": network.describe() if network is not None else None,
        "area": {"level": spec.level, "name": spec.name, "district": spec.district},
        "demand_source": demand.source,
        "demand_points": len(demand),
        "candidates_considered": problem.n_sites,
        "candidates_excluded": excluded,
        "candidates_excluded_zh": {EXCLUDED_LABELS_ZH[k]: n for k, n in excluded.items()},
        "solve_seconds": round(sol.seconds, 4),
    }
