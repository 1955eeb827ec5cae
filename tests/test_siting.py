"""Siting: exact mode reaches the brute-force optimum, fast mode gets close, sets are verified."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse

from geodata.crs.projection import from_metric
from geodata.planning.coverage import StationArrays, compute_coverage
from geodata.planning.demand import DemandSet
from geodata.planning.mclp import (
    SitingProblem,
    coverage_matrix,
    evaluate,
    solve_lscp,
    solve_mclp,
)
from geodata.planning.siting import site
from stations.candidates import Candidate, add_candidates
from stations.errors import ValidationError
from stations.records import Station

CRS = "EPSG:4548"


def _instance(rng, n, m, k_existing=2, radius=250.0):
    d = rng.uniform(0, 1000, (n, 2))
    c = rng.uniform(0, 1000, (m, 2))
    s = rng.uniform(0, 1000, (k_existing, 2))
    w = rng.integers(0, 10, n).astype(float)
    existing = np.asarray(coverage_matrix(d, s, radius).sum(axis=1)).ravel()
    return SitingProblem(w, coverage_matrix(d, c, radius), existing=existing)


def _value(problem, chosen, backup_weight=0.0):
    counts = problem.counts(chosen)
    w = problem.weights
    return w[counts >= 1].sum() + backup_weight * w[counts >= 2].sum()


def test_coverage_matrix_equals_brute_force():
    rng = np.random.default_rng(5)
    for _ in range(30):
        d = rng.integers(0, 30, (60, 2)).astype(float)  # ties at the radius
        c = rng.integers(0, 30, (9, 2)).astype(float)
        r = float(rng.integers(1, 12))
        dist = np.sqrt((d[:, None, 0] - c[None, :, 0]) ** 2 + (d[:, None, 1] - c[None, :, 1]) ** 2)
        np.testing.assert_array_equal(coverage_matrix(d, c, r).toarray(), dist <= r)


@pytest.mark.parametrize("backup_weight", [0.0, 0.5, 1.0], ids=["plain", "backup-half",
                                                                "backup-full"])
def test_exact_mclp_reaches_the_brute_force_optimum(backup_weight):
    rng = np.random.default_rng(int(backup_weight * 10) + 1)
    for case in range(25):
        m = int(rng.integers(1, 9))
        problem = _instance(rng, int(rng.integers(5, 70)), m)
        p = int(rng.integers(1, m + 1))
        best = max(_value(problem, combo, backup_weight) for k in range(p + 1)
                   for combo in itertools.combinations(range(m), k))
        exact = solve_mclp(problem, p, exact=True, backup_weight=backup_weight)
        assert exact.optimal is True
        assert len(exact.chosen) <= p
        assert _value(problem, exact.chosen, backup_weight) == pytest.approx(best), case
        assert exact.objective == pytest.approx(best)
        fast = solve_mclp(problem, p, exact=False, backup_weight=backup_weight)
        assert _value(problem, fast.chosen, backup_weight) <= best + 1e-9


@pytest.mark.parametrize("backup", [False, True], ids=["single", "backup"])
def test_exact_lscp_is_the_smallest_cover(backup):
    rng = np.random.default_rng(17 + backup)
    for case in range(25):
        m = int(rng.integers(1, 9))
        problem = _instance(rng, int(rng.integers(5, 60)), m)
        target = 2 if backup else 1
        need = np.minimum(np.maximum(target - problem.existing, 0),
                          np.diff(problem.matrix.indptr))
        need[problem.weights <= 0] = 0

        def feasible(combo, problem=problem, need=need):
            return np.all(problem.counts(combo) - problem.existing >= need)

        smallest = next(k for k in range(m + 1)
                        if any(feasible(c) for c in itertools.combinations(range(m), k)))
        exact = solve_lscp(problem, exact=True, backup=backup)
        assert len(exact.chosen) == smallest, case
        assert feasible(exact.chosen)
        fast = solve_lscp(problem, exact=False, backup=backup)
        assert feasible(fast.chosen) and len(fast.chosen) >= smallest


def test_fast_mode_is_close_to_the_optimum():
    rng = np.random.default_rng(99)
    ratios = []
    for _ in range(6):
        centres = rng.uniform(0, 6000, (15, 2))
        d = centres[rng.integers(0, 15, 1500)] + rng.normal(0, 500, (1500, 2))
        c = rng.uniform(0, 6000, (120, 2))
        problem = SitingProblem(rng.integers(1, 30, 1500).astype(float),
                                coverage_matrix(d, c, 500.0))
        exact = solve_mclp(problem, 10, exact=True)
        fast = solve_mclp(problem, 10, exact=False)
        ratios.append(fast.after["covered"] / exact.after["covered"])
    assert min(ratios) >= 0.99, ratios
    assert max(ratios) <= 1.0 + 1e-12


def test_gains_add_up_and_shrink_and_existing_coverage_is_not_a_gain():
    rng = np.random.default_rng(8)
    problem = _instance(rng, 400, 30, k_existing=4, radius=200.0)
    sol = solve_mclp(problem, 6, exact=True)
    assert sum(sol.gains) == pytest.approx(sol.after["covered"] - sol.before["covered"])
    assert all(a >= b - 1e-9 for a, b in zip(sol.gains, sol.gains[1:], strict=False))
    assert all(g > 0 for g in sol.gains)
    assert sol.before == evaluate(problem, [])
    # a candidate that only reaches demand the existing stations already cover gains nothing
    covered = problem.existing > 0
    col = sparse.csr_matrix(covered.reshape(-1, 1))
    padded = SitingProblem(problem.weights, sparse.hstack([problem.matrix, col]),
                           existing=problem.existing)
    assert padded.n_sites - 1 not in solve_mclp(padded, 6, exact=True).chosen


def test_nothing_to_gain_means_nothing_chosen():
    problem = SitingProblem([1.0, 2.0], sparse.csr_matrix(np.array([[1, 0], [0, 1]], bool)),
                            existing=[1, 1])
    assert solve_mclp(problem, 2, exact=True).chosen == []
    assert solve_lscp(problem, exact=True).chosen == []
    with pytest.raises(ValidationError):
        solve_mclp(problem, -1)


# ----------------------------------------------------------------------------- the store face
def _place(store):
    """Stations and candidates on a metric grid west of Guang'anmen (EPSG:4548)."""
    def ll(x, y):
        lon, lat = from_metric(440_000 + x, 4_414_000 + y, CRS)
        return float(lon), float(lat)

    store.add_stations([Station(name="既有驿站", lon=ll(0, 0)[0], lat=ll(0, 0)[1],
                                opening_hours="24/7")])
    spots = {"东侧候选": (1500, 0), "北侧候选": (0, 1500), "未通过": (1500, 1500),
             "已建站": (3000, 0), "未定位": None, "东北候选": (1500, 1400)}
    cands = []
    for name, xy in spots.items():
        lon, lat = ll(*xy) if xy else (None, None)
        result = {"未通过": "fail"}.get(name, "pass")
        cands.append(Candidate(name=name, lon=lon, lat=lat, screening_result=result,
                               stage="opened" if name == "已建站" else "screened",
                               geocode_precision="input" if xy else "none"))
    add_candidates(store, cands)
    demand = [(0, 200, 5), (1500, 200, 7), (200, 1500, 3), (1500, 1450, 9), (3000, 100, 50)]
    path_rows = [{"lon": ll(x, y)[0], "lat": ll(x, y)[1], "weight": w} for x, y, w in demand]
    return ll, path_rows


def _import(store, tmp_path, rows):
    import csv

    from geodata.planning.demand import import_demand

    with open(tmp_path / "d.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["lon", "lat", "weight"])
        writer.writeheader()
        writer.writerows(rows)
    import_demand(store, tmp_path / "d.csv")


@pytest.mark.parametrize("exact", [True, False, None], ids=["exact", "fast", "auto"])
def test_site_chooses_only_passed_candidates_and_verifies_coverage(store, tmp_path, exact):
    from shapely.geometry import box

    ll, rows = _place(store)
    _import(store, tmp_path, rows)
    area = box(*ll(-1000, -1000), *ll(4000, 3000))
    body = site(store, polygon=area, radius_m=500, add=2, exact=exact)
    names = [c["name"] for c in body["chosen"]]
    assert set(names) <= {"东侧候选", "北侧候选", "东北候选"}
    assert names[0] == "东北候选" and len(names) == 2  # 9 people, then 7
    assert body["covered_before"] == 5 and body["covered_after"] == 21
    assert body["candidates_excluded"] == {"not_passed": 1, "already_station": 1,
                                           "no_location": 1, "approximate": 0,
                                           "outside_area": 0}
    for key in ("id", "name", "lon", "lat", "gain"):
        assert all(key in c for c in body["chosen"])
    assert [c["gain"] for c in body["chosen"]] == [9, 7]
    # independent check: stations + chosen sites through the coverage engine
    demand = DemandSet(lon=[r["lon"] for r in rows], lat=[r["lat"] for r in rows],
                       weight=[r["weight"] for r in rows])
    lon = [ll(0, 0)[0]] + [c["lon"] for c in body["chosen"]]
    lat = [ll(0, 0)[1]] + [c["lat"] for c in body["chosen"]]
    check = compute_coverage(demand, StationArrays.from_arrays(lon, lat), radius_m=500)
    assert check.demand_covered == pytest.approx(body["covered_after"], abs=1e-3)
    lscp = site(store, polygon=area, radius_m=500, lscp=True, exact=exact)
    assert len(lscp["chosen"]) == 3 and lscp["covered_after"] == 24
    assert lscp["uncoverable_weight"] == 50


# ----------------------------------------------------------------------------- issue 12
def _random_instance(seed, n=2000, m=150):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 6000, (25, 2))
    d = centres[rng.integers(0, 25, n)] + rng.normal(0, 600, (n, 2))
    c = rng.uniform(0, 6000, (m, 2))
    return SitingProblem(rng.integers(1, 50, n).astype(float), coverage_matrix(d, c, 500.0))


@pytest.mark.parametrize("seed", range(4))
def test_the_default_answer_is_the_exact_optimum_when_highs_proves_it(seed):
    problem = _random_instance(seed)  # 2,000 demand × 150 candidates, p = 10, R = 500 m
    exact = solve_mclp(problem, 10, exact=True)
    auto = solve_mclp(problem, 10, exact=None)
    assert auto.mode == "exact" and auto.optimal is True and auto.extra["gap"] == 0.0
    assert auto.after["covered"] == pytest.approx(exact.after["covered"])
    assert _value(problem, auto.chosen) == pytest.approx(_value(problem, exact.chosen))


def test_without_time_for_a_proof_the_heuristic_shows_its_proven_gap():
    for seed in range(3):
        problem = _random_instance(seed + 10)
        exact = solve_mclp(problem, 10, exact=True)
        auto = solve_mclp(problem, 10, exact=None, auto_seconds=1e-4)
        assert auto.mode == "fast" and not auto.optimal and auto.extra["solver"] == "heuristic"
        gap = auto.extra["gap"]
        true_gap = 1 - auto.objective / exact.objective
        assert gap is not None and true_gap - 1e-9 <= gap < 1  # a proof, never an understatement


def _site_area(store, tmp_path, candidates, demand):
    from shapely.geometry import box

    def ll(x, y):
        lon, lat = from_metric(440_000 + x, 4_414_000 + y, CRS)
        return float(lon), float(lat)

    store.add_stations([Station(name="既有驿站", lon=ll(0, 0)[0], lat=ll(0, 0)[1])])
    add_candidates(store, [Candidate(name=n, lon=ll(*xy)[0], lat=ll(*xy)[1],
                                     screening_result=r, stage="screened",
                                     geocode_precision=prec)
                           for n, xy, r, prec in candidates])
    _import(store, tmp_path, [{"lon": ll(x, y)[0], "lat": ll(x, y)[1], "weight": w}
                              for x, y, w in demand])
    return box(*ll(-1000, -1000), *ll(4000, 3000))


def test_siting_explains_no_eligible_candidate(store, tmp_path):
    area = _site_area(store, tmp_path, [("未通过", (1500, 0), "fail", "exact"),
                                        ("只到街道", (0, 1500), "pass", "street")],
                      [(0, 100, 5), (1500, 100, 7)])
    body = site(store, polygon=area, radius_m=500, add=2)
    assert body["chosen"] == [] and body["explanation"]["case"] == "no_eligible"
    assert body["candidates_excluded"]["approximate"] == 1
    assert "筛选未通过或待确认 1 个" in body["explanation"]["message_zh"]
    assert "位置只到社区或街道" in body["explanation"]["message_zh"]


def test_siting_explains_eligible_candidates_that_add_nothing(store, tmp_path):
    # both candidates sit next to the station; the uncovered demand is 1,200 m from the best
    area = _site_area(store, tmp_path, [("站旁甲", (100, 0), "pass", "exact"),
                                        ("站旁乙", (300, 0), "pass", "exact")],
                      [(0, 100, 5), (1500, 0, 7)])
    body = site(store, polygon=area, radius_m=500, add=2)
    why = body["explanation"]
    assert body["chosen"] == [] and why["case"] == "no_gain"
    assert why["best"]["name"] == "站旁乙" and why["best"]["gain"] == 0
    assert why["best"]["distance_needed_m"] == pytest.approx(1200, abs=1)
    assert "2 个候选单位符合条件" in why["message_zh"] and "1200 米" in why["message_zh"]
    wider = site(store, polygon=area, radius_m=1250, add=2)
    assert [c["name"] for c in wider["chosen"]] == ["站旁乙"]  # the distance it named works


def test_siting_explains_demand_already_covered(store, tmp_path):
    area = _site_area(store, tmp_path, [("候选", (1500, 0), "pass", "exact")],
                      [(0, 100, 5), (200, 0, 7)])
    body = site(store, polygon=area, radius_m=500, add=2)
    assert body["chosen"] == [] and body["explanation"]["case"] == "fully_covered"
    assert body["covered_share_before"] == 1.0
    assert body["method_zh"] == "直线距离" and body["mode_zh"] == "精确最优"


def test_coverage_page_says_why_siting_chose_nothing(store, tmp_path):
    """The union's 覆盖分析 page shows the siting explanation, not a generic "none"."""
    from webmap.app import create_app
    from webmap.testing import login
    from webmap.users import add_user

    _site_area(store, tmp_path, [("站旁甲", (100, 0), "pass", "exact"),
                                 ("站旁乙", (300, 0), "pass", "exact")],
               [(0, 100, 5), (1500, 0, 7)])
    add_user(store, "city", "correct horse battery", role="admin")
    client = create_app({"TESTING": True, "TILES": "none"}).test_client()
    assert login(client, "city", "correct horse battery").status_code == 302
    page = client.get("/union/coverage?radius=500&add=2").get_data(as_text=True)
    assert "2 个候选单位符合条件" in page and "站旁乙" in page and "1200 米" in page
    assert "没有可推荐的候选单位（需筛选结果" not in page
