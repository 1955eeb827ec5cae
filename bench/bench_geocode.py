"""Offline geocoding throughput on 10,000 distinct Beijing addresses (goal ≥ 2,000/s).

Addresses are generated from the shipped gazetteer with the variations unions write (with and
without city and district, short street names, 社区 vs 社区居委会, house and building numbers,
full-width digits, one-character typos) and are all distinct, and the geocoder's cache is off,
so every address is really geocoded. The gazetteer is loaded and 1,000 other addresses are
geocoded first (warm-up). Baseline: the obvious approach, rapidfuzz ``extractOne`` of the whole
address against every community name of Beijing, timed on 1,000 of the same addresses.
"""

from __future__ import annotations

import random
import time
from collections import Counter

GOAL_PER_S = 2000.0
N_ADDRESSES = 10_000
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def make_addresses(n: int, *, seed: int) -> list[str]:
    """``n`` distinct addresses built from the gazetteer (deterministic for a seed)."""
    from geodata.addresses import strip_admin_suffix
    from geodata.placenames import load_gazetteer

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

    from geodata.geocoding import Geocoder
    from geodata.placenames import load_gazetteer

    started = time.perf_counter()
    geocoder = Geocoder(cache=False)
    load_s = time.perf_counter() - started
    for address in make_addresses(1_000, seed=1):  # warm-up on other addresses
        geocoder.geocode(address)
    addresses = make_addresses(N_ADDRESSES, seed=2)
    t0 = time.perf_counter()
    results = [geocoder.geocode(a) for a in addresses]
    ours = N_ADDRESSES / (time.perf_counter() - t0)

    names = [c.name for c in load_gazetteer().communities]
    sample = addresses[:1_000]
    t0 = time.perf_counter()
    for address in sample:
        process.extractOne(address, names, scorer=fuzz.WRatio)
    baseline = len(sample) / (time.perf_counter() - t0)

    cached = Geocoder()
    for address in addresses:
        cached.geocode(address)
    t0 = time.perf_counter()
    for address in addresses:
        cached.geocode(address)
    cached_rate = N_ADDRESSES / (time.perf_counter() - t0)

    precisions = Counter(r.precision for r in results)
    return [
        {"case": f"offline geocode, {N_ADDRESSES:,} distinct addresses, cache off",
         "ours": round(ours, 1), "baseline": "rapidfuzz extractOne over 7,007 communities",
         "baseline_value": round(baseline, 1), "unit": "addresses/s", "goal": GOAL_PER_S,
         "ok": ours >= GOAL_PER_S,
         "precision_mix": dict(sorted(precisions.items()))},
        {"case": "gazetteer load (first Geocoder in the process)", "ours": round(load_s, 3),
         "baseline": "-", "unit": "s"},
        {"case": "repeat addresses from the in-memory cache", "ours": round(cached_rate, 1),
         "baseline": "-", "unit": "addresses/s"},
    ]


if __name__ == "__main__":  # pragma: no cover
    for row in run():
        print(row)
