"""Baseline: the schema of the release before migrations (commit daf0fe0), frozen here.

Revision ID: 0001
Revises: (none)

A fresh database gets every table. A store an earlier release made (``create_all`` plus the
ad-hoc ``ALTER TABLE … ADD COLUMN`` of that time, no ``alembic_version``) keeps every row: the
missing tables are created, the missing columns added (NOT NULL ones carry server defaults
the existing rows take), the missing indexes made. On PostGIS each table with coordinates
gets a generated ``geom geometry(Point, 4326)`` column with a GiST index.

These definitions must not change: later schema changes are later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
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
)

from stations.migrations import forward_only

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

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
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    # added in the second round (Store.init adds them to older databases: server defaults)
    Column("public_phone", Text, nullable=False, default="", server_default=""),
    Column("version", Integer, nullable=False, default=1, server_default="1"),
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
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
)

lifecycle_events_table = Table(
    "lifecycle_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("candidate_id", Integer, ForeignKey("candidates.id")),
    Column("station_id", Integer, ForeignKey("stations.id")),
    Column("actor", Text, nullable=False, default=""),
    Column("at", DateTime, nullable=False),
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
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("weight", Float, nullable=False, default=1.0),
    Column("group", String(32), nullable=False, default=""),
    Column("shift", Text, nullable=False, default=""),
    Column("district", Text, nullable=False, default=""),
    Column("street", Text, nullable=False, default=""),
    Column("source", Text, nullable=False, default=""),
    Column("sample", Boolean, nullable=False, default=False),
)

reports_table = Table(
    "reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("station_id", Integer, ForeignKey("stations.id"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("status", String(16), nullable=False, default="new"),
    Column("created_at", DateTime, nullable=False),
)

users_table = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), unique=True, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("role", String(16), nullable=False, default="viewer"),  # stations.scope.ROLES
    Column("district", Text, nullable=False, default=""),
    Column("street", Text, nullable=False, default=""),
    Column("created_at", DateTime, nullable=False),
    # added with the scoped roles (issue 10): the account's area by official code
    Column("district_code", String(16), nullable=False, default="", server_default=""),
    Column("street_code", String(16), nullable=False, default="", server_default=""),
)

geocode_cache_table = Table(
    "geocode_cache", metadata,
    Column("query", Text, primary_key=True),
    Column("result", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

# Dashboard sessions: the cookie carries a random id, the store only its SHA-256 (a leaked
# database does not hand out live sessions). Times are UTC; ``revoked`` ends a session early
# (logout, password change). Rows older than the absolute lifetime are purged.
sessions_table = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), unique=True, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("revoked_at", DateTime(timezone=True)),
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
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Index("ix_api_tokens_user_id", "user_id"),
)


#: Tables with WGS84 ``lon``/``lat`` that get a generated PostGIS point.
GEOMETRY_TABLES = ("stations", "candidates", "demand_points")


def _add_missing_columns(conn: sa.engine.Connection) -> None:
    """``ADD COLUMN`` for each baseline column an older table lacks, and missing indexes."""
    table_name = conn.dialect.identifier_preparer.format_table
    for table in metadata.sorted_tables:
        present = set(conn.execute(sa.text(f"SELECT * FROM {table_name(table)} WHERE 1 = 0"))
                      .keys())
        for column in table.columns:
            if column.name in present:
                continue
            if not column.nullable and column.server_default is None:
                raise RuntimeError(f"cannot add column {table.name}.{column.name} to an "
                                   "existing table: a NOT NULL column needs a server default")
            spec = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table_name(table)} ADD COLUMN {spec}"))
        for index in table.indexes:
            index.create(conn, checkfirst=True)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    metadata.create_all(conn, checkfirst=True)
    _add_missing_columns(conn)
    if conn.dialect.name != "postgresql":
        return
    for table in GEOMETRY_TABLES:
        conn.execute(sa.text(
            f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS geom geometry(Point, 4326) "
            f"GENERATED ALWAYS AS (CASE WHEN lon IS NULL OR lat IS NULL THEN NULL "
            f"ELSE ST_SetSRID(ST_MakePoint(lon, lat), 4326) END) STORED"))
        conn.execute(sa.text(
            f"CREATE INDEX IF NOT EXISTS ix_{table}_geom ON {table} USING GIST (geom)"))


def downgrade() -> None:
    forward_only()
