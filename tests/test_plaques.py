"""QR plaques (issue 13 item 4): rendered for real, the QR read back with a real decoder
(Debian's ``zbarimg``) to the station's URL at ``NUANXIN_PUBLIC_URL``; the street sheet as a
PDF; the dashboard's downloads in scope; visits from a plaque counted anonymously per week.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from stations import settings, worker_reports
from stations.records import Station
from webmap.app import create_app
from webmap.cli import main as cli
from webmap.plaques import PLAQUE_MM, plaque_of, render_png, station_url
from webmap.testing import login
from webmap.users import add_user

from .conftest import require

BASE = "https://nuanxin.example.cn/gonghui"
PASSWORD = "correct horse battery"


def decode_qr(path: Path) -> list[str]:
    """Every QR code zbarimg finds in an image (the real decoder; CI needs zbar-tools)."""
    require(shutil.which("zbarimg") is not None, "zbarimg (Debian zbar-tools)")
    done = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable",
                           str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture
def stations(store, monkeypatch):
    monkeypatch.setenv("NUANXIN_PUBLIC_URL", BASE)
    store.add_stations([
        Station(name="鸭子桥社区职工暖心驿站", lon=116.3384, lat=39.8729, code="GW-001",
                district="西城区", street="广安门外街道", opening_hours="24/7"),
        Station(name="湾子街道口驿站", lon=116.3420, lat=39.8760, code="GW-002",
                district="西城区", street="广安门外街道", opening_hours="Mo-Fr 08:30-17:30"),
        Station(name="手帕口驿站", lon=116.3300, lat=39.8700, code="GW-003",
                district="西城区", street="广安门外街道", opening_hours=""),
        Station(name="莲花河驿站", lon=116.3320, lat=39.8750, code="GW-004",
                district="西城区", street="广安门外街道", opening_hours="Mo-Su 06:00-22:00"),
        Station(name="白纸坊驿站", lon=116.3520, lat=39.8790, code="GW-005",
                district="西城区", street="广安门外街道", opening_hours="Mo-Su 06:00-22:00"),
        Station(name="关了的驿站", lon=116.3350, lat=39.8720, code="GW-006",
                district="西城区", street="广安门外街道", status="closed",
                status_reason="拆迁"),
        Station(name="东城驿站", lon=116.4010, lat=39.9147, code="DC-001",
                district="东城区", street="东华门街道", opening_hours="24/7"),
    ])
    return {s.code: s for s in store.list_stations()}


def test_a_plaque_png_carries_a_qr_that_decodes_to_the_station_url(store, stations, tmp_path):
    s = stations["GW-001"]
    out = tmp_path / "one.png"
    result = CliRunner().invoke(cli, ["plaques", "--station", str(s.id), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert decode_qr(out) == [f"{BASE}/stations/{s.id}?src=qr"]
    with Image.open(out) as image:  # print-ready: A6 at 300 dpi
        assert image.size == (round(PLAQUE_MM[0] / 25.4 * 300), round(PLAQUE_MM[1] / 25.4 * 300))
        assert round(image.info["dpi"][0]) == 300


def test_the_plaque_says_name_code_hours_24h_and_the_invitation(stations):
    plaque = plaque_of(stations["GW-001"], base_url=BASE)
    from webmap.plaques import layout

    texts = " ".join(step[4] for step in layout(plaque) if step[0] == "text")
    for expected in ("鸭子桥社区职工暖心驿站", "GW-001", "24 小时开放", "开放时间", "反馈",
                     plaque.url):
        assert expected in texts
    other = plaque_of(stations["GW-002"], base_url=BASE)
    assert "24 小时开放" not in " ".join(s[4] for s in layout(other) if s[0] == "text")


def test_a_long_name_and_unknown_hours_still_fit_and_decode(tmp_path):
    station = Station(name="广安门外街道" * 8, lon=116.3, lat=39.9, id=987654, code="X-" * 10)
    out = render_png(plaque_of(station, base_url=BASE), tmp_path / "long.png")
    assert decode_qr(out) == [f"{BASE}/stations/987654?src=qr"]


def test_a_street_sheet_is_a_pdf_of_every_open_station_four_to_a_page(store, stations,
                                                                     tmp_path):
    out = tmp_path / "street.pdf"
    result = CliRunner().invoke(cli, ["plaques", "--street", "广外", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "5 个标识牌" in result.output  # five open stations; closed and 东城 left out
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert len(re.findall(rb"/Type /Page\b", data)) == 2
    assert b"FontFile2" in data  # the CJK TrueType font is embedded


@pytest.mark.parametrize(("args", "words"), [
    (["--out", "x.png"], "--station"),
    (["--station", "1", "--street", "广外", "--out", "x.pdf"], "--station"),
    (["--street", "广外", "--out", "x.png"], ".pdf"),
    (["--station", "99999", "--out", "x.png"], "99999"),
    (["--station", "CLOSED", "--out", "x.png"], "开放"),
    (["--station", "1", "--out", "x.svg"], ".png"),
    (["--street", "没有这条街", "--out", "x.pdf"], "没有这条街"),
    (["--station", "abc", "--out", "x.png"], "--station"),
], ids=["neither", "both", "sheet-as-png", "unknown-station", "closed-station", "bad-format",
        "unknown-street", "not-a-number"])
def test_bad_plaque_requests_are_one_line_and_exit_2(store, stations, tmp_path, args, words):
    args = [str(stations["GW-006"].id) if a == "CLOSED" else
            str(tmp_path / a) if a.startswith("x.") else a for a in args]
    result = CliRunner().invoke(cli, ["plaques", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0]


def test_the_public_url_must_be_http(monkeypatch):
    from stations.errors import ValidationError

    assert station_url(5, "https://a.example/x/") == "https://a.example/x/stations/5?src=qr"
    with pytest.raises(ValidationError, match="NUANXIN_PUBLIC_URL"):
        station_url(5, "javascript:alert(1)")


# -- the dashboard --------------------------------------------------------------------------
@pytest.fixture
def dashboard(store, stations):
    add_user(store, "guangwai", PASSWORD, role="street", street="广外")
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": store.url})
    client = app.test_client()
    assert login(client, "guangwai", PASSWORD).status_code == 302
    yield {"app": app, "client": client}
    app.extensions["nuanxin.store"].dispose()


def test_the_dashboard_offers_the_same_plaques_in_scope(dashboard, stations, tmp_path):
    client = dashboard["client"]
    s = stations["GW-001"]
    response = client.get(f"/union/plaques/{s.id}.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    (tmp_path / "d.png").write_bytes(response.data)
    assert decode_qr(tmp_path / "d.png") == [f"{BASE}/stations/{s.id}?src=qr"]
    sheet = client.get("/union/plaques/street.pdf?street=广安门外街道")
    assert sheet.status_code == 200 and sheet.data.startswith(b"%PDF-")
    assert client.get(f"/union/plaques/{stations['DC-001'].id}.png").status_code == 403
    assert client.get("/union/plaques/street.pdf?street=东华门街道").status_code == 403


def test_visits_from_a_plaque_are_counted_per_station_and_week(store, dashboard, stations):
    public = dashboard["app"].test_client()
    s = stations["GW-002"]
    for _ in range(3):
        assert public.get(f"/stations/{s.id}?src=qr").status_code == 200
    assert public.get(f"/stations/{s.id}").status_code == 200  # not from a plaque
    assert public.get("/stations/99999?src=qr").status_code == 404
    today = settings.now().date()
    rows = worker_reports.plaque_visits(store, since=today - timedelta(days=1))
    assert [(r["station_id"], r["day"], r["visits"]) for r in rows] == [(s.id, today, 3)]
    page = dashboard["client"].get("/union/reports").get_data(as_text=True)
    section = page[page.index('id="plaques"'):]
    assert "湾子街道口驿站" in section and "<td>3</td>" in section
