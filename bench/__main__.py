"""Run every ``bench/bench_*.py`` (or those named on the command line) and print a table.

Each module defines ``run() -> list[dict]``. A row holds:

* ``case``, ``unit``, ``ours`` (the median figure, see :mod:`bench._timing`) and ``better``
  (``"lower"``, the default, for times and bytes; ``"higher"`` for rates);
* ``baselines``: a list of ``{"name": ..., "value": ...}`` measured with the same warm-up and
  repeats as ours (empty when the issue names none);
* ``goal`` (the goal in words) and ``ok`` where the issue sets a goal;
* anything else worth keeping (printed, and saved in ``bench/results/<module>.json``).

The run ends with a summary table (case, ours, each baseline, ratio, goal, met/missed) and
exits non-zero when a goal is missed or a benchmark fails, so ``make bench`` fails too.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).parent


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _ratio(row: dict, value) -> float | None:
    """How many times better ours is than a baseline figure (< 1: the baseline is better)."""
    ours = row.get("ours")
    if not isinstance(ours, (int, float)) or not isinstance(value, (int, float)):
        return None
    if row.get("better", "lower") == "higher":
        return ours / value if value else None
    return value / ours if ours else None


def _status(row: dict) -> str:
    if "ok" not in row:
        return "-"
    return "met" if row["ok"] else "MISSED"


def _print_row(row: dict) -> None:
    skip = ("case", "ok", "baselines", "better")
    extras = "  ".join(f"{k}={_fmt(v)}" for k, v in row.items() if k not in skip)
    mark = {"met": "  [goal met]", "MISSED": "  [GOAL MISSED]"}.get(_status(row), "")
    print(f"  {row['case']}: {extras}{mark}", flush=True)
    for b in row.get("baselines", ()):
        r = _ratio(row, b.get("value"))
        more = "  ".join(f"{k}={_fmt(v)}" for k, v in b.items() if k not in ("name", "value"))
        print(f"      vs {b['name']}: {_fmt(b.get('value'))}"
              f"{'' if r is None else f'  (ratio {r:,.3g}×)'}"
              f"{'  ' + more if more else ''}", flush=True)


def _summary_lines(results: list[tuple[str, dict]]) -> list[list[str]]:
    lines = [["case", "ours", "baseline", "ratio", "goal", "result"]]
    for _, row in results:
        unit = row.get("unit", "")
        ours = f"{_fmt(row.get('ours'))} {unit}".strip()
        goal, status = row.get("goal", "-"), _status(row)
        baselines = row.get("baselines") or [None]
        for k, b in enumerate(baselines):
            if b is None:
                base, rat = "-", "-"
            else:
                base = f"{b['name']}: {_fmt(b.get('value'))}"
                r = _ratio(row, b.get("value"))
                rat = "-" if r is None else f"{r:,.3g}×"
            if k == 0:
                lines.append([row["case"], ours, base, rat, str(goal), status])
            else:
                lines.append(["", "", base, rat, "", ""])
    return lines


def _print_table(lines: list[list[str]]) -> None:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for k, line in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    results: list[tuple[str, dict]] = []
    broken: list[str] = []
    for name in names:
        name = name if name.startswith("bench_") else f"bench_{name}"
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            rows = importlib.import_module(f"bench.{name}").run()
        except Exception:  # a benchmark that cannot run is a failure, not a skipped line
            traceback.print_exc()
            broken.append(name)
            continue
        took = time.perf_counter() - started
        for row in rows:
            _print_row(row)
            results.append((name, row))
        (out_dir / f"{name}.json").write_text(
            json.dumps({"seconds": took, "rows": rows}, ensure_ascii=False, indent=2,
                       default=str))
    print("\n== summary (ours and baselines: medians, same warm-up and repeats; ratio = how "
          "many times better ours is, < 1 means the baseline wins) ==")
    lines = _summary_lines(results)
    lines += [[f"{name}: failed to run (traceback above)", "-", "-", "-", "-", "FAILED"]
              for name in broken]
    _print_table(lines)
    missed = [row["case"] for _, row in results if not row.get("ok", True)]
    met = sum(1 for _, row in results if "ok" in row and row["ok"])
    print(f"\n{met} goal(s) met, {len(missed)} missed"
          + (f", {len(broken)} benchmark(s) failed to run: {', '.join(broken)}" if broken else ""))
    for case in missed:
        print(f"  MISSED: {case}")
    return 1 if missed or broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
