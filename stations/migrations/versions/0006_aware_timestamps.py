"""Aware timestamps (issue 11): every zone-less timestamp becomes UTC.

Revision ID: 0006
Revises: 0005

Until now those columns held naive Asia/Shanghai wall time (``settings.wall_now``). PostgreSQL
turns them into ``timestamptz`` read as Beijing time; SQLite (no zone type) gets each value
rewritten as its UTC wall time, which :class:`stations.schema.UTCDateTime` reads back aware.
Sessions and API tokens were UTC already. Beijing has had no daylight saving since 1991, so
every wall time names exactly one instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from stations.migrations import forward_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

#: (table, primary key columns, naive wall-time columns)
NAIVE = (
    ("stations", ("id",), ("created_at", "updated_at")),
    ("candidates", ("id",), ("created_at", "updated_at")),
    ("lifecycle_events", ("id",), ("at",)),
    ("reports", ("id",), ("created_at", "settled_at")),
    ("users", ("id",), ("created_at",)),
    ("geocode_cache", ("query",), ("created_at",)),
)
BEIJING = ZoneInfo("Asia/Shanghai")


def _utc_wall(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=BEIJING).astimezone(UTC).replace(tzinfo=None)


def _sqlite(conn: sa.engine.Connection) -> None:
    for name, keys, columns in NAIVE:
        table = sa.table(name, *[sa.column(k) for k in keys],
                         *[sa.column(c, sa.DateTime) for c in columns])
        rows = conn.execute(sa.select(table)).mappings().all()
        updates = []
        for row in rows:
            values = {f"n_{c}": _utc_wall(row[c]) if row[c] is not None else None
                      for c in columns}
            updates.append({**values, **{f"k_{k}": row[k] for k in keys}})
        if updates:
            conn.execute(table.update().where(*[table.c[k] == sa.bindparam(f"k_{k}")
                                                for k in keys])
                         .values({c: sa.bindparam(f"n_{c}") for c in columns}), updates)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite(conn)
        return
    for name, _keys, columns in NAIVE:
        for column in columns:
            op.alter_column(name, column, type_=sa.DateTime(timezone=True),
                            existing_type=sa.DateTime(),
                            postgresql_using=f"{column} AT TIME ZONE 'Asia/Shanghai'")


def downgrade() -> None:
    forward_only()
