"""The JSON API's write routes and audit log, for union systems (on the ``/api`` blueprint).

``POST /api/stations`` (create), ``PATCH /api/stations/<id>`` (any editable field),
``POST /api/stations/<id>/status`` (suspend / reopen / close through the lifecycle) and
``GET /api/audit?station=ID``. Each needs ``Authorization: Bearer TOKEN`` (``nuanxin users
token NAME``; the audit log also takes a dashboard session): none or a bad one → 401, a
read-only account or a station outside the account's area → 403 and nothing changes, a stale
``version`` → 409 ``{"error", "detail": {"version": current}}``, a bad body → 400. Answers
carry the station Feature with its internal fields (the host's contact) and an ``ETag`` of
its version. The rules live in :mod:`webmap.writes`; the routes register on
:data:`webmap.api.bp` and :data:`webmap.api.spec` (imported by the app factory).
"""

from __future__ import annotations

import re

from flask import jsonify, request

from geodata.places.assign import area_of_record
from stations import audit, settings
from stations.amenities import (
    _FALSE,
    _TRUE,
    _UNK,
    AMENITIES,
    AMENITY_LABELS_ZH,
    normalise_amenity,
    parse_tristate,
)
from stations.errors import AuthError, ForbiddenError, ValidationError
from stations.limits import ID_MAX, ID_MIN
from stations.records import (
    _ACCESS_SYNONYMS,
    _HOST_SYNONYMS,
    ACCESS_LABELS_ZH,
    ACCESS_MODES,
    AREA_M2_MAX,
    AREA_M2_MIN,
    CAPACITY_MAX,
    CAPACITY_MIN,
    HOST_TYPE_LABELS_ZH,
    HOST_TYPES,
    STATUSES,
    Station,
    parse_access,
    parse_bool,
    parse_host_type,
)
from webmap import writes
from webmap.api import STATION_ID, bp, spec
from webmap.auth import BEARER_SCHEME, request_scope, require_token_scope, scope_of_account
from webmap.catalogue import station_feature
from webmap.extensions import get_store
from webmap.params import HOURS_FORMAT, Param, body_rule
from webmap.union.common import current_user

__all__ = ["feature_answer"]

spec.security_schemes["bearer"] = BEARER_SCHEME
_BEARER = [{"bearer": []}]
_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {400: "Bad body or parameter", 401: "No token, or an unknown or revoked one",
           403: "Read-only account, or the station lies outside the account's area; nothing "
                "changed", 404: "Unknown station",
           409: "Stale version: `detail.version` is the current one; nothing changed"}
#: The status route's 409 also covers a step the lifecycle does not allow from the station's
#: current status (a valid request in the wrong state).
_STATUS_409 = ("Stale version (`detail.version` is the current one), or the change is not "
               "allowed from the station's current status (`detail.from`, `detail.allowed`: "
               "e.g. a closed station stays closed, an open one cannot be reopened); nothing "
               "changed")


def _responses(status: int, description: str, schema: dict, *codes: int,
               conflict: str | None = None) -> dict:
    out = {str(status): {"description": description,
                         "content": {"application/json": {"schema": schema}}}}
    out.update({str(c): {"description": conflict if c == 409 and conflict else _ERRORS[c],
                         "content": {"application/json": {"schema": _ERROR}}} for c in codes})
    return out


def _accepted(words, parse) -> list[str]:
    """The ``words`` that ``parse`` (the import's reader) takes, sorted: a documented enum
    that never lists a value the server would refuse."""
    out = set()
    for word in words:
        try:
            parse(word)
        except ValidationError:
            continue
        out.add(word)
    return sorted(out)


#: Decimal text (what a spreadsheet cell holds) within each number field's range; a station
#: lies in China (:data:`webmap.writes.STATION_LON`, :data:`webmap.writes.STATION_LAT`).
_NUMBER_TEXT = {
    "lon": r"^0*(?:136(?:\.0+)?|(?:7[3-9]|[89][0-9]|1[0-2][0-9]|13[0-5])(?:\.[0-9]+)?)$",
    "lat": r"^0*(?:55(?:\.0+)?|(?:[1-9]|[1-4][0-9]|5[0-4])(?:\.[0-9]+)?)$",
    "area_m2": r"^0*(?:100000(?:\.0+)?|[1-9][0-9]{0,4}(?:\.[0-9]+)?)$",
    "capacity": r"^0*(?:10000|[1-9][0-9]{0,3})(?:\.0+)?$",
}
_NUMBER_BOUNDS = {"lon": writes.STATION_LON, "lat": writes.STATION_LAT,
                  "area_m2": (AREA_M2_MIN, AREA_M2_MAX),
                  "capacity": (CAPACITY_MIN, CAPACITY_MAX)}
#: Text the store can hold (no NUL).
_STORABLE = r"^[^\x00]*$"
#: A published phone (as :func:`stations.records.validate_station_row` reads it), or blank.
_PHONE = r"^(?:|(?=(?:[^0-9]*[0-9]){3})[0-9+()\- 转]{3,32})$"


def _number(name: str, *, nullable: bool = True) -> dict:
    kind = "integer" if name == "capacity" else "number"
    low, high = _NUMBER_BOUNDS[name]
    number: dict = {"type": kind, "minimum": low, "maximum": high}
    if nullable:
        number["nullable"] = True
    return {"anyOf": [number, {"type": "string", "pattern": _NUMBER_TEXT[name],
                               "description": "a number as text"}]}


def _field_schemas() -> dict[str, dict]:
    """Each editable field as the server reads it (validated like an imported row: numbers
    may come as decimal text, flags and amenity states as the import's words, host type and
    access as their keys, Chinese labels or the import's synonyms; ``null`` = unset).

    ``webmap.params.check_body`` enforces exactly this before :mod:`webmap.writes` reads it,
    and every value it allows is one the import's reader takes.
    """
    text = {"type": "string", "nullable": True, "pattern": _STORABLE}
    words = sorted(_TRUE | _FALSE | _UNK)
    state = {"type": "string", "nullable": True, "enum": [*_accepted(words, parse_tristate),
                                                          None],
             "description": "yes, no or unknown (also the import's words: 有/无/是/否/未知, "
             "true/false, …)"}
    amenity_names = _accepted([*AMENITIES, *AMENITY_LABELS_ZH.values()], normalise_amenity)
    one = "(?:" + "|".join(re.escape(a) for a in amenity_names) + ")"

    def choice(keys, labels, synonyms, parse) -> dict:
        return {"type": "string", "nullable": True,
                "enum": [*_accepted(["", *keys, *labels.values(), *synonyms], parse), None]}

    fields = {name: dict(text) for name in writes.EDITABLE_FIELDS}
    fields.update({name: _number(name) for name in _NUMBER_BOUNDS})
    fields.update({
        "host_type": choice(HOST_TYPES, HOST_TYPE_LABELS_ZH, _HOST_SYNONYMS, parse_host_type),
        "access": choice(ACCESS_MODES, ACCESS_LABELS_ZH, _ACCESS_SYNONYMS, parse_access),
        "sample": {"anyOf": [{"type": "boolean", "nullable": True},
                             {"type": "string", "enum": _accepted(words, parse_bool)}]},
        "verified_on": {"type": "string", "nullable": True, "format": "date",
                        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                        "description": "The date of the last check (2025-12-01)."},
        "opening_hours": {"type": "string", "nullable": True, "format": HOURS_FORMAT,
                          "description": "Opening hours as the import reads them (OSM "
                          "syntax such as `Mo-Fr 08:00-18:00` or `24/7`, or Chinese such "
                          "as 每天 8:00-20:00); blank = unknown."},
        "public_phone": {"type": "string", "nullable": True, "pattern": _PHONE,
                         "description": "The phone shown to workers (电话): 3-32 digits, "
                         "spaces, + - ( ) or 转."},
        "contact_name": {**text, "description": "Internal: never public."},
        "contact_phone": {**text, "description": "Internal: never public."},
        "amenities": {"anyOf": [
            {"type": "array", "nullable": True, "items": {"type": "string",
                                                          "enum": amenity_names},
             "description": "Keys recorded yes"},
            {"type": "object", "additionalProperties": False, "properties": {
                a: {"type": "string", "enum": [w for w in state["enum"] if w is not None]}
                for a in amenity_names}},
            {"type": "string", "pattern": f"^(?:{one}(?:[,，、]{one})*)?$",
             "description": "Keys recorded yes, comma-separated"}]},
        **{f"amenity_{a}": dict(state) for a in AMENITIES},
    })
    return fields


_CRS = {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84",
        "description": "Datum of lon/lat in the body (the answer is WGS84)."}
_VERSION = {"type": "integer", "minimum": 1, "description": "The version the change is based "
            "on (or send it as `If-Match`); a stale one is a 409."}
#: A station's name, longitude and latitude can be given or changed, never unset (null) or
#: blank: a station needs them (:func:`stations.records.validate_station_row`).
_NAME = {"type": "string", "pattern": r"^(?=[\s\S]*\S)[^\x00]*$",
         "description": "The station's name (not blank)."}


_NEEDED = {"name": _NAME, "lon": _number("lon", nullable=False),
           "lat": _number("lat", nullable=False)}
_FLAT = {"type": "object", "required": ["name", "lon", "lat"], "additionalProperties": False,
         "properties": {**_field_schemas(), **_NEEDED, "crs": _CRS}}
_FEATURE = {"type": "object", "required": ["type", "geometry", "properties"],
            "additionalProperties": False, "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "geometry": {"type": "object", "required": ["type", "coordinates"], "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "minItems": 2, "maxItems": 3, "prefixItems": [
            {"type": "number", "minimum": writes.STATION_LON[0],
             "maximum": writes.STATION_LON[1]},
            {"type": "number", "minimum": writes.STATION_LAT[0],
             "maximum": writes.STATION_LAT[1]}], "items": {"type": "number"},
            "description": "[lon, lat] (or [lon, lat, altitude]) in China: lon 73-136, "
                           "lat 1-55."}}},
    "properties": {"type": "object", "required": ["name"], "additionalProperties": False,
                   "properties": {
                       **{k: v for k, v in _field_schemas().items() if k not in ("lon", "lat")},
                       "name": _NAME, "crs": _CRS}},
    "crs": _CRS}}
spec.components.update({
    "StationCreate": {"oneOf": [_FLAT, _FEATURE], "description": "A flat object (`name, "
                      "address, lon, lat`, …) or a GeoJSON Feature with a Point."},
    "StationPatch": {"type": "object", "additionalProperties": False, "properties": {
        **_field_schemas(), **_NEEDED, "crs": _CRS, "version": _VERSION},
        "allOf": [body_rule("lon 和 lat 需要一起给出 (give lon and lat together)", {"anyOf": [
            {"required": ["lon", "lat"]},
            {"not": {"anyOf": [{"required": ["lon"]}, {"required": ["lat"]}]}}]})],
        "description": "The fields to change (an empty object changes nothing and answers "
                       "the station as it is)."},
    "AuditEvent": {"type": "object", "required": ["at", "user", "action", "changes"],
                   "properties": {
                       "at": {"type": "string", "format": "date-time",
                              "description": "ISO 8601 with the offset (Asia/Shanghai)"},
                       "user": {"type": "string"}, "action": {"type": "string"},
                       "changes": {"type": "object", "additionalProperties": {
                           "type": "object", "properties": {"before": {}, "after": {}}}},
                       "note": {"type": "string"}}},
    "Audit": {"type": "object", "required": ["events"], "properties": {"events": {
        "type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}}}},
})
_FEATURE_REF = {"$ref": "#/components/schemas/Feature"}


def feature_answer(station: Station, status: int = 200):
    """The station's Feature with its internal fields, and ``ETag: "<version>"``."""
    response = jsonify(station_feature(station, now=settings.now(), internal=True))
    response.headers["ETag"] = f'"{station.version}"'
    return response, status


@spec.route(bp, "/stations", method="POST", summary="Create a station (API token)",
            tags=["write"], security=_BEARER, authenticate=require_token_scope,
            request_body={"$ref": "#/components/schemas/StationCreate"},
            body_description="A flat object or a GeoJSON Feature; validated like an imported "
                             "row. District and street come from the location.",
            responses=_responses(201, "Created: the station Feature", _FEATURE_REF,
                                 400, 401, 403))
def station_create(args):
    """Create one station in the account's area; 201 with the Feature (id from the store)."""
    station = writes.create_station(get_store(), args["auth"], args["body"])
    return feature_answer(station, 201)


@spec.route(bp, "/stations/<station_id>", method="PATCH",
            summary="Change fields of a station (API token)", tags=["write"], params=[STATION_ID],
            security=_BEARER, authenticate=require_token_scope,
            request_body={"$ref": "#/components/schemas/StationPatch"},
            body_description="The fields to change, with `version` (or `If-Match`). A move "
                             "re-derives district and street.",
            responses=_responses(200, "The station Feature after the change", _FEATURE_REF,
                                 400, 401, 403, 404, 409))
def station_patch(args):
    """Change any editable fields; a stale version is a 409 and changes nothing."""
    station = writes.patch_station(get_store(), args["auth"], args["station_id"], args["body"],
                                   if_match=writes.parse_if_match(request.headers.get("If-Match")))
    return feature_answer(station)


#: Suspending or closing needs a reason (:mod:`stations.lifecycle`); reopening does not.
REASON_NEEDED = body_rule(
    "暂停或关闭需要原因 (a reason is required to suspend or close)",
    {"anyOf": [{"properties": {"status": {"enum": ["open"]}}},
               {"required": ["reason"], "properties": {
                   "reason": {"type": "string", "pattern": r"\S"}}}]})


@spec.route(bp, "/stations/<station_id>/status", method="POST",
            summary="Suspend, reopen or close a station (API token)", tags=["write"],
            security=_BEARER, authenticate=require_token_scope, params=[
                STATION_ID,
                Param("status", where="body", required=True, enum=STATUSES,
                      description="open (reopen), suspended or closed."),
                Param("reason", where="body", default="", max_length=500,
                      description="Why (required to suspend or close)."),
                Param("version", "integer", where="body", minimum=ID_MIN, maximum=ID_MAX,
                      description="The version the change is based on (or `If-Match`)."),
            ], body_rules=[REASON_NEEDED], body_description="`{status, reason, version}`",
            responses=_responses(200, "The station Feature after the change", _FEATURE_REF,
                                 400, 401, 403, 404, 409, conflict=_STATUS_409))
def station_status(args):
    """A status change through the lifecycle (audited); 409 on a stale version."""
    station = writes.change_status(
        get_store(), args["auth"], args["station_id"], status=args["status"],
        reason=args["reason"], version=args["version"],
        if_match=writes.parse_if_match(request.headers.get("If-Match")))
    return feature_answer(station)


def _reader_scope():
    """The caller's scope: an API token, else the dashboard session; 401 without either."""
    scope = request_scope()
    if scope is None:
        user = current_user()
        if user is None:
            raise AuthError("需要 API 令牌或登录 (send `Authorization: Bearer TOKEN`, or log in "
                            "to the dashboard)", detail={"reason": "no credentials"})
        scope = scope_of_account(user)
    return scope


@spec.route(bp, "/audit", summary="A station's audit log (API token or dashboard session)",
            tags=["write"], security=_BEARER, authenticate=_reader_scope, params=[
                Param("station", "integer", required=True, minimum=ID_MIN, maximum=ID_MAX,
                      description="Station id."),
            ], responses=_responses(200, "Events oldest first",
                                    {"$ref": "#/components/schemas/Audit"}, 400, 401, 403, 404))
def audit_log(args):
    """Who changed what, when: every write to the station, oldest first (in scope only)."""
    store = get_store()
    station = store.get_station(args["station"])
    scope = args["auth"]
    if not scope.covers(area_of_record(station)):
        raise ForbiddenError(
            f"站点 {station.id} 不在本账号的管辖范围（{scope.area.label()}）内 (outside the "
            "account's area)", detail={"role": scope.role, "scope": scope.area.label()})
    events = audit.station_events(store, station.id, candidate_id=station.candidate_id)
    return jsonify({"events": [{k: e[k] for k in ("at", "user", "action", "changes", "note")}
                               for e in events]})
