"""Coverage and siting on the dashboard: the map with numbers, and its Excel/GeoJSON files.

Thin views over :mod:`webmap.planning` (the cached engine calls), :mod:`webmap.planmap` and
:mod:`geodata.io.reports`. The page says which demand it counted, in words, shows the day as
a strip (06:00 / 12:00 / 18:00 / 22:00), lists the gaps, and offers the demand sheet: its
template to download and an upload (rows checked against the account's area).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, url_for

from stations.errors import NotFoundError, NuanxinError, ValidationError
from stations.hours import parse_open_at
from stations.settings import DEFAULT_MIN_STATIONS, DEFAULT_RADIUS_M, now
from webmap import maps, planning
from webmap.extensions import get_store
from webmap.security import csp_nonce
from webmap.union.common import XLSX, bp, current_scope, listed_area, send_temp

__all__ = ["coverage", "coverage_report", "coverage_geojson", "demand_template",
           "demand_upload", "demand_pin", "DEMAND_CHOICES_ZH"]

#: The demand choices of the form, in words (auto first: the honest default).
DEMAND_CHOICES_ZH = {"auto": "自动（有导入的需求点用需求点，否则按面积）",
                     "imported": "导入的需求点", "area": "按面积",
                     "community_proxy": "社区代理点（每个社区计 1 个点）"}
_UPLOAD_TYPES = (".csv", ".xlsx")


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
    demand = (args.get("demand") or "auto").strip()
    if demand not in DEMAND_CHOICES_ZH:
        raise ValidationError(f"demand 只能是 {', '.join(DEMAND_CHOICES_ZH)} (unknown demand "
                              f"choice {demand[:40]!r})")
    return {"district": district, "street": street, "demand": demand,
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
                                          min_stations=form["min_stations"], at=form["at"],
                                          demand=form["demand"], strip=True)
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
                           districts=districts, query=query, result=result,
                           demand_choices=DEMAND_CHOICES_ZH, pending=_pending(store, form))


def _pending(store, form: dict) -> list[dict]:
    """Demand rows of the page's area waiting for a pin (at most 50)."""
    from stations.demand_points import pending_pins

    if form["street"]:
        from geodata.places.assign import area_of_names

        area = area_of_names(form["district"], form["street"])
        return pending_pins(store, street=area.street or form["street"])[:50]
    return pending_pins(store, district=form["district"] or None)[:50]


@bp.get("/coverage/report.xlsx")
def coverage_report():
    """The Excel report of the coverage (and sites) on the page (``geodata.io.reports``)."""
    from geodata.io.reports import write_excel_report

    store = get_store()
    form = _coverage_args(request.args)
    result = planning.coverage_result(store, district=form["district"], street=form["street"],
                                      radius=form["radius"], min_stations=form["min_stations"],
                                      at=form["at"], demand=form["demand"], strip=True)
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
                                          min_stations=form["min_stations"], at=form["at"],
                                          demand=form["demand"])
        collection = to_geojson(result)
    elif kind == "sites":
        payload = planning.site_payload(store, district=form["district"], street=form["street"],
                                        radius=form["radius"], add=form["add"] or 3)
        collection = siting_geojson(payload)
    else:
        raise NotFoundError(f"没有 {kind}.geojson (use coverage or sites)")
    return send_temp(lambda p: write_geojson(p, collection), f"nuanxin-{kind}.geojson",
                     "application/geo+json")


@bp.get("/coverage/demand-template.xlsx")
def demand_template():
    """The demand sheet template (名称, 类型, 人数, 班次, 地址/经纬度, 备注)."""
    from geodata.io.demand import write_template

    return send_temp(write_template, "nuanxin-demand-template.xlsx", XLSX)


@bp.post("/coverage/demand")
def demand_upload():
    """Import a filled demand sheet; rows outside the account's area are rejected, every
    rejected row and every row waiting for a pin is listed on the coverage page."""
    from geodata.crs.datums import normalise_datum
    from geodata.io.demand import import_demand_sheet

    scope = current_scope()
    scope.check_write(scope.area, what="导入")  # a viewer imports nothing
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("请选择要导入的需求表 (choose a .csv or .xlsx file)")
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in _UPLOAD_TYPES:
        raise ValidationError(f"只支持 .csv 和 .xlsx (unsupported file type {suffix or '-'})")
    crs = normalise_datum(request.form.get("crs") or "wgs84")
    source = "union:" + Path(upload.filename).name[:80]
    with tempfile.TemporaryDirectory(prefix="nuanxin-upload-") as folder:
        path = Path(folder) / f"demand{suffix}"
        upload.save(path)
        try:
            report = import_demand_sheet(get_store(), path, crs=crs, source=source,
                                         replace_source=True, progress=False, scope=scope)
        except NuanxinError as exc:
            flash(f"导入失败：{exc.message}", "error")
            return redirect(url_for("union.coverage"))
    _flash_report(report)
    return redirect(url_for("union.coverage"))


def _flash_report(report: dict) -> None:
    """The import report as flash messages: the totals, then each rejected or pending row."""
    rows = sorted({r["row"] for r in report["rejected"]})
    flash(f"需求表已导入 {report['imported']} 个需求点，共 {report['people']:,.10g} 人；"
          f"未导入 {len(rows)} 行；待定位 {len(report['pending_pin'])} 行。",
          "ok" if report["imported"] else "error")
    for bad in report["rejected"][:30]:
        flash(f"第 {bad['row']} 行（{bad.get('column') or ''}）：{bad['reason']}", "error")
    for row in report["pending_pin"][:30]:
        flash(f"第 {row['row']} 行 {row['name']}：地址只能定位到区或市，已列入待定位，"
              "不参与覆盖计算。", "error")


@bp.post("/coverage/demand/<int:point_id>/pin")
def demand_pin(point_id: int):
    """Place a demand point waiting for a pin (经度/纬度 in the chosen datum); the new place
    must lie in the account's area."""
    from geodata.crs.datums import convert, normalise_datum
    from geodata.places.assign import areas_at
    from stations.demand_points import set_pin

    try:
        lon = float((request.form.get("lon") or "").strip()[:32])
        lat = float((request.form.get("lat") or "").strip()[:32])
    except ValueError:
        raise ValidationError("经度、纬度须为数字 (lon and lat must be numbers)") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError(f"坐标超出范围 (lon -180..180, lat -90..90): {lon}, {lat}")
    datum = normalise_datum(request.form.get("crs") or "wgs84")
    if datum != "wgs84":
        lon, lat = (float(v) for v in convert(lon, lat, src=datum, dst="wgs84"))
    area = areas_at([lon], [lat])[0]
    current_scope().check_write(area, what="需求点")
    row = set_pin(get_store(), point_id, lon=lon, lat=lat, district=area.district,
                  street=area.street)
    flash(f"已定位需求点 {row['name']}（{area.label()}），已计入覆盖分析。", "ok")
    return redirect(url_for("union.coverage"))
