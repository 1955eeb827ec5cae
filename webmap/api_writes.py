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

from flask import jsonify, request

from geodata.places.assign import area_of_record
from stations import audit, settings
from stations.amenities import AMENITIES
from stations.errors import AuthError, ForbiddenError
from stations.limits import ID_MAX, ID_MIN
from stations.records import STATUSES, Station
from webmap import writes
from webmap.api import STATION_ID, bp, spec
from webmap.auth import BEARER_SCHEME, request_scope, require_token_scope, scope_of_account
from webmap.catalogue import station_feature
from webmap.extensions import get_store
from webmap.params import Param
from webmap.union.common import current_user

__all__ = ["feature_answer"]

spec.security_schemes["bearer"] = BEARER_SCHEME
_BEARER = [{"bearer": []}]
_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {400: "Bad body or parameter", 401: "No token, or an unknown or revoked one",
           403: "Read-only account, or the station lies outside the account's area; nothing "
                "changed", 404: "Unknown station",
           409: "Stale version: `detail.version` is the current one; nothing changed"}


def _responses(status: int, description: str, schema: dict, *codes: int) -> dict:
    out = {str(status): {"description": description,
                         "content": {"application/json": {"schema": schema}}}}
    out.update({str(c): {"description": _ERRORS[c],
                         "content": {"application/json": {"schema": _ERROR}}} for c in codes})
    return out


def _field_schemas() -> dict[str, dict]:
    """Each editable field as the server reads it (validated like an imported row: numbers
    and flags may come as text, amenity states as the import's words; ``null`` = unset).

    ``webmap.params.check_body`` enforces exactly this before :mod:`webmap.writes` reads it.
    """
    text = {"type": "string", "nullable": True}
    state = {"type": "string", "nullable": True, "description": "yes, no or unknown (also "
             "the import's words: 有/无/是/否/未知, true/false, …)"}

    def number(kind: str = "number", **bounds) -> dict:
        return {"anyOf": [{"type": kind, "nullable": True, **bounds},
                          {"type": "string", "description": "a number as text"}]}

    fields = {name: dict(text) for name in writes.EDITABLE_FIELDS}
    fields.update({
        "lon": number(minimum=-180, maximum=180), "lat": number(minimum=-90, maximum=90),
        "area_m2": number(), "capacity": number("integer"),
        "sample": {"anyOf": [{"type": "boolean", "nullable": True}, {"type": "string"}]},
        "verified_on": {"type": "string", "nullable": True,
                        "description": "The date of the last check (2025-12-01)."},
        "public_phone": {**text, "description": "The phone shown to workers (电话)."},
        "contact_name": {**text, "description": "Internal: never public."},
        "contact_phone": {**text, "description": "Internal: never public."},
        "amenities": {"anyOf": [
            {"type": "array", "nullable": True, "items": {"type": "string"},
             "description": "Keys recorded yes"},
            {"type": "object", "additionalProperties": state},
            {"type": "string", "description": "Keys recorded yes, comma-separated"}]},
        **{f"amenity_{a}": dict(state) for a in AMENITIES},
    })
    return fields


_CRS = {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84",
        "description": "Datum of lon/lat in the body (the answer is WGS84)."}
_VERSION = {"type": "integer", "minimum": 1, "description": "The version the change is based "
            "on (or send it as `If-Match`); a stale one is a 409."}
_FLAT = {"type": "object", "required": ["name", "lon", "lat"], "additionalProperties": False,
         "properties": {**_field_schemas(), "crs": _CRS}}
_FEATURE = {"type": "object", "required": ["type", "geometry"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "geometry": {"type": "object", "properties": {
        "type": {"type": "string", "enum": ["Point"]},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                        "maxItems": 3}}},
    "properties": {"type": "object", "properties": {
        k: v for k, v in _field_schemas().items() if k not in ("lon", "lat")}},
    "crs": _CRS}}
spec.components.update({
    "StationCreate": {"oneOf": [_FLAT, _FEATURE], "description": "A flat object (`name, "
                      "address, lon, lat`, …) or a GeoJSON Feature with a Point."},
    "StationPatch": {"type": "object", "additionalProperties": False, "properties": {
        **_field_schemas(), "crs": _CRS, "version": _VERSION}},
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
            ], body_description="`{status, reason, version}`",
            responses=_responses(200, "The station Feature after the change", _FEATURE_REF,
                                 400, 401, 403, 404, 409))
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
