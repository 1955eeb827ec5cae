"""Run every ``bench/bench_*.py`` (or those named on the command line) and print a table.

Each module defines ``run() -> list[dict]``; a row holds at least ``case``, ``ours``,
``baseline`` (name and figure) and ``unit``, plus ``goal`` and ``ok`` where the issue sets a
goal. Results are also written to ``bench/results/<module>.json``.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    failed = 0
    for name in names:
        name = name if name.startswith("bench_") else f"bench_{name}"
        module = importlib.import_module(f"bench.{name}")
        print(f"\n== {name} ==", flush=True)
        started = time.perf_counter()
        rows = module.run()
        took = time.perf_counter() - started
        for row in rows:
            extras = "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()
                               if k not in ("case", "ok"))
            mark = "" if "ok" not in row else ("  [goal met]" if row["ok"] else "  [GOAL MISSED]")
            print(f"  {row['case']}: {extras}{mark}", flush=True)
            failed += 0 if row.get("ok", True) else 1
        (out_dir / f"{name}.json").write_text(
            json.dumps({"seconds": took, "rows": rows}, ensure_ascii=False, indent=2,
                       default=str))
    print(f"\n{failed} goal(s) missed" if failed else "\nall goals met")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
