"""Issue 9 item 4: one settings module names every environment variable and default."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from stations import settings
from webmap.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_setting_and_nothing_else():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"^#? ?(NUANXIN_[A-Z0-9_]+)=", text, flags=re.M))
    assert named == {s.env for s in settings.SETTINGS.values()}


def test_no_module_reads_the_environment_but_the_settings_module():
    offenders = []
    for package in ("stations", "geodata", "webmap"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "stations" / "settings.py" or "static" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv") and \
                        isinstance(node.value, ast.Name) and node.value.id == "os":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "read NUANXIN_* through stations.settings.get(): " + str(offenders)


def test_get_parses_and_falls_back_to_the_default():
    env = {"NUANXIN_MAP_ZOOM": "12", "NUANXIN_NETWORK": "  ", "NUANXIN_TILES": " osm "}
    assert settings.get("MAP_ZOOM", env) == 12
    assert settings.get("NETWORK", env) == ""  # blank is the default
    assert settings.get("TILES", env) == "osm"
    assert settings.get("REPORTS_PER_HOUR", {}) == 30
    with pytest.raises(KeyError):
        settings.get("NO_SUCH_SETTING", {})


def test_the_web_app_takes_its_defaults_from_the_settings_module(store):
    app = create_app({"TESTING": True, "DATABASE_URL": store.url})
    for s in settings.SETTINGS.values():
        if s.web and s.name not in ("SECRET_KEY", "MAP_CENTER", "TIANDITU_KEY"):
            assert app.config[s.name] == s.default, s.name
    assert app.config["MAP_CENTER"] == settings.SETTINGS["MAP_CENTER"].default


def test_product_constants_live_once():
    from geodata.nearest import index
    from geodata.planning import coverage

    assert index.DETOUR_FACTOR is settings.DETOUR_FACTOR
    assert index.WALK_SPEED_KMH is settings.WALK_SPEED_KMH
    assert coverage.DEFAULT_RADIUS_M is settings.DEFAULT_RADIUS_M
    for path in (ROOT / "geodata").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^(DETOUR_FACTOR|WALK_SPEED_KMH|DEFAULT_RADIUS_M) = ", text,
                             flags=re.M), path
