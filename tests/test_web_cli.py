"""``nuanxin users`` and ``nuanxin serve`` (a real waitress process answering HTTP)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from webmap.cli import main as cli
from webmap.users import authenticate

PASSWORD = "a long enough password"


def _run(args, input=None):
    return CliRunner().invoke(cli, args, input=input)


def test_users_add_with_password_on_stdin(store):
    result = _run(["users", "add", "guangwai", "--password-stdin", "--district", "西城区"],
                  input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert authenticate(store, "guangwai", PASSWORD)["district"] == "西城区"
    assert authenticate(store, "guangwai", "wrong") is None


def test_users_add_prompts_twice(store):
    result = _run(["users", "add", "prompted"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert authenticate(store, "prompted", PASSWORD) is not None
    assert PASSWORD not in result.output


@pytest.mark.parametrize("args, stdin, message", [
    (["users", "add", "x y", "--password-stdin"], PASSWORD, "用户名"),
    (["users", "add", "short", "--password-stdin"], "abc", "密码太短"),
    (["users", "passwd", "nobody", "--password-stdin"], PASSWORD, "没有用户"),
    (["users", "remove", "nobody", "--yes"], None, "没有用户"),
], ids=["bad-name", "short-password", "passwd-unknown", "remove-unknown"])
def test_user_errors_are_one_line_and_exit_2(store, args, stdin, message):
    result = _run(args, input=(stdin + "\n") if stdin else None)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_duplicate_user_is_refused(store):
    _run(["users", "add", "dup", "--password-stdin"], input=PASSWORD + "\n")
    result = _run(["users", "add", "dup", "--password-stdin"], input=PASSWORD + "\n")
    assert result.exit_code == 2 and "已存在" in result.output


def test_list_passwd_remove(store):
    _run(["users", "add", "a1", "--password-stdin"], input=PASSWORD + "\n")
    listed = json.loads(_run(["users", "list", "--json"]).output)
    assert [u["username"] for u in listed] == ["a1"] and "password_hash" not in listed[0]
    assert _run(["users", "passwd", "a1", "--password-stdin"],
                input="another password!\n").exit_code == 0
    assert authenticate(store, "a1", "another password!") is not None
    assert _run(["users", "remove", "a1", "--yes"]).exit_code == 0
    assert json.loads(_run(["users", "list", "--json"]).output) == []


NUANXIN = os.path.join(os.path.dirname(sys.executable), "nuanxin")  # the console script


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_runs_waitress_and_answers(store, tmp_path):
    port = _free_port()
    env = dict(os.environ, NUANXIN_TILES="none")
    proc = subprocess.Popen([NUANXIN, "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        body = None
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    server = r.headers.get("Server")
                break
            except OSError:
                time.sleep(0.2)
        assert body == {"status": "ok"}
        assert server == "nuanxin"  # waitress (ident), not werkzeug's development server
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert b"serving on" in err


def test_serve_refuses_an_insecure_production_setup(store):
    env = dict(os.environ, NUANXIN_ENV="production")
    env.pop("NUANXIN_SECRET_KEY", None)
    result = subprocess.run([NUANXIN, "serve", "--port", "1"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "NUANXIN_SECRET_KEY" in result.stderr and "Traceback" not in result.stderr
