"""How the store's engines are set up for several processes at once (issue 15 item 3).

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes; both backends get
:func:`write_connection`, whose transactions are writes. Used by :mod:`stations.store` and
:mod:`stations.migrations`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["SQLITE_BUSY_MS", "sqlite_setup", "write_connection"]

#: How long a SQLite writer waits for the write lock before "database is locked" (ms).
SQLITE_BUSY_MS = 30_000


def sqlite_setup(engine: Engine) -> None:
    """SQLite for several processes: WAL (readers never wait for the writer), a busy
    timeout, foreign keys, and transactions begun by SQLAlchemy itself (the driver's own
    implicit ``BEGIN`` is off) so :func:`write_connection` can ask for ``BEGIN IMMEDIATE``."""

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = conn.get_execution_options().get("nuanxin_write")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextlib.contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A connection whose transactions are writes (SQLite: ``BEGIN IMMEDIATE``)."""
    with engine.connect() as conn:
        yield conn.execution_options(nuanxin_write=True)
