"""The JSON API (``/api``), exactly the routes of INTERFACE.md plus a few additions.

Every route declares its parameters once (:class:`webmap.params.Param` tables below); the
same tables validate requests (bad input → 400 ``{"error", "detail"}``) and generate
``/api/openapi.json``. Coordinates are WGS84 unless ``crs`` says ``gcj02`` or ``bd09``.
"""

from __future__ import annotations

import math

import numpy as np
from flask import Blueprint, current_app, jsonify, request

from geodata.crs.datums import convert, normalise_datum
from geodata.errors import GeodataError
from geodata.places.assign import area_of_record
from stations import settings
from stations.amenities import (
    AMENITIES,
    AMENITY_LABELS_ZH,
    accepted_amenity_names,
    normalise_amenity,
)
from stations.errors import NotFoundError, ValidationError
from stations.hours import parse_open_at
from stations.limits import ID_MAX, ID_MIN
from stations.records import ACCESS_MODES, STATUSES
from webmap import feedback
from webmap.auth import request_scope
from webmap.catalogue import MAP_FIELDS, get_catalogue, grid_clusters, hours_of, station_feature
from webmap.extensions import get_store, snapshots
from webmap.params import ApiSpec, Param, body_rule

__all__ = ["bp", "spec", "parse_bbox", "bbox_to_wgs84"]

bp = Blueprint("api", __name__)
spec = ApiSpec(
    title="暖心驿站 Nuanxin API", version="1.0",
    description="户外劳动者服务站点 (outdoor-worker rest stations). Coordinates are lon, lat; "
                "WGS84 unless `crs` says gcj02 (Amap) or bd09 (Baidu). Errors are "
                '`{"error": ..., "detail": ...}` with status 400 (bad input) or 404 (unknown id).',
    prefix="/api")


# -- parameter converters --------------------------------------------------------------------
def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` → 4 floats, checked; two opposite corners given the
    other way round (``maxlon,maxlat,minlon,minlat`` or mixed) are the same box."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise ValidationError(f"bbox 需要 4 个数 (expected minlon,minlat,maxlon,maxlat), "
                              f"got {len(parts)} value(s)")
    try:
        minlon, minlat, maxlon, maxlat = (float(p) for p in parts)
    except ValueError:
        raise ValidationError("bbox 含非数字 (bbox values must be numbers)") from None
    values = (minlon, minlat, maxlon, maxlat)
    if not all(np.isfinite(values)):
        raise ValidationError("bbox 含非有限数 (bbox values must be finite)")
    minlon, maxlon = sorted((minlon, maxlon))  # two opposite corners, in either order
    minlat, maxlat = sorted((minlat, maxlat))
    if not (-180 <= minlon <= maxlon <= 180 and -90 <= minlat <= maxlat <= 90):
        raise ValidationError("bbox 范围无效 (need -180 ≤ lon ≤ 180 and -90 ≤ lat ≤ 90)")
    return minlon, minlat, maxlon, maxlat


def bbox_to_wgs84(bbox, datum: str) -> tuple[float, float, float, float]:
    """A bbox given in ``datum`` as a (slightly padded) WGS84 bbox."""
    if datum == "wgs84":
        return tuple(bbox)
    minlon, minlat, maxlon, maxlat = bbox
    xs = np.array([minlon, maxlon, minlon, maxlon, (minlon + maxlon) / 2, (minlon + maxlon) / 2,
                   minlon, maxlon])
    ys = np.array([minlat, minlat, maxlat, maxlat, minlat, maxlat, (minlat + maxlat) / 2,
                   (minlat + maxlat) / 2])
    x, y = convert(xs, ys, src=datum, dst="wgs84")
    pad = 2e-4
    return (float(x.min()) - pad, float(y.min()) - pad, float(x.max()) + pad, float(y.max()) + pad)


def _amenity_list(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        key = normalise_amenity(value)
        if key not in out:
            out.append(key)
    return out


def _statuses(values: list[str]) -> tuple[str, ...]:
    return STATUSES if "all" in values else tuple(dict.fromkeys(values))


def _fields(text: str) -> tuple[str, ...] | None:
    if text == "all":
        return None
    if text == "map":
        return MAP_FIELDS
    return tuple(p.strip() for p in text.split(",") if p.strip())


_AMENITY_DOC = ", ".join(f"{k} ({v})" for k, v in AMENITY_LABELS_ZH.items())
CRS = Param("crs", description="Datum of coordinates in and out: wgs84 (GPS, default), "
            "gcj02 (Amap/Tencent), bd09 (Baidu).", default="wgs84",
            enum=("wgs84", "gcj02", "bd09"), convert=normalise_datum)
#: A longitude (-180 to 180) and a latitude (-90 to 90) as decimal text.
_LON = r"-?0*(?:180(?:\.0+)?|(?:1[0-7][0-9]|[1-9]?[0-9])(?:\.[0-9]+)?)"
_LAT = r"-?0*(?:90(?:\.0+)?|[1-8]?[0-9](?:\.[0-9]+)?)"
#: Four decimal numbers, comma-separated, each in its range (what parse_bbox reads).
BBOX_PATTERN = f"^{_LON},{_LAT},{_LON},{_LAT}$"
_BBOX_DOC = ("minlon,minlat,maxlon,maxlat in `crs` (two opposite corners; given the other "
             "way round they are swapped).")
BBOX = Param("bbox", description=_BBOX_DOC,
             pattern=BBOX_PATTERN, convert=parse_bbox,
             example="116.32,39.86,116.36,39.90")
#: Every amenity name the server reads: keys, Chinese labels and the import's synonyms.
AMENITY_NAMES = accepted_amenity_names()
AMENITY = Param("amenity", repeat=True, convert=_amenity_list, enum=AMENITY_NAMES,
                description="Required amenity (recorded yes); repeat or comma-separate. Keys or "
                f"Chinese names: {_AMENITY_DOC}.", example=["hot_water", "toilet"])
OPEN_AT = Param("open_at", fmt="date-time", convert=parse_open_at,
                description="ISO 8601 time (naive = Asia/Shanghai) or `now`.",
                example="2025-01-15T06:30")
ACCESS = Param("access", repeat=True, enum=ACCESS_MODES,
               description="Keep stations with this access (open = no registration needed).")
ALWAYS_OPEN = Param("always_open", "boolean", description="true: only stations open 24/7.")
DISTRICT = Param("district", max_length=64, description="District name (西城区 or 西城) or code.")
STREET = Param("street", max_length=64, description="Street (街道) name.")
STATION_ID = Param("station_id", "integer", where="path", minimum=ID_MIN, maximum=ID_MAX,
                   description="Station id.")

_ERROR = {"$ref": "#/components/schemas/Error"}


_UNKNOWN_AREA = ("Unknown district or street (`detail.param`, `detail.suggestions`: names "
                 "it may have meant)")


def _resp(description: str, schema: dict | None = None, *, errors=(400,),
          not_found: str = "Unknown id") -> dict:
    out = {"200": {"description": description}}
    if schema:
        out["200"]["content"] = {"application/json": {"schema": schema}}
    for code in errors:
        out[str(code)] = {"description": {400: "Bad parameter", 404: not_found,
                                          429: "Too many requests"}[code],
                          "content": {"application/json": {"schema": _ERROR}}}
    return out


def _unknown_place_not_found(exc: GeodataError) -> NotFoundError | None:
    """A district or street the gazetteer does not know is a 404 (it names nothing)."""
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    if detail.get("reason") != "unknown" or detail.get("kind") not in ("district", "street"):
        return None
    return NotFoundError(exc.message, detail={"param": detail["kind"], **detail})


spec.components.update({
    "Error": {"type": "object", "required": ["error", "detail"], "properties": {
        "error": {"type": "string"}, "detail": {}}},
    "Station": {"type": "object", "description": "Station properties.", "properties": {
        "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
        "address": {"type": "string"}, "district": {"type": "string"},
        "street": {"type": "string"}, "host_type": {"type": "string"},
        "amenities": {"type": "object", "additionalProperties": {
            "type": "string", "enum": ["yes", "no", "unknown"]},
            "description": "Every amenity key: " + _AMENITY_DOC},
        "access": {"type": "string", "enum": list(ACCESS_MODES)},
        "opening_hours": {"type": "string"}, "opening_hours_zh": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "sample": {"type": "boolean", "description": "示例数据 (demo data)"},
        "open_now": {"type": "boolean", "nullable": True},
        "public_phone": {"type": "string", "description": "电话: the number the union "
                         "publishes (blank when none)."},
        "version": {"type": "integer", "description": "+1 on each write; send it back with "
                    "a PATCH or status change (409 when stale)."},
        "trust": {"type": "string", "enum": ["ok", "unverified", "flagged"]},
        "last_verified": {"type": "string", "format": "date", "nullable": True},
        "trust_reason": {"type": "string", "description": "Why (Chinese), blank when ok."},
        "problem": {"type": "string", "nullable": True, "description": "The report kind "
                    "that flagged the station."},
        "amenity_notes": {"type": "object", "additionalProperties": {"type": "string"},
                          "description": "Amenities reports put in doubt (shown unknown), "
                          "with the reason."},
        "contact_name": {"type": "string", "description": "Internal: only in answers to an "
                         "API token whose area holds the station."},
        "contact_phone": {"type": "string", "description": "Internal (see contact_name)."}}},
    "Feature": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "integer"},
        "geometry": {"type": "object"},
        "properties": {"$ref": "#/components/schemas/Station"}}},
    "FeatureCollection": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["FeatureCollection"]},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
        "numberMatched": {"type": "integer", "description": "Stations matching the filters "
                          "(from `after` on, when given)."},
        "numberReturned": {"type": "integer"},
        "next": {"type": "string", "nullable": True, "description": "URL of the next page "
                 "(same filters, `after` moved on); null on the last page."},
        "clustered": {"type": "boolean"}, "crs": {"type": "string"}}},
    "Nearest": {"type": "object", "required": ["results"], "properties": {"results": {
        "type": "array", "items": {"type": "object", "required": [
            "id", "name", "lon", "lat", "distance_m", "walk_minutes", "open_at_arrival",
            "amenities"], "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"}, "lon": {"type": "number"},
            "lat": {"type": "number"}, "distance_m": {"type": "number"},
            "walk_minutes": {"type": "number"},
            "open_at_arrival": {"type": "boolean", "nullable": True},
            "amenities": {"type": "array", "items": {"type": "string"}}}}}}},
    "Coverage": {"type": "object", "required": [
        "demand_total", "demand_covered", "covered_share", "multi_covered_share", "by_area"],
        "properties": {"demand_total": {"type": "number"}, "demand_covered": {"type": "number"},
                       "covered_share": {"type": "number", "nullable": True,
                                         "description": "null when there is no demand"},
                       "multi_covered_share": {"type": "number", "nullable": True},
                       "by_area": {"type": "array", "items": {"type": "object"}}}},
    "Report": {"type": "object", "properties": {
        "id": {"type": "integer"}, "station_id": {"type": "integer"},
        "kind": {"type": "string", "enum": list(feedback.REPORT_KINDS)},
        "note": {"type": "string"}, "status": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "lon": {"type": "number", "nullable": True},
        "lat": {"type": "number", "nullable": True},
        "trust": {"type": "string", "enum": ["ok", "flagged"], "description": "The "
                  "station's stored trust after this report (the trust rule)."},
        "problem": {"type": "string", "nullable": True},
        "trust_reason": {"type": "string"},
        "pin_ignored": {"type": "string", "description": "Present when the pin (`lon`, "
                        "`lat`) was more than 5 km from the station: the report was stored "
                        "without it."}}},
})


# -- /api/stations ---------------------------------------------------------------------------
#: A page of ``/api/stations``: the default and the most features one answer carries.
PAGE_DEFAULT = 1000
PAGE_MAX = 5000


#: ``cluster`` without ``zoom``: cells sized for a map this many pixels across showing every
#: matching station, zoomed in at most this far.
CLUSTER_VIEW_PX = 1024
CLUSTER_ZOOM_MAX = 18.0


def cluster_zoom(lon: np.ndarray, lat: np.ndarray) -> float:
    """The zoom at which the extent of ``lon``/``lat`` fills :data:`CLUSTER_VIEW_PX` pixels
    (Web Mercator, as :func:`webmap.catalogue.grid_clusters` lays out its cells), within
    0–:data:`CLUSTER_ZOOM_MAX`: what a map fitted to those stations would show."""
    if lon.size < 2:
        return CLUSTER_ZOOM_MAX
    y = np.log(np.tan(np.pi / 4 + np.radians(np.clip(lat, -85.0, 85.0)) / 2))
    width = max(float(np.ptp(lon)) / 360.0, float(np.ptp(y)) / (2 * np.pi))  # world fractions
    if width <= 0:
        return CLUSTER_ZOOM_MAX
    zoom = math.log2(CLUSTER_VIEW_PX / (256.0 * width))
    return float(min(max(zoom, 0.0), CLUSTER_ZOOM_MAX))


def _next_link(after: int) -> str:
    """This request's URL with ``after`` moved on (the other parameters unchanged)."""
    from urllib.parse import urlencode

    query = [(k, v) for k, v in request.args.items(multi=True) if k != "after"]
    return request.base_url + "?" + urlencode(query + [("after", str(after))])


@spec.route(bp, "/stations", summary="Stations as GeoJSON, filtered", tags=["stations"], params=[
    BBOX, AMENITY, OPEN_AT, DISTRICT, STREET, ACCESS, ALWAYS_OPEN,
    Param("status", repeat=True, enum=STATUSES + ("all",), default=["open"],
          description="Statuses to include (`all` for every status). Default: open, plus "
                      "stations closed within `NUANXIN_GONE_VISIBLE_DAYS` (30) days, marked "
                      "`status: closed` with `status_reason`."),
    Param("include_unknown", "boolean", default=False,
          description="With `amenity`: also stations where the amenity is unknown (not "
                      "recorded no); such features carry `match: \"unknown\"`."),
    CRS,
    Param("fields", default="all", max_length=300,
          description="`all` (default), `map` (the compact set the map uses: "
                      + ", ".join(MAP_FIELDS) + ") or a comma list of property names."),
    Param("limit", "integer", minimum=1, maximum=PAGE_MAX,
          description=f"At most this many features per page, in id order (default "
                      f"{PAGE_DEFAULT}, at most {PAGE_MAX}); `numberMatched` tells the total "
                      "and `next` links the following page (null on the last)."),
    Param("after", "integer", minimum=0, maximum=ID_MAX,
          description="Paging cursor: only stations with an id greater than this (the `next` "
                      "link sets it)."),
    Param("cluster", "boolean", default=False,
          description="When more than `limit` stations match, answer counted grid cells "
                      "(`cluster: true`, `count`) of about 80 pixels at `zoom` instead of "
                      "every station."),
    Param("zoom", "number", minimum=0, maximum=22,
          description="Map zoom (for `cluster`). Default: the zoom at which the matching "
                      f"stations fill a map {CLUSTER_VIEW_PX} pixels across (at most "
                      f"{CLUSTER_ZOOM_MAX:g})."),
], responses=_resp("GeoJSON FeatureCollection", {
    "$ref": "#/components/schemas/FeatureCollection"}, errors=(400, 404),
    not_found=_UNKNOWN_AREA))
def stations(args):
    """Stations as a GeoJSON FeatureCollection (``id, name, address, amenities,
    opening_hours, status, district, street``... in properties)."""
    datum = args["crs"]
    bbox = None if args["bbox"] is None else bbox_to_wgs84(args["bbox"], datum)
    store = get_store()
    cat = get_catalogue(store)
    in_box = None
    if bbox is not None and store.is_postgis:  # the GiST index answers the box (`&&`)
        in_box, bbox = store.station_ids(bbox=bbox), None
    idx, full = cat.select(
        ids=in_box, statuses=_statuses(args["status"]), bbox=bbox, amenities=args["amenity"] or (),
        include_unknown=args["include_unknown"], open_at=args["open_at"],
        district=args["district"], street=args["street"], access=args["access"] or (),
        always_open=args["always_open"],
        # without `status`, a closed station stays visible (marked closed) for a while
        closed_within_days=None if "status" in request.args
        else int(settings.get("GONE_VISIBLE_DAYS")))
    if args["after"] is not None and idx.size:
        keep = cat.ids[idx] > args["after"]
        idx, full = idx[keep], full[keep]
    matched = int(idx.size)
    limit = args["limit"]
    if limit is None:
        limit = int(current_app.config["MAP_MAX_FEATURES"]) if args["cluster"] else PAGE_DEFAULT
    lon, lat = cat.lon[idx], cat.lat[idx]
    if datum != "wgs84" and idx.size:
        lon, lat = convert(lon, lat, src="wgs84", dst=datum)
    now = args["open_at"] or settings.now()
    fields = _fields(args["fields"])
    with_match = bool(args["amenity"]) and args["include_unknown"]

    def feature(j: int) -> dict:
        i = int(idx[j])
        extra = {"match": "yes" if full[j] else "unknown"} if with_match else None
        return station_feature(cat.stations[i], lon=float(lon[j]), lat=float(lat[j]),
                               fields=fields, hours=cat.hours[i], now=now, extra=extra)

    body: dict = {"type": "FeatureCollection", "crs": datum, "numberMatched": matched}
    if args["cluster"] and limit is not None and matched > limit:
        features = []
        zoom = args["zoom"] if args["zoom"] is not None else cluster_zoom(lon, lat)
        for group in grid_clusters(lon, lat, zoom=zoom):
            if group.size == 1:
                features.append(feature(int(group[0])))
                continue
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                round(float(lon[group].mean()), 6), round(float(lat[group].mean()), 6)]},
                "properties": {"cluster": True, "count": int(group.size)}})
        body["clustered"] = True
    else:
        count = min(limit, matched)
        features = [feature(j) for j in range(count)]
        body["clustered"] = False
        if count < matched:
            body["next"] = _next_link(int(cat.stations[int(idx[count - 1])].id))
    body["numberReturned"] = len(features)
    body.setdefault("next", None)
    body["features"] = features
    return jsonify(body)


@spec.route(bp, "/stations/<station_id>", summary="One station as a GeoJSON Feature",
            tags=["stations"], params=[STATION_ID, CRS], authenticate=request_scope,
            security=[{}, {"bearer": []}],
            responses=_resp("GeoJSON Feature", {"$ref": "#/components/schemas/Feature"},
                            errors=(400, 404)))
def station(args):
    """One station (any status) as a GeoJSON Feature; 404 for an unknown id. With the API
    token of an account whose area holds the station, the internal fields too (the host's
    contact); ``ETag`` is its version."""
    s = get_store().get_station(args["station_id"])
    lon, lat = s.lon, s.lat
    if args["crs"] != "wgs84":
        lon, lat = convert(lon, lat, src="wgs84", dst=args["crs"])
    scope = args["auth"]
    internal = scope is not None and scope.covers(area_of_record(s))
    response = jsonify(station_feature(s, lon=lon, lat=lat, now=settings.now(),
                                       internal=internal))
    response.headers["ETag"] = f'"{s.version}"'
    return response


# -- /api/nearest ----------------------------------------------------------------------------
def _index_for(store, base, *, access: tuple[str, ...], always_open: bool | None):
    """The nearest index ``base``, narrowed for the map's access/24-hour chips (derived from
    the app's station snapshot, so rebuilt only when the stations change)."""
    from geodata.nearest.index import StationIndex

    if not access and always_open is None:
        return base

    def build(_snapshot):
        kept = [s for s in base.stations
                if (not access or s.access in access)
                and (always_open is None or hours_of(s).always_open == always_open)]
        return StationIndex(kept, network=base.network, detour_factor=base.detour_factor,
                            walk_speed_kmh=base.walk_speed_kmh)

    return snapshots().derived(store, ("index-chips", access, always_open, id(base)), build)


@spec.route(bp, "/nearest", summary="The k nearest open stations", tags=["stations"], params=[
    Param("lon", "number", required=True, minimum=-180, maximum=180,
          description="Longitude in `crs`."),
    Param("lat", "number", required=True, minimum=-90, maximum=90,
          description="Latitude in `crs`."),
    CRS,
    Param("k", "integer", default=5, minimum=1, maximum=100, description="How many."),
    AMENITY,
    Param("open_at", fmt="date-time", description="Departure time, ISO 8601 (naive = "
          "Asia/Shanghai): keep only stations open on arrival (walk time added)."),
    Param("radius", "number", minimum=0, maximum=200_000,
          description="Straight-line limit in metres (0: only a station at the point)."),
    Param("max_distance", "number", minimum=0, maximum=200_000,
          description="Only stations within this many metres (straight line, as "
                      "`distance_m`); when none, `results` is empty and `none_within_m` is "
                      "this distance. A point farther than NUANXIN_COVERAGE_M from every "
                      "station answers `outside_coverage: true` and no results."),
    ACCESS, ALWAYS_OPEN,
], responses=_resp("Same body as `nuanxin nearest --json`",
                   {"$ref": "#/components/schemas/Nearest"}))
def nearest(args):
    """The same body as ``nuanxin nearest --json`` (:func:`geodata.nearest.nearest_payload`)."""
    from geodata.nearest.cache import get_index
    from geodata.nearest.payload import nearest_answer

    when = parse_open_at(args["open_at"])  # now (Asia/Shanghai) without open_at, as the CLI
    store = get_store()
    base = get_index(store, cache=snapshots())  # one version read per request
    index = _index_for(store, base, access=tuple(args["access"] or ()),
                       always_open=args["always_open"])
    return jsonify(nearest_answer(
        index, args["lon"], args["lat"], k=args["k"], crs=args["crs"],
        amenities=args["amenity"] or (), open_at=when, radius_m=args["radius"],
        require_open=args["open_at"] is not None, max_distance_m=args["max_distance"],
        coverage_index=base))


# -- /api/coverage ---------------------------------------------------------------------------
@spec.route(bp, "/coverage", summary="Coverage of demand by open stations", tags=["planning"],
            params=[
                DISTRICT, STREET,
                Param("radius", "number", minimum=1, maximum=50_000,
                      description="Service radius in metres (default 1000)."),
                Param("minutes", "number", minimum=1, maximum=180,
                      description="Walking minutes (at the walking speed, × the detour "
                                  "factor). With `radius` too: demand counts when within "
                                  "both (the smaller reach)."),
                Param("min_stations", "integer", default=2, minimum=1, maximum=50,
                      description="交叉覆盖: count demand within reach of at least this many "
                                  "stations (default 2)."),
                Param("at", fmt="date-time", convert=parse_open_at,
                      description="Only stations open at this time count (ISO 8601); demand "
                                  "points with a shift count only when it falls in their shift."),
                Param("demand", enum=("auto", "imported", "area", "community_proxy"),
                      default="auto",
                      description="Which demand: auto = imported demand points, else the area "
                                  "view (share of the street area within reach); "
                                  "community_proxy only when asked (`--demand`)."),
                Param("strip", "boolean", default=False,
                      description="Add `time_strip`: coverage at 06:00, 12:00, 18:00, 22:00 "
                                  "(`--strip`)."),
            ], responses={**_resp("Same body as `nuanxin coverage --json`",
                                  {"$ref": "#/components/schemas/Coverage"},
                                  errors=(400, 404), not_found=_UNKNOWN_AREA),
                          "503": {"description": "The planning engine is busy (one computation "
                                  "at a time, a request waits at most 15 s); see Retry-After.",
                                  "content": {"application/json": {"schema": _ERROR}}}},
            description="The same body as `nuanxin coverage --json`. Whole-city questions take "
                        "seconds: answers are cached for 120 s per store version, one "
                        "computation runs at a time, and a request that cannot start within "
                        "15 s answers 503 with Retry-After.")
def coverage(args):
    """The same body as ``nuanxin coverage --json``."""
    from webmap.planning import coverage_payload

    try:
        body = coverage_payload(get_store(), district=args["district"], street=args["street"],
                                radius=args["radius"], minutes=args["minutes"],
                                min_stations=args["min_stations"], at=args["at"],
                                demand=args["demand"], strip=bool(args["strip"]))
    except GeodataError as exc:
        missing = _unknown_place_not_found(exc)
        if missing is None:
            raise
        raise missing from exc
    return jsonify(body)


# -- reports ---------------------------------------------------------------------------------
#: A JSON body's ``lon`` and ``lat`` (nullable: null = not given) come both or neither.
LON_LAT_TOGETHER = body_rule(
    "lon 和 lat 需要同时给出 (give both lon and lat, or neither)",
    {"anyOf": [{"required": ["lon", "lat"], "properties": {
        "lon": {"not": {"enum": [None]}}, "lat": {"not": {"enum": [None]}}}},
        {"properties": {"lon": {"enum": [None]}, "lat": {"enum": [None]}}}]})
@spec.route(bp, "/stations/<station_id>/reports", method="POST",
            summary="Report a problem with a station (anonymous)", tags=["reports"],
            description=feedback.REPORT_LIMIT_DOC,
            body_description='`{"kind": ..., "note": ..., "lon": ..., "lat": ...}`; kinds: '
            + ", ".join(f"{k} ({v})" for k, v in feedback.REPORT_KIND_LABELS_ZH.items())
            + "; the first release's kinds (confirmed, hours, registration, location, closed, "
              "amenities) are still accepted and stored as the kind they became.",
            params=[
                STATION_ID,
                Param("kind", where="body", required=True, enum=feedback.ACCEPTED_KINDS,
                      description="What is wrong (or `ok`: still correct)."),
                Param("note", where="body", default="", max_length=feedback.NOTE_MAX_LENGTH,
                      description="Optional free text."),
                Param("lon", "number", where="body", minimum=-180, maximum=180,
                      description="Where the station really is (WGS84), with `lat`: for "
                                  "`wrong_location`."),
                Param("lat", "number", where="body", minimum=-90, maximum=90,
                      description="See `lon`."),
            ], body_rules=[LON_LAT_TOGETHER],
            responses={"201": {"description": "Stored", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Report"}}}},
                **{k: v for k, v in _resp("", errors=(400, 404, 429)).items() if k != "200"}})
def report(args):
    """Store an anonymous worker report; 201 with the stored report."""
    row = feedback.submit_report(args["station_id"], args["kind"], args["note"],
                                 lon=args["lon"], lat=args["lat"])
    return jsonify(row), 201


# -- the underlay ----------------------------------------------------------------------------
@spec.route(bp, "/areas", summary="District/street outlines and community labels (underlay)",
            tags=["map"], params=[
                Param("bbox", required=True, description=_BBOX_DOC,
                      pattern=BBOX_PATTERN, convert=parse_bbox),
                Param("zoom", "number", required=True, minimum=0, maximum=22,
                      description="Map zoom: detail level and which layers."),
                CRS,
            ], responses=_resp("GeoJSON FeatureCollection (`properties.kind`)"))
def areas(args):
    """Outlines (lines) and labels (points) of the shipped Beijing areas inside the view."""
    from webmap.underlay import underlay_geojson

    bbox = bbox_to_wgs84(args["bbox"], args["crs"])
    return jsonify(underlay_geojson(bbox, zoom=args["zoom"], datum=args["crs"]))


@spec.route(bp, "/openapi.json", summary="This document", tags=["meta"])
def openapi(args):
    """The OpenAPI 3 description of every ``/api`` route, generated from the param tables."""
    return jsonify(spec.openapi(server_url="/"))


# keep the amenity vocabulary visible to clients that want the labels
@spec.route(bp, "/amenities", summary="The amenity vocabulary with Chinese labels",
            tags=["meta"])
def amenities(args):
    """Amenity keys in display order with their Chinese labels."""
    return jsonify([{"key": k, "label_zh": AMENITY_LABELS_ZH[k]} for k in AMENITIES])
