"""Production serving (issue 15, item 5): ``nuanxin serve --workers N`` runs gunicorn's
pre-fork server; every process answers, and each one's station snapshot follows the store's
version, so a station added by someone else is in every process's next answer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import psutil

from stations.records import Station
from webmap.testing import synthetic_stations

NUANXIN = os.path.join(os.path.dirname(sys.executable), "nuanxin")  # the console script
NEW = (116.5731, 40.0517)  # far from the synthetic stations below


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str):
    with urllib.request.urlopen(url, timeout=30) as answer:
        return answer.status, answer.headers, json.loads(answer.read())


def _wait(base: str, proc) -> None:
    for _ in range(300):
        try:
            if _get(base + "/healthz")[0] == 200:
                return
        except OSError:
            if proc.poll() is not None:
                raise AssertionError(proc.stderr.read().decode()) from None
            time.sleep(0.2)
    raise AssertionError("nuanxin serve --workers 2 did not answer within 60 s")


def test_serve_with_workers_runs_processes_that_follow_the_store(store):
    store.add_stations(synthetic_stations(300, bbox=(116.30, 39.85, 116.42, 39.95)))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([NUANXIN, "serve", "--port", str(port), "--workers", "2",
                             "--threads", "2"], env=dict(os.environ, NUANXIN_TILES="none"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait(base, proc)
        deadline = time.time() + 30
        while len(psutil.Process(proc.pid).children()) < 2 and time.time() < deadline:
            time.sleep(0.2)
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 2, workers
        status, headers, body = _get(base + "/healthz")
        assert body == {"status": "ok"} and "werkzeug" not in headers.get("Server", "").lower()
        query = f"{base}/api/nearest?lon={NEW[0]}&lat={NEW[1]}&k=1"
        before = {_get(query)[2]["results"][0]["id"] for _ in range(12)}  # both processes
        [new_id] = store.add_stations([Station(name="新开驿站", lon=NEW[0], lat=NEW[1],
                                               district="朝阳区", street="崔各庄地区")])
        assert new_id not in before
        after = [_get(query)[2]["results"][0] for _ in range(12)]
        assert {r["id"] for r in after} == {new_id}
        assert after[0]["distance_m"] < 1
        _connections_spread_over_workers(proc, workers, port)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"gunicorn, 2 processes" in err


def _connections_spread_over_workers(proc, workers, port: int) -> None:
    """Each worker listens on its own socket (SO_REUSEPORT: the kernel spreads new
    connections), so 16 keep-alive clients connecting at once never all land on one process
    (one shared socket lets the first worker to wake take them all; bench_http measured
    ~800 requests/s then, half the rate of a balanced pair)."""
    def listening(p):
        return [c for c in p.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port]

    assert not listening(psutil.Process(proc.pid))
    assert all(len(listening(w)) == 1 for w in workers)
    clients = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(16)]
    try:
        for c in clients:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        for c in clients:
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
        held = [sum(1 for c in w.net_connections(kind="tcp")
                    if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)
                for w in workers]
        assert sum(held) == 16 and min(held) > 0, held
    finally:
        for c in clients:
            c.close()
