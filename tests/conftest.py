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


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    """An initialised, empty SQLite store in a temporary folder (also set as the env default)."""
    url = f"sqlite:///{tmp_path / 'nuanxin.db'}"
    monkeypatch.setenv("NUANXIN_DATABASE_URL", url)
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    s = Store(url)
    s.init()
    yield s
    s.dispose()
