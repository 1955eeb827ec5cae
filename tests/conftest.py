"""Shared fixtures: a fresh SQLite store per test, and the CI rule for missing services.

Under ``CI=true`` a test that cannot find its server or browser fails; elsewhere it skips.
"""

from __future__ import annotations

import os

import pytest

from stations.store import Store

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Fail under CI (a missing server/browser is a red run), skip elsewhere."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required for this test and missing in CI: {what}")
    pytest.skip(f"not available here (would fail under CI): {what}")


@pytest.fixture(autouse=True)
def no_500_answers(request):
    """Fail any test whose request was answered 500 (an unexpected exception in a view).

    The app answers such a bug with a logged 500 and the JSON error shape; here it is a red
    test. A test that exercises that handler on purpose is marked ``allow_500``.
    """
    from webmap.errors import bug_answered

    seen: list[BaseException] = []

    def _record(_app, exc, **_kw):
        seen.append(exc)

    bug_answered.connect(_record)
    try:
        yield seen
    finally:
        bug_answered.disconnect(_record)
    if seen and request.node.get_closest_marker("allow_500") is None:
        first = seen[0]
        pytest.fail(f"{len(seen)} request(s) answered 500; first: "
                    f"{type(first).__name__}: {first}", pytrace=False)


#: Product code that wrote to SQLite outside a write transaction (``BEGIN IMMEDIATE``).
_DEFERRED_WRITES: list[str] = []
_DML = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_PRODUCT = tuple(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), d)
                 + os.sep for d in ("stations", "geodata", "webmap"))


def _watch_sqlite_writes(conn, _cursor, statement, _params, _context, _executemany) -> None:
    """Record a DML statement the product runs on SQLite in a deferred transaction.

    A deferred ``BEGIN`` that reads, then writes after another process committed, is answered
    "database is locked" at once (SQLite does not wait for a snapshot that went stale);
    :meth:`stations.store.Store.transaction` begins ``BEGIN IMMEDIATE`` so writers queue.
    """
    if conn.dialect.name != "sqlite" or conn.get_execution_options().get("nuanxin_write"):
        return
    if not statement.lstrip().upper().startswith(_DML):
        return
    import sys

    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith(_PRODUCT):
            _DEFERRED_WRITES.append(f"{name}:{frame.f_lineno}: {statement.split(chr(10))[0]}")
            return
        frame = frame.f_back


def pytest_configure(config):
    import sqlalchemy as sa

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _watch_sqlite_writes)


@pytest.fixture(autouse=True)
def sqlite_writes_are_immediate():
    """Fail a test in which product code wrote to SQLite outside ``Store.transaction()``."""
    start = len(_DEFERRED_WRITES)
    yield
    found = _DEFERRED_WRITES[start:]
    if found:
        pytest.fail(f"{len(found)} SQLite write(s) outside a BEGIN IMMEDIATE transaction; "
                    f"first: {found[0]}", pytrace=False)


def _initialised_store(url: str, tmp_path, monkeypatch):
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    s = Store(url)
    s.init()
    return s


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    """An initialised, empty SQLite store in a temporary folder (also set as the env default)."""
    s = _initialised_store(f"sqlite:///{tmp_path / 'nuanxin.db'}", tmp_path, monkeypatch)
    yield s
    s.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def backend_store(request, tmp_path, monkeypatch) -> Store:
    """The same, once on SQLite and once on a fresh PostGIS database (the env points at it)."""
    url = f"sqlite:///{tmp_path / 'nuanxin.db'}" if request.param == "sqlite" else \
        request.getfixturevalue("pg_fresh_url")
    s = _initialised_store(url, tmp_path, monkeypatch)
    yield s
    s.dispose()


# -- a throwaway PostgreSQL/PostGIS cluster (engineer B2) ----------------------------------------


def _pg_bindir():
    import glob
    from pathlib import Path

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _pg_run_as():
    """Run the server as ``postgres`` when we are root (initdb refuses root)."""
    import pwd
    import shutil

    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        return None, None
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"], user
    return ["su", "postgres", "-s", "/bin/sh", "-c"], user


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def pg_url():
    """URL of a fresh PostGIS database in a throwaway cluster (Unix socket, no TCP).

    The cluster lives in a temporary folder, runs as ``postgres`` when the tests run as root,
    and is stopped and removed at the end of the session. Missing binaries fail under CI.
    """
    import glob
    import shlex
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    bindir = _pg_bindir()
    require(bindir is not None,
            "PostgreSQL server (/usr/lib/postgresql/*/bin/initdb; run .ci/system-deps)")
    require(bool(glob.glob("/usr/share/postgresql/*/extension/postgis.control")),
            "PostGIS extension (Debian package postgis; run .ci/system-deps)")
    prefix, user = _pg_run_as()
    require(prefix is not None, "a 'postgres' system user to run the server as")
    try:
        import psycopg
    except ImportError:
        psycopg = None
    require(psycopg is not None, "psycopg (pip install -e '.[test]')")

    base = Path(tempfile.mkdtemp(prefix="nuanxin-pg-"))
    data, sockdir, log = base / "data", base / "sock", base / "server.log"
    sockdir.mkdir()
    if user is not None:
        for path in (base, sockdir):
            os.chown(path, user.pw_uid, user.pw_gid)

    def run(*args: str) -> None:
        cmd = [str(a) for a in args]
        full = prefix + [shlex.join(cmd)] if prefix and prefix[0] == "su" else prefix + cmd
        done = subprocess.run(full, capture_output=True, text=True, cwd=base, check=False)
        if done.returncode != 0:
            extra = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr}\n{extra}")

    port = _free_port()
    run(bindir / "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
        "--no-sync", "--locale=C")
    options = f"-p {port} -k {sockdir} -c listen_addresses='' -c fsync=off"
    run(bindir / "pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start")
    try:
        dbname = "nuanxin_test"
        with psycopg.connect(host=str(sockdir), port=port, user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {dbname}")
        with psycopg.connect(host=str(sockdir), port=port, user="postgres", dbname=dbname,
                             autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        yield f"postgresql+psycopg://postgres@/{dbname}?host={sockdir}&port={port}"
    finally:
        try:
            run(bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_fresh_url(pg_url):
    """A new, empty PostGIS database per test (a copy of the session database), dropped after."""
    import uuid

    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    host, port = url.query["host"], int(url.query["port"])
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = dict(host=host, port=port, user="postgres", dbname="postgres", autocommit=True)
    with psycopg.connect(**admin) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {url.database}")
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(**admin) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module (fails under CI when missing)."""
    from webmap.testing import chromium_available, launch_chromium

    require(chromium_available(), "Debian chromium at /usr/bin/chromium (.ci/system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch_chromium(p)
        yield chromium
        chromium.close()
