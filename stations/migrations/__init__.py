"""Alembic owns the store's schema on SQLite and PostGIS (issue 15).

The Alembic configuration lives here in code (no ``alembic.ini`` to find: it works from an
installed package): :func:`config` points Alembic at this package's ``env.py`` and
``versions/``. :func:`upgrade` brings a database to the newest revision — ``nuanxin init`` and
``nuanxin db upgrade`` run it — and :func:`current` names the revision a database is at.

The first revision (``0001``) is the schema of the release before migrations (commit
``daf0fe0``), frozen in that file; it also brings any older store (made by ``create_all`` plus
the ad-hoc column additions of that time) up to it without losing a row. Every later change to
:mod:`stations.schema` comes with a revision chained to the head; ``tests/test_migrations.py``
compares a migrated empty database with :data:`stations.schema.metadata` on both backends.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = ["config", "upgrade", "current", "head", "include_object", "forward_only",
           "POSTGIS_TABLES"]

HERE = Path(__file__).resolve().parent

#: Tables the PostGIS extension brings (not ours: never compared, never dropped).
POSTGIS_TABLES = frozenset({"spatial_ref_sys", "geography_columns", "geometry_columns",
                            "raster_columns", "raster_overviews"})


def config(connection: sa.engine.Connection | None = None) -> Config:
    """An Alembic configuration for this package (``connection``: the one to migrate)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("version_locations", str(HERE / "versions"))
    cfg.set_main_option("path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def forward_only() -> NoReturn:
    """Every revision's ``downgrade``: the store migrates forward only, by design. Going
    back is restoring the backup taken before the upgrade (``nuanxin restore FILE``): a
    downgrade would drop columns the newer release already filled."""
    from stations.errors import StoreError

    raise StoreError("nuanxin 只向前迁移；要回到旧版本，请恢复升级前的备份 (migrations go "
                     "forward only; restore the backup taken before the upgrade: "
                     "nuanxin restore FILE)")


def head() -> str:
    """The newest revision id of this package."""
    heads = ScriptDirectory.from_config(config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads: {heads}; chain them")
    return heads[0]


def upgrade(engine: sa.engine.Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision``, in one transaction.

    On PostgreSQL a transaction-scoped advisory lock, on SQLite the write lock taken at
    ``BEGIN IMMEDIATE``, keeps two processes from migrating at once (the second waits, then
    finds nothing to do).
    """
    from stations.engines import write_connection

    with write_connection(engine) as conn, conn.begin():  # SQLite: BEGIN IMMEDIATE
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7426001)"))
        command.upgrade(config(conn), revision)


def current(engine: sa.engine.Engine) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """What Alembic compares: ours only — not PostGIS's tables, nor the ``geom`` columns and
    their GiST indexes the PostGIS backend keeps beside the schema (made by migrations)."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    if type_ == "column" and name == "geom":
        return False
    return not (type_ == "index" and name and "_geom" in name)
