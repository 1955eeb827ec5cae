"""Backup and restore of the whole store (issue 15 item 3): every table of
:data:`stations.schema.metadata` — stations, candidates, the audit log, worker reports, users,
sessions, API tokens, demand, the geocoding cache, counters — in one portable file.

The file is gzip'd JSON lines: a header (format, schema revision, when, row counts), then per
table a line naming its columns and one line per row (a list of values; timestamps as ISO
text in UTC, dates as ISO dates). It is read in one consistent snapshot (PostgreSQL:
``REPEATABLE READ``; SQLite: one read transaction) and written to a temporary file renamed
into place, so a crash never leaves half a backup under the name. The format does not depend
on the backend: a SQLite backup restores into PostGIS and back.

A restore goes into an **empty** store (every table empty after ``nuanxin db upgrade``), in one
transaction: all of the backup or nothing. PostgreSQL's id sequences are moved past the
restored ids. A backup made at an older schema revision restores after the upgrade (columns
it lacks take their defaults); one from a newer revision is refused.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from stations import settings
from stations.engines import write_connection
from stations.errors import StoreError, ValidationError
from stations.schema import UTCDateTime, metadata

__all__ = ["FORMAT", "backup", "restore", "table_rows", "BackupSummary"]

#: The first line's ``format``: what this module writes and reads.
FORMAT = "nuanxin-backup/1"
_CHUNK = 2000

BackupSummary = dict  # {"revision": str, "tables": {name: rows}, "created_at": iso}


def _encode(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decoder(column: sa.Column):
    if isinstance(column.type, UTCDateTime):
        return lambda v: None if v is None else datetime.fromisoformat(v)
    if isinstance(column.type, sa.Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    return lambda v: v


def _ordered(table: sa.Table) -> sa.Select:
    keys = list(table.primary_key.columns) or list(table.columns)
    return sa.select(table).order_by(*keys)


def _snapshot(store) -> Connection:
    conn = store.engine.connect()
    if store.is_postgis:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


def table_rows(store) -> dict[str, list[tuple]]:
    """Every row of every table, ordered by primary key (values as the store gives them),
    read in one snapshot."""
    with _snapshot(store) as conn, conn.begin():
        return {t.name: [tuple(r) for r in conn.execute(_ordered(t))]
                for t in metadata.sorted_tables}


def backup(store, path: str | Path) -> BackupSummary:
    """Write the whole store to ``path`` (gzip'd JSON lines); the summary of what was written."""
    from stations import migrations

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    counts: dict[str, int] = {}
    conn = _snapshot(store)
    try:
        with conn.begin(), gzip.open(tmp, "wt", encoding="utf-8") as out:
            revision = migrations.current(store.engine)
            header = {"format": FORMAT, "revision": revision,
                      "created_at": settings.iso_time(settings.now()),
                      "tables": [t.name for t in metadata.sorted_tables]}
            out.write(json.dumps(header, ensure_ascii=False) + "\n")
            for table in metadata.sorted_tables:
                out.write(json.dumps({"table": table.name,
                                      "columns": [c.name for c in table.columns]}) + "\n")
                n = 0
                for row in conn.execution_options(yield_per=_CHUNK).execute(_ordered(table)):
                    out.write(json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n")
                    n += 1
                counts[table.name] = n
            out.write(json.dumps({"end": counts}) + "\n")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        conn.close()
    return {"revision": revision, "tables": counts, "created_at": header["created_at"]}


def _lines(path: Path) -> Iterator[dict | list]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as src:
            for number, line in enumerate(src, 1):
                try:
                    yield json.loads(line)
                except ValueError:
                    raise ValidationError(f"备份文件第 {number} 行损坏 (backup line {number} "
                                          f"is not JSON): {path}") from None
    except (OSError, EOFError) as exc:
        raise ValidationError(f"不是可读的备份文件 (not a readable nuanxin backup): {path}: "
                              f"{exc}") from None


def _check_header(header, path: Path) -> None:
    from alembic.script import ScriptDirectory

    from stations import migrations

    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValidationError(f"不是 nuanxin 备份文件 (not a {FORMAT} file): {path}")
    known = {s.revision for s in ScriptDirectory.from_config(migrations.config())
             .walk_revisions()}
    if header.get("revision") not in known:
        raise ValidationError(f"备份来自更新的版本 (the backup's schema revision "
                              f"{header.get('revision')!r} is unknown here: upgrade nuanxin)")


def _check_empty(conn: Connection) -> None:
    filled = [t.name for t in metadata.sorted_tables
              if conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first()]
    if filled:
        raise StoreError(f"只能恢复到空数据库 (restore needs an empty store; these tables have "
                         f"rows: {', '.join(filled)})")


def _insert(conn: Connection, table: sa.Table, columns: list[str], rows: list[list]) -> None:
    decoders = [_decoder(table.c[c]) for c in columns]
    conn.execute(table.insert(), [{c: d(v) for c, d, v in zip(columns, decoders, row,
                                                             strict=True)} for row in rows])


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: each serial id's sequence past the restored ids."""
    for table in metadata.sorted_tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].autoincrement is True and isinstance(pk[0].type, sa.Integer):
            conn.execute(sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{pk[0].name}'), "
                f"COALESCE((SELECT MAX({pk[0].name}) FROM {table.name}), 0) + 1, false)"))


def _table_of(item: dict) -> tuple[sa.Table, list[str]]:
    if item["table"] not in metadata.tables:
        raise ValidationError(f"备份中有未知的表 (unknown table in the backup): {item['table']}")
    table, columns = metadata.tables[item["table"]], list(item["columns"])
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValidationError(f"备份中有未知的列 (unknown columns in the backup): "
                              f"{table.name}.{', '.join(unknown)}")
    return table, columns


def _load(conn: Connection, lines: Iterator) -> tuple[dict[str, int], dict | None]:
    """Insert the rows that follow the header, in chunks; the counts, and the end line."""
    counts: dict[str, int] = {}
    table, columns, batch = None, [], []
    for item in lines:
        if isinstance(item, dict):
            if table is not None and batch:
                _insert(conn, table, columns, batch)
            batch = []
            if "end" in item:
                return counts, item["end"]
            table, columns = _table_of(item)
            counts[table.name] = 0
            continue
        if table is None:
            break
        batch.append(item)
        counts[table.name] += 1
        if len(batch) >= _CHUNK:
            _insert(conn, table, columns, batch)
            batch = []
    return counts, None


def restore(store, path: str | Path) -> BackupSummary:
    """Load a backup into ``store``, which must be empty; all of it or nothing."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"没有备份文件 (no such backup file): {path}")
    lines = _lines(path)
    header = next(lines, None)
    _check_header(header, path)
    store.init()
    with write_connection(store.engine) as conn, conn.begin():
        _check_empty(conn)
        counts, end = _load(conn, lines)
        if end is None or {k: v for k, v in end.items() if v} != {
                k: v for k, v in counts.items() if v}:
            raise ValidationError(f"备份文件不完整 (the backup is truncated or damaged; nothing "
                                  f"was restored): {path}")
        if store.is_postgis:
            _reset_sequences(conn)
    return {"revision": header["revision"], "tables": counts,
            "created_at": header.get("created_at")}
