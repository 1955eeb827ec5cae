"""District and street outlines in the store; PostGIS assigns areas in SQL (issue 15 item 1).

Revision ID: 0008
Revises: 0007

On PostGIS ``areas`` gets a generated, GiST-indexed ``geom`` and two functions:

* ``nuanxin_area_at(at_lon, at_lat)`` → ``(district, district_code, street, street_code)``:
  the district whose outline holds the WGS84 point, and the street of that district that
  does (the first by ``rank`` where outlines overlap; edges count as inside) — the rule of
  ``geodata.places.areas.locate_many``.
* ``nuanxin_assign_areas()`` → how many stations changed: every station with a position
  inside an outline gets its district and street (names and codes) from the outlines.

``nuanxin init`` loads the shipped outlines (``geodata.places.areas.store_areas``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from stations.migrations import forward_only

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_SQL = """
ALTER TABLE areas ADD COLUMN IF NOT EXISTS geom geometry(Geometry, 4326)
    GENERATED ALWAYS AS (ST_SetSRID(ST_GeomFromGeoJSON(outline), 4326)) STORED;
CREATE INDEX IF NOT EXISTS ix_areas_geom ON areas USING GIST (geom);

CREATE OR REPLACE FUNCTION nuanxin_area_at(at_lon float8, at_lat float8)
RETURNS TABLE (district text, district_code text, street text, street_code text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(at_lon, at_lat), 4326) AS g),
    d AS (SELECT a.name, a.code FROM areas a, p
          WHERE a.level = 'district' AND ST_Intersects(a.geom, p.g)
          ORDER BY a.rank LIMIT 1),
    s AS (SELECT a.name, a.code FROM areas a, p, d
          WHERE a.level = 'street' AND a.district = d.name AND ST_Intersects(a.geom, p.g)
          ORDER BY a.rank LIMIT 1)
    SELECT d.name, d.code::text, s.name, s.code::text FROM d LEFT JOIN s ON true
$$;

CREATE OR REPLACE FUNCTION nuanxin_assign_areas()
RETURNS bigint LANGUAGE sql VOLATILE AS $$
    WITH found AS (
        SELECT st.id, f.district, f.district_code, f.street, f.street_code
        FROM stations st CROSS JOIN LATERAL nuanxin_area_at(st.lon, st.lat) f
    ), changed AS (
        UPDATE stations st SET district = f.district, district_code = f.district_code,
               street = COALESCE(f.street, ''), street_code = COALESCE(f.street_code, '')
        FROM found f
        WHERE st.id = f.id AND (st.district, st.district_code, st.street, st.street_code)
              IS DISTINCT FROM (f.district, f.district_code, COALESCE(f.street, ''),
                                COALESCE(f.street_code, ''))
        RETURNING 1)
    SELECT count(*) FROM changed
$$;
"""


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("district", sa.Text, nullable=False),
        sa.Column("district_code", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("outline", sa.Text, nullable=False),
    )
    op.create_index("ix_areas_level", "areas", ["level"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_SQL)


def downgrade() -> None:
    forward_only()
