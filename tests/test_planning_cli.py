"""The planning commands as INTERFACE.md names them: demand import, coverage, site."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from webmap.cli import main


def _run(*args):
    result = CliRunner().invoke(main, list(args))
    return result


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory):
    """The demo loaded once into a SQLite file; each test gets its own copy."""
    from geodata.demo import load_demo
    from stations.store import Store

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    s = Store(f"sqlite:///{path}")
    s.init()
    load_demo(s)
    s.dispose()
    return path


@pytest.fixture
def demo(demo_file, tmp_path, monkeypatch):
    import shutil

    from stations.store import Store

    path = tmp_path / "nuanxin.db"
    shutil.copy(demo_file, path)
    monkeypatch.setenv("NUANXIN_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.setenv("NUANXIN_INSTANCE", str(tmp_path / "instance"))
    s = Store(f"sqlite:///{path}")
    yield s
    s.dispose()


def test_demand_import_json_keys(store, tmp_path):
    path = tmp_path / "demand.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["名称", "经度", "纬度", "人数", "分组", "班次"])
        writer.writerow(["环卫所", "116.34", "39.88", "12", "环卫", "05:00-13:00"])
        writer.writerow(["坏行", "116.34", "39.88", "x", "", ""])
    result = _run("demand", "import", str(path), "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert {"imported", "rejected", "pending_pin", "people"} <= set(body)  # INTERFACE + extras
    assert body["imported"] == 1 and body["people"] == 12
    assert body["rejected"][0]["row"] == 2 and "reason" in body["rejected"][0]


def test_coverage_json_keys(demo):
    result = _run("coverage", "--district", "西城区", "--radius", "1000", "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    for key in ("demand_total", "demand_covered", "covered_share", "multi_covered_share",
                "by_area"):
        assert key in body
    assert body["by_area"] and {"name", "covered_share"} <= set(body["by_area"][0])
    assert 0 < body["covered_share"] <= 1 and body["method"] == "straight_line"


def test_coverage_radius_and_minutes_together_count_within_both(demo):
    """Issue 15: ``--radius`` with ``--minutes`` (was exit 2) means within both: the smaller
    reach, as ``/api/coverage?radius=…&minutes=…``."""
    def covered(*args):
        result = _run("coverage", "--district", "西城区", *args, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    both = covered("--radius", "300", "--minutes", "30")
    assert both["radius_m"] == 300 and both["method"] == "straight_line"
    assert both["demand_covered"] == covered("--radius", "300")["demand_covered"]
    walk = covered("--radius", "5000", "--minutes", "5")
    assert walk == covered("--minutes", "5") | {"radius_m": walk["radius_m"]}
    assert walk["method"] == "straight_line_x_detour"


def test_coverage_options_and_files(demo, tmp_path):
    from openpyxl import load_workbook

    result = _run("coverage", "--street", "广外", "--minutes", "10", "--min-stations", "3",
                  "--at", "2026-03-04T12:00", "--report", str(tmp_path / "r.xlsx"),
                  "--geojson", str(tmp_path / "r.geojson"), "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["method"] == "straight_line_x_detour" and body["min_stations"] == 3
    assert body["at"].startswith("2026-03-04T12:00") and body["radius_m"] == pytest.approx(
        750 / 1.3, abs=0.1)
    assert load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "汇总"
    assert json.loads((tmp_path / "r.geojson").read_text(encoding="utf-8"))["type"] == \
        "FeatureCollection"
    text = _run("coverage", "--street", "广外")
    assert text.exit_code == 0 and "覆盖率" in text.stdout


def test_coverage_with_a_network_file(demo, tmp_path):
    from pathlib import Path

    osm = Path(__file__).parent / "data" / "riverside.osm"
    result = _run("coverage", "--street", "广外", "--radius", "800", "--network", str(osm),
                  "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["method"] == "network" and body["network"]["edges"] == 16


def test_site_json_keys(demo):
    import shapely

    from geodata.places.areas import district_polygon
    from geodata.planning.demand import import_demand
    from stations.candidates import Candidate, add_candidates

    gap = json.loads(_run("coverage", "--district", "西城", "--json").stdout)["gaps"][0]
    assert shapely.intersects_xy(district_polygon("西城区"), gap["lon"], gap["lat"])
    # a crowd where the area view finds its farthest cell: siting then counts people
    with open(demo.url.removeprefix("sqlite:///") + ".csv", "w", encoding="utf-8",
              newline="") as fh:
        csv.writer(fh).writerows([["名称", "经度", "纬度", "人数"],
                                  ["工地", gap["lon"], gap["lat"], 500]])
    import_demand(demo, demo.url.removeprefix("sqlite:///") + ".csv")
    gap["weight"] = 500
    add_candidates(demo, [
        Candidate(name="候选甲", lon=gap["lon"], lat=gap["lat"], screening_result="pass",
                  geocode_precision="input"),
        Candidate(name="候选乙", lon=gap["lon"] + 0.001, lat=gap["lat"],
                  screening_result="fail", geocode_precision="input"),
    ])
    result = _run("site", "--district", "西城", "--radius", "150", "--add", "2", "--exact",
                  "--json")
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    for key in ("chosen", "covered_before", "covered_after"):
        assert key in body
    names = [c["name"] for c in body["chosen"]]
    # the gap candidate first; the failed one never (passing demo candidates may fill slot 2)
    assert names[0] == "候选甲" and "候选乙" not in names
    for c in body["chosen"]:
        assert {"id", "name", "lon", "lat", "gain"} <= set(c)
    assert body["chosen"][0]["gain"] >= gap["weight"]
    assert body["covered_after"] == pytest.approx(body["covered_before"]
                                                  + sum(c["gain"] for c in body["chosen"]))
    assert body["candidates_excluded"]["not_passed"] >= 1


@pytest.mark.parametrize("args, match", [
    (["coverage", "--district", "西城县"], "close matches: "),
    (["coverage", "--radius", "abc"], "--radius"),
    (["coverage", "--min-stations", "0"], "--min-stations"),
    (["coverage", "--at", "noon-ish"], "ISO 8601"),
    (["coverage", "--network", "/nonexistent/x.osm"], "not found"),
    (["site", "--radius", "500"], "--add"),
    (["site", "--add", "-1"], "--add"),
    (["demand", "import", "/nonexistent/demand.csv"], "not found"),
], ids=["unknown-district", "bad-radius", "zero-n", "bad-time",
        "missing-network", "no-add", "negative-add", "missing-file"])
def test_bad_input_is_one_line_and_exit_2(store, args, match):
    result = _run(*args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], result.stderr
    assert "Traceback" not in result.output
