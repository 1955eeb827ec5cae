"""The shipped Beijing demo: where its files live and loading them into a store.

The files in ``geodata/data/beijing/`` are built from public data by :mod:`geodata.demo.build`
(``make demo``; build tooling, never imported at run time); the sample stations, candidate
sheet and proxy demand come from :mod:`geodata.demo._samples`.

The demo plays one union, 广安门外街道 (:data:`DEMO_UNION`): its candidate sheet is screened with
that jurisdiction when it is loaded. The shipped screening standard names no place (issue 10);
the jurisdiction belongs to the demo, as it belongs to each union's account.
"""

from __future__ import annotations

from pathlib import Path

from geodata import DATA_DIR
from geodata.errors import GeodataError

__all__ = ["DEMO_DIR", "DEMAND_SOURCE", "DEMO_UNION", "load_demo"]

#: Where the shipped demo lives inside the package (the folder :mod:`geodata.places` reads).
DEMO_DIR = DATA_DIR
#: ``demand_points.source`` of the demo's proxy demand (replaced on each load).
DEMAND_SOURCE = "demo:beijing:communities"
#: The union the demo plays (its jurisdiction when screening the demo's candidate sheet); also
#: what ``nuanxin users add NAME --role street --street 广外`` gives a demo street account.
DEMO_UNION = {"district": "西城区", "street": "广安门外街道"}


def load_demo(store, *, data_dir: str | Path | None = None) -> dict[str, int]:
    """Load the shipped demo into ``store`` (idempotent: re-loading updates, never duplicates).

    Stations are imported by code (:func:`geodata.io.stations.import_stations`), so a second load
    updates the same records; the proxy demand points replace earlier demo demand; the
    candidate hosts (union sheet) are imported once and screened.

    Returns
    -------
    dict
        ``{"stations": n, "demand": m, "candidates": c}``.
    """
    from geodata.io.candidates import load_demo_candidates
    from geodata.io.stations import import_stations
    from geodata.planning.demand import import_demand

    folder = Path(data_dir) if data_dir else DEMO_DIR
    report = import_stations(store, folder / "demo_stations.geojson", crs="wgs84", update=True)
    if report.rejected:
        raise GeodataError(f"示例站点数据有误 (shipped demo stations rejected): {report.rejected}")
    # Proxy demand (community points) through the demand import of geodata.planning.demand; earlier
    # demo demand (same source) is replaced in the same transaction.
    demand = import_demand(store, folder / "demo_demand.csv", crs="wgs84", source=DEMAND_SOURCE,
                           sample=True, replace_source=True)
    if demand["rejected"]:
        raise GeodataError(f"示例需求数据有误 (shipped demo demand rejected): {demand['rejected']}")
    # Candidate hosts (union sheet, coordinates in GCJ-02): imported and screened as the demo's
    # union (广安门外街道).
    candidates = load_demo_candidates(store, folder / "demo_candidates.csv",
                                      union_district=DEMO_UNION["district"],
                                      union_street=DEMO_UNION["street"])
    return {"stations": report.imported, "demand": demand["imported"], "candidates": candidates}
