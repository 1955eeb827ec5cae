"""One gazetteer answers every district / street / community lookup.

Geocoding, the web catalogue's filters, coverage areas, area polygons and candidate sheets
all resolve names through :meth:`Gazetteer.find_district`, :meth:`Gazetteer.find_street` and
:meth:`Gazetteer.find_community`, so every written form gives the same answer everywhere.
"""

from __future__ import annotations

import pytest

from geodata.errors import GeodataError
from geodata.io.candidates import area_codes
from geodata.places import areas
from geodata.places.gazetteer import load_gazetteer
from geodata.planning.coverage import resolve_area
from stations.errors import NotFoundError
from stations.records import Station
from webmap.app import create_app
from webmap.catalogue import Catalogue

XICHENG = ["西城区", "西城", "xicheng", "XiCheng", "xi cheng", "110102", "110102000000",
           "宣武区", "xichengqu"]
GUANGWAI = ["广安门外街道", "广安门外街道办事处", "广安门外地区", "广安门外", "广外", "广外街道",
            "guanganmenwai", "guang an men wai", "110102020", "110102020000"]


@pytest.fixture(scope="module")
def gazetteer():
    return load_gazetteer()


# -- the lookups ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", XICHENG)
def test_district_every_form(gazetteer, name):
    found = gazetteer.find_district(name)
    assert (found.name, found.code) == ("西城区", "110102")


@pytest.mark.parametrize("name", GUANGWAI)
def test_street_every_form(gazetteer, name):
    found = gazetteer.find_street(name)
    assert (found.name, found.code, found.district) == ("广安门外街道", "110102020", "西城区")


@pytest.mark.parametrize("district", ["西城区", "西城", "xicheng", "110102"])
def test_street_within_a_district_in_any_form(gazetteer, district):
    assert gazetteer.find_street("广外", district=district).code == "110102020"


@pytest.mark.parametrize("name", ["鸭子桥社区居委会", "鸭子桥社区", "鸭子桥居委会", "鸭子桥",
                                  "110102020001"])
def test_community_every_form(gazetteer, name):
    expected = next(c for c in gazetteer.communities if c.name == "鸭子桥社区居委会")
    found = gazetteer.find_community(name, street="广外")
    assert found.code == expected.code and found.street == "广安门外街道"


@pytest.mark.parametrize(("name", "district", "code"), [
    ("东风街道", "朝阳区", "110105030"),   # 朝阳's 东风地区, not 房山's 东风街道
    ("东风地区", "房山", "110111005"),
    ("八里庄", "haidian", "110108005"),
    ("北宫地区", None, "110106100"),       # the town 北宫镇 with another office suffix
    ("南苑", None, "110106005"),           # today's 南苑街道 over the 2016 南苑地区
    ("南苑地区", None, "110106019"),       # ... unless named exactly
    ("卢沟桥街道", None, "110106017"),     # today's name beats 六里桥's 2016 name
], ids=["scoped-full-form", "scoped-name", "scoped-short", "town-suffix", "current-vintage",
        "exact-2016-name", "name-over-old-name"])
def test_street_preferences(gazetteer, name, district, code):
    assert gazetteer.find_street(name, district=district).code == code


def test_unknown_names_list_suggestions(gazetteer):
    with pytest.raises(GeodataError, match="unknown district.*close matches: .*西城区") as info:
        gazetteer.find_district("西成区")
    assert info.value.detail["reason"] == "unknown" and "西城区" in info.value.detail["suggestions"]
    with pytest.raises(GeodataError, match="unknown street.*广安门外街道"):
        gazetteer.find_street("广安门")
    with pytest.raises(GeodataError, match="unknown street"):
        gazetteer.find_street("广外", district="朝阳")  # a district restricts, it does not hint
    with pytest.raises(GeodataError, match="unknown district"):
        gazetteer.find_street("广外", district="火星区")


@pytest.mark.parametrize("name", ["西城县", "西城街道", "", "110102020"])
def test_names_of_other_levels_are_not_districts(gazetteer, name):
    with pytest.raises(GeodataError, match="unknown district"):
        gazetteer.find_district(name)


def test_ambiguous_names_list_the_choices(gazetteer):
    with pytest.raises(GeodataError, match="朝阳区.*海淀区.*pass a district") as info:
        gazetteer.find_street("八里庄街道")
    assert info.value.detail["reason"] == "ambiguous"
    assert len(info.value.detail["suggestions"]) == 2
    with pytest.raises(GeodataError, match="ambiguous community.*pass a street"):
        gazetteer.find_community("六里桥")


# -- every caller gives the same answer ---------------------------------------------------------
FORMS = [
    # (district, street) as a user may write them → canonical (district, street)
    (("西城", None), ("西城区", None)),
    (("xicheng", None), ("西城区", None)),
    (("110102", None), ("西城区", None)),
    (("宣武区", None), ("西城区", None)),
    (("chaoyang", None), ("朝阳区", None)),
    ((None, "广外"), ("西城区", "广安门外街道")),
    ((None, "guanganmenwai"), ("西城区", "广安门外街道")),
    ((None, "110102020"), ("西城区", "广安门外街道")),
    ((None, "广外街道"), ("西城区", "广安门外街道")),
    (("西城", "广安门外街道办事处"), ("西城区", "广安门外街道")),
    (("朝阳", "八里庄"), ("朝阳区", "八里庄街道")),
    (("haidian", "八里庄街道"), ("海淀区", "八里庄街道")),
    (("朝阳区", "东风街道"), ("朝阳区", "东风地区")),
]
_IDS = ["-".join(x for x in form if x) for form, _ in FORMS]


def _catalogue(gazetteer) -> Catalogue:
    """One station per street of the table, recorded with its canonical names."""
    stations = []
    for i, (_, (district, street)) in enumerate(FORMS):
        if street:
            place = gazetteer.find_street(street, district=district)
            stations.append(Station(id=i + 1, name=f"站{i}", lon=116.3, lat=39.9,
                                    district=place.district, street=place.name))
    stations.append(Station(id=99, name="朝阳站", lon=116.5, lat=39.9, district="朝阳区"))
    return Catalogue.build(stations)


@pytest.mark.parametrize(("form", "canonical"), FORMS, ids=_IDS)
def test_coverage_areas_catalogue_and_candidates_agree(gazetteer, form, canonical):
    district, street = form
    want_district, want_street = canonical
    spec = resolve_area(district=district, street=street)
    assert (spec.district, spec.name) == (want_district, want_street or want_district)
    cat = _catalogue(gazetteer)
    idx, _ = cat.select(statuses=None, district=district, street=street)
    picked = {(cat.stations[i].district, cat.stations[i].street or None) for i in idx}
    if want_street:
        row = areas.find_street(street, district=district)
        assert (row["district"], row["name"]) == canonical
        assert areas.street_polygon(street, district=district).equals(spec.polygon)
        assert picked == {canonical}
        codes = area_codes(district or "", street)
        assert codes == (row["district_code"], row["code"])
    else:
        assert areas.district_polygon(district).equals(spec.polygon)
        assert picked and {d for d, _ in picked} == {want_district}
        assert area_codes(district, "")[0] == gazetteer.find_district(want_district).code


def test_catalogue_resolves_what_stations_record(gazetteer):
    cat = Catalogue.build([
        Station(id=1, name="a", lon=116.3, lat=39.9, district="西城", street="广外"),
        Station(id=2, name="b", lon=116.3, lat=39.9, district_code="110102",
                street_code="110102020"),
        Station(id=3, name="c", lon=116.3, lat=39.9, district="火星区", street="火星街道"),
    ])
    idx, _ = cat.select(statuses=None, district="西城区", street="广安门外街道")
    assert sorted(cat.stations[i].id for i in idx) == [1, 2]
    # a name the gazetteer does not know still finds stations recorded with exactly that name
    idx, _ = cat.select(statuses=None, district="火星区", street="火星街道")
    assert [cat.stations[i].id for i in idx] == [3]
    with pytest.raises(NotFoundError, match="district") as info:  # names nothing: 404
        cat.select(statuses=None, district="月球区")
    assert info.value.detail["param"] == "district"


# -- /api/stations ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_client(tmp_path_factory):
    from geodata.demo import load_demo
    from stations.store import Store

    url = f"sqlite:///{tmp_path_factory.mktemp('gazetteer') / 'demo.db'}"
    store = Store(url)
    store.init()
    load_demo(store)  # every demo station is in 西城区; one elsewhere shows the filter filters
    store.add_stations([Station(name="朝阳驿站", lon=116.48, lat=39.92, code="T-CY",
                                district="朝阳区", street="八里庄街道")])
    app = create_app({"TESTING": True, "TILES": "none", "DATABASE_URL": url})
    yield app.test_client()
    store.dispose()


def _ids(client, query: str) -> set[int]:
    response = client.get(f"/api/stations?status=all&limit=1000&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {f["id"] for f in response.get_json()["features"]}


def test_api_district_filter_accepts_every_form(demo_client):
    answers = [_ids(demo_client, f"district={name}")
               for name in ("xicheng", "西城", "西城区", "110102")]
    assert answers[0] and all(a == answers[0] for a in answers)
    everything = _ids(demo_client, "")
    assert answers[0] < everything
    assert _ids(demo_client, "district=chaoyang") == everything - answers[0]


def test_api_street_filter_accepts_every_form(demo_client):
    answers = [_ids(demo_client, f"street={name}")
               for name in ("广外", "广安门外街道", "guanganmenwai")]
    assert answers[0] and all(a == answers[0] for a in answers)
    assert _ids(demo_client, "district=xicheng&street=广外") == answers[0]
    assert answers[0] < _ids(demo_client, "district=xicheng")
    assert len(_ids(demo_client, "district=朝阳&street=八里庄")) == 1


@pytest.mark.parametrize(("query", "param", "text", "status"), [
    ("district=西成区", "district", "西城区", 404),
    ("district=火星区", "district", "unknown district", 404),
    ("street=八里庄街道", "street", "朝阳区", 400),
    ("district=西城&street=八里庄", "street", "unknown street", 404),
], ids=["typo", "unknown", "ambiguous", "street-outside-district"])
def test_api_bad_area_is_an_error_naming_the_parameter(demo_client, query, param, text, status):
    """A name that selects no place and no station is 404 (issue 15: the document allows any
    name, and one that names nothing is "not found", like an unknown id), with the
    gazetteer's suggestion; an ambiguous one is a 400 asking which."""
    response = demo_client.get(f"/api/stations?{query}")
    assert response.status_code == status
    body = response.get_json()
    assert set(body) == {"error", "detail"} and body["detail"]["param"] == param
    assert text in body["error"]
