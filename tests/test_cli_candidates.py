"""``nuanxin candidates ...``: exit codes, JSON keys as in INTERFACE.md, the workflow end to end."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from geodata.crs.datums import wgs84_to_gcj02
from webmap.cli import main

SHEET = [
    ["名称", "地址", "类型", "经度", "纬度", "面积 (m²)", "楼层", "是否临街", "开放时间", "设施",
     "进入方式", "联系人", "电话"],
    ["广外银行网点", "", "银行", "116.3353", "39.8801", "20", "1", "是", "每天 6:00-21:00",
     "热水,座椅,微波炉,手机充电,医药箱,空调,卫生间", "直接进入", "李", "010-1"],
    ["二层茶室", "西城区广外红莲中里", "商铺", "", "", "30", "2", "否", "", "", "", "", ""],
    ["", "西城区广外", "", "", "", "", "", "", "", "", "", "", ""],
    ["广外银行网点", "", "银行", "116.3353", "39.8801", "20", "1", "是", "", "", "", "", ""],
]


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, list(args), input=input, env=env)


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "候选单位.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(SHEET)
    return path


def test_import_json_report(store, sheet):
    result = run("candidates", "import", str(sheet), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["imported"] == 2
    assert all({"row", "reason"} <= set(r) for r in report["rejected"])
    assert sorted(r["row"] for r in report["rejected"]) == [3, 4]
    assert report["duplicates"][0]["row"] == 4
    assert report["geocoded"] == {"community": 1}


def test_import_text_report_lists_rows(store, sheet):
    result = run("candidates", "import", str(sheet))
    assert result.exit_code == 0
    assert "已导入 2 个候选单位" in result.stdout and "第 3 行 [名称]" in result.stdout


@pytest.mark.parametrize("args, words", [
    (["candidates", "import", "missing.csv"], "file not found"),
    (["candidates", "import", "SHEET", "--crs", "mars"], "unknown datum"),
    (["candidates", "screen", "--standard", "nope.toml"], "standard file not found"),
    (["candidates", "screen", "--union-street", "火星街道"], "unknown union street"),
    (["candidates", "template", "x.ods"], ".xlsx or .csv"),
    (["candidates", "list", "--stage", "launched"], "unknown stage"),
    (["candidates", "agree", "42"], "no candidate with id 42"),
    (["candidates", "history", "42"], "no candidate with id 42"),
    (["candidates", "visit", "1", "--notes", "n", "--lon", "116.3"], "--lon"),
], ids=["missing-file", "bad-crs", "missing-standard", "unknown-street", "template-type",
        "bad-stage", "unknown-id", "unknown-history", "half-pin"])
def test_user_errors_exit_2_with_one_line(store, sheet, args, words):
    args = [str(sheet) if a == "SHEET" else a for a in args]
    if args[1] == "visit":
        run("candidates", "import", str(sheet))
        run("candidates", "screen")
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_screen_json_keys(store, sheet):
    run("candidates", "import", str(sheet))
    result = run("candidates", "screen", "--json", "--union-street", "广外")  # a jurisdiction
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data) == 2
    for item in data:
        assert {"id", "name", "result", "reasons"} <= set(item)
        assert item["result"] in ("pass", "fail", "unknown")
        for reason in item["reasons"]:
            assert {"rule", "outcome", "detail"} <= set(reason)
            assert reason["outcome"] in ("pass", "fail", "unknown")
    bank = next(i for i in data if i["name"] == "广外银行网点")
    tea = next(i for i in data if i["name"] == "二层茶室")
    assert bank["result"] == "pass" and tea["result"] == "fail"
    text = run("candidates", "screen")
    assert "符合 1" in text.stdout and "不符合 1" in text.stdout


def test_template_command_writes_a_workbook(store, tmp_path):
    path = tmp_path / "模板.xlsx"
    result = run("candidates", "template", str(path))
    assert result.exit_code == 0 and path.exists()
    imported = json.loads(run("candidates", "import", str(path), "--json").stdout)
    assert imported["imported"] == 1 and imported["rejected"] == []


def test_workflow_end_to_end_with_actor_and_audit_log(store, sheet):
    run("candidates", "import", str(sheet))
    run("candidates", "screen", "--actor", "筛选员")
    listed = json.loads(run("candidates", "list", "--stage", "screened", "--json").stdout)
    bank = next(c for c in listed if c["name"] == "广外银行网点")
    cid = str(bank["id"])
    assert bank["allowed_actions"] == ["screen", "visit", "decline"]
    glon, glat = wgs84_to_gcj02(116.3355, 39.8803)
    visited = run("candidates", "visit", cid, "--notes", "一层临街，有卫生间", "--lon", str(glon),
                  "--lat", str(glat), "--crs", "gcj02", "--photo", "a.jpg", "--json",
                  env={"NUANXIN_ACTOR": "走访员"})
    assert visited.exit_code == 0, visited.output
    data = json.loads(visited.stdout)
    assert data["lon"] == pytest.approx(116.3355, abs=1e-7)
    assert data["geocode_precision"] == "exact" and data["location_source"] == "visit_pin"
    illegal = run("candidates", "open", cid)
    assert illegal.exit_code == 2 and "cannot open: visited" in illegal.stderr
    assert run("candidates", "agree", cid, "--actor", "主席").exit_code == 0
    opened = run("candidates", "open", cid, "--json")
    station = json.loads(opened.stdout)
    assert station["code"].startswith("NX-110102020-") and station["candidate_id"] == int(cid)
    nearest = json.loads(run("nearest", "--lon", "116.3355", "--lat", "39.8803", "--json").stdout)
    assert nearest["results"][0]["id"] == station["id"]
    assert nearest["results"][0]["distance_m"] < 0.1
    suspended = run("candidates", "suspend", str(station["id"]), "--station", "--reason", "装修")
    assert suspended.exit_code == 0 and "suspended" in suspended.stdout
    assert run("candidates", "close", cid, "--reason", "搬迁").exit_code == 0
    log = json.loads(run("candidates", "history", cid, "--json").stdout)
    assert [(e["from"], e["to"]) for e in log] == [
        ("candidate", "screened"), ("screened", "visited"), ("visited", "agreed"),
        ("agreed", "opened"), ("opened", "suspended"), ("suspended", "closed")]
    assert [e["actor"] for e in log][:3] == ["筛选员", "走访员", "主席"]
    text = run("candidates", "history", cid)
    assert "已建站" in text.stdout and "装修" in text.stdout
    assert "待筛选 → 已筛选" in text.stdout and "candidate" not in text.stdout
    assert log[0]["from_zh"] == "待筛选" and log[-1]["to_zh"] == "已关闭"


def test_decline_needs_a_reason(store, sheet):
    run("candidates", "import", str(sheet))
    missing = run("candidates", "decline", "1")
    assert missing.exit_code == 2
    done = run("candidates", "decline", "1", "--reason", "单位不同意", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout)["stage"] == "declined"
    again = run("candidates", "decline", "1", "--reason", "x")
    assert again.exit_code == 2 and "cannot decline: declined" in again.stderr
