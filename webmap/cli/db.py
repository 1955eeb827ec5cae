"""``nuanxin db upgrade``, ``nuanxin db current``: the store's schema migrations (Alembic,
:mod:`stations.migrations`; ``nuanxin init`` runs the upgrade too). ``nuanxin backup FILE`` and
``nuanxin restore FILE``: the whole store in one portable file (:mod:`stations.backup`)."""

from __future__ import annotations

import click

from webmap.cli.base import main

__all__ = ["db", "backup_command", "restore_command"]


@main.group()
def db() -> None:
    """数据库结构迁移 (schema migrations of the store)."""


@db.command("upgrade")
def upgrade_command() -> None:
    """把数据库升级到最新结构 (migrate the store to the newest schema; rows are kept)."""
    from stations import migrations
    from stations.store import Store

    store = Store().prepare()
    try:
        click.echo(f"数据库已是最新结构 (store at revision {migrations.current(store.engine)}, "
                   f"head): {store.shown_url}")
    finally:
        store.dispose()


@db.command("current")
def current_command() -> None:
    """显示数据库当前的结构版本 (the revision the store is at)."""
    from stations import migrations
    from stations.store import Store

    store = Store()
    try:
        at = migrations.current(store.engine)
    except Exception as exc:  # noqa: BLE001 - unreachable store: one line, exit 2
        from stations.errors import StoreError

        raise StoreError(f"无法读取数据库 (cannot read the store at {store.shown_url}): "
                         f"{type(exc).__name__}") from exc
    finally:
        store.dispose()
    head = migrations.head()
    if at is None:
        click.echo(f"none (未迁移 not migrated; head is {head}; run `nuanxin db upgrade`)")
    else:
        click.echo(f"{at}{' (head)' if at == head else f' (head is {head})'}")


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
def backup_command(file: str) -> None:
    """备份整个数据库到文件 (the whole store — stations, candidates, audit, reports, users,
    tokens, demand... — into one portable gzip'd JSON-lines file)."""
    from stations.backup import backup
    from stations.store import Store

    store = Store().prepare()
    try:
        summary = backup(store, file)
    finally:
        store.dispose()
    rows = sum(summary["tables"].values())
    click.echo(f"已备份 {rows} 行 (backed up {rows} rows in {len(summary['tables'])} tables, "
               f"schema {summary['revision']}) → {file}")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
def restore_command(file: str) -> None:
    """从备份文件恢复到空数据库 (restore a backup into an empty store; all or nothing)."""
    from stations.backup import restore
    from stations.store import Store

    store = Store().prepare()
    try:
        summary = restore(store, file)
    finally:
        store.dispose()
    rows = sum(summary["tables"].values())
    click.echo(f"已恢复 {rows} 行 (restored {rows} rows from the backup of "
               f"{summary['created_at']}) ← {file}")
