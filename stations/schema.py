"""Tables of the store (SQLAlchemy Core), one metadata for every topic.

Coordinates are WGS84 ``lon``/``lat`` floats so SQLite and PostGIS share one schema; the
PostGIS backend adds a ``geom geometry(Point, 4326)`` column kept in step by the database
(see :mod:`stations.store`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

__all__ = [
    "UTCDateTime",
    "metadata",
    "stations_table",
    "candidates_table",
    "lifecycle_events_table",
    "demand_table",
    "reports_table",
    "users_table",
    "geocode_cache_table",
    "meta_table",
    "sessions_table",
    "api_tokens_table",
    "plaque_visits_table",
    "areas_table",
]



class UTCDateTime(TypeDecorator):
    """A timestamp stored as UTC and read back aware (UTC) on both backends.

    PostgreSQL keeps a ``timestamptz``; SQLite (no zone type) its UTC wall time. A naive time
    is refused (:class:`ValueError`): whose wall clock it meant would be a guess. Make times
    with :func:`stations.settings.wall_now` (or any aware time); show them with
    :func:`stations.settings.shown_time` / :func:`~stations.settings.iso_time`.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a timestamp column takes a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError(f"naive timestamp {value.isoformat()} refused: store aware times "
                             "(stations.settings.wall_now())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

meta_table = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

stations_table = Table(
    "stations", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), unique=True, nullable=False),
    Column("name", Text, nullable=False),
    Column("host_type", String(32), nullable=False, default="other"),
    Column("address", Text, nullable=False, default=""),
    Column("district", Text, nullable=False, default=""),
    Column("district_code", String(16), nullable=False, default=""),
    Column("street", Text, nullable=False, default=""),
    Column("street_code", String(16), nullable=False, default=""),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("amenities", JSON, nullable=False),
    Column("access", String(16), nullable=False, default="unknown"),
    Column("area_m2", Float),
    Column("capacity", Integer),
    Column("opening_hours", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="open"),
    Column("status_reason", Text, nullable=False, default=""),
    Column("sample", Boolean, nullable=False, default=False),
    Column("verified_on", Date),
    Column("contact_name", Text, nullable=False, default=""),
    Column("contact_phone", Text, nullable=False, default=""),
    Column("notes", Text, nullable=False, default=""),
    Column("candidate_id", Integer),
    Column("created_at", UTCDateTime()),
    Column("updated_at", UTCDateTime()),
    # added in the second round (Store.init adds them to older databases: server defaults)
    Column("public_phone", Text, nullable=False, default="", server_default=""),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
    # issue 12: how well the point is known and where it came from (see stations.candidates:
    # precision exact/poi/road/…, source sheet/geocoder/visit_pin/dragged_pin)
    Column("location_precision", String(16), nullable=False, default="", server_default=""),
    Column("location_source", String(16), nullable=False, default="", server_default=""),
    # issue 13: what workers' reports made of the station (stations.trust writes these):
    # ``trust`` ok/flagged (``unverified`` is derived from the dates when read), the flagged
    # problem kind, the reason shown to workers, the day of the last "still correct" report
    # and the amenities problem reports made unknown ``{key: reason}``
    Column("trust", String(16), nullable=False, default="ok", server_default="ok"),
    Column("problem", String(32)),
    Column("trust_reason", Text, nullable=False, default="", server_default=""),
    Column("confirmed_on", Date),
    Column("amenity_notes", JSON),
    Index("ix_stations_lon_lat", "lon", "lat"),
    Index("ix_stations_district", "district"),
)

candidates_table = Table(
    "candidates", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False, default=""),
    Column("host_type", String(32), nullable=False, default="other"),
    Column("district", Text, nullable=False, default=""),
    Column("street", Text, nullable=False, default=""),
    Column("lon", Float),  # WGS84; NULL when not geocoded
    Column("lat", Float),
    Column("geocode_precision", String(16), nullable=False, default="none"),
    Column("geocode_matched", Text, nullable=False, default=""),
    Column("geocode_confidence", Float),
    Column("area_m2", Float),
    Column("floor", Integer),
    Column("street_facing", Boolean),
    Column("opening_hours", Text, nullable=False, default=""),
    Column("amenities", JSON, nullable=False),
    Column("access", String(16), nullable=False, default="unknown"),
    Column("contact_name", Text, nullable=False, default=""),
    Column("contact_phone", Text, nullable=False, default=""),
    Column("notes", Text, nullable=False, default=""),
    Column("stage", String(16), nullable=False, default="candidate"),
    Column("screening_result", String(16)),  # pass / fail / unknown, NULL before screening
    Column("screening_score", Float),
    Column("screening", JSON),  # list of {rule, outcome, detail, ...}
    Column("station_id", Integer, ForeignKey("stations.id")),
    Column("sample", Boolean, nullable=False, default=False),
    Column("extra", JSON),  # anything else the sheet carried (field notes, photos...)
    Column("created_at", UTCDateTime()),
    Column("updated_at", UTCDateTime()),
    # issue 12: the sheet's 类型 as written when it is none of ours (host_type is then
    # "other"), and where the location came from (sheet / geocoder / visit_pin / dragged_pin)
    Column("host_type_text", Text, nullable=False, default="", server_default=""),
    Column("location_source", String(16), nullable=False, default="", server_default=""),
)

lifecycle_events_table = Table(
    "lifecycle_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id")),
    Column("station_id", Integer, ForeignKey("stations.id")),
    Column("actor", Text, nullable=False, default=""),
    Column("at", UTCDateTime(), nullable=False),
    Column("from_state", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("note", Text, nullable=False, default=""),
    # added in the second round: the step (``edit``, ``create``, ``suspend``...) and the
    # before/after of each changed field, ``{field: {"before": ..., "after": ...}}``
    Column("action", String(32)),
    Column("changes", JSON),
    Index("ix_lifecycle_events_station_id", "station_id"),
)

demand_table = Table(
    "demand_points", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Text, nullable=False, default=""),
    # null while a row geocoded only to its district or city waits for a pin (issue 16)
    Column("lon", Float, nullable=True),
    Column("lat", Float, nullable=True),
    Column("weight", Float, nullable=False, default=1.0),
    Column("group", String(32), nullable=False, default=""),
    Column("shift", Text, nullable=False, default=""),
    Column("district", Text, nullable=False, default=""),
    Column("street", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("sample", Boolean, nullable=False, default=False),
    # issue 16: the sheet's 类型 as written, where the point came from (``input`` for sheet
    # coordinates, else the geocoder's precision), its address and 备注
    Column("kind", Text, nullable=False, default="", server_default=""),
    Column("precision", String(16), nullable=False, default="input", server_default="input"),
    Column("address", Text, nullable=False, default="", server_default=""),
    Column("note", Text, nullable=False, default="", server_default=""),
)

reports_table = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station_id", Integer, ForeignKey("stations.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="new"),
    Column("created_at", UTCDateTime(), nullable=False),
    # issue 13: the day's salted client key (webmap.security.client_fingerprint: an HMAC that
    # changes daily, never the address; the trust rule counts distinct clients), the pin a
    # "wrong location" report dragged (WGS84), and how the union settled the report (when,
    # who, which action, why)
    Column("client_key", String(64)),
    Column("lon", Float),
    Column("lat", Float),
    Column("settled_at", UTCDateTime()),
    Column("settled_by", Text),
    Column("resolution", String(32)),
    Column("settle_reason", Text),
    Index("ix_reports_station_id", "station_id"),
)

# Station pages opened from a plaque's QR code (``?src=qr``), counted per station and day;
# nothing about the visitor is kept (issue 13).
plaque_visits_table = Table(
    "plaque_visits", metadata,
    Column("station_id", Integer, ForeignKey("stations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("day", Date, primary_key=True),
    Column("visits", Integer, nullable=False, default=0),
)

users_table = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), unique=True, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, default="viewer"),  # stations.scope.ROLES
    Column("district", Text, nullable=False, default=""),
    Column("street", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    # added with the scoped roles (issue 10): the account's area by official code
    Column("district_code", String(16), nullable=False, default="", server_default=""),
    Column("street_code", String(16), nullable=False, default="", server_default=""),
)

geocode_cache_table = Table(
    "geocode_cache", metadata,
    Column("query", Text, primary_key=True),
    Column("result", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# Dashboard sessions: the cookie carries a random id, the store only its SHA-256 (a leaked
# database does not hand out live sessions). Times are UTC; ``revoked`` ends a session early
# (logout, password change). Rows older than the absolute lifetime are purged.
sessions_table = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seen_at", UTCDateTime(), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("revoked_at", UTCDateTime()),
    Index("ix_sessions_user_id", "user_id"),
    Index("ix_sessions_created_at", "created_at"),
)

# API tokens (``Authorization: Bearer``): the store holds only the SHA-256 of each token, like
# the sessions. ``revoked_at`` set = revoked (``nuanxin users token NAME --revoke``).
api_tokens_table = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
    Index("ix_api_tokens_user_id", "user_id"),
)

# District and street outlines in the store (issue 15 item 1), so PostGIS can assign areas in
# SQL (``nuanxin_area_at``, ``nuanxin_assign_areas``): GeoJSON geometry text on both backends;
# on PostGIS a generated, GiST-indexed ``geom`` (migration 0008). ``rank`` is the order the
# shipped data lists them in (the first match wins, as in geodata.places.areas.locate_many).
areas_table = Table(
    "areas", metadata,
    Column("code", String(16), primary_key=True),
    Column("level", String(16), nullable=False),  # district / street
    Column("name", Text, nullable=False),
    Column("district", Text, nullable=False, default=""),  # a street's district name
    Column("district_code", String(16), nullable=False, default=""),
    Column("rank", Integer, nullable=False),
    Column("outline", Text, nullable=False),  # GeoJSON geometry, WGS84
    Index("ix_areas_level", "level"),
)
