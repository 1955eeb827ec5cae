"""First run (issue 12, item 9): the README's first screen says how to get a union account,
``make admin`` does it through the venv, and installing prints no setuptools warnings."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_readme_first_screen_says_how_to_get_the_first_admin():
    first_screen = "\n".join(ROOT.joinpath("README.md").read_text(encoding="utf-8")
                             .splitlines()[:40])
    assert "make run" in first_screen and "make admin" in first_screen
    assert ".venv/bin/nuanxin users add" in first_screen and "--role admin" in first_screen
    assert "/union/login" in first_screen


def test_make_admin_runs_users_add_through_the_venv():
    makefile = ROOT.joinpath("Makefile").read_text(encoding="utf-8")
    target = re.search(r"^admin: .*\n((?:\t.*\n)+)", makefile, re.M)
    assert target is not None
    assert "$(BIN)/nuanxin users add" in target.group(1) and "--role admin" in target.group(1)


def test_building_the_package_prints_no_setuptools_warnings(tmp_path):
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        tmp_path.joinpath(name).write_bytes(ROOT.joinpath(name).read_bytes())
    for package in ("stations", "geodata", "webmap"):
        tmp_path.joinpath(package).symlink_to(ROOT / package)
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", "from setuptools import setup; setup()",
         "-q", "build_py", "--build-lib", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    warnings = [line for line in done.stderr.splitlines() if "Warning" in line]
    assert warnings == []
    assert (tmp_path / "out" / "webmap" / "static" / "js" / "pin.js").exists()
    assert (tmp_path / "out" / "stations" / "standard.toml").exists()
