"""PostGIS does spatial work (issue 15 item 1): metric GiST indexes and SQL functions for
bbox, radius, nearest and coverage, for the product and for ad-hoc SQL users.

Revision ID: 0007
Revises: 0006

Distances are metres in EPSG:4548 (CGCS2000 / 3-degree Gauss-Kruger CM 117°E), the metric
CRS the in-memory index uses around Beijing, so the database and the index give identical
answers (tests/test_postgis_spatial.py). Functions (every one takes WGS84 lon/lat):

* ``nuanxin_within(at_lon, at_lat, radius_m, status DEFAULT 'open')`` → ``(id, name, distance_m)``
  every station within the radius (``ST_DWithin`` on the indexed projected point), nearest
  first, ties by id; ``status`` NULL for every status.
* ``nuanxin_nearest(at_lon, at_lat, k DEFAULT 5, status DEFAULT 'open')`` → the same columns, the
  ``k`` nearest (KNN ``<->`` on the index).
* ``nuanxin_coverage(radius_m DEFAULT 1000, status DEFAULT 'open')`` → ``(demand_points,
  covered, weight, covered_weight)``: demand points with coordinates, and those within the
  radius (straight line, a point at exactly the radius is covered) of a station.

Parameters are named ``at_lon``/``at_lat``: in a SQL function a column name wins over a
parameter of the same name (``lon`` would be the station's own). SQLite stores get nothing
here (the same answers come from the in-memory index there).
"""

from __future__ import annotations

from alembic import op

from stations.migrations import forward_only

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

METRIC_SRID = 4548

_SQL = f"""
CREATE INDEX IF NOT EXISTS ix_stations_geom_{METRIC_SRID}
    ON stations USING GIST (ST_Transform(geom, {METRIC_SRID}));
CREATE INDEX IF NOT EXISTS ix_demand_points_geom_{METRIC_SRID}
    ON demand_points USING GIST (ST_Transform(geom, {METRIC_SRID}));

CREATE OR REPLACE FUNCTION nuanxin_within(at_lon float8, at_lat float8, radius_m float8,
                                          only_status text DEFAULT 'open')
RETURNS TABLE (id integer, name text, distance_m float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.id, s.name,
           ST_Distance(ST_Transform(s.geom, {METRIC_SRID}),
                       ST_Transform(ST_SetSRID(ST_MakePoint(at_lon, at_lat), 4326), {METRIC_SRID}))
    FROM stations s
    WHERE ST_DWithin(ST_Transform(s.geom, {METRIC_SRID}),
                     ST_Transform(ST_SetSRID(ST_MakePoint(at_lon, at_lat), 4326), {METRIC_SRID}),
                     radius_m)
      AND (only_status IS NULL OR s.status = only_status)
    ORDER BY 3, 1
$$;

CREATE OR REPLACE FUNCTION nuanxin_nearest(at_lon float8, at_lat float8, k integer DEFAULT 5,
                                           only_status text DEFAULT 'open')
RETURNS TABLE (id integer, name text, distance_m float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT n.id, n.name, n.distance_m FROM (
        SELECT s.id, s.name,
               ST_Distance(ST_Transform(s.geom, {METRIC_SRID}),
                           ST_Transform(ST_SetSRID(ST_MakePoint(at_lon, at_lat), 4326),
                                        {METRIC_SRID})) AS distance_m
        FROM stations s
        WHERE s.geom IS NOT NULL AND (only_status IS NULL OR s.status = only_status)
        ORDER BY ST_Transform(s.geom, {METRIC_SRID})
                 <-> ST_Transform(ST_SetSRID(ST_MakePoint(at_lon, at_lat), 4326), {METRIC_SRID})
        LIMIT k + 16
    ) n
    ORDER BY n.distance_m, n.id
    LIMIT k
$$;

CREATE OR REPLACE FUNCTION nuanxin_coverage(radius_m float8 DEFAULT 1000,
                                            only_status text DEFAULT 'open')
RETURNS TABLE (demand_points bigint, covered bigint, weight float8, covered_weight float8)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT count(*), count(*) FILTER (WHERE c.hit),
           COALESCE(sum(c.weight), 0), COALESCE(sum(c.weight) FILTER (WHERE c.hit), 0)
    FROM (
        SELECT d.weight, EXISTS (
            SELECT 1 FROM stations s
            WHERE (only_status IS NULL OR s.status = only_status)
              AND ST_DWithin(ST_Transform(s.geom, {METRIC_SRID}),
                             ST_Transform(d.geom, {METRIC_SRID}), radius_m)) AS hit
        FROM demand_points d WHERE d.geom IS NOT NULL
    ) c
$$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_SQL)


def downgrade() -> None:
    forward_only()
