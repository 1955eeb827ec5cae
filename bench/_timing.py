"""One way to time things, the same for ours and for every baseline.

Every benchmark times its own code and each baseline through :func:`compare` (or
:func:`measure` for a figure without a baseline): the same number of untimed warm-up calls,
the same number of timed repeats, and the median reported. :func:`compare` interleaves the
contenders round by round (the order reversed every other round), so a burst of load from
someone else's test run on this shared 2-core machine falls on all of them alike instead of
on whichever happened to run then.

A figure is the wall time of one call in seconds, unless ``figure`` is given: then it is
``figure(result)``, a time the code under test measures itself (the browser's own clock for
the first map marker).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping

__all__ = ["WARMUP", "REPEATS", "measure", "compare", "describe"]

#: Untimed calls before timing starts (imports, caches, thread pools, JIT-like warm paths).
WARMUP = 1
#: Timed calls; the median of these is the reported figure.
REPEATS = 5


def _once(fn: Callable[[], object], figure: Callable[[object], float] | None):
    gc.collect()  # garbage left by the previous contender is not charged to this one
    started = time.perf_counter()
    result = fn()
    took = time.perf_counter() - started
    return (took if figure is None else float(figure(result))), result


def compare(contenders: Mapping[str, Callable[[], object]], *, warmup: int = WARMUP,
            repeats: int = REPEATS, figure: Callable[[object], float] | None = None,
            keep_results: bool = False) -> dict[str, dict]:
    """Time every contender with the same warm-up and repeats, interleaved.

    Parameters
    ----------
    contenders : mapping of name → callable with no arguments
        Ours and the baselines, all doing the same work.
    warmup, repeats : int
        Untimed calls first, then timed calls, for every contender alike.
    figure : callable, optional
        Turns a call's return value into its figure (default: wall time of the call).
    keep_results : bool
        Keep every timed call's return value (``results``), not only the last one.

    Returns
    -------
    dict
        Per name: ``median``, ``min``, ``max``, ``runs`` (every timed figure, in order),
        ``warmup``, ``repeats``, ``result`` (the last return value) and, with
        ``keep_results``, ``results`` (every timed call's, in order).
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats ≥ 1 and warmup ≥ 0, got repeats={repeats!r}, "
                         f"warmup={warmup!r}")
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            _once(contenders[name], figure)
    runs: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, list[object]] = {name: [] for name in names}
    for round_ in range(repeats):
        for name in (names if round_ % 2 == 0 else names[::-1]):
            value, result = _once(contenders[name], figure)
            runs[name].append(value)
            if keep_results or round_ == repeats - 1:
                results[name].append(result)
            del result  # do not hold the last output while the next contender runs
    out = {}
    for name in names:
        out[name] = {"median": float(statistics.median(runs[name])), "min": min(runs[name]),
                     "max": max(runs[name]), "runs": runs[name], "warmup": warmup,
                     "repeats": repeats, "result": results[name][-1]}
        if keep_results:
            out[name]["results"] = results[name]
    return out


def measure(fn: Callable[[], object], *, warmup: int = WARMUP, repeats: int = REPEATS,
            figure: Callable[[object], float] | None = None,
            keep_results: bool = False) -> dict:
    """:func:`compare` with a single contender (same keys)."""
    return compare({"only": fn}, warmup=warmup, repeats=repeats, figure=figure,
                   keep_results=keep_results)["only"]


def describe(timing: dict) -> str:
    """``"median of 5 after 1 warm-up"`` for a :func:`compare`/:func:`measure` entry."""
    return f"median of {timing['repeats']} after {timing['warmup']} warm-up"
