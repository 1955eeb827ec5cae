"""Alembic's environment: migrate the connection :func:`stations.migrations.upgrade` hands in,
or (the ``alembic`` command) the store of ``NUANXIN_DATABASE_URL``."""

from __future__ import annotations

from alembic import context

from stations.migrations import include_object
from stations.schema import metadata

config = context.config


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      include_object=include_object, compare_type=True,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from stations.store import Store

    store = Store()
    with store.engine.begin() as conn:
        _run(conn)


if context.is_offline_mode():  # pragma: no cover - SQL scripts are not a supported path
    raise SystemExit("nuanxin migrations run online only (nuanxin db upgrade)")
run()
