"""Real servers for the tests: :func:`served`, ``nuanxin serve`` (waitress) subprocesses on
free loopback ports for the tests that need more than one (concurrency, snapshots in step);
:func:`live_site`, the app in a waitress thread over a fresh SQLite store, for the browser
tests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nuanxin_env(url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``nuanxin`` subprocess on the store at ``url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUANXIN_")}
    env.update(NUANXIN_DATABASE_URL=url, NUANXIN_INSTANCE=str(instance), NUANXIN_TILES="none",
               NUANXIN_SECRET_KEY="test-" + "k" * 40, PYTHONPATH=str(ROOT), **extra)
    return env


def nuanxin(*args: str) -> list[str]:
    """The command line of ``nuanxin ARGS`` with this interpreter."""
    return [sys.executable, "-c", "from webmap.cli import main; main()", *args]


@contextlib.contextmanager
def served(url: str, instance: Path, *, threads: int = 8, count: int = 1,
           timeout: float = 60.0) -> Iterator[list[str]]:
    """``count`` server processes on the store at ``url``; yields their base URLs."""
    procs, bases = [], []
    try:
        for _ in range(count):
            port = free_port()
            log = open(instance.parent / f"serve-{port}.log", "wb")  # noqa: SIM115
            procs.append((subprocess.Popen(
                nuanxin("serve", "--port", str(port), "--threads", str(threads)),
                env=nuanxin_env(url, instance), stdout=log, stderr=subprocess.STDOUT,
                cwd=ROOT), log))
            bases.append(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + timeout
        for (proc, log), base in zip(procs, bases, strict=True):
            while True:
                if proc.poll() is not None:
                    log.flush()
                    raise RuntimeError(f"server exited {proc.returncode}: "
                                       f"{Path(log.name).read_text(errors='replace')[-2000:]}")
                with contextlib.suppress(requests.ConnectionError):
                    if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server at {base} did not answer in {timeout} s")
                time.sleep(0.2)
        yield bases
    finally:
        for proc, log in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()


@contextlib.contextmanager
def live_site(tmp_path_factory, name: str, *, stations=(), fill=None,
              **config) -> Iterator[tuple]:
    """The app served in a thread (:func:`webmap.testing.live_server`) over a fresh SQLite
    store in a new temporary folder (also the environment's store and instance while it
    runs), holding ``stations`` and whatever ``fill(store)`` adds; ``config`` overrides the
    app's (``TILES`` defaults to ``none``). Yields ``(server, store)``."""
    import pytest

    from stations.store import Store
    from webmap.app import create_app
    from webmap.testing import live_server

    folder = tmp_path_factory.mktemp(name)
    url = f"sqlite:///{folder / 'nuanxin.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("NUANXIN_INSTANCE", str(folder / "instance"))
    mp.setenv("NUANXIN_DATABASE_URL", url)
    store = Store(url)
    try:
        store.init()
        if stations:
            store.add_stations(list(stations))
        if fill is not None:
            fill(store)
        app = create_app({"TILES": "none", **config, "DATABASE_URL": url})
        with live_server(app) as server:
            yield server, store
    finally:
        store.dispose()
        mp.undo()
