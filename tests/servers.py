"""Real server processes for the tests that need more than one (concurrency, snapshots in
step): ``nuanxin serve`` (waitress) in a subprocess on a free loopback port, stopped after."""

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
