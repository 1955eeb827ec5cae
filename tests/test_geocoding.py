"""The offline geocoder: the address parser, precision honesty, POIs from the store, the cache,
and accuracy on a test set built from the shipped gazetteer with realistic variations."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from pyproj import Geod

from geodata.places.addresses import normalise_text, parse_address, strip_admin_suffix
from geodata.places.gazetteer import load_gazetteer
from geodata.places.geocoding import PRECISIONS, Geocoder, GeocodeResult
from stations.candidates import Candidate, add_candidates
from stations.records import Station
from stations.schema import geocode_cache_table
from webmap.cli import main

GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


@pytest.fixture(scope="module")
def geocoder(gazetteer):
    return Geocoder(gazetteer=gazetteer, cache=False)


def place(gazetteer, name, kind="community"):
    pool = gazetteer.communities if kind == "community" else gazetteer.streets
    return next(p for p in pool if p.name == name)


# -- parser ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("北京市西城区广安门外街道红莲南里社区居委会红莲南街6号院3号楼2单元101",
     dict(province="北京市", city="北京市", district="西城区", street="广安门外街道",
          community="红莲南里社区居委会", road="红莲南街", house_number="6号院", building="3号楼",
          unit="2单元", room="101")),
    ("朝阳区建国路８８号", dict(district="朝阳区", road="建国路", house_number="88号")),
    ("吉林省长春市朝阳区人民大街1号",
     dict(province="吉林省", city="长春市", district="朝阳区", road="人民大街",
          house_number="1号")),
    ("辽宁省朝阳市双塔区", dict(province="辽宁省", city="朝阳市", district="双塔区")),
    ("广外街道鸭子桥社区", dict(street="广外街道", community="鸭子桥社区")),
    ("南磨房地区平乐园社区", dict(street="南磨房地区", community="平乐园社区")),
    ("西城区红莲南里小区12号楼", dict(district="西城区", community="红莲南里小区",
                                   building="12号楼")),
    ("朝阳区城市华庭社区", dict(district="朝阳区", community="城市华庭社区")),
    ("北京 西城区 马连道 12号", dict(province="北京市", city="北京市", district="西城区",
                                  house_number="12号")),
], ids=["everything", "fullwidth", "changchun", "chaoyang-city", "short-street", "diqu",
        "xiaoqu", "not-a-city", "spaces"])
def test_parse_address(text, expected):
    parts = parse_address(text).as_dict()
    for key in ("province", "city", "district", "street", "community", "road", "house_number",
                "building", "unit", "room"):
        assert parts[key] == expected.get(key, ""), key


def test_normalise_text_folds_width_case_and_punctuation():
    folded = normalise_text("北京市 西城区，广外（红莲南里）１２号Ａ座")
    assert folded == "北京市西城区广外红莲南里12号a座"


@pytest.mark.parametrize("name, core", [
    ("广安门外街道", "广安门外"), ("鸭子桥社区居委会", "鸭子桥"), ("西城区", "西城"),
    ("南磨房地区", "南磨房"), ("岳家营村委会", "岳家营"), ("城区", "城区"),
])
def test_strip_admin_suffix(name, core):
    assert strip_admin_suffix(name) == core


# -- precision honesty --------------------------------------------------------------------------
def test_community_address_gets_the_community_point(geocoder, gazetteer):
    red = place(gazetteer, "红莲南里社区居委会")
    r = geocoder.geocode("北京市西城区广安门外街道红莲南里社区红莲南街6号")
    assert (r.precision, r.lon, r.lat, r.community) == ("community", red.lon, red.lat, red.name)
    assert "红莲南里" in r.matched and r.street == "广安门外街道" and r.district_code == "110102"


@pytest.mark.parametrize("address", [
    "西城区广外红莲南里6号楼", "广外红莲南里", "西城区广安门外街道红莲南里社区居委会",
    "西城区红莲南里社区", "广安门外街道红莲南里", "guanganmenwai 红莲南里",
], ids=["abbr", "abbr-only", "juweihui", "no-street", "no-district", "pinyin-street"])
def test_guangwai_variants_find_the_same_community(geocoder, gazetteer, address):
    red = place(gazetteer, "红莲南里社区居委会")
    r = geocoder.geocode(address)
    assert r.precision == "community" and (r.lon, r.lat) == (red.lon, red.lat)


def test_street_only_address_says_street(geocoder, gazetteer):
    gw = place(gazetteer, "广安门外街道", "street")
    for address in ("西城区广安门外街道", "广外", "北京市西城区广外街道办事处"):
        r = geocoder.geocode(address)
        assert (r.precision, r.lon, r.lat) == ("street", gw.lon, gw.lat), address


def test_community_without_point_falls_back_to_its_street_and_says_so(geocoder, gazetteer):
    lake = place(gazetteer, "青年湖社区居委会")
    assert lake.lon is None
    gw = place(gazetteer, "广安门外街道", "street")
    r = geocoder.geocode("西城区广外青年湖社区")
    assert (r.precision, r.lon, r.lat) == ("street", gw.lon, gw.lat)
    assert r.community == lake.name and "无坐标" in r.matched


@pytest.mark.parametrize("address, precision", [
    ("朝阳区建国路88号", "district"),  # no road gazetteer offline: never a road point
    ("西城区广安门外大街168号", "district"),  # a road named after the street is a road
    ("宣武区", "district"),  # old district name
    ("北京市", "city"),
    ("鸭子桥路5号", "none"),  # a road alone, no district
    ("吉林省长春市朝阳区人民大街1号", "none"),  # 朝阳区 of another city
    ("辽宁省朝阳市", "none"),
    ("上海市黄浦区南京东路1号", "none"),
    ("", "none"),
    ("随便写写", "none"),
])
def test_never_claims_more_than_it_knows(geocoder, address, precision):
    r = geocoder.geocode(address)
    assert r.precision == precision
    assert (r.lon is None) == (precision == "none")
    assert r.precision not in ("exact", "poi", "road")


def test_chaoyang_is_beijing_unless_said_otherwise(geocoder):
    r = geocoder.geocode("朝阳区")
    assert (r.precision, r.district, r.district_code) == ("district", "朝阳区", "110105")


def test_ambiguous_street_name_without_district_claims_nothing_precise(geocoder):
    # 八里庄街道 exists in 朝阳区 and 海淀区
    assert geocoder.geocode("八里庄街道").precision == "none"
    assert geocoder.geocode("海淀区八里庄街道").district == "海淀区"


def test_typo_inside_a_known_street_is_forgiven_with_lower_confidence(geocoder, gazetteer):
    duck = place(gazetteer, "鸭子桥社区居委会")
    exact = geocoder.geocode("西城区广外鸭子桥社区")
    typo = geocoder.geocode("西城区广外鸭子乔社区")
    assert (typo.precision, typo.lon, typo.lat) == ("community", duck.lon, duck.lat)
    assert typo.confidence < exact.confidence


def test_result_keys_and_precision_vocabulary(geocoder):
    d = geocoder.geocode("西城区").as_dict()
    assert list(d)[:6] == ["query", "lon", "lat", "precision", "matched", "confidence"]
    assert d["precision"] in PRECISIONS
    assert GeocodeResult.from_dict(d) == geocoder.geocode("西城区")


# -- POIs from the store, cache ------------------------------------------------------------------
def test_store_stations_and_candidates_are_pois(store):
    store.add_stations([Station(name="北京宝林轩国际大酒店暖心驿站", lon=116.3351, lat=39.8790,
                                address="北京市西城区广安门外大街168号", district="西城区")])
    add_candidates(store, [
        Candidate(name="马连道茶城服务站", lon=116.3260, lat=39.8870, geocode_precision="input",
                  address="西城区马连道路6号", district="西城区"),
        Candidate(name="只定位到街道的候选", lon=116.3339, lat=39.8780,
                  geocode_precision="street", address="西城区广外某处9号"),
    ])
    g = Geocoder(store)
    hotel = g.geocode("西城区广外北京宝林轩国际大酒店")
    assert (hotel.precision, hotel.lon, hotel.lat) == ("poi", 116.3351, 39.8790)
    exact = g.geocode("北京市西城区广安门外大街168号")
    assert (exact.precision, exact.lon) == ("exact", 116.3351)
    tea = g.geocode("马连道茶城服务站")
    assert (tea.precision, tea.lon) == ("poi", 116.3260)
    # a candidate located only to a street centre is never a POI
    assert g.geocode("西城区广外某处9号").precision == "street"


def test_new_station_refreshes_the_geocoder(store):
    g = Geocoder(store)
    assert g.geocode("红莲南路银行营业厅").precision == "none"
    store.add_stations([Station(name="红莲南路银行营业厅", lon=116.33, lat=39.88)])
    g._checked = 0.0  # skip the one-second version-check throttle
    assert g.geocode("红莲南路银行营业厅").precision == "poi"


def test_geocode_many_caches_in_the_store(store, capsys):
    addresses = ["西城区广外红莲南里", "西城区广外鸭子桥社区", "西城区广外红莲南里"]
    first = Geocoder(store).geocode_many(addresses, progress=True)
    assert "地理编码" in capsys.readouterr().err  # the progress bar went to stderr
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(geocode_cache_table.c.query)).scalars().all()
    assert len(rows) == 2 and all("红莲南里" in r or "鸭子桥" in r for r in rows)
    second = Geocoder(store)

    def refuse(*args, **kwargs):
        raise AssertionError("should have come from the cache table")

    second._geocode = refuse
    again = second.geocode_many(addresses, progress=False)
    assert [r.as_dict() for r in again] == [r.as_dict() for r in first]
    store.add_stations([Station(name="新站", lon=116.3, lat=39.9)])  # stale after a change
    third = Geocoder(store)
    third._geocode = refuse
    with pytest.raises(AssertionError, match="cache table"):
        third.geocode_many(addresses[:1], progress=False)


# -- accuracy on a test set built from the gazetteer -------------------------------------
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def build_test_set(gazetteer, *, seed: int = 20240611, communities: int = 500,
                   streets: int = 150) -> list[tuple[str, str, object]]:
    """(variation, address, true place) triples. Names that are not unique within the scope
    the address gives are left out: no geocoder can resolve them."""
    rng = random.Random(seed)
    core = strip_admin_suffix
    by_district = Counter((c.district_code, core(c.name)) for c in gazetteer.communities)
    by_street = Counter((c.street_code, core(c.name)) for c in gazetteer.communities)
    street_of = {s.code: s for s in gazetteer.streets}
    cjk = [chr(x) for x in range(0x4E00, 0x4E00 + 3000)]
    items = []
    pool = [c for c in gazetteer.communities if c.has_point]
    for c in rng.sample(pool, communities):
        s = street_of.get(c.street_code)
        name, n = core(c.name), rng.randint(1, 40)
        if s is not None and by_street[(c.street_code, name)] == 1:
            short = next(f for f, k in s.forms if k == "short")
            items.append(("full", f"北京市{c.district}{s.name}{c.name}{n}号楼", c))
            items.append(("short_street", f"{c.district}{short}{name}{n}号楼", c))
            if len(name) >= 3:
                i = rng.randrange(len(name))
                typo = name[:i] + rng.choice([x for x in cjk if x != name[i]]) + name[i + 1:]
                items.append(("typo", f"{c.district}{s.name}{typo}社区", c))
        if by_district[(c.district_code, name)] == 1:
            items.append(("missing_city", f"{c.district}{name}社区", c))
            items.append(("juweihui", f"{c.district}{name}社区居委会", c))
            items.append(("fullwidth", f"{c.district}{name}{str(n).translate(_FULLWIDTH)}号楼",
                          c))
    for s in rng.sample([s for s in gazetteer.streets if s.has_point], streets):
        items.append(("street", f"{s.district}{s.name}", s))
        pinyin = [f for f, k in s.forms if k == "pinyin"]
        if pinyin:
            items.append(("pinyin", pinyin[0], s))
    return items


def evaluate(geocoder, items) -> dict:
    """Precision-level accuracy, wrong answers and errors in metres per variation."""
    stats: dict[str, dict] = {}
    errors = []
    for kind, address, truth in items:
        r = geocoder.geocode(address)
        want = truth.kind
        right_place = (r.community == truth.name if want == "community"
                       else r.street == truth.name)
        s = stats.setdefault(kind, {"n": 0, "hit": 0, "wrong": 0})
        s["n"] += 1
        if r.precision == want and right_place:
            s["hit"] += 1
        elif r.precision == want or (r.precision == "street" and want == "community"
                                      and r.street_code != truth.street_code):
            s["wrong"] += 1
        if r.lon is not None:
            errors.append(GEOD.inv(truth.lon, truth.lat, r.lon, r.lat)[2])
    total = sum(s["n"] for s in stats.values())
    return {"by_kind": stats, "n": total,
            "accuracy": sum(s["hit"] for s in stats.values()) / total,
            "wrong": sum(s["wrong"] for s in stats.values()) / total,
            "median_error_m": statistics.median(errors),
            "p90_error_m": statistics.quantiles(errors, n=10)[-1]}


def test_precision_level_accuracy_on_the_gazetteer_test_set(geocoder, gazetteer):
    items = build_test_set(gazetteer)
    assert len(items) > 2500 and {k for k, _, _ in items} == {
        "full", "short_street", "typo", "missing_city", "juweihui", "fullwidth", "street",
        "pinyin"}
    result = evaluate(geocoder, items)
    by_kind = {k: v["hit"] / v["n"] for k, v in result["by_kind"].items()}
    assert result["accuracy"] >= 0.95, result
    assert result["wrong"] <= 0.01, result
    for kind in ("full", "missing_city", "juweihui", "street", "short_street", "fullwidth"):
        assert by_kind[kind] >= 0.95, (kind, by_kind)
    assert by_kind["typo"] >= 0.8, by_kind
    assert result["median_error_m"] <= 1.0
    assert result["p90_error_m"] <= 50.0


def test_evaluation_catches_a_geocoder_that_only_answers_streets(gazetteer):
    class StreetsOnly(Geocoder):
        def _answer(self, query, place, precision, confidence, *, extra=""):
            street = self.gazetteer.street_by_code.get(place.street_code)
            if place.kind == "community" and street is not None and street.has_point:
                place, precision = street, "street"
            return super()._answer(query, place, precision, confidence, extra=extra)

    result = evaluate(StreetsOnly(gazetteer=gazetteer, cache=False), build_test_set(
        gazetteer, communities=100, streets=20))
    assert result["accuracy"] < 0.5


# -- command line ---------------------------------------------------------------------------------
def test_geocode_cli_json(store):
    result = CliRunner().invoke(main, ["geocode", "西城区广外红莲南里", "不知道哪里", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.stdout)
    assert [list(d)[:6] for d in data] == [
        ["query", "lon", "lat", "precision", "matched", "confidence"]] * 2
    assert data[0]["precision"] == "community" and data[0]["lon"] is not None
    assert (data[1]["precision"], data[1]["lon"], data[1]["lat"]) == ("none", None, None)


def test_geocode_cli_text_and_stdin(store):
    result = CliRunner().invoke(main, ["geocode"], input="西城区\n\n广外\n")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2 and "district" in lines[0] and "street" in lines[1]


def test_geocode_cli_without_addresses_is_a_user_error(store):
    result = CliRunner().invoke(main, ["geocode"], input="")
    assert result.exit_code == 2 and "ADDRESS" in result.stderr
