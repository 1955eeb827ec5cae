"""Datum conversion throughput: the numpy path, and ``nuanxin convert`` end to end.

* numpy rows: :func:`geodata.crs.datums.convert` on 1,000,000 points over Beijing, each direction;
  ``baseline`` = the same published formulas one point at a time in plain Python (``math``),
  as the widely copied coordtransform-style helpers do, measured on 50,000 of the points
  (a per-point loop: its rate does not depend on the count). Both are timed together by
  :func:`bench._timing.compare` (same warm-up and repeats, medians).
  Goal (issue 2): ≥ 1,000,000 points/s through the numpy path.
* CLI rows: ``nuanxin convert`` as a subprocess, 1,000,000 ``lon lat`` lines on stdin to
  stdout; includes Python start-up, text parsing and 8-decimal formatting (no goal is set
  for the whole process; reported for honesty). ``startup_s`` is the same command on
  empty stdin.
"""

from __future__ import annotations

import math
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np

from bench._timing import compare, describe, measure
from geodata.crs.datums import convert, in_china

POINTS = 1_000_000
BASELINE_POINTS = 50_000
GOAL = 1_000_000
PAIRS = (("wgs84", "gcj02"), ("gcj02", "wgs84"), ("wgs84", "bd09"), ("bd09", "wgs84"),
         ("gcj02", "bd09"), ("bd09", "gcj02"))
NUANXIN = Path(sys.executable).with_name("nuanxin")

_A, _EE = 6378245.0, 0.00669342162296594323


def _offset_scalar(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 offset of one point, written the usual per-point way."""
    if not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271):
        return 0.0, 0.0
    x, y, pi = lon - 105.0, lat - 35.0, math.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sq = math.sqrt(magic)
    return (dlon * 180.0 / (_A / sq * math.cos(rad) * pi),
            dlat * 180.0 / ((_A * (1 - _EE)) / (magic * sq) * pi))


def _wgs_gcj_scalar(lon: float, lat: float) -> tuple[float, float]:
    dlon, dlat = _offset_scalar(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_wgs_scalar(lon: float, lat: float) -> tuple[float, float]:
    wlon, wlat = lon, lat
    for _ in range(30):
        dlon, dlat = _offset_scalar(wlon, wlat)
        elon, elat = wlon + dlon - lon, wlat + dlat - lat
        wlon, wlat = wlon - elon, wlat - elat
        if abs(elon) < 1e-9 and abs(elat) < 1e-9:
            break
    return wlon, wlat


_SCALAR = {("wgs84", "gcj02"): _wgs_gcj_scalar, ("gcj02", "wgs84"): _gcj_wgs_scalar}


def _points(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    return rng.uniform(115.4, 117.6, n), rng.uniform(39.4, 41.1, n)


def _numpy_rows() -> list[dict]:
    lon, lat = _points(POINTS)
    assert in_china(lon, lat).all()
    blon, blat = lon[:BASELINE_POINTS].tolist(), lat[:BASELINE_POINTS].tolist()
    rows = []
    for src, dst in PAIRS:
        contenders = {"ours": partial(convert, lon, lat, src=src, dst=dst)}
        scalar = _SCALAR.get((src, dst))
        if scalar is not None:
            out = _per_point(scalar, blon, blat)
            got = np.array(convert(lon[:BASELINE_POINTS], lat[:BASELINE_POINTS], src=src,
                                   dst=dst)).T
            assert np.abs(got - np.array(out)).max() < 1e-9  # same answers, checked first
            contenders["baseline"] = partial(_per_point, scalar, blon, blat)
        t = compare(contenders)
        ours = POINTS / t["ours"]["median"]
        row = {"case": f"numpy convert {src}→{dst}, {POINTS:,} points",
               "ours": round(ours), "unit": "points/s", "better": "higher",
               "seconds": round(t["ours"]["median"], 3), "timing": describe(t["ours"]),
               "baselines": []}
        if scalar is not None:
            row["baselines"].append({
                "name": f"per-point Python (math), {BASELINE_POINTS:,} points",
                "value": round(BASELINE_POINTS / t["baseline"]["median"])})
        row["goal"] = f"≥ {GOAL:,} points/s"
        row["ok"] = bool(ours >= GOAL)
        rows.append(row)
    return rows


def _per_point(scalar, lon: list[float], lat: list[float]) -> list[tuple[float, float]]:
    return [scalar(a, b) for a, b in zip(lon, lat, strict=True)]


def _cli(args: list[str], text: bytes) -> None:
    done = subprocess.run([str(NUANXIN), "convert", *args], input=text, capture_output=True,
                          check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.decode(errors="replace"))
    if text and done.stdout.count(b"\n") != text.count(b"\n"):
        raise RuntimeError("nuanxin convert lost lines")


def _cli_rows() -> list[dict]:
    lon, lat = _points(POINTS, seed=4)
    text = ("%.7f %.7f\n" * POINTS % tuple(np.column_stack([lon, lat]).ravel().tolist())
            ).encode()
    startup = measure(partial(_cli, ["--from", "wgs84", "--to", "gcj02"], b""))
    rows = []
    for src, dst in (("wgs84", "gcj02"), ("gcj02", "wgs84")):
        t = measure(partial(_cli, ["--from", src, "--to", dst], text))
        rows.append({
            "case": f"CLI nuanxin convert {src}→{dst}, {POINTS:,} stdin lines",
            "ours": round(POINTS / t["median"]), "unit": "points/s (whole process)",
            "better": "higher", "seconds": round(t["median"], 3),
            "startup_s": round(startup["median"], 3), "timing": describe(t),
            "baselines": [],
            "note": "includes start-up, parsing and formatting; goal is for the numpy path",
        })
    return rows


def run() -> list[dict]:
    """numpy path per direction (with the per-point baseline), then the whole CLI."""
    return _numpy_rows() + _cli_rows()


if __name__ == "__main__":  # pragma: no cover
    for r in run():
        print(r)
