"""The siting models on a cost (coverage) matrix: no store, no geography, just the algorithm.

Two classic location models on a sparse coverage matrix ``A`` (demand × candidates,
``A[i, j] = 1`` when candidate ``j`` is within reach of demand ``i``):

* **MCLP** (maximal covering): open ``p`` candidates to maximise the covered weight;
* **LSCP** (set covering): the fewest candidates that cover every demand point any candidate
  can reach.

Existing open stations are fixed: demand they already cover needs nothing. With
``backup=True`` the models care about 交叉覆盖 too: MCLP maximises
``Σ w_i (covered_i + backup_weight · covered_twice_i)`` and LSCP asks for two stations wherever
two can be had.

Two modes:

* ``exact``: a MILP solved by HiGHS (:func:`scipy.optimize.milp`, ``mip_rel_gap=0``). Demand
  rows with the same candidate pattern are merged first (sum of weights), which shrinks the
  model a lot.
* ``auto`` (the default answer, ``exact=None``): the exact MILP within
  :data:`AUTO_EXACT_SECONDS`; when HiGHS proves optimality in time the answer is exact
  (``mode="exact"``), otherwise the heuristic's set is kept and its **proven gap** to HiGHS's
  upper bound is reported (``mode="fast"``, ``gap``). On 2,000 demand × 150 candidates (p = 10,
  R = 500 m) HiGHS proves the optimum in tens of milliseconds, where the heuristic alone reached
  only 98.6 % of it on some instances.
* ``fast``: greedy by marginal gain, then pairwise swaps (one chosen site out, one other in)
  while any swap improves the objective, then a few rounds of iterated local search (drop a
  few sites, refill greedily with some randomness, swap again; keep the best). Seeded, so
  the same input gives the same answer.

Whatever the mode, the chosen set is read from the solution (``x > 0.5``) and its coverage is
recomputed from the matrix (:func:`evaluate`); a solver's own objective is never reported.
The chosen sites are listed in greedy order of their marginal gain; ``gain`` is what each adds
to those listed before it (they sum to ``covered_after - covered_before``).

The data side (which candidates and demand, metres, the JSON payload) is the thin adapter
:mod:`geodata.planning.siting`; the spopt-style split keeps this module testable on any matrix.
"""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.spatial import cKDTree

from geodata.errors import GeodataError
from stations.errors import ValidationError

__all__ = [
    "SitingProblem",
    "SitingSolution",
    "coverage_matrix",
    "evaluate",
    "solve_mclp",
    "solve_lscp",
    "greedy_mclp",
    "swap_improve",
    "iterated_search",
    "AUTO_EXACT_SECONDS",
]

#: Time budget of the exact solver in ``auto`` mode (seconds) before the heuristic answers.
AUTO_EXACT_SECONDS = 3.0


def coverage_matrix(demand_xy: np.ndarray, site_xy: np.ndarray, radius_m: float, *,
                    network=None) -> sparse.csr_matrix:
    """Boolean sparse matrix ``(n_demand, n_sites)``: site within ``radius_m`` of demand.

    Straight-line distance is ``sqrt(dx² + dy²)`` in the metric CRS, the same formula
    :func:`geodata.planning.coverage.coverage_arrays` uses, so both agree at the boundary. With a
    ``network`` the distance is along it.
    """
    demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
    site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
    n, m = demand_xy.shape[0], site_xy.shape[0]
    if n == 0 or m == 0:
        return sparse.csr_matrix((n, m), dtype=bool)
    if network is not None:
        d = network.distance_matrix(demand_xy[:, 0], demand_xy[:, 1], site_xy[:, 0],
                                    site_xy[:, 1], limit=radius_m)
        cols, rows = np.nonzero(d <= radius_m)
        return sparse.csr_matrix((np.ones(rows.size, bool), (rows, cols)), shape=(n, m))
    tree = cKDTree(site_xy)
    lists = tree.query_ball_point(demand_xy, radius_m * (1 + 1e-9) + 1e-9)
    lengths = np.fromiter((len(x) for x in lists), dtype=np.int64, count=n)
    rows = np.repeat(np.arange(n), lengths)
    cols = np.fromiter((j for x in lists for j in x), dtype=np.int64, count=int(lengths.sum()))
    dist = np.sqrt((demand_xy[rows, 0] - site_xy[cols, 0]) ** 2
                   + (demand_xy[rows, 1] - site_xy[cols, 1]) ** 2)
    keep = dist <= radius_m
    return sparse.csr_matrix((np.ones(int(keep.sum()), bool), (rows[keep], cols[keep])),
                             shape=(n, m))


@dataclass
class SitingProblem:
    """Weights, existing coverage counts and the candidate coverage matrix.

    Parameters
    ----------
    weights : array (n,)
        Demand weights (≥ 0).
    matrix : sparse (n, m)
        ``matrix[i, j]`` true when candidate ``j`` reaches demand ``i``.
    existing : array (n,) of int, optional
        How many existing stations already reach each demand point (default 0).
    """

    weights: np.ndarray
    matrix: sparse.csr_matrix
    existing: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=float)
        self.matrix = sparse.csr_matrix(self.matrix, dtype=bool)
        n = self.weights.size
        if self.matrix.shape[0] != n:
            raise ValidationError(f"matrix has {self.matrix.shape[0]} rows for {n} weights")
        self.existing = (np.zeros(n, np.int64) if self.existing is None
                         else np.asarray(self.existing, dtype=np.int64))
        self._csc = self.matrix.tocsc()
        self._int = self.matrix.astype(np.int64)

    @property
    def n_sites(self) -> int:
        return int(self.matrix.shape[1])

    def counts(self, chosen: Sequence[int]) -> np.ndarray:
        """Stations reaching each demand point: existing + chosen."""
        chosen = np.asarray(list(chosen), dtype=np.int64)
        add = np.zeros(self.weights.size, np.int64)
        if chosen.size:
            sel = np.zeros(self.n_sites, np.int64)
            np.add.at(sel, chosen, 1)
            add = self._int @ sel
        return self.existing + add


def _objective(weights, counts, backup_weight: float) -> float:
    value = float(weights[counts >= 1].sum())
    if backup_weight:
        value += backup_weight * float(weights[counts >= 2].sum())
    return value


def evaluate(problem: SitingProblem, chosen: Sequence[int]) -> dict:
    """Coverage of a chosen set recomputed from the matrix: ``{covered, multi_covered}``."""
    counts = problem.counts(chosen)
    w = problem.weights
    return {"covered": float(w[counts >= 1].sum()), "multi_covered": float(w[counts >= 2].sum()),
            "total": float(w.sum())}


# ----------------------------------------------------------------------------- fast mode
def _delta(weights, counts, backup_weight):
    """Objective gain per demand point of one more station reaching it."""
    gain = np.where(counts == 0, weights, 0.0)
    if backup_weight:
        gain = gain + np.where(counts == 1, backup_weight * weights, 0.0)
    return gain


def greedy_mclp(problem: SitingProblem, p: int, *, backup_weight: float = 0.0) -> list[int]:
    """Greedy MCLP: repeatedly add the candidate with the largest marginal gain (> 0)."""
    counts = problem.existing.copy()
    chosen: list[int] = []
    avail = np.ones(problem.n_sites, dtype=bool)
    at = problem._csc.T.tocsr().astype(float)
    for _ in range(min(p, problem.n_sites)):
        gains = at @ _delta(problem.weights, counts, backup_weight)
        gains[~avail] = -1.0
        k = int(np.argmax(gains))
        if gains[k] <= 0:
            break
        chosen.append(k)
        avail[k] = False
        counts = counts + problem._int[:, k].toarray().ravel()
    return chosen


def swap_improve(problem: SitingProblem, chosen: Sequence[int], *, backup_weight: float = 0.0,
                 max_rounds: int = 200, time_limit: float = 10.0) -> list[int]:
    """Best-improvement 1-swap local search: one chosen site out, one other in."""
    chosen = list(chosen)
    if not chosen:
        return chosen
    at = problem._csc.T.tocsr().astype(float)
    w = problem.weights
    tol = 1e-12 * max(1.0, float(w.sum()))
    started = _time.perf_counter()
    counts = problem.counts(chosen)
    current = _objective(w, counts, backup_weight)
    for _ in range(max_rounds):
        best = (tol, -1, -1)
        outside = np.ones(problem.n_sites, dtype=bool)
        outside[chosen] = False
        if not outside.any():
            break
        for pos, j in enumerate(chosen):
            without = counts - problem._int[:, j].toarray().ravel()
            base = _objective(w, without, backup_weight) - current
            gains = at @ _delta(w, without, backup_weight)
            gains[~outside] = -np.inf
            k = int(np.argmax(gains))
            if base + gains[k] > best[0]:
                best = (base + gains[k], pos, k)
        if best[1] < 0 or _time.perf_counter() - started > time_limit:
            break
        _, pos, k = best
        chosen[pos] = k
        counts = problem.counts(chosen)
        current = _objective(w, counts, backup_weight)
    return chosen


# ----------------------------------------------------------------------------- exact mode
def _merge_rows(matrix: sparse.csr_matrix, keys: np.ndarray, weights: np.ndarray):
    """Merge demand rows with the same candidate pattern and the same ``keys`` value."""
    indptr, indices = matrix.indptr, matrix.indices
    groups: dict = {}
    for i in range(matrix.shape[0]):
        pattern = (int(keys[i]), indices[indptr[i]:indptr[i + 1]].tobytes())
        groups.setdefault(pattern, []).append(i)
    reps = np.array([v[0] for v in groups.values()], dtype=np.int64)
    merged = np.array([weights[v].sum() for v in groups.values()], dtype=float)
    return reps, merged


def _milp(c, cons, lo, hi, integrality, var_lower, var_upper, *, time_limit,
          need_solution: bool = True):
    from scipy.optimize import Bounds, LinearConstraint, milp

    res = milp(c=c, constraints=[LinearConstraint(cons, lo, hi)], integrality=integrality,
               bounds=Bounds(var_lower, var_upper),
               options={"mip_rel_gap": 0.0, "time_limit": time_limit, "presolve": True})
    if res.x is None and need_solution:
        raise GeodataError(f"求解失败 (HiGHS found no solution: {res.message})")
    return res


def solve_mclp(problem: SitingProblem, p: int, *, exact: bool | None = True,
               backup_weight: float = 0.0, time_limit: float = 120.0,
               auto_seconds: float = AUTO_EXACT_SECONDS) -> SitingSolution:
    """Choose up to ``p`` candidates maximising covered weight (+ backup, see module notes).

    ``exact``: ``True`` exact, ``False`` fast, ``None`` auto (exact when HiGHS proves the
    optimum within ``auto_seconds``, else the heuristic with its proven ``gap``).
    """
    if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or p < 0:
        raise ValidationError(f"--add 必须为非负整数 (p must be an integer ≥ 0), got {p!r}")
    started = _time.perf_counter()
    optimal, gap = None, None
    mode = "exact" if exact else "fast"
    if p == 0 or problem.n_sites == 0:
        chosen: list[int] = []
        optimal, gap = True, 0.0
    elif exact:
        chosen, optimal = _exact_mclp(problem, int(p), backup_weight, time_limit)
    elif exact is None:
        chosen, optimal, gap = _auto_mclp(problem, int(p), backup_weight,
                                          min(auto_seconds, time_limit))
        mode = "exact" if optimal else "fast"
    else:
        chosen = iterated_search(problem, int(p), backup_weight=backup_weight,
                                 time_limit=min(5.0, time_limit))
    solution = _solution(problem, chosen, "mclp", mode, optimal,
                         _time.perf_counter() - started, backup_weight)
    if optimal:
        gap = 0.0
    solution.extra["gap"] = gap
    solution.extra["solver"] = "HiGHS" if optimal else "heuristic"
    return solution


def _auto_mclp(problem, p, backup_weight, budget):
    """HiGHS within ``budget`` seconds; if it cannot prove the optimum, the heuristic's set and
    its proven gap ``1 - value / upper bound`` (objective incl. what stations already cover)."""
    res, m = _exact_mclp(problem, p, backup_weight, budget, raw=True)
    if res.status == 0 and res.x is not None:
        return [int(j) for j in np.nonzero(res.x[:m] > 0.5)[0]], True, 0.0
    heuristic = iterated_search(problem, p, backup_weight=backup_weight,
                                time_limit=max(1.0, budget))
    w = problem.weights
    before = _objective(w, problem.existing, backup_weight)
    value = _objective(w, problem.counts(heuristic), backup_weight)
    if res.x is not None:  # HiGHS's own incumbent may be better
        incumbent = [int(j) for j in np.nonzero(res.x[:m] > 0.5)[0]]
        if _objective(w, problem.counts(incumbent), backup_weight) > value:
            heuristic = incumbent
            value = _objective(w, problem.counts(incumbent), backup_weight)
    # Coverage is submodular: OPT ≤ f(S) + the p largest marginal gains w.r.t. S (any S).
    at = problem._csc.T.tocsr().astype(float)
    gains = np.sort(at @ _delta(w, problem.counts(heuristic), backup_weight))[::-1]
    upper = value + float(np.clip(gains[:p], 0, None).sum())
    bound = getattr(res, "mip_dual_bound", None)
    if bound is not None and np.isfinite(bound):
        upper = min(upper, before + max(-float(bound), value - before))
    return heuristic, False, (0.0 if upper <= 0 else max(0.0, 1.0 - value / upper))


def _exact_mclp(problem, p, backup_weight, time_limit, *, raw: bool = False):
    w, e = problem.weights, np.minimum(problem.existing, 2)
    m = problem.n_sites
    rows_nnz = np.diff(problem.matrix.indptr)
    limit = 2 if backup_weight else 1
    useful = (e < limit) & (rows_nnz > 0) & (w > 0)
    sub = problem.matrix[useful]
    reps, merged = _merge_rows(sub, e[useful], w[useful])
    a = sub[reps].astype(float).tocsr()
    eg = e[useful][reps]
    g = reps.size
    # variables: x (m) | y (g: first cover) | b (g: second cover, backup only)
    blocks_c = [np.zeros(m), -np.where(eg == 0, merged, 0.0)]
    rows = []
    lower, upper = [], []
    budget = sparse.hstack([sparse.csr_matrix(np.ones((1, m))),
                            sparse.csr_matrix((1, g * (2 if backup_weight else 1)))])
    rows.append(budget)
    lower.append(0.0)
    upper.append(float(p))
    eye = sparse.identity(g, format="csr")
    if backup_weight:
        blocks_c.append(-backup_weight * merged)
        # y + b - A x <= e ; y <= 1 - ... (y fixed by bounds when e == 1); b - y <= 0
        rows.append(sparse.hstack([-a, eye, eye]))
        lower.append(np.full(g, -np.inf))
        upper.append(eg.astype(float))
        rows.append(sparse.hstack([sparse.csr_matrix((g, m)), -eye, eye]))
        lower.append(np.full(g, -np.inf))
        upper.append(np.zeros(g))
    else:
        rows.append(sparse.hstack([-a, eye]))
        lower.append(np.full(g, -np.inf))
        upper.append(np.zeros(g))
    c = np.concatenate(blocks_c)
    cons = sparse.vstack(rows).tocsr()
    lo = np.concatenate([np.atleast_1d(x) for x in lower])
    hi = np.concatenate([np.atleast_1d(x) for x in upper])
    integrality = np.concatenate([np.ones(m), np.zeros(c.size - m)])
    var_lower = np.zeros(c.size)
    if backup_weight:  # demand already covered once: y is 1 (the existing station)
        var_lower[m:m + g][eg >= 1] = 1.0
    res = _milp(c, cons, lo, hi, integrality, var_lower, np.ones(c.size), time_limit=time_limit,
                need_solution=not raw)
    if raw:
        return res, m
    chosen = [int(j) for j in np.nonzero(res.x[:m] > 0.5)[0]]
    return chosen, bool(res.status == 0)


def _lscp_need(problem: SitingProblem, backup: bool) -> np.ndarray:
    """Additional stations each demand point needs (0 where nothing more can be had)."""
    target = 2 if backup else 1
    reachable = np.diff(problem.matrix.indptr)
    want = np.maximum(target - problem.existing, 0)
    need = np.minimum(want, reachable)
    need[problem.weights <= 0] = 0
    return need


def solve_lscp(problem: SitingProblem, *, exact: bool = True, backup: bool = False,
               time_limit: float = 120.0) -> SitingSolution:
    """The fewest candidates covering every demand point a candidate can reach.

    With ``backup`` every point gets two stations (existing ones count) wherever possible.
    """
    started = _time.perf_counter()
    need = _lscp_need(problem, backup)
    optimal = None
    if not need.any():
        chosen: list[int] = []
        optimal = True
    elif exact:
        rows = need > 0
        sub = problem.matrix[rows]
        reps, _ = _merge_rows(sub, need[rows], np.ones(int(rows.sum())))
        a = sub[reps].astype(float).tocsr()
        m = problem.n_sites
        res = _milp(np.ones(m), a, need[rows][reps].astype(float), np.full(reps.size, np.inf),
                    np.ones(m), np.zeros(m), np.ones(m), time_limit=time_limit)
        chosen = [int(j) for j in np.nonzero(res.x > 0.5)[0]]
        optimal = bool(res.status == 0)
    else:
        chosen = _greedy_cover(problem, need)
    solution = _solution(problem, chosen, "lscp", "exact" if exact else "fast", optimal,
                         _time.perf_counter() - started, 1.0 if backup else 0.0)
    left = np.maximum(need - (problem.counts(chosen) - problem.existing), 0)
    if left.any():
        raise GeodataError("内部错误: 覆盖方案未满足约束 (set cover left demand uncovered)")
    return solution


def iterated_search(problem: SitingProblem, p: int, *, backup_weight: float = 0.0,
                    rounds: int = 30, patience: int = 8, seed: int = 0,
                    time_limit: float = 5.0) -> list[int]:
    """Greedy + swaps, then up to ``rounds`` of perturbation (drop a few, refill, swap).

    The best set is kept; the search stops after ``patience`` rounds without improvement.
    """
    rng = np.random.default_rng(seed)
    w = problem.weights
    at = problem._csc.T.tocsr().astype(float)
    best = swap_improve(problem, greedy_mclp(problem, p, backup_weight=backup_weight),
                        backup_weight=backup_weight, time_limit=time_limit)
    best_value = _objective(w, problem.counts(best), backup_weight)
    started = _time.perf_counter()
    drop = max(1, min(3, (len(best) + 3) // 4))
    stale = 0
    for round_ in range(rounds):
        if len(best) < 2 or stale >= patience or _time.perf_counter() - started > time_limit:
            break
        stale += 1
        chosen = [int(j) for j in rng.permutation(best)[:len(best) - drop]]
        counts = problem.counts(chosen)
        while len(chosen) < p:
            gains = at @ _delta(w, counts, backup_weight)
            gains[chosen] = -1.0
            top = np.argsort(-gains)[:3]
            k = int(rng.choice(top)) if round_ % 2 else int(top[0])
            if gains[k] <= 0:
                break
            chosen.append(k)
            counts = counts + problem._int[:, k].toarray().ravel()
        chosen = swap_improve(problem, chosen, backup_weight=backup_weight,
                              time_limit=time_limit)
        value = _objective(w, problem.counts(chosen), backup_weight)
        if value > best_value:
            best, best_value, stale = chosen, value, 0
    return best


def _greedy_cover(problem: SitingProblem, need: np.ndarray) -> list[int]:
    at = problem._csc.T.tocsr().astype(float)
    left = need.copy()
    chosen: list[int] = []
    avail = np.ones(problem.n_sites, dtype=bool)
    while left.any():
        gains = at @ (left > 0).astype(float)
        gains[~avail] = -1
        k = int(np.argmax(gains))
        if gains[k] <= 0:
            break
        chosen.append(k)
        avail[k] = False
        left = np.maximum(left - problem._int[:, k].toarray().ravel(), 0)
    for k in list(reversed(chosen)):  # prune sites the others make redundant
        rest = [j for j in chosen if j != k]
        got = problem.counts(rest) - problem.existing
        if np.all(got >= need):
            chosen = rest
    return chosen


# ----------------------------------------------------------------------------- solution
@dataclass
class SitingSolution:
    """Chosen candidate indices in gain order, with recomputed coverage."""

    chosen: list[int]
    gains: list[float]
    unique_gains: list[float]
    model: str
    mode: str
    optimal: bool | None
    seconds: float
    before: dict
    after: dict
    objective: float
    backup_weight: float = 0.0
    extra: dict = field(default_factory=dict)


def _solution(problem, chosen, model, mode, optimal, seconds, backup_weight) -> SitingSolution:
    chosen = [int(j) for j in chosen]
    w = problem.weights
    order, gains = [], []
    counts = problem.existing.copy()
    remaining = list(chosen)
    while remaining:  # list in greedy order of marginal gain; drop sites adding nothing
        cols = problem._int[:, remaining].toarray()
        d = _delta(w, counts, backup_weight)
        g = d @ cols
        k = int(np.argmax(g))
        if g[k] <= 0 and model == "mclp":
            break
        order.append(remaining.pop(k))
        gains.append(float(g[k]))
        counts = counts + cols[:, k]
    full = problem.counts(order)
    full_obj = _objective(w, full, backup_weight)
    unique = []
    for j in order:
        without = full - problem._int[:, j].toarray().ravel()
        unique.append(full_obj - _objective(w, without, backup_weight))
    return SitingSolution(chosen=order, gains=gains, unique_gains=unique, model=model, mode=mode,
                          optimal=optimal, seconds=seconds, before=evaluate(problem, []),
                          after=evaluate(problem, order), objective=full_obj,
                          backup_weight=backup_weight)
