"""The screening standard: each rule on its own (pass / fail / unknown), hard vs scored rules,
the TOML file a union edits, and a full run over the shipped demo candidates.

The shipped standard names no place (issue 10): tests that need a jurisdiction screen as the
demo's union (:data:`geodata.demo.DEMO_UNION`, 广安门外街道), passed in the context."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geodata.demo import DEMO_UNION
from stations.amenities import empty_amenities, parse_amenity_list
from stations.candidates import Candidate
from stations.errors import ValidationError
from stations.standard import (
    DEFAULT_STANDARD_PATH,
    RULES,
    ScreeningContext,
    Standard,
    area_key,
    load_standard,
)

FULL_KIT = "热水,座椅,微波炉,手机充电,医药箱,空调,卫生间"


def good_candidate(**changes) -> Candidate:
    """A candidate that meets every rule of the default standard."""
    values = dict(name="广外某银行网点", area_m2=15, floor=1, street_facing=True,
                  amenities=parse_amenity_list(FULL_KIT), opening_hours="Mo-Su 06:00-21:00",
                  access="open", district="西城区", street="广安门外街道")
    values.update(changes)
    return Candidate(**values)


#: As the demo's union (the jurisdiction comes from the union, not the standard).
AS_DEMO_UNION = {"union_district": DEMO_UNION["district"], "union_street": DEMO_UNION["street"]}
GAP_OPEN = ScreeningContext(nearest_open_station_m=2000.0, dense_area=False, **AS_DEMO_UNION)


@pytest.fixture(scope="module")
def standard() -> Standard:
    return load_standard(DEFAULT_STANDARD_PATH)


def outcome(standard, rule, candidate, context=GAP_OPEN):
    found = standard.rule(rule).evaluate(candidate, context)
    return found.outcome, found.detail, found.score


# -- rule by rule ---------------------------------------------------------------------------
@pytest.mark.parametrize("area, expected", [
    (15, "pass"), (12, "pass"), (11.9, "fail"), (8, "fail"), (None, "unknown"),
], ids=["15", "12-exactly", "11.9", "8", "missing"])
def test_area_rule(standard, area, expected):
    got, detail, _ = outcome(standard, "area", good_candidate(area_m2=area))
    assert got == expected
    assert "12 m²" in detail


@pytest.mark.parametrize("floor, facing, expected, words", [
    (1, True, "pass", "一层且临街"),
    (2, True, "fail", "第 2 层"),
    (-1, None, "fail", "地下 1 层"),
    (1, False, "fail", "不临街"),
    (None, False, "fail", "不临街"),
    (1, None, "unknown", "是否临街"),
    (None, True, "unknown", "楼层"),
    (None, None, "unknown", "楼层和是否临街"),
], ids=["ground-street", "second", "basement", "not-facing", "floor-unknown-not-facing",
        "facing-unknown", "floor-unknown", "both-unknown"])
def test_ground_floor_rule(standard, floor, facing, expected, words):
    got, detail, _ = outcome(standard, "ground_floor",
                             good_candidate(floor=floor, street_facing=facing))
    assert got == expected
    assert words in detail


@pytest.mark.parametrize("changes, expected, words", [
    ({}, "pass", "齐全"),
    ({"hot_water": "unknown"}, "pass", "齐全"),  # drinking water or hot water is enough...
    ({"hot_water": "no", "drinking_water": "no"}, "fail", "饮用水或热水"),  # ...but one is needed
    ({"microwave": "no"}, "fail", "微波炉"),
    ({"microwave": "unknown"}, "unknown", "微波炉"),
    ({"cooling": "no", "heating": "yes"}, "pass", "取暖"),
    ({"cooling": "no", "heating": "no"}, "fail", "取暖或空调降温"),
    ({"first_aid": "no", "seats": "unknown"}, "fail", "未确认：座椅"),
], ids=["full", "water-either", "no-water", "no-microwave", "microwave-unknown",
        "heating-instead-of-cooling", "no-climate", "fail-and-unknown"])
def test_core_kit_rule(standard, changes, expected, words):
    amenities = parse_amenity_list(FULL_KIT)
    amenities["drinking_water"] = "yes"
    amenities.update(changes)
    got, detail, _ = outcome(standard, "core_kit", good_candidate(amenities=amenities))
    assert got == expected
    assert words in detail


def test_core_kit_all_unknown_is_unknown_never_pass(standard):
    got, _, score = outcome(standard, "core_kit", good_candidate(amenities=empty_amenities()))
    assert (got, score) == ("unknown", 0)


@pytest.mark.parametrize("toilet, nearby, expected", [
    ("yes", None, "pass"), ("no", True, "pass"), ("unknown", True, "pass"),
    ("no", False, "fail"), ("no", None, "unknown"), ("unknown", None, "unknown"),
    ("unknown", False, "unknown"),
], ids=["on-site", "nearby-arranged", "unknown-but-arranged", "none", "no-arrangement-unknown",
        "unknown", "unknown-no-nearby"])
def test_toilet_rule(standard, toilet, nearby, expected):
    amenities = parse_amenity_list(FULL_KIT)
    amenities["toilet"] = toilet
    got, _, _ = outcome(standard, "toilet", good_candidate(amenities=amenities,
                                                           toilet_nearby=nearby))
    assert got == expected


@pytest.mark.parametrize("hours, expected", [
    ("Mo-Fr 09:00-17:00", "pass"),
    ("周一至周五 8:30-11:00，13:30-17:00", "fail"),  # split hours: 6 h a day
    ("Mo-Fr 09:00-16:00", "fail"),
    ("Mo-Th 09:00-17:00", "fail"),  # 8 h but only 4 days
    ("24/7", "pass"),
    ("每天 22:00-06:00", "pass"),  # past midnight counts for the day it starts
    ("", "unknown"),
    ("未知", "unknown"),
], ids=["weekdays-9-5", "split", "7h", "four-days", "24-7", "night", "blank", "unknown"])
def test_hours_rule(standard, hours, expected):
    got, _, _ = outcome(standard, "hours", good_candidate(opening_hours=hours))
    assert got == expected


@pytest.mark.parametrize("hours, expected, score", [
    ("每天 06:00-18:00", "pass", 5.0),
    ("每天 09:00-21:00", "pass", 5.0),
    ("每天 06:00-21:00", "pass", 10.0),
    ("24/7", "pass", 10.0),
    ("Mo-Fr 07:00-20:00", "fail", 0.0),  # exactly 07:00 and 20:00 are not early/late
    ("", "unknown", 0.0),
], ids=["early", "late", "both", "24-7", "neither", "blank"])
def test_shift_cover_is_a_scored_plus(standard, hours, expected, score):
    rule = standard.rule("shift_cover")
    assert rule.hard is False
    got, _, points = outcome(standard, "shift_cover", good_candidate(opening_hours=hours))
    assert (got, points) == (expected, score)


@pytest.mark.parametrize("access, expected, score", [
    ("open", "pass", 10.0), ("ask_staff", "pass", 5.0), ("register", "fail", 0.0),
    ("unknown", "unknown", 0.0),
])
def test_access_rule(standard, access, expected, score):
    got, detail, points = outcome(standard, "access", good_candidate(access=access))
    assert (got, points) == (expected, score)
    if access == "register":
        assert "注册" in detail


@pytest.mark.parametrize("district, street, expected", [
    ("西城区", "广安门外街道", "pass"),
    ("西城区", "广安门外", "pass"),  # names compared without their suffix
    ("西城区", "广安门内街道", "fail"),
    ("朝阳区", "", "fail"),
    ("西城区", "", "unknown"),
    ("", "", "unknown"),
], ids=["same", "short", "other-street", "other-district", "street-unknown", "nothing"])
def test_in_area_rule(standard, district, street, expected):
    got, _, _ = outcome(standard, "in_area", good_candidate(district=district, street=street))
    assert got == expected


def test_in_area_uses_the_context_union(standard):
    ctx = ScreeningContext(union_district="西城区", union_street="广安门内街道")
    got, detail, _ = outcome(standard, "in_area", good_candidate(), ctx)
    assert got == "fail" and "广安门内街道" in detail


@pytest.mark.parametrize("distance, dense, share", [
    (math.inf, False, 1.0), (1500, False, 1.0), (1000, False, 1.0), (650, False, 0.5),
    (300, False, 0.0), (100, False, 0.0), (650, True, 1.0), (325, True, 0.5), (100, True, 0.0),
], ids=["no-station", "1.5km", "1km", "650m", "300m", "100m", "dense-650", "dense-325",
        "dense-100"])
def test_gap_rule_scores_distance(standard, distance, dense, share):
    ctx = ScreeningContext(nearest_open_station_m=distance, dense_area=dense)
    got, _, score = outcome(standard, "gap", good_candidate(), ctx)
    assert got == "pass"
    assert score == pytest.approx(30 * share)


def test_gap_rule_without_a_precise_position_is_unknown(standard):
    got, detail, score = outcome(standard, "gap", good_candidate(), ScreeningContext())
    assert (got, score) == ("unknown", 0) and "位置" in detail


@given(distance=st.floats(min_value=0, max_value=50_000, allow_nan=False),
       dense=st.sampled_from([True, False, None]))
def test_gap_never_fails_a_host_that_meets_the_standard(distance, dense):
    standard = load_standard(DEFAULT_STANDARD_PATH)
    result = standard.evaluate(good_candidate(),
                               ScreeningContext(nearest_open_station_m=distance, dense_area=dense))
    gap = next(r for r in result.reasons if r.rule == "gap")
    assert gap.outcome != "fail" and not gap.hard
    assert result.result == "pass"


# -- overall result ---------------------------------------------------------------------------
def test_a_good_candidate_passes_with_the_full_score(standard):
    result = standard.evaluate(good_candidate(), GAP_OPEN)
    assert result.result == "pass"
    assert result.score == result.max_score == 100
    assert [r.rule for r in result.reasons] == list(RULES)


def test_one_hard_fail_fails_whatever_else(standard):
    result = standard.evaluate(good_candidate(area_m2=8, access="unknown"), GAP_OPEN)
    assert result.result == "fail"


def test_hard_unknown_without_fail_is_unknown(standard):
    result = standard.evaluate(good_candidate(area_m2=None), GAP_OPEN)
    assert result.result == "unknown"
    assert "使用面积待确认" in result.summary_zh()


def test_scored_rule_failing_does_not_fail_the_candidate(standard):
    result = standard.evaluate(good_candidate(opening_hours="Mo-Fr 09:00-17:00"),
                               ScreeningContext(nearest_open_station_m=50, dense_area=True,
                                                **AS_DEMO_UNION))
    scored = {r.rule: r for r in result.reasons if not r.hard}
    assert scored["shift_cover"].outcome == "fail" and scored["gap"].score == 0
    assert result.result == "pass"
    assert result.score == 60  # 7 hard rules' weights, no scored points


def test_missing_data_never_passes(standard):
    result = standard.evaluate(Candidate(name="空白"), ScreeningContext(**AS_DEMO_UNION))
    assert {r.outcome for r in result.reasons} == {"unknown"}
    assert result.result == "unknown" and result.score == 0


def test_ranking_score_prefers_filling_a_gap(standard):
    near = standard.evaluate(good_candidate(), ScreeningContext(nearest_open_station_m=200,
                                                                dense_area=False))
    far = standard.evaluate(good_candidate(), ScreeningContext(nearest_open_station_m=1200,
                                                               dense_area=False))
    assert near.result == far.result == "pass"
    assert far.score > near.score


def test_area_key_folds_suffixes():
    assert area_key("广安门外街道") == area_key("广安门外") == area_key("北京市广安门外街道办事处")
    assert area_key("西城区") == "西城"


# -- the file the union edits -----------------------------------------------------------------
def test_default_file_lists_every_rule_with_the_published_thresholds(standard):
    assert {r.name for r in standard.rules} == set(RULES)
    assert standard.rule("area").params["min_m2"] == 12
    assert standard.rule("gap").params["radius_m"] == 1000
    assert standard.rule("gap").params["dense_radius_m"] == 500
    assert standard.rule("hours").params["min_hours_per_day"] == 8
    assert "[union]" not in DEFAULT_STANDARD_PATH.read_text(encoding="utf-8")  # no place
    assert DEMO_UNION == {"district": "西城区", "street": "广安门外街道"}  # the demo's union
    hard = {r.name for r in standard.rules if r.hard}
    assert hard == {"area", "ground_floor", "core_kit", "toilet", "hours", "access", "in_area"}


def test_params_of_a_switched_off_rule_are_its_defaults():
    """The screening context still needs the gap rule's density numbers: from RULES, once."""
    no_gap = Standard.from_mapping({"rules": {"area": {}, "gap": {"enabled": False}}})
    assert no_gap.rule("gap") is None
    assert no_gap.params("gap") == RULES["gap"][2]
    tuned = Standard.from_mapping({"rules": {"gap": {"dense_min_communities": 5}}})
    assert tuned.params("gap")["dense_min_communities"] == 5
    tuned.params("gap")["dense_min_communities"] = 1  # a copy: the standard is unchanged
    assert tuned.params("gap")["dense_min_communities"] == 5


def write(tmp_path, text: str):
    path = tmp_path / "standard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_edited_file_changes_the_verdict(tmp_path):
    text = DEFAULT_STANDARD_PATH.read_text(encoding="utf-8").replace("min_m2 = 12.0",
                                                                     "min_m2 = 20.0")
    edited = load_standard(write(tmp_path, text))
    assert edited.evaluate(good_candidate(), GAP_OPEN).result == "fail"


def test_env_variable_selects_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, '[rules.area]\nmin_m2 = 30\n')
    monkeypatch.setenv("NUANXIN_STANDARD", str(path))
    chosen = load_standard()
    assert [r.name for r in chosen.rules] == ["area"]
    assert chosen.evaluate(good_candidate()).result == "fail"


def test_a_rule_can_be_switched_off_or_made_scored(tmp_path):
    path = write(tmp_path, "[rules.area]\nhard = false\n[rules.access]\nenabled = false\n")
    chosen = load_standard(path)
    assert chosen.rule("access") is None
    result = chosen.evaluate(good_candidate(area_m2=5, access="register"))
    assert result.result == "pass"  # the only rule left is scored


@pytest.mark.parametrize("text, match", [
    ("[rules.aera]\n", "aera"),
    ("[rules.area]\nmin_m3 = 12\n", "min_m3"),
    ("[rules.area]\nmin_m2 = -1\n", "min_m2"),
    ("[rules.gap]\nhard = true\n", "never fails"),
    ('[rules.core_kit]\ngroups = [["sofa"]]\n', "sofa"),
    ('[rules.shift_cover]\nearly_before = "7am"\n', "HH:MM"),
    ('[rules.in_area]\nlevel = "city"\n', "street 或 district"),
    ("[rules.area\n", "TOML"),
    ("[standard]\nname = 'x'\n", "no rules"),
    ("[extra]\n[rules.area]\n", "extra"),
    ('[union]\nstreet = "月坛街道"\n[rules.area]\n', r"remove the \[union\] table"),
], ids=["unknown-rule", "unknown-param", "negative", "gap-hard", "unknown-amenity", "bad-time",
        "bad-level", "bad-toml", "no-rules", "unknown-table", "union-in-the-file"])
def test_bad_files_are_refused_with_a_reason(tmp_path, text, match):
    with pytest.raises(ValidationError, match=match):
        load_standard(write(tmp_path, text))


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ValidationError, match="standard file not found"):
        load_standard(tmp_path / "nope.toml")


# -- a full run over the shipped demo candidates ------------------------------------------------
def test_full_run_over_the_demo_candidates(store):
    import csv

    from geodata.crs.projection import to_metric
    from geodata.demo import DEMO_DIR, load_demo
    from geodata.io.candidates import screen_candidates
    from stations.candidates import list_candidates

    load_demo(store)
    with open(DEMO_DIR / "demo_candidates.csv", encoding="utf-8") as fh:
        sheet = list(csv.DictReader(fh))
    results = screen_candidates(store, union_district=DEMO_UNION["district"],
                                union_street=DEMO_UNION["street"])
    assert len(results) == len(sheet) == len(list_candidates(store))
    by_name = {r["name"]: r for r in results}
    for r in results:
        assert r["result"] in ("pass", "fail", "unknown")
        assert [x["rule"] for x in r["reasons"]] == list(RULES)
        assert all(x["outcome"] in ("pass", "fail", "unknown") and x["detail"]
                   for x in r["reasons"])
        hard = [x["outcome"] for x in r["reasons"] if x["hard"]]
        expected = "fail" if "fail" in hard else "unknown" if "unknown" in hard else "pass"
        assert r["result"] == expected
    # rows the README says clearly fail, each for its own reason
    why = {name: {x["rule"] for x in by_name[name]["reasons"] if x["outcome"] == "fail"}
           for name in ("车站西街便利店", "马连道茶叶市场商户服务站", "莲花河物业地下活动室",
                        "手帕口物业服务中心")}
    assert "area" in why["车站西街便利店"]
    assert "access" in why["马连道茶叶市场商户服务站"]
    assert "ground_floor" in why["莲花河物业地下活动室"]
    assert "ground_floor" in why["手帕口物业服务中心"]
    # the gap rule's distance agrees with brute force over the open stations (in metres)
    stations = store.list_stations(status="open")
    sx, sy = to_metric([s.lon for s in stations], [s.lat for s in stations])
    checked = 0
    for c in list_candidates(store):
        gap = next(x for x in c.screening if x["rule"] == "gap")
        if not c.precisely_located:
            assert gap["outcome"] == "unknown"
            continue
        cx, cy = to_metric(c.lon, c.lat)
        nearest = min(math.hypot(float(cx) - x, float(cy) - y) for x, y in zip(sx, sy, strict=True))
        shown = _metres_in(gap["detail"])
        assert shown == pytest.approx(nearest, abs=1.0) or (nearest >= 1000 and shown >= 1000)
        checked += 1
    assert checked >= 20


def _metres_in(detail: str) -> float:
    import re

    m = re.search(r"最近(?:开放)?站点(?:（[^）]*）)?\s*(?:仅\s*)?([\d.]+) (m|km)", detail)
    assert m, detail
    return float(m.group(1)) * (1000 if m.group(2) == "km" else 1)
