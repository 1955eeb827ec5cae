"""The public pages: the worker map (``/``), a station's page (``/stations/<id>``), reports.

Mobile first, zh-CN. The map itself is a folium map (:mod:`webmap.maps`) in the tile
provider's datum; stations are loaded by the page from ``/api/stations`` for the visible
area only, so the page stays light at city scale.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter import RateLimitExceeded

from geodata.crs.datums import convert
from stations import settings
from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
from stations.errors import ValidationError
from stations.records import Station
from stations.settings import DETOUR_FACTOR, WALK_SPEED_KMH
from stations.trust import trust_of
from webmap import feedback, maps
from webmap.catalogue import hours_of
from webmap.extensions import get_store, retry_after
from webmap.security import csp_nonce

__all__ = ["bp", "CHIPS", "REPORT_BUTTONS", "navigation_links", "public_station",
           "nearest_open_alternative"]

bp = Blueprint("public", __name__)

#: The worker page's filter chips: (id, label, query parameters they add).
CHIPS = (
    ("hot_water", "热水", {"amenity": "hot_water"}),
    ("microwave", "微波炉", {"amenity": "microwave"}),
    ("ebike_charging", "电动车充电", {"amenity": "ebike_charging"}),
    ("toilet", "卫生间", {"amenity": "toilet"}),
    ("always_open", "24小时", {"always_open": "true"}),
    ("no_registration", "免注册", {"access": "open"}),
)
#: The one-tap report buttons (issue 13 item 1), in the order a worker sees them: API kind and
#: the button's words. The page's script (static/js/nx-common.js) lists the same.
REPORT_BUTTONS = (
    ("ok", "✓ 信息无误"), ("locked", "锁门/开放时间没开"),
    ("needs_registration", "需要下载APP或登记才能进"), ("no_hot_water", "没有热水"),
    ("no_toilet", "厕所不能用"), ("no_charging", "不能充电"), ("wrong_location", "位置不对"),
    ("gone", "已搬走或关闭"), ("other", "其他"),
)
#: The station properties the worker map loads for its markers (``fields=`` of /api/stations).
MAP_PROPERTIES = ("id", "name", "address", "access", "sample", "status", "status_reason",
                  "open_now", "always_open", "hours_known", "trust", "trust_reason", "problem")
#: Amenities the worker list and popups always show (yes / no / unknown).
KEY_AMENITIES = ("hot_water", "microwave", "ebike_charging", "toilet", "phone_charging",
                 "seats")


def _tiles() -> str:
    return current_app.config["TILES"]


def navigation_links(station: Station) -> list[dict]:
    """Hand-off links to the Amap and Baidu apps/sites, coordinates in *their* datums.

    Amap takes GCJ-02 (``dev=0``: already converted), Baidu BD-09 (``coord_type=bd09ll``).
    Baidu's ``location`` is ``lat,lon``; Amap's ``position`` is ``lon,lat``.
    """
    glon, glat = convert(station.lon, station.lat, src="wgs84", dst="gcj02")
    blon, blat = convert(station.lon, station.lat, src="wgs84", dst="bd09")
    g = f"{glon:.6f},{glat:.6f}"  # lon,lat (Amap order)
    b = f"{blat:.6f},{blon:.6f}"  # lat,lon (Baidu order)
    name, address = station.name, station.address or station.name
    return [
        {"id": "amap-app", "label": "高德地图 App 步行导航", "datum": "gcj02",
         "lon": glon, "lat": glat,
         "href": "amapuri://route/plan/?" + urlencode({
             "dlat": f"{glat:.6f}", "dlon": f"{glon:.6f}", "dname": name, "dev": 0, "t": 2})},
        {"id": "amap-web", "label": "高德地图（网页，可唤起 App）", "datum": "gcj02",
         "lon": glon, "lat": glat,
         "href": "https://uri.amap.com/marker?" + urlencode({
             "position": g, "name": name, "src": "nuanxin", "coordinate": "gaode",
             "callnative": 1}, safe=",")},
        {"id": "baidu-app", "label": "百度地图 App", "datum": "bd09", "lon": blon, "lat": blat,
         "href": "baidumap://map/marker?" + urlencode({
             "location": b, "title": name, "content": address, "coord_type": "bd09ll",
             "src": "nuanxin.webapp"}, safe=",")},
        {"id": "baidu-web", "label": "百度地图（网页）", "datum": "bd09", "lon": blon, "lat": blat,
         "href": "https://api.map.baidu.com/marker?" + urlencode({
             "location": b, "title": name, "content": address, "output": "html",
             "coord_type": "bd09ll", "src": "nuanxin.webapp"}, safe=",")},
    ]


@bp.get("/")
def worker():
    """The worker map page."""
    tiles = _tiles()
    m, cluster = maps.worker_map(tiles=tiles, center=current_app.config["MAP_CENTER"],
                                 zoom=int(current_app.config["MAP_ZOOM"]),
                                 tianditu_key=current_app.config["TIANDITU_KEY"])
    parts = maps.map_parts(m, nonce=csp_nonce(), defer=True)  # the list never waits for it
    provider = maps.TILE_PROVIDERS[tiles]
    config = {
        "map": parts["name"], "cluster": cluster.get_name(), "datum": provider.datum,
        "tiles": tiles, "maxFeatures": int(current_app.config["MAP_MAX_FEATURES"]),
        "api": {"stations": url_for("api.stations"), "nearest": url_for("api.nearest"),
                "areas": url_for("api.areas")},
        "stationUrl": url_for("public.station", station_id=0).rsplit("/", 1)[0] + "/",
        "chips": [{"id": cid, "label": label, "params": params} for cid, label, params in CHIPS],
        "amenityLabels": {a: AMENITY_LABELS_ZH[a] for a in AMENITIES},
        "keyAmenities": list(KEY_AMENITIES),
        "underlayStyle": maps.UNDERLAY_STYLE,
        "mapFields": ",".join(MAP_PROPERTIES),
        "reachLimitM": float(current_app.config["REACH_LIMIT_M"]),
        "hotline": str(current_app.config["HOTLINE"] or ""),
        "offline": {"snapshot": url_for("public.offline_snapshot"),
                    "radiusM": float(current_app.config["OFFLINE_RADIUS_M"]),
                    "coverageM": float(settings.get("COVERAGE_M")),
                    "walkSpeedKmh": WALK_SPEED_KMH, "detourFactor": DETOUR_FACTOR},
    }
    return render_template("worker.html", map=parts, config=config, chips=CHIPS,
                           provider=provider, walk_speed_kmh=f"{WALK_SPEED_KMH:g}",
                           detour_factor=f"{DETOUR_FACTOR:g}")


def public_station(station: Station) -> Station:
    """The station as the public may see it: without the host's contact person and phone
    (internal to the union; a public number is ``public_phone``, set by the union)."""
    return dataclasses.replace(station, contact_name="", contact_phone="")


@bp.get("/stations/<int:station_id>")
def station(station_id: int):
    """A station's page (also the QR code target); its phone is the public one only."""
    from webmap.underlay import underlay_geojson

    s = public_station(get_store().get_station(station_id))
    if request.args.get("src") == "qr":  # opened from the station's plaque: counted, anonymous
        feedback.count_plaque_visit(get_store(), station_id)
    tiles = _tiles()
    datum = maps.tile_datum(tiles)
    pad = 0.006
    underlay = underlay_geojson((s.lon - pad, s.lat - pad, s.lon + pad, s.lat + pad), zoom=16,
                                datum=datum)
    m = maps.station_map(s, tiles=tiles, underlay=underlay,
                         tianditu_key=current_app.config["TIANDITU_KEY"])
    parts = maps.map_parts(m, nonce=csp_nonce())
    hours = hours_of(s)
    now = settings.now()
    worker = s.worker_amenities()  # what reports put in doubt reads unknown, with the reason
    groups = {state: [a for a in AMENITIES if worker.get(a, "unknown") == state]
              for state in ("yes", "no", "unknown")}
    trust, trust_reason = trust_of(s, today=now.date())
    return render_template(
        "station.html", s=s, map=parts, hours=hours, open_now=hours.is_open(now),
        trust=trust, trust_reason=trust_reason, amenity_notes=s.amenity_notes,
        next_change=hours.next_change(now), amenity_groups=groups,
        nav=navigation_links(s) if s.status == "open" else [],
        alternative=nearest_open_alternative(s) if s.status != "open" else None,
        report_buttons=REPORT_BUTTONS, note_max=feedback.NOTE_MAX_LENGTH,
        provider=maps.TILE_PROVIDERS[tiles])


def nearest_open_alternative(station: Station):
    """For a suspended or closed station: the nearest other station open at arrival (else the
    nearest other open one), as a :class:`geodata.nearest.index.NearestResult`, or ``None``."""
    from geodata.nearest.cache import get_index
    from webmap.extensions import snapshots

    index = get_index(get_store(), cache=snapshots())
    for only_open in (True, False):
        results = index.nearest(station.lon, station.lat, k=3, open_at=settings.now(),
                                require_open=only_open)
        results = [r for r in results if r.station.id != station.id]
        if results:
            return results[0]
    return None


@bp.post("/stations/<int:station_id>/report")
def report(station_id: int):
    """The station page's report form (works without JavaScript; CSRF-protected)."""
    kind = request.form.get("kind", "")
    note = request.form.get("note", "")
    try:
        feedback.submit_report(station_id, kind, note)
    except RateLimitExceeded:  # the station's page again, with the message: 429
        flash(f"提交太频繁了，请过一会儿再反馈（每小时最多 "
              f"{int(current_app.config['REPORTS_PER_HOUR'])} 条）。", "error")
        page = make_response(station(station_id), 429)
        page.headers["Retry-After"] = str(retry_after())
        return page
    except ValidationError as exc:
        get_store().get_station(station_id)  # unknown station → 404 first
        flash(exc.message, "error")
        return redirect(url_for("public.station", station_id=station_id) + "#report")
    flash("谢谢！已收到，工会会尽快核实，下一位师傅就能看到。" if kind != "ok"
          else "谢谢确认！这能帮其他师傅放心前往。", "ok")
    return redirect(url_for("public.station", station_id=station_id) + "#report-thanks")


# -- the installable, offline app ------------------------------------------------------------
_STATIC = Path(__file__).resolve().parent / "static"


@bp.get("/manifest.webmanifest")
def manifest():
    """The web app manifest: 暖心驿站, standalone, our icons."""
    body = {
        "name": "暖心驿站", "short_name": "暖心驿站", "lang": "zh-CN",
        "description": "找附近的职工暖心驿站：喝水、歇脚、热饭、充电。离线也能用。",
        "start_url": url_for("public.worker"), "scope": "/", "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#c2410c",
        "icons": [
            {"src": url_for("static", filename="img/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any maskable"},
            {"src": url_for("static", filename="img/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any maskable"},
            {"src": url_for("static", filename="img/icon.svg"), "sizes": "any",
             "type": "image/svg+xml"},
        ],
    }
    response = jsonify(body)
    response.headers["Content-Type"] = "application/manifest+json"
    return response


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the site root so that its scope is ``/``; its cache name
    carries :func:`webmap.offline_assets.release`, so a new release replaces old assets."""
    from webmap.offline_assets import precache_urls, release

    text = (_STATIC / "js" / "sw.js").read_text(encoding="utf-8")
    text = text.replace("__RELEASE__", release()).replace(
        "__PRECACHE__", json.dumps(precache_urls(), ensure_ascii=False))
    response = make_response(text)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline/stations.json")
def offline_snapshot():
    """The stations a phone keeps for offline use (:mod:`geodata.nearest.offline`): in full
    within ``NUANXIN_OFFLINE_RADIUS_M`` of ``lon``/``lat`` (WGS84), coarsely elsewhere."""
    from geodata.nearest.cache import get_index
    from geodata.nearest.offline import offline_snapshot as build
    from webmap.extensions import snapshots

    lon = _coordinate("lon", -180, 180)
    lat = _coordinate("lat", -90, 90)
    index = get_index(get_store(), cache=snapshots())
    body = build(index.stations, now=settings.now(), lon=lon, lat=lat,
                 radius_m=float(current_app.config["OFFLINE_RADIUS_M"]))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _coordinate(name: str, low: float, high: float) -> float | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError(f"{name} 必须是数字 ({name} must be a number), got {raw!r}",
                              detail={"param": name}) from None
    if not (low <= value <= high):
        raise ValidationError(f"{name} 超出范围 ({name} must be within {low}..{high}), "
                              f"got {raw!r}", detail={"param": name})
    return value


@bp.get("/healthz")
def healthz():
    """Liveness: ``{"status": "ok"}`` when the store answers (503 otherwise)."""
    try:
        get_store().count_stations()
    except Exception as exc:  # noqa: BLE001 - any store failure means "not healthy"
        current_app.logger.error("health check failed: %s", exc)
        return jsonify({"status": "error", "error": "store unavailable"}), 503
    return jsonify({"status": "ok"})
