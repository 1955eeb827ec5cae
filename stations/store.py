"""The station store: SQLAlchemy over SQLite (default) or PostgreSQL/PostGIS.

One :class:`Store` per database URL. Every write runs in one transaction: an import
either lands whole or not at all. A ``stations_version`` counter in the ``meta`` table goes
up with every station write so in-memory indexes know when to rebuild.

A station's status changes only through :mod:`stations.lifecycle` (suspend, reopen, close),
which writes the change and its audit row in one transaction; :meth:`Store.update_station`
refuses to change it, and an import that changes it records an audit row as well.

Every station row carries a ``version`` (1 when created, +1 on each write through the store:
updates, status changes, imports), the optimistic-concurrency token of the write API; every
write records who, when, what and the before/after of each changed field
(:mod:`stations.audit`). Station ids are allocated by the database, never computed here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine

from stations import audit, settings
from stations.amenities import AMENITIES, empty_amenities
from stations.config import database_url
from stations.engines import SQLITE_BUSY_MS, sqlite_setup, write_connection
from stations.errors import ConflictError, NotFoundError, StoreError, ValidationError
from stations.records import STATION_FIELDS, STATUSES, Station
from stations.schema import (
    areas_table,
    meta_table,
    metadata,
    sessions_table,
    stations_table,
)

__all__ = ["Store", "open_store", "station_from_record", "redact_url", "UNAVAILABLE",
           "AUDITED_FIELDS", "audited_values", "IMPORT_ACTOR", "write_connection",
           "SQLITE_BUSY_MS"]

#: Driver errors that mean the store is unavailable (down, unreachable, not initialised), not
#: that a request was wrong: the web answers them 503 (:mod:`webmap.errors`).
UNAVAILABLE: tuple[type[Exception], ...] = (sa.exc.OperationalError, sa.exc.InterfaceError)

#: ``actor`` of the audit rows an import writes when it changes a station's status.
IMPORT_ACTOR = "导入 (import)"

_STATION_COLUMNS = [c.name for c in stations_table.columns]


def station_from_record(record: sa.engine.RowMapping | dict) -> Station:
    """Build a :class:`Station` from a database row mapping."""
    values = {k: record[k] for k in _STATION_COLUMNS if k in record}
    amenities = empty_amenities()
    amenities.update({k: v for k, v in (values.get("amenities") or {}).items() if k in AMENITIES})
    values["amenities"] = amenities
    values["sample"] = bool(values.get("sample"))
    for key in ("address", "district", "district_code", "street", "street_code",
                "opening_hours", "status_reason", "contact_name", "contact_phone", "notes",
                "public_phone"):
        values[key] = values.get(key) or ""
    values["version"] = int(values.get("version") or 1)
    return Station(**values)


def _generated_code(values: dict, station_id: int) -> str:
    """``NX-<street or district code>-<id>``: the code of a station that came without one."""
    area = values.get("street_code") or values.get("district_code") or "11"
    return f"NX-{area}-{station_id:05d}"


def _created_values(values: dict) -> dict:
    """The audit ``changes`` of a new row (``values`` as inserted): each field that is not
    blank, from nothing (``before`` null) to its value as :func:`audited_values` gives it."""
    out: dict = {}
    amenities = values.get("amenities") or {}
    for name in AUDITED_FIELDS:
        value = (amenities.get(name[len("amenity_"):], "unknown") if name.startswith("amenity_")
                 else values.get(name))
        if value not in ("", None, "unknown", False):
            out[name] = {"before": None, "after": value.isoformat()
                         if hasattr(value, "isoformat") else value}
    return out


def _unstatused(values: dict) -> dict:
    """``values`` without the status fields (a status change has its own audit row)."""
    return {k: v for k, v in values.items() if k not in ("status", "status_reason")}


def _station_values(station: Station) -> dict:
    values = station.as_dict()
    values["verified_on"] = station.verified_on
    values["created_at"] = station.created_at
    values["updated_at"] = station.updated_at
    values.pop("version", None)  # written by the store only (+1 on each write)
    # what workers' reports made of it is written by stations.trust only, never by an edit
    # or an import (issue 13)
    return {k: v for k, v in values.items()
            if k in _STATION_COLUMNS and k not in _TRUST_COLUMNS}


_TRUST_COLUMNS = ("trust", "problem", "trust_reason", "confirmed_on", "amenity_notes")


#: Fields whose before/after an audit row records (the flat station form, amenities as
#: ``amenity_<key>``; ``id`` is the row's own).
AUDITED_FIELDS: tuple[str, ...] = tuple(f for f in STATION_FIELDS if f != "id")


def audited_values(station: Station) -> dict:
    """The :data:`AUDITED_FIELDS` of a station as JSON values (dates as ISO text)."""
    out: dict = {}
    for name in AUDITED_FIELDS:
        if name.startswith("amenity_"):
            out[name] = station.amenities.get(name[len("amenity_"):], "unknown")
            continue
        value = getattr(station, name, None)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


class Store:
    """Access to one Nuanxin database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL; defaults to ``NUANXIN_DATABASE_URL`` or the instance SQLite file.
    """

    def __init__(self, url: str | None = None, *, engine: Engine | None = None):
        self.url = database_url(url)
        try:
            self.engine = engine or sa.create_engine(self.url, future=True)
        except Exception as exc:  # bad URL, missing driver
            raise StoreError(f"无法打开数据库 {self.url!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            sqlite_setup(self.engine)

    # -- schema -----------------------------------------------------------------------
    @property
    def is_postgis(self) -> bool:
        """True on a PostgreSQL backend (PostGIS geometry columns are maintained)."""
        return self.engine.dialect.name == "postgresql"

    def init(self, *, reset: bool = False) -> None:
        """Bring the schema to the newest migration (``reset`` drops every table first).

        Idempotent: Alembic (:mod:`stations.migrations`) owns the schema on both backends; a
        store an earlier release made is upgraded in place, its rows kept.
        """
        from stations import migrations

        if reset:
            with self.engine.begin() as conn:
                metadata.drop_all(conn)
                conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        migrations.upgrade(self.engine)

    def prepare(self, *, reset: bool = False) -> Store:
        """:meth:`init`, with a database that cannot be reached or written turned into a
        :class:`StoreError` naming the URL (password hidden) and the kind of failure."""
        try:
            self.init(reset=reset)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"无法连接或初始化数据库 (cannot open the store) "
                             f"{self.shown_url}: {type(exc).__name__}") from exc
        return self

    @property
    def shown_url(self) -> str:
        """The store's URL with any password hidden (for messages and logs)."""
        return redact_url(self.url)

    def check(self) -> None:
        """Raise :class:`StoreError` when the store has not been initialised."""
        if not sa.inspect(self.engine).has_table("stations"):
            raise StoreError(
                f"数据库未初始化 (store not initialised at {self.url}); run `nuanxin init`")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error.

        On SQLite the transaction takes the write lock when it starts (``BEGIN IMMEDIATE``):
        a read-modify-write never finds, at its first write, that another process wrote in
        between (which SQLite answers with an immediate "database is locked"); writers queue
        for up to :data:`SQLITE_BUSY_MS` instead. PostgreSQL locks rows as they are read for
        a write (:meth:`lock_station`).
        """
        with write_connection(self.engine) as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()

    # -- meta / versions ----------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None, *, conn: Connection | None = None
                 ) -> str | None:
        """A value of the ``meta`` table."""
        with self._conn(conn) as c:
            value = c.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)
                              ).scalar_one_or_none()
        return default if value is None else value

    def set_meta(self, key: str, value: str, *, conn: Connection) -> None:
        """Upsert a ``meta`` value inside the caller's transaction."""
        updated = conn.execute(meta_table.update().where(meta_table.c.key == key)
                               .values(value=value)).rowcount
        if not updated:
            conn.execute(meta_table.insert().values(key=key, value=value))

    def bump_version(self, name: str, *, conn: Connection) -> int:
        """Increase a change counter (``stations_version``...) inside a transaction.

        One ``UPDATE … SET value = value + 1`` in the database (the row stays locked to the
        end of the transaction), never read-then-write in Python: two concurrent writes
        always give two different versions, so no process keeps a stale snapshot.
        """
        insert = (postgresql_insert if self.is_postgis else sqlite_insert)(meta_table)
        conn.execute(insert.values(key=name, value="0")
                     .on_conflict_do_nothing(index_elements=["key"]))
        conn.execute(meta_table.update().where(meta_table.c.key == name).values(
            value=sa.cast(sa.cast(meta_table.c.value, sa.Integer) + 1, sa.String)))
        return int(self.get_meta(name, "0", conn=conn) or 0)

    def version(self, name: str = "stations_version") -> int:
        """The change counter; indexes rebuild when it moves.

        Raises
        ------
        StoreError
            When the store cannot be read (not initialised, unreachable): never a silent 0.
        """
        try:
            return int(self._meta_on_driver(name) or 0)
        except (sa.exc.DBAPIError, *self._driver_errors()):
            pass  # the statement path below reports the failure as a StoreError
        try:
            return int(self.get_meta(name, "0") or 0)
        except UNAVAILABLE as exc:
            raise StoreError(f"无法读取数据库 (cannot read the store at {redact_url(self.url)}; "
                             f"run `nuanxin init`?): {type(exc).__name__}") from exc

    def _driver_errors(self) -> tuple[type[Exception], ...]:
        dbapi = getattr(self.engine.dialect, "loaded_dbapi", None)
        error = getattr(dbapi, "Error", None)
        return (error,) if isinstance(error, type) and issubclass(error, Exception) else ()

    def _meta_on_driver(self, key: str) -> str | None:
        """A ``meta`` value read on a pooled driver connection with a fixed query.

        The station snapshot asks for ``stations_version`` on every request (that keeps every
        process in step with every write); building and compiling a SQLAlchemy statement for
        it cost more than the rest of an ``/api/nearest`` answer (issue 15, bench_http).
        """
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        raw = self.engine.raw_connection()
        try:
            driver = raw.driver_connection
            # PostgreSQL: one autocommit round trip (no BEGIN, no ROLLBACK on check-in), a
            # prepared statement; psycopg switches autocommit on the client side only.
            autocommit = self.is_postgis and not getattr(driver, "autocommit", True)
            if autocommit:
                driver.autocommit = True
            try:
                cursor = raw.cursor()
                try:
                    if self.is_postgis:
                        cursor.execute(f"SELECT value FROM meta WHERE key = {mark}", (key,),
                                       prepare=True)
                    else:
                        cursor.execute(f"SELECT value FROM meta WHERE key = {mark}", (key,))
                    row = cursor.fetchone()
                finally:
                    cursor.close()
            finally:
                if autocommit:
                    driver.autocommit = False
        finally:
            raw.close()  # back to the pool, which rolls back what a read opened (SQLite)
        return None if row is None else row[0]

    @contextlib.contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.connect() as c:
                yield c

    # -- stations -------------------------------------------------------------------
    def add_stations(self, stations: Iterable[Station], *, conn: Connection | None = None,
                     upsert_by_code: bool = True, actor: str = IMPORT_ACTOR,
                     record_creates: bool = True) -> list[int]:
        """Insert stations (or update those whose ``code`` exists) in one transaction.

        A station with an ``id`` keeps it when that id is free (lossless round trips); the
        others get ids the database allocates (above every id in use). A station without a
        ``code`` gets ``NX-<street or district code>-<id>``. New rows start at ``version`` 1,
        an update adds 1. Each write records an audit row by ``actor``: ``create`` (unless
        ``record_creates`` is false: the lifecycle records the opening itself), ``import``
        with the before/after of each changed field, and a status row when an update changes
        the status. Returns the ids in input order.
        """
        if conn is None:
            with self.transaction() as c:
                return self.add_stations(stations, conn=c, upsert_by_code=upsert_by_code,
                                         actor=actor, record_creates=record_creates)
        batch = list(stations)
        now = settings.wall_now()
        by_code = self._ids_by_code(
            [st.code for st in batch if st.code] if upsert_by_code else [], conn=conn)
        stored = self._stations_by_id(list(by_code.values()), conn=conn)
        reserved = self._free_ids(batch, by_code if upsert_by_code else {}, conn=conn)
        out: list[int | tuple[int]] = []  # an id, or (position in ``inserts``,)
        inserts: list[dict] = []
        pending: dict[str, int] = {}  # code → position in ``inserts``
        for station in batch:
            values = _station_values(station)
            values["amenities"] = {k: station.amenities.get(k, "unknown") for k in AMENITIES}
            values["updated_at"] = station.updated_at or now
            if station.code and upsert_by_code and station.code in pending:
                # the same code twice in one batch: the later row wins, as an update would
                first = inserts[pending[station.code]]
                values.pop("id", None)
                values.update({k: first[k] for k in ("id", "created_at", "version")
                               if k in first})
                inserts[pending[station.code]] = values
                out.append((pending[station.code],))
                continue
            existing = by_code.get(station.code) if station.code and upsert_by_code else None
            if existing is not None:
                self._update_by_import(stored[existing], station, values, actor=actor,
                                       conn=conn)
                out.append(existing)
                continue
            values["created_at"] = station.created_at or now
            values["version"] = 1
            values.pop("id", None)
            if station.id is not None and station.id in reserved:
                reserved.discard(station.id)  # a later duplicate of this id gets a fresh one
                values["id"] = station.id
            if station.code and upsert_by_code:
                pending[station.code] = len(inserts)
            out.append((len(inserts),))
            inserts.append(values)
        new_ids = self._insert_stations(inserts, conn=conn)
        if record_creates and inserts:
            audit.record_events(conn, [audit.event_row(
                station_id=sid, actor=actor, action="create", frm="",
                to=audit.stage_of_status(values["status"]), at=now,
                changes=_created_values(values))
                for sid, values in zip(new_ids, inserts, strict=True)])
        self.bump_version("stations_version", conn=conn)
        return [new_ids[x[0]] if isinstance(x, tuple) else x for x in out]

    def _free_ids(self, batch: Sequence[Station], by_code: dict[str, int], *,
                  conn: Connection) -> set[int]:
        """Explicit ids of new rows that are free (kept: lossless round trips)."""
        taken = self._existing_ids([st.id for st in batch if st.id is not None], conn=conn)
        return {st.id for st in batch if st.id is not None and st.id not in taken
                and not (st.code and st.code in by_code)}

    def _insert_stations(self, rows: list[dict], *, conn: Connection) -> list[int]:
        """Insert new rows; their ids in order. Rows with an explicit id go first (then the
        PostgreSQL sequence moves past them); the database allocates the others' ids, and
        their generated codes are written once the ids are known."""
        ids: list[int | None] = [row.get("id") for row in rows]
        explicit = [row for row in rows if "id" in row]
        for row in explicit:
            row["code"] = row.get("code") or _generated_code(row, row["id"])
        for start in range(0, len(explicit), 1000):
            conn.execute(stations_table.insert(), explicit[start:start + 1000])
        if explicit and self.is_postgis:
            conn.execute(sa.text(
                "SELECT setval(pg_get_serial_sequence('stations', 'id'), "
                "(SELECT COALESCE(MAX(id), 1) FROM stations))"))
        fresh = [i for i, row in enumerate(rows) if "id" not in row]
        placeholder = f"~{uuid.uuid4().hex}-"
        for i in fresh:  # unique until the id is known (``code`` is NOT NULL UNIQUE)
            rows[i] = {**rows[i], "code": rows[i].get("code") or f"{placeholder}{i}"}
        for start in range(0, len(fresh), 1000):
            conn.execute(stations_table.insert(), [rows[i] for i in fresh[start:start + 1000]])
        # the ids the database gave, found by the (unique) codes: one bulk insert, no
        # row-at-a-time RETURNING
        found = self._ids_by_code([rows[i]["code"] for i in fresh], conn=conn)
        for i in fresh:
            ids[i] = found[rows[i]["code"]]
        codes = []
        for i in fresh:
            if rows[i]["code"].startswith(placeholder):
                rows[i]["code"] = _generated_code(rows[i], ids[i])
                codes.append({"b_id": ids[i], "b_code": rows[i]["code"]})
        if codes:
            conn.execute(stations_table.update().where(
                stations_table.c.id == sa.bindparam("b_id")).values(
                code=sa.bindparam("b_code")), codes)
        for i, row in enumerate(rows):
            row["id"] = ids[i]
        return [int(i) for i in ids]

    def _update_by_import(self, old: Station, station: Station, values: dict, *, actor: str,
                          conn: Connection) -> None:
        """An upsert by code: write ``values`` over ``old``, version + 1, audited."""
        values = {k: v for k, v in values.items() if k not in ("id", "created_at")}
        values["version"] = stations_table.c.version + 1
        conn.execute(stations_table.update().where(stations_table.c.id == old.id)
                     .values(**values))
        new = dataclasses.replace(station, id=old.id, code=old.code)
        self._audit_status_change(old, new, actor=actor, conn=conn)
        changes = audit.field_changes(_unstatused(audited_values(old)),
                                      _unstatused(audited_values(new)))
        if changes:
            audit.record_event(conn, candidate_id=None, station_id=old.id, actor=actor,
                               frm=audit.stage_of_status(new.status),
                               to=audit.stage_of_status(new.status), action="import",
                               changes=changes, note="导入更新 (updated by an import)")

    @staticmethod
    def _ids_by_code(codes: Sequence[str], *, conn: Connection) -> dict[str, int]:
        found: dict[str, int] = {}
        unique = sorted(set(codes))
        for start in range(0, len(unique), 500):
            part = unique[start:start + 500]
            rows = conn.execute(sa.select(stations_table.c.code, stations_table.c.id)
                                .where(stations_table.c.code.in_(part)))
            found.update({code: int(i) for code, i in rows})
        return found

    def _stations_by_id(self, ids: Sequence[int], *, conn: Connection) -> dict[int, Station]:
        found: dict[int, Station] = {}
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):
            found.update((s.id, s) for s in self.list_stations(
                ids=unique[start:start + 500], conn=conn))
        return found

    @staticmethod
    def _existing_ids(ids: Sequence[int], *, conn: Connection) -> set[int]:
        found: set[int] = set()
        unique = sorted(set(ids))
        for start in range(0, len(unique), 500):
            part = unique[start:start + 500]
            found.update(int(i) for i in conn.execute(
                sa.select(stations_table.c.id).where(stations_table.c.id.in_(part))).scalars())
        return found

    @staticmethod
    def _audit_status_change(old: Station, new: Station, *, actor: str,
                             conn: Connection) -> None:
        """A status audit row when an upsert moved ``old`` to ``new.status``."""
        if old.status == new.status:
            return
        audit.record_event(
            conn, candidate_id=None, station_id=old.id, actor=actor,
            frm=audit.stage_of_status(old.status), to=audit.stage_of_status(new.status),
            note=new.status_reason or f"状态 {old.status}→{new.status} (set by an import)",
            action="import", changes=audit.field_changes(
                {"status": old.status, "status_reason": old.status_reason or ""},
                {"status": new.status, "status_reason": new.status_reason or ""}))

    def find_station_id(self, code: str, *, conn: Connection | None = None) -> int | None:
        """The id of the station with this ``code``, or ``None``."""
        with self._conn(conn) as c:
            found = c.execute(sa.select(stations_table.c.id).where(
                stations_table.c.code == code)).scalar_one_or_none()
        return None if found is None else int(found)

    def lock_station(self, station_id: int, *, conn: Connection,
                     expected_version: int | None = None) -> Station:
        """Read one station for a write inside ``conn``'s transaction (its row locked on
        PostgreSQL until the transaction ends).

        Raises
        ------
        NotFoundError
            No such station.
        ConflictError
            ``expected_version`` is given and the station's version is another (the caller
            read it before someone else's write); ``detail`` is ``{"version": current}``.
        """
        row = conn.execute(sa.select(stations_table).where(stations_table.c.id == station_id)
                           .with_for_update()).mappings().first()
        if row is None:
            raise NotFoundError(f"站点 {station_id} 不存在 (no station with id {station_id})")
        station = station_from_record(row)
        if expected_version is not None and station.version != expected_version:
            raise ConflictError(
                f"站点 {station_id} 已被修改（当前版本 {station.version}，提交所依据的版本 "
                f"{expected_version}），请重新读取后再改 (station {station_id} changed since "
                f"version {expected_version}; it is at version {station.version}: read it "
                "again and redo the change)", detail={"version": station.version})
        return station

    def update_station(self, station: Station, *, conn: Connection | None = None,
                       actor: str = "", expected_version: int | None = None,
                       action: str = "edit", note: str = "") -> None:
        """Write every field of an existing station (by ``id``) but its status.

        The station's ``version`` goes up by one, and an audit row by ``actor`` records the
        before/after of each changed field (``action``: ``edit``, ``move``...).

        Raises
        ------
        ValidationError
            When ``station`` carries another status or status reason than the stored one:
            statuses change through :mod:`stations.lifecycle`, which audits them.
        ConflictError
            ``expected_version`` is given and is not the stored version; nothing is written.
        """
        if station.id is None:
            raise ValidationError("update_station needs a station with an id")
        if conn is None:
            with self.transaction() as c:
                return self.update_station(station, conn=c, actor=actor,
                                           expected_version=expected_version, action=action,
                                           note=note)
        old = self.lock_station(station.id, conn=conn, expected_version=expected_version)
        if (old.status, old.status_reason or "") != (station.status, station.status_reason or ""):
            raise ValidationError(
                f"站点状态只能通过暂停、恢复开放或关闭来更改 (station {station.id}: the status "
                f"{old.status!r} changes only through stations.lifecycle suspend/reopen/close, "
                f"which records it in the audit log; got {station.status!r})",
                detail={"id": station.id, "status": old.status})
        values = _station_values(station)
        values.pop("id")
        values.pop("created_at", None)
        values["updated_at"] = settings.wall_now()
        values["version"] = stations_table.c.version + 1
        if not values.get("code"):
            values.pop("code")
        conn.execute(stations_table.update().where(stations_table.c.id == station.id)
                     .values(**values))
        after = dataclasses.replace(station, code=station.code or old.code)
        changes = audit.field_changes(audited_values(old), audited_values(after))
        if changes:
            stage = audit.stage_of_status(old.status)
            audit.record_event(conn, candidate_id=None, station_id=station.id, actor=actor,
                               frm=stage, to=stage, note=note, action=action, changes=changes)
        self.bump_version("stations_version", conn=conn)

    def _set_status(self, station_id: int, status: str, *, reason: str,
                    conn: Connection) -> None:
        """Write a station's status and reason (its version + 1): only
        :mod:`stations.lifecycle` calls this, inside the transaction that writes the audit
        row (``conn`` is required)."""
        if status not in STATUSES:
            raise ValidationError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        done = conn.execute(stations_table.update().where(stations_table.c.id == station_id)
                            .values(status=status, status_reason=reason or "",
                                    version=stations_table.c.version + 1,
                                    updated_at=settings.wall_now())).rowcount
        if not done:
            raise NotFoundError(f"站点 {station_id} 不存在 (no station with id {station_id})")
        self.bump_version("stations_version", conn=conn)

    def get_station(self, station_id: int, *, conn: Connection | None = None) -> Station:
        """One station by id; :class:`NotFoundError` when absent."""
        with self._conn(conn) as c:
            row = c.execute(sa.select(stations_table).where(stations_table.c.id == station_id)
                            ).mappings().first()
        if row is None:
            raise NotFoundError(f"站点 {station_id} 不存在 (no station with id {station_id})")
        return station_from_record(row)

    def list_stations(self, *, status: str | Sequence[str] | None = None,
                      district: str | None = None, street: str | None = None,
                      bbox: tuple[float, float, float, float] | None = None,
                      ids: Sequence[int] | None = None,
                      conn: Connection | None = None) -> list[Station]:
        """Stations ordered by id, filtered (``bbox``: minlon, minlat, maxlon, maxlat)."""
        query = self._filtered(sa.select(stations_table), status=status, district=district,
                               street=street, bbox=bbox, ids=ids)
        with self._conn(conn) as c:
            return [station_from_record(r) for r in c.execute(query).mappings()]

    def station_ids(self, *, status: str | Sequence[str] | None = None,
                    bbox: tuple[float, float, float, float] | None = None) -> list[int]:
        """The ids of :meth:`list_stations` (same filters), in id order, without the rows:
        on PostGIS a ``bbox`` is answered by the GiST index (``geom && envelope``)."""
        query = self._filtered(sa.select(stations_table.c.id), status=status, bbox=bbox)
        with self.engine.connect() as c:
            return [int(i) for i in c.execute(query).scalars()]

    def _filtered(self, query, *, status=None, district=None, street=None, bbox=None,
                  ids=None):
        """``query`` over ``stations`` with :meth:`list_stations`' filters, by id."""
        query = query.order_by(stations_table.c.id)
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            query = query.where(stations_table.c.status.in_(wanted))
        if district:
            query = query.where(stations_table.c.district == district)
        if street:
            query = query.where(stations_table.c.street == street)
        if bbox is not None:
            minlon, minlat, maxlon, maxlat = (float(v) for v in bbox)
            if self.is_postgis:  # the GiST-indexed point (edges included, as BETWEEN)
                query = query.where(sa.literal_column("stations.geom").op("&&")(
                    sa.func.ST_MakeEnvelope(minlon, minlat, maxlon, maxlat, 4326)))
            else:
                query = query.where(stations_table.c.lon.between(minlon, maxlon),
                                    stations_table.c.lat.between(minlat, maxlat))
        if ids is not None:
            query = query.where(stations_table.c.id.in_(list(ids)))
        return query

    # -- PostGIS spatial SQL (migration 0007: metres in EPSG:4548) ------------------------
    def _spatial(self, sql: str, params: dict) -> list:
        if not self.is_postgis:
            raise StoreError("空间 SQL 需要 PostGIS (spatial SQL needs a PostGIS store; SQLite "
                             "answers from the in-memory index)")
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))

    def spatial_within(self, lon: float, lat: float, radius_m: float, *,
                       status: str | None = "open") -> list[tuple[int, float]]:
        """PostGIS: ``(id, metres)`` of every station within ``radius_m`` of a WGS84 point,
        nearest first (``ST_DWithin`` on the GiST-indexed projected point)."""
        rows = self._spatial("SELECT id, distance_m FROM nuanxin_within(:x, :y, :r, :s)",
                             {"x": float(lon), "y": float(lat), "r": float(radius_m),
                              "s": status})
        return [(int(i), float(d)) for i, d in rows]

    def spatial_nearest(self, lon: float, lat: float, k: int = 5, *,
                        status: str | None = "open") -> list[tuple[int, float]]:
        """PostGIS: ``(id, metres)`` of the ``k`` nearest stations (KNN on the index)."""
        rows = self._spatial("SELECT id, distance_m FROM nuanxin_nearest(:x, :y, :k, :s)",
                             {"x": float(lon), "y": float(lat), "k": int(k), "s": status})
        return [(int(i), float(d)) for i, d in rows]

    def spatial_coverage(self, radius_m: float, *, status: str | None = "open") -> dict:
        """PostGIS: demand points with coordinates, and those within ``radius_m`` of a
        station (counts and weights)."""
        [row] = self._spatial("SELECT * FROM nuanxin_coverage(:r, :s)",
                              {"r": float(radius_m), "s": status})
        return {"demand_points": int(row[0]), "covered": int(row[1]),
                "weight": float(row[2]), "covered_weight": float(row[3])}

    def replace_areas(self, rows: Sequence[dict]) -> int:
        """Replace the district/street outlines (rows of :data:`stations.schema.areas_table`:
        ``code, level, name, district, district_code, rank, outline`` GeoJSON text)."""
        with self.transaction() as conn:
            conn.execute(areas_table.delete())
            for start in range(0, len(rows), 200):
                conn.execute(areas_table.insert(), list(rows[start:start + 200]))
        return len(rows)

    def count_areas(self) -> int:
        """How many outlines the store holds."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(areas_table))
                       .scalar())

    def spatial_area_at(self, lon: float, lat: float) -> tuple[str | None, str | None]:
        """PostGIS: ``(district, street)`` names whose outlines hold a WGS84 point."""
        rows = self._spatial("SELECT district, street FROM nuanxin_area_at(:x, :y)",
                             {"x": float(lon), "y": float(lat)})
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def spatial_assign_areas(self) -> int:
        """PostGIS: every located station's district and street from the outlines, in one
        statement (``nuanxin_assign_areas``); how many changed (the version moves)."""
        if not self.is_postgis:
            self._spatial("", {})
        with self.transaction() as conn:
            changed = int(conn.execute(sa.text("SELECT nuanxin_assign_areas()")).scalar())
            if changed:
                self.bump_version("stations_version", conn=conn)
        return changed

    def count_stations(self, *, conn: Connection | None = None) -> int:
        """How many stations (any status)."""
        with self._conn(conn) as c:
            return int(c.execute(sa.select(sa.func.count()).select_from(stations_table)).scalar())

    # -- dashboard sessions ---------------------------------------------------------------
    # Rows of ``sessions``: the SHA-256 of a random session id, its user and UTC times. The
    # policy (idle timeout, absolute lifetime) lives with the web app; these only read/write.
    def add_session(self, token_hash: str, user_id: int, *, now: datetime) -> int:
        """Record a new session (``token_hash``: hex SHA-256 of the cookie's id); its id."""
        at = _utc(now)
        with self.transaction() as conn:
            return int(conn.execute(sessions_table.insert().values(
                token_hash=token_hash, user_id=int(user_id), created_at=at, last_seen_at=at,
                revoked=False)).inserted_primary_key[0])

    def get_session(self, token_hash: str) -> dict | None:
        """The session row for ``token_hash`` (times aware UTC), or ``None``."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sessions_table).where(
                sessions_table.c.token_hash == token_hash)).mappings().first()
        if row is None:
            return None
        out = dict(row)
        for key in ("created_at", "last_seen_at", "revoked_at"):
            out[key] = _as_utc(out[key])
        out["revoked"] = bool(out["revoked"])
        return out

    def touch_session(self, session_id: int, *, now: datetime) -> None:
        """Move ``last_seen_at`` of a live session forward to ``now``."""
        at = _utc(now)
        with self.transaction() as conn:
            conn.execute(sessions_table.update().where(
                sessions_table.c.id == int(session_id), sessions_table.c.revoked.is_(False),
                sessions_table.c.last_seen_at < at).values(last_seen_at=at))

    def revoke_session(self, session_id: int, *, now: datetime) -> bool:
        """End one session; ``False`` when it was already revoked or does not exist."""
        with self.transaction() as conn:
            return bool(conn.execute(sessions_table.update().where(
                sessions_table.c.id == int(session_id), sessions_table.c.revoked.is_(False)
            ).values(revoked=True, revoked_at=_utc(now))).rowcount)

    def revoke_user_sessions(self, user_id: int, *, now: datetime,
                             conn: Connection | None = None) -> int:
        """End every live session of a user (inside ``conn``'s transaction when given)."""
        if conn is None:
            with self.transaction() as c:
                return self.revoke_user_sessions(user_id, now=now, conn=c)
        return int(conn.execute(sessions_table.update().where(
            sessions_table.c.user_id == int(user_id), sessions_table.c.revoked.is_(False)
        ).values(revoked=True, revoked_at=_utc(now))).rowcount)

    def delete_user_sessions(self, user_id: int, *, conn: Connection | None = None) -> int:
        """Delete every session row of a user (before the user is deleted)."""
        if conn is None:
            with self.transaction() as c:
                return self.delete_user_sessions(user_id, conn=c)
        return int(conn.execute(sessions_table.delete().where(
            sessions_table.c.user_id == int(user_id))).rowcount)

    def purge_sessions(self, *, created_before: datetime) -> int:
        """Delete sessions created before ``created_before`` (past their absolute lifetime)."""
        with self.transaction() as conn:
            return int(conn.execute(sessions_table.delete().where(
                sessions_table.c.created_at < _utc(created_before))).rowcount)


def _utc(when: datetime) -> datetime:
    """An aware time in UTC (SQLite stores its UTC wall time, PostgreSQL a timestamptz)."""
    if when.tzinfo is None:
        raise ValueError("session times must be timezone-aware (UTC)")
    return when.astimezone(UTC)


def _as_utc(value: datetime | None) -> datetime | None:
    """A stored session time back as aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def redact_url(url: str) -> str:
    """A database URL with any password hidden; a placeholder when it does not parse."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy understands: say so, leak nothing
        return "(unparsable database URL)"


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open the store; with ``create`` make missing tables (idempotent)."""
    store = Store(url)
    if create:
        store.init()
    return store
