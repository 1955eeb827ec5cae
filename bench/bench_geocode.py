"""Offline geocoding throughput on 10,000 distinct Beijing addresses (goal ≥ 2,000/s).

Addresses are generated from the shipped gazetteer with the variations unions write (with and
without city and district, short street names, 社区 vs 社区居委会, house and building numbers,
full-width digits, one-character typos) and are all distinct, and the geocoder's cache is off,
so every address is really geocoded (nothing in the geocoder memoises per address, so the
warm-up pass over the same addresses buys no answers). Baseline: the obvious approach,
rapidfuzz ``extractOne`` of the whole address against every community name of Beijing, on
the first 300 of the same addresses (a per-address loop: its rate does not depend on the
count; all 10,000 would take two minutes a run). Ours and the baseline are timed together by
:func:`bench._timing.compare` (same warm-up and repeats, interleaved, medians).
"""

from __future__ import annotations

import random
import time
from collections import Counter

from bench._timing import compare, describe, measure

GOAL_PER_S = 2000.0
N_ADDRESSES = 10_000
BASELINE_ADDRESSES = 300
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def make_addresses(n: int, *, seed: int) -> list[str]:
    """``n`` distinct addresses built from the gazetteer (deterministic for a seed)."""
    from geodata.places.addresses import strip_admin_suffix
    from geodata.places.gazetteer import load_gazetteer

    g = load_gazetteer()
    rng = random.Random(seed)
    streets = {s.code: s for s in g.streets}
    cjk = [chr(x) for x in range(0x4E00, 0x4E00 + 3000)]
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        c = rng.choice(g.communities)
        s = streets.get(c.street_code)
        core = strip_admin_suffix(c.name)
        short = strip_admin_suffix(s.name) if s is not None else ""
        number = f"{rng.randint(1, 300)}号{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元"
        variant = rng.randrange(7)
        if variant == 0:
            text = f"北京市{c.district}{s.name if s else ''}{c.name}{number}"
        elif variant == 1:
            text = f"{c.district}{short}{core}{number}"
        elif variant == 2:
            text = f"{c.district}{core}社区{number.translate(_FULLWIDTH)}"
        elif variant == 3:
            text = f"{short}{core}社区居委会{number}"
        elif variant == 4 and len(core) >= 3:
            i = rng.randrange(len(core))
            text = f"{c.district}{s.name if s else ''}{core[:i]}{rng.choice(cjk)}{core[i+1:]}社区"
        elif variant == 5:
            text = f"北京{c.district}{short}街道{number}"
        else:
            text = f"{c.district}{core}{rng.randint(1, 99)}号院"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def run() -> list[dict]:
    """Benchmark rows for ``python -m bench``."""
    from rapidfuzz import fuzz, process

    from geodata.places.gazetteer import load_gazetteer
    from geodata.places.geocoding import Geocoder

    started = time.perf_counter()
    geocoder = Geocoder(cache=False)
    load_s = time.perf_counter() - started
    addresses = make_addresses(N_ADDRESSES, seed=2)
    names = [c.name for c in load_gazetteer().communities]
    sample = addresses[:BASELINE_ADDRESSES]

    t = compare({
        "ours": lambda: [geocoder.geocode(a) for a in addresses],
        "baseline": lambda: [process.extractOne(a, names, scorer=fuzz.WRatio) for a in sample],
    })
    ours = N_ADDRESSES / t["ours"]["median"]
    baseline = len(sample) / t["baseline"]["median"]
    results = t["ours"]["result"]

    cached = Geocoder()
    for address in addresses:  # fills the in-memory cache
        cached.geocode(address)
    hits = measure(lambda: [cached.geocode(a) for a in addresses])
    cached_rate = N_ADDRESSES / hits["median"]

    precisions = Counter(r.precision for r in results)
    return [
        {"case": f"offline geocode, {N_ADDRESSES:,} distinct addresses, cache off",
         "ours": round(ours, 1), "unit": "addresses/s", "better": "higher",
         "baselines": [{"name": f"rapidfuzz extractOne over {len(names):,} communities "
                                f"({len(sample)} of the addresses)",
                        "value": round(baseline, 1)}],
         "timing": describe(t["ours"]),
         "goal": f"≥ {GOAL_PER_S:,g} addresses/s", "ok": bool(ours >= GOAL_PER_S),
         "precision_mix": dict(sorted(precisions.items()))},
        {"case": "gazetteer load (first Geocoder in the process)", "ours": round(load_s, 3),
         "unit": "s", "baselines": [], "timing": "once"},
        {"case": "repeat addresses from the in-memory cache", "ours": round(cached_rate, 1),
         "unit": "addresses/s", "better": "higher", "baselines": [],
         "timing": describe(hits)},
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
