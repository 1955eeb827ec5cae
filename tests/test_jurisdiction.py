"""Jurisdiction comes from the union, not the file (issue 10, item 2).

The shipped standard names no place: screening's ``in_area`` rule applies the acting account's
area (dashboard, see tests/test_scope.py) or ``--union-district``/``--union-street`` (CLI); with
no jurisdiction it is ``not_applicable`` — reported, never a fail, left out of the result and the
best possible score. The demo plays its own union (广安门外街道) through the demo data.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

from geodata.demo import DEMO_UNION, load_demo
from geodata.io.candidates import screen_candidates
from stations.amenities import parse_amenity_list
from stations.candidates import Candidate, add_candidates, list_candidates
from stations.standard import (
    DEFAULT_STANDARD_PATH,
    NOT_APPLICABLE,
    ScreeningContext,
    load_standard,
)
from webmap.cli import main

#: A host that meets every rule, in 东城区 (far outside 广安门外街道), pinned precisely.
DONGCHENG = dict(name="东华门某银行网点", lon=116.4009943, lat=39.9146897,
                 geocode_precision="input", district="东城区", street="东华门街道", area_m2=15,
                 floor=1, street_facing=True, opening_hours="Mo-Su 06:00-21:00", access="open",
                 amenities=parse_amenity_list("热水,座椅,微波炉,手机充电,医药箱,空调,卫生间"))


def _in_area(result: dict) -> dict:
    return next(r for r in result["reasons"] if r["rule"] == "in_area")


def test_the_shipped_standard_names_no_place():
    text = DEFAULT_STANDARD_PATH.read_text(encoding="utf-8")
    assert "[union]" not in text and "广安门外街道" not in text
    assert load_standard().rule("in_area") is not None  # the rule is there, the place is not


def test_a_fresh_store_screens_a_candidate_outside_guangwai_without_failing_in_area(store):
    add_candidates(store, [Candidate(**DONGCHENG)])
    (result,) = screen_candidates(store)
    in_area = _in_area(result)
    assert in_area["outcome"] == NOT_APPLICABLE and "不适用" in in_area["detail"]
    assert result["result"] == "pass"  # the overall result ignores it
    standard = load_standard()
    assert result["max_score"] == standard.max_score - standard.rule("in_area").weight
    assert "位于本工会辖区" not in result["summary"]


def test_the_union_given_on_the_command_line_applies(store):
    add_candidates(store, [Candidate(**DONGCHENG)])
    runner = CliRunner()
    free = json.loads(runner.invoke(main, ["candidates", "screen", "--json"]).stdout)
    # INTERFACE.md: outcomes are pass/fail/unknown; without a union in_area is not applied
    assert free[0]["result"] == "pass"
    assert "in_area" not in {r["rule"] for r in free[0]["reasons"]}
    assert {r["outcome"] for r in free[0]["reasons"]} <= {"pass", "fail", "unknown"}
    result = runner.invoke(main, ["candidates", "screen", "--json", "--union-street", "广外"])
    assert result.exit_code == 0, result.output
    (screened,) = json.loads(result.stdout)
    assert _in_area(screened)["outcome"] == "fail" and screened["result"] == "fail"
    assert "广安门外街道" in _in_area(screened)["detail"]
    by_district = json.loads(runner.invoke(main, ["candidates", "screen", "--json",
                                                  "--union-district", "东城"]).stdout)
    assert _in_area(by_district[0])["outcome"] == "pass"


@pytest.mark.parametrize("args, words", [
    (["--union-street", "火星街道"], "unknown union street"),
    (["--union-district", "火星区"], "unknown union district"),
    (["--union-district", "东城区", "--union-street", "广外"], "not in 东城区"),
], ids=["unknown-street", "unknown-district", "street-outside-district"])
def test_a_bad_union_is_one_line_exit_2(store, args, words):
    result = CliRunner().invoke(main, ["candidates", "screen", *args])
    assert result.exit_code == 2 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_not_applicable_is_reported_and_counts_for_nothing():
    standard = load_standard()
    candidate = Candidate(**DONGCHENG)
    gap = dict(nearest_open_station_m=2000.0, dense_area=False)
    free = standard.evaluate(candidate, ScreeningContext(**gap))
    ours = standard.evaluate(candidate, ScreeningContext(
        **gap, union_district="东城区", union_street="东华门街道"))
    assert [r.rule for r in free.reasons] == [r.rule for r in ours.reasons]
    assert free.result == ours.result == "pass"
    assert ours.score == ours.max_score == standard.max_score
    weight = standard.rule("in_area").weight
    assert free.score == free.max_score == standard.max_score - weight
    assert "不适用" not in free.summary_zh()


def test_the_demo_plays_guangwai_and_keeps_its_figures(store):
    """``make run``'s demo: 26 pass, 11 fail, 8 to be confirmed, screened as 广安门外街道."""
    assert DEMO_UNION == {"district": "西城区", "street": "广安门外街道"}
    load_demo(store)
    candidates = list_candidates(store)
    assert Counter(c.screening_result for c in candidates) == {"pass": 26, "fail": 11,
                                                               "unknown": 8}
    outcomes = Counter(next(r["outcome"] for r in c.screening if r["rule"] == "in_area")
                       for c in candidates)
    assert outcomes == {"pass": 45}
    assert {(c.district, c.street) for c in candidates} == {("西城区", "广安门外街道")}
