"""The union's coverage page for 广外 in headless Debian Chromium, before and after importing the
demo's demand sheet (示例数据): the page names its demand, draws the gaps on the map, shows the
day strip; the upload goes through the real form. Screenshots land in ``NUANXIN_SCREENSHOTS``
(default ``/tmp/nuanxin-screenshots``) as ``coverage-guangwai-before.png`` / ``-after.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import require
from tests.servers import live_site
from webmap.testing import chromium_available

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SHOTS = Path(os.environ.get("NUANXIN_SCREENSHOTS", "/tmp/nuanxin-screenshots"))
SAMPLE = Path(__file__).resolve().parents[1] / "geodata" / "demo" / "guangwai_demand_sample.csv"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from geodata.demo import load_demo
    from webmap.users import add_user

    require(chromium_available(), "Debian chromium at /usr/bin/chromium (.ci/system-deps)")

    def fill(store):
        load_demo(store)
        add_user(store, "guangwai", PASSWORD, role="street", district="西城区",
                 street="广安门外街道")

    with live_site(tmp_path_factory, "coverage-browser", fill=fill) as (server, _store):
        yield server


def _figures(page) -> dict:
    return page.evaluate("""() => ({
        source: document.querySelector('#demand-source b').textContent,
        covered: document.querySelector('#covered-share').textContent,
        strip: [...document.querySelectorAll('.strip-cell')].map(
            c => [c.dataset.time, c.querySelector('b').textContent]),
        gaps: document.querySelectorAll('#gaps tbody tr').length,
        labels: document.querySelectorAll('.gap-label').length,
        paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
    })""")


def test_coverage_page_before_and_after_the_demand_sheet(served, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    foreign: list[str] = []
    errors: list[str] = []

    def route(r):
        parts = urlsplit(r.request.url)
        if parts.scheme in ("data", "blob") or (parts.hostname == "127.0.0.1"
                                                and parts.port == served.port):
            return r.continue_()
        foreign.append(r.request.url)
        return r.abort()

    context = browser.new_context(viewport={"width": 1280, "height": 1600}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(served.url + "/union/login")
    page.fill("input[name=username]", "guangwai")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(served.url + "/union/coverage?radius=500")
    before = _figures(page)
    page.screenshot(path=str(SHOTS / "coverage-guangwai-before.png"), full_page=True)
    page.set_input_files("input[name=file]", str(SAMPLE))
    page.click("#demand-sheet button[type=submit]")
    page.wait_for_load_state()
    assert "需求表已导入 22 个需求点" in page.content()
    page.goto(served.url + "/union/coverage?radius=500")
    after = _figures(page)
    page.screenshot(path=str(SHOTS / "coverage-guangwai-after.png"), full_page=True)
    context.close()
    print("before:", before, "\nafter:", after)  # the closing note's figures (pytest -s)
    assert before["source"].startswith("需求来源：按面积")
    assert after["source"].startswith("需求来源：导入的需求点")
    for fig in (before, after):
        assert [t for t, _ in fig["strip"]] == ["06:00", "12:00", "18:00", "22:00"]
        assert all(v.endswith("%") for _, v in fig["strip"])
        assert fig["gaps"] >= 1 and fig["labels"] == fig["gaps"] and fig["paths"] > 0
    assert before["strip"] != after["strip"]
    assert not foreign, f"requests left 127.0.0.1: {foreign}"
    assert not errors, f"JavaScript errors: {errors}"
