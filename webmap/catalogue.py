"""The stations as the web sees them: an in-memory snapshot for fast map queries.

At city scale (26,000 stations) a map view must not read and serialise every row: the
snapshot keeps coordinates, status, access, 24-hour flags and amenity states as numpy arrays,
rebuilt only when the store's ``stations_version`` moves, and answers bounding-box and filter
queries by masks. :func:`grid_clusters` groups a dense view into counted cells so one answer
stays small at any zoom. :func:`station_feature` is the one GeoJSON form of a station.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from geodata.errors import GeodataError
from geodata.places.gazetteer import Gazetteer, Place, load_gazetteer
from stations import settings
from stations.amenities import AMENITIES
from stations.errors import NotFoundError, ValidationError
from stations.hours import OpeningHours, hours_of
from stations.records import (
    ACCESS_LABELS_ZH,
    HOST_TYPE_LABELS_ZH,
    STATUS_LABELS_ZH,
    Station,
)
from stations.store import Store
from stations.trust import trust_of
from webmap.extensions import snapshots

__all__ = [
    "Catalogue",
    "get_catalogue",
    "hours_of",  # re-exported from stations.hours (the one evaluation)
    "station_feature",
    "MAP_FIELDS",
    "INTERNAL_FIELDS",
    "grid_clusters",
]

#: Properties of the compact form the worker map loads (``fields=map``).
MAP_FIELDS = ("id", "name", "address", "access", "sample", "status", "open_now",
              "always_open", "hours_known", "trust", "problem", "status_reason")
_STATE_CODE = {"yes": 1, "no": 0, "unknown": -1}


@dataclass
class Catalogue:
    """Arrays over every station of one store version (any status)."""

    version: int
    stations: list[Station]
    lon: np.ndarray
    lat: np.ndarray
    status: np.ndarray
    access: np.ndarray
    always_open: np.ndarray
    amenity: dict[str, np.ndarray]
    district: np.ndarray
    district_code: np.ndarray
    street: np.ndarray
    hours: list[OpeningHours]
    #: per station, the day a closed station closed (its last write: the closing step), as
    #: a proleptic ordinal; NaN for stations that are not closed
    closed_day: np.ndarray | None = None

    @classmethod
    def build(cls, stations: Sequence[Station], *, version: int = 0) -> Catalogue:
        """Snapshot ``stations``."""
        stations = list(stations)
        hours = [hours_of(s) for s in stations]
        worker = [s.worker_amenities() for s in stations]

        def col(attr: str) -> np.ndarray:
            return np.array([getattr(s, attr) or "" for s in stations], dtype=object)

        return cls(
            version=version, stations=stations,
            lon=np.array([s.lon for s in stations], dtype=float),
            lat=np.array([s.lat for s in stations], dtype=float),
            status=col("status"), access=col("access"),
            always_open=np.array([h.always_open for h in hours], dtype=bool),
            # as workers are told: amenities reports put in doubt are unknown
            amenity={a: np.array([_STATE_CODE.get(w.get(a, "unknown"), -1)
                                  for w in worker], dtype=np.int8) for a in AMENITIES},
            district=col("district"), district_code=col("district_code"), street=col("street"),
            hours=hours,
            closed_day=np.array([float(settings.local_time(s.updated_at).toordinal())
                                 if s.status == "closed" and s.updated_at else np.nan
                                 for s in stations], dtype=float),
        )

    def __len__(self) -> int:
        return len(self.stations)

    @property
    def ids(self) -> np.ndarray:
        """Station ids, in catalogue order (computed once)."""
        found = self.__dict__.get("_ids")
        if found is None:
            found = np.fromiter((s.id for s in self.stations), dtype=np.int64,
                                count=len(self.stations))
            self.__dict__["_ids"] = found
        return found

    def select(self, *, statuses: Sequence[str] | None = ("open",),
               bbox: tuple[float, float, float, float] | None = None,
               amenities: Sequence[str] = (), include_unknown: bool = False,
               open_at: datetime | None = None, district: str | None = None,
               street: str | None = None, access: Sequence[str] = (),
               always_open: bool | None = None, closed_within_days: int | None = None,
               today=None, ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the matching stations, and per index whether every wanted amenity is
        recorded ``yes`` (``True``) or some are only ``unknown`` (``False``, returned only with
        ``include_unknown``). ``bbox`` is WGS84 (minlon, minlat, maxlon, maxlat).
        ``district`` and ``street`` take any form the gazetteer knows (``西城区``, ``西城``,
        ``xicheng``, ``110102``; ``广安门外街道``, ``广外``, ``guanganmenwai``); an unknown or
        ambiguous name raises :class:`~stations.errors.ValidationError` naming the parameter.
        ``closed_within_days`` adds the stations closed within that many days of ``today``
        (default: today in Shanghai) to the wanted statuses (the worker map keeps a closed
        station, marked closed with its reason, for ``NUANXIN_GONE_VISIBLE_DAYS``), unless an
        amenity, access, ``open_at`` or ``always_open`` filter asks for usable stations.
        ``ids``: only these station ids (the database's own answer to a bbox on PostGIS).
        """
        n = len(self)
        mask = np.ones(n, dtype=bool)
        if statuses is not None:
            mask &= np.isin(self.status, list(statuses))
            narrowed = bool(amenities or access or open_at is not None
                            or always_open is not None)  # closed ones match none of these
            if closed_within_days is not None and self.closed_day is not None and not narrowed:
                today = today or settings.now().date()
                with np.errstate(invalid="ignore"):
                    mask |= (self.closed_day >= today.toordinal() - int(closed_within_days))
        if bbox is not None:
            minlon, minlat, maxlon, maxlat = bbox
            mask &= (self.lon >= minlon) & (self.lon <= maxlon) & (self.lat >= minlat) & (
                self.lat <= maxlat)
        if ids is not None:
            mask &= np.isin(self.ids, np.fromiter(ids, dtype=np.int64))
        if district or street:
            mask &= _area_mask(self, district=district, street=street)
        if access:
            mask &= np.isin(self.access, list(access))
        if always_open is not None:
            mask &= self.always_open == bool(always_open)
        full = np.ones(n, dtype=bool)
        for key in amenities:
            state = self.amenity[key]
            if include_unknown:
                mask &= state != 0
                full &= state == 1
            else:
                mask &= state == 1
        idx = np.flatnonzero(mask)
        if open_at is not None and idx.size:
            keep = np.array([self.hours[i].is_open(open_at) is True for i in idx], dtype=bool)
            idx = idx[keep]
        return idx, full[idx]


# -- the district / street filter -------------------------------------------------------------
def _area_mask(cat: Catalogue, *, district: str | None, street: str | None) -> np.ndarray:
    """Stations in the district and/or street named, by code: the query and each station's own
    names both resolve through the one gazetteer (:mod:`geodata.places.gazetteer`).

    A name the gazetteer does not know still selects the stations that carry exactly that name
    or code (a place outside its data); one that selects nothing is a 400, not an empty map.
    """
    gazetteer = load_gazetteer()
    d_codes, s_codes = _station_area_codes(cat, gazetteer)
    mask = np.ones(len(cat), dtype=bool)
    scope = None
    if district:
        scope, hit = _filter(gazetteer.find_district, "district", district, d_codes,
                             verbatim=(cat.district == district) | (cat.district_code == district))
        mask &= hit
    if street:
        _, hit = _filter(lambda name: gazetteer.find_street(name, district=scope), "street",
                         street, s_codes, verbatim=cat.street == street)
        mask &= hit
    return mask


def _filter(find, param: str, value: str, codes: np.ndarray, *, verbatim: np.ndarray
            ) -> tuple[Place | None, np.ndarray]:
    """The place ``find`` resolves ``value`` to and the mask of ``codes`` equal to its code;
    for a name the gazetteer does not know, ``(None, verbatim)`` when that mask selects any
    station, else a NotFoundError (404; any other problem a ValidationError) naming ``param``
    (with the gazetteer's suggestions)."""
    try:
        place = find(value)
    except GeodataError as exc:
        detail = {"param": param, **(exc.detail or {})}
        if detail.get("reason") == "unknown" and verbatim.any():
            return None, verbatim
        error = NotFoundError if detail.get("reason") == "unknown" else ValidationError
        raise error(f"{param} 无效 (bad {param}): {exc.message}", detail=detail) from exc
    return place, codes == place.code


def _station_area_codes(cat: Catalogue, gazetteer: Gazetteer
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Per station, the gazetteer's district and street code for what the station records
    (name first, then code; blank when neither resolves). Computed once per catalogue."""
    cached = cat.__dict__.get("_area_codes")
    if cached is not None and cached[0] is gazetteer:
        return cached[1], cached[2]

    def code(find, *candidates, **scope) -> str:
        for text in candidates:
            if text:
                try:
                    return find(text, **scope).code
                except GeodataError:
                    continue
        return ""

    districts: dict[tuple[str, str], str] = {}
    streets: dict[tuple[str, str, str], str] = {}
    d_codes = np.empty(len(cat), dtype=object)
    s_codes = np.empty(len(cat), dtype=object)
    for i, station in enumerate(cat.stations):
        d_key = (station.district or "", station.district_code or "")
        if d_key not in districts:
            districts[d_key] = code(gazetteer.find_district, *d_key)
        d_codes[i] = districts[d_key]
        s_key = (station.street or "", station.street_code or "", d_codes[i])
        if s_key not in streets:
            streets[s_key] = code(gazetteer.find_street, *s_key[:2], district=s_key[2] or None)
        s_codes[i] = streets[s_key]
    cat.__dict__["_area_codes"] = (gazetteer, d_codes, s_codes)
    return d_codes, s_codes


def get_catalogue(store: Store) -> Catalogue:
    """The map catalogue of ``store``: derived from the app's station snapshot
    (:func:`webmap.extensions.snapshots`), so it is rebuilt only when ``stations_version``
    moves and shares its one read of the store with the nearest index."""
    return snapshots().derived(store, ("catalogue",), lambda snap: Catalogue.build(
        snap.stations, version=snap.version))


def _round(value: float) -> float:
    return round(float(value), 7)


#: Properties only union accounts in scope see (``internal=True``): the host's contact
#: person and phone from the union's sheet are never public.
INTERNAL_FIELDS = ("contact_name", "contact_phone")


def station_feature(station: Station, *, lon: float | None = None, lat: float | None = None,
                    fields: Sequence[str] | None = None, hours: OpeningHours | None = None,
                    now: datetime | None = None, extra: dict | None = None,
                    internal: bool = False) -> dict:
    """One station as a GeoJSON Feature.

    The public form carries ``public_phone`` (the number the union publishes) but never the
    host's contact (:data:`INTERNAL_FIELDS`); ``version`` (the write API's concurrency
    token) and what workers' reports made of it are always there: ``trust`` (``ok``,
    ``unverified``, ``flagged``; :func:`stations.trust.trust_of`), ``trust_reason`` (Chinese,
    blank when ok), ``problem`` (the flagged report kind or null), ``last_verified`` (the last
    inspection or "still correct" report, ISO date or null), and ``amenity_notes``
    (``{key: reason}`` for amenities reports put in doubt, which read ``unknown`` in
    ``amenities`` until the union settles them).

    Parameters
    ----------
    station : Station
        Coordinates are WGS84 unless ``lon``/``lat`` (already converted) are given.
    fields : sequence of str, optional
        Keep only these properties (``id`` is always kept); default: every property.
    hours : OpeningHours, optional
        The parsed hours (parsed here when not given).
    now : datetime, optional
        When given, ``open_now`` is ``true``/``false``/``null`` (unknown hours) at that time.
    internal : bool
        Add :data:`INTERNAL_FIELDS` (for an authenticated union account in scope).
    """
    hours = hours if hours is not None else hours_of(station)
    trust, trust_reason = trust_of(station, today=(now or settings.now()).date())
    last_verified = station.last_verified
    props = {
        "id": station.id, "code": station.code, "name": station.name,
        "host_type": station.host_type,
        "host_type_zh": HOST_TYPE_LABELS_ZH.get(station.host_type, station.host_type),
        "address": station.address, "district": station.district,
        "district_code": station.district_code, "street": station.street,
        "street_code": station.street_code,
        "amenities": {a: station.worker_amenities().get(a, "unknown") for a in AMENITIES},
        "amenity_notes": dict(station.amenity_notes),
        "access": station.access, "access_zh": ACCESS_LABELS_ZH.get(station.access, ""),
        "opening_hours": station.opening_hours,
        "opening_hours_zh": "时间未知" if hours.unknown else hours.describe_zh(),
        "hours_known": not hours.unknown, "always_open": hours.always_open,
        "status": station.status, "status_zh": STATUS_LABELS_ZH.get(station.status, ""),
        "status_reason": station.status_reason, "sample": bool(station.sample),
        "verified_on": station.verified_on.isoformat() if station.verified_on else None,
        "area_m2": station.area_m2, "capacity": station.capacity,
        "public_phone": station.public_phone,
        "updated_at": settings.iso_time(station.updated_at),
        "version": int(station.version),
        "trust": trust, "trust_reason": trust_reason, "problem": station.problem,
        "last_verified": last_verified.isoformat() if last_verified else None,
    }
    if internal:
        props.update({name: getattr(station, name) for name in INTERNAL_FIELDS})
    if now is not None:
        props["open_now"] = hours.is_open(now)
    if extra:
        props.update(extra)
    if fields is not None:
        keep = set(fields) | {"id"} | set(extra or ())
        props = {k: v for k, v in props.items() if k in keep}
    x = station.lon if lon is None else lon
    y = station.lat if lat is None else lat
    return {"type": "Feature", "id": station.id,
            "geometry": {"type": "Point", "coordinates": [_round(x), _round(y)]},
            "properties": props}


def grid_clusters(lon: np.ndarray, lat: np.ndarray, *, zoom: float,
                  cell_px: int = 80) -> list[np.ndarray]:
    """Group points into square screen cells of about ``cell_px`` pixels at ``zoom``.

    Cells are laid out in Web Mercator (what Leaflet draws), so they look the same size at
    every latitude. Returns the index arrays of each non-empty cell, largest first.
    """
    if lon.size == 0:
        return []
    world_px = 256.0 * 2.0 ** float(zoom)
    x = (lon + 180.0) / 360.0 * world_px
    lat_r = np.radians(np.clip(lat, -85.0, 85.0))
    y = (1.0 - np.log(np.tan(lat_r) + 1.0 / np.cos(lat_r)) / math.pi) / 2.0 * world_px
    cx = np.floor(x / cell_px).astype(np.int64)
    cy = np.floor(y / cell_px).astype(np.int64)
    key = cx * 4_000_003 + cy
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    groups = np.split(order, cuts)
    groups.sort(key=len, reverse=True)
    return groups
