"""Coverage and siting on the dashboard: the map with numbers, and its Excel/GeoJSON files.

Thin views over :mod:`webmap.planning` (the cached engine calls), :mod:`webmap.planmap` and
:mod:`geodata.io.reports`.
"""

from __future__ import annotations

from flask import current_app, flash, render_template, request

from stations.errors import NotFoundError, NuanxinError, ValidationError
from stations.hours import parse_open_at
from stations.settings import DEFAULT_MIN_STATIONS, DEFAULT_RADIUS_M, now
from webmap import maps, planning
from webmap.extensions import get_store
from webmap.security import csp_nonce
from webmap.union.common import bp, listed_area, send_temp

__all__ = ["coverage", "coverage_report", "coverage_geojson"]


def _coverage_args(args) -> dict:
    def number(name, default, cast, lo, hi):
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            if len(raw) > 32 or not raw.isascii():  # no 4,300-digit ints, no full-width digits
                raise ValueError(raw)
            value = cast(raw)
        except ValueError:
            raise ValidationError(f"{name} 不是数字 (not a number): {raw[:40]!r}") from None
        if not lo <= value <= hi:
            raise ValidationError(f"{name} 超出范围 (must be between {lo} and {hi}): {raw}")
        return value

    at_text = (args.get("at") or "").strip()
    at = None
    if at_text:
        at = parse_open_at(at_text)
    district, street = listed_area(args)  # the account's area unless the query names one
    return {"district": district, "street": street,
            "radius": number("radius", DEFAULT_RADIUS_M, float, 50, 20_000),
            "min_stations": number("min_stations", DEFAULT_MIN_STATIONS, int, 1, 20),
            "add": number("add", 0, int, 0, 50), "at": at, "at_text": at_text}


def _underlay_for(m, result, datum: str) -> None:
    """District/street outlines under the planning layers (the map works with no tiles)."""
    import numpy as np

    from webmap.underlay import underlay_geojson

    lon = np.concatenate([result.demand.lon, result.stations.lon])
    lat = np.concatenate([result.demand.lat, result.stations.lat])
    if lon.size == 0:
        return
    pad = 0.01
    bbox = (float(lon.min()) - pad, float(lat.min()) - pad, float(lon.max()) + pad,
            float(lat.max()) + pad)
    span = max(bbox[2] - bbox[0], bbox[3] - bbox[1])
    zoom = 15 if span < 0.05 else 13 if span < 0.3 else 11
    maps.add_underlay(m, underlay_geojson(bbox, zoom=zoom, datum=datum),
                      labels=zoom < 15)


@bp.get("/coverage")
def coverage():
    """Coverage of demand (uncovered demand, service areas, recommended sites) with numbers."""
    from geodata.places.areas import load_districts
    from webmap.planmap import planning_map

    store = get_store()
    form = _coverage_args(request.args)
    result = body = sites = parts = None
    try:
        result = planning.coverage_result(store, district=form["district"],
                                          street=form["street"], radius=form["radius"],
                                          min_stations=form["min_stations"], at=form["at"])
        body = result.as_dict(max_points=0)
        if form["add"]:
            sites = planning.site_payload(store, district=form["district"],
                                          street=form["street"], radius=form["radius"],
                                          add=form["add"])
    except NotFoundError:
        raise
    except NuanxinError as exc:
        flash(exc.message, "error")
    if result is not None:
        tiles = current_app.config["TILES"]
        m = maps.base_map(tiles=tiles, center=current_app.config["MAP_CENTER"], zoom=13,
                          tianditu_key=current_app.config["TIANDITU_KEY"], lean="popups")
        _underlay_for(m, result, maps.tile_datum(tiles))
        planning_map(to_tiles=maps.tile_datum(tiles), m=m, coverage=result,
                     siting=sites, max_points=1500)
        parts = maps.map_parts(m, nonce=csp_nonce())
    districts = sorted(load_districts()["name"].tolist())
    query = {k: v for k, v in request.args.items() if v}
    return render_template("union/coverage.html", form=form, body=body, sites=sites, map=parts,
                           districts=districts, query=query, result=result)


@bp.get("/coverage/report.xlsx")
def coverage_report():
    """The Excel report of the coverage (and sites) on the page (``geodata.io.reports``)."""
    from geodata.io.reports import write_excel_report

    store = get_store()
    form = _coverage_args(request.args)
    result = planning.coverage_result(store, district=form["district"], street=form["street"],
                                      radius=form["radius"], min_stations=form["min_stations"],
                                      at=form["at"])
    sites = planning.site_payload(store, district=form["district"], street=form["street"],
                                  radius=form["radius"], add=form["add"]) if form["add"] else None
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_temp(lambda p: write_excel_report(p, coverage=result, siting=sites),
                     f"nuanxin-coverage-{stamp}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/coverage/<kind>.geojson")
def coverage_geojson(kind: str):
    """Coverage (``coverage.geojson``) or recommended sites (``sites.geojson``) as GeoJSON."""
    from geodata.io.reports import coverage_geojson as to_geojson
    from geodata.io.reports import siting_geojson, write_geojson

    store = get_store()
    form = _coverage_args(request.args)
    if kind == "coverage":
        result = planning.coverage_result(store, district=form["district"],
                                          street=form["street"], radius=form["radius"],
                                          min_stations=form["min_stations"], at=form["at"])
        collection = to_geojson(result)
    elif kind == "sites":
        payload = planning.site_payload(store, district=form["district"], street=form["street"],
                                        radius=form["radius"], add=form["add"] or 3)
        collection = siting_geojson(payload)
    else:
        raise NotFoundError(f"没有 {kind}.geojson (use coverage or sites)")
    return send_temp(lambda p: write_geojson(p, collection), f"nuanxin-{kind}.geojson",
                     "application/geo+json")
