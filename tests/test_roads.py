"""The offline geocoder learns roads (issue 12, item 3): trusted addresses in the store teach
road + house number; held-out addresses on those roads land within 150 m of their true point,
the rest stay "needs a pin" — never a wrong place."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geodata.crs.projection import from_metric, to_metric
from geodata.places.gazetteer import load_gazetteer
from geodata.places.geocoding import Geocoder
from geodata.places.roads import RoadBook, road_and_number
from stations.candidates import Candidate, add_candidates

# Roads of 广外 as polylines (WGS84, numbered from the first vertex), their last house number.
ROADS = {
    "广安门外大街": ([(116.3455, 39.8936), (116.3180, 39.8938)], 420),
    "莲花池东路": ([(116.3420, 39.8968), (116.3150, 39.8975)], 260),
    "鸭子桥路": ([(116.3442, 39.8880), (116.3440, 39.8700)], 110),
    # a road with a bend: numbers keep counting round the corner
    "马连道路": ([(116.3193, 39.8925), (116.3195, 39.8800), (116.3260, 39.8780)], 160),
}
FAR_ROADS = ["天宁寺前街", "红莲南街", "手帕口南街"]  # nothing known on them


def _polyline_point(vertices, share: float) -> np.ndarray:
    """Metric point at ``share`` (0..1) of the polyline's length."""
    x, y = to_metric(np.array([v[0] for v in vertices]), np.array([v[1] for v in vertices]))
    xy = np.column_stack([x, y])
    seg = np.hypot(*np.diff(xy, axis=0).T)
    target = share * seg.sum()
    for i, length in enumerate(seg):
        if target <= length or i == len(seg) - 1:
            t = min(target / length, 1.0)
            return xy[i] + t * (xy[i + 1] - xy[i]), (xy[i + 1] - xy[i]) / length
        target -= length
    raise AssertionError("unreachable")


def true_point(road: str, number: int, rng: np.random.Generator) -> tuple[float, float]:
    """Where house ``number`` really is: along the road by its number (houses are not evenly
    spaced: ±15 m), odd numbers on one side and even on the other (12 m off the centre line)."""
    vertices, last = ROADS[road]
    point, direction = _polyline_point(vertices, number / last)
    normal = np.array([-direction[1], direction[0]])
    side = 12.0 if number % 2 else -12.0
    along = rng.uniform(-15, 15)
    xy = point + normal * side + direction * along
    lon, lat = from_metric(np.array([xy[0]]), np.array([xy[1]]))
    return float(np.atleast_1d(lon)[0]), float(np.atleast_1d(lat)[0])


def metres(a, b) -> float:
    x, y = to_metric(np.array([a[0], b[0]]), np.array([a[1], b[1]]))
    return float(math.hypot(x[0] - x[1], y[0] - y[1]))


def held_out_figures(store, seed: int = 12) -> dict:
    """Teach the store 30 % of the houses of each road (as sheet coordinates), geocode the
    other 70 % and the far roads' addresses; count where they land."""
    rng = np.random.default_rng(seed)
    known, held = [], []
    for road, (_, last) in ROADS.items():
        numbers = rng.choice(np.arange(1, last + 1), size=min(last, 60), replace=False)
        cut = int(len(numbers) * 0.3)
        for i, n in enumerate(sorted(numbers.tolist(), key=lambda _: rng.random())):
            point = true_point(road, int(n), rng)
            (known if i < cut else held).append((road, int(n), point))
    add_candidates(store, [
        Candidate(name=f"已知{road}{n}", address=f"北京市西城区{road}{n}号", lon=p[0], lat=p[1],
                  geocode_precision="exact", location_source="sheet", district="西城区",
                  street="广安门外街道") for road, n, p in known])
    geocoder = Geocoder(store)
    out = {"held_out": len(held), "within_150m": 0, "left_for_pin": 0, "wrong": 0,
           "far_placed_on_road": 0, "errors_m": []}
    for road, n, truth in held:
        answer = geocoder.geocode(f"西城区{road}{'甲' if n % 7 == 0 else ''}{n}号")
        if answer.precision != "road":
            out["left_for_pin"] += 1
            continue
        assert answer.precision == "road"  # never better than road
        error = metres((answer.lon, answer.lat), truth)
        out["errors_m"].append(error)
        out["within_150m" if error <= 150 else "wrong"] += 1
    for road in FAR_ROADS:
        for n in (2, 15, 38):
            answer = geocoder.geocode(f"西城区{road}{n}号")
            out["far_placed_on_road"] += answer.precision == "road"
    return out


def test_held_out_addresses_land_within_150_m_or_wait_for_a_pin(store):
    figures = held_out_figures(store)
    n = figures["held_out"]
    assert n >= 120
    assert figures["wrong"] == 0, figures  # never a wrong place
    assert figures["within_150m"] / n >= 0.85, figures
    assert figures["far_placed_on_road"] == 0  # roads without known neighbours: not placed
    assert np.median(figures["errors_m"]) < 60


def test_interpolation_between_two_known_numbers():
    book = RoadBook(gazetteer=load_gazetteer())
    book.learn("西城区广安门外大街168号", 116.33374, 39.89348, district="西城区",
               street="广安门外街道")
    book.learn("西城区广安门外大街401号", 116.31743, 39.89372, district="西城区",
               street="广安门外街道")
    found = book.locate("北京市西城区广安门外大街甲305号")
    assert found is not None and found.how == "between" and found.neighbours == (168, 401)
    share = (305 - 168) / (401 - 168)
    expected = (116.33374 + share * (116.31743 - 116.33374), 39.89348 + share * 0.00024)
    assert metres((found.lon, found.lat), expected) < 5
    assert found.street == "广安门外街道" and found.district == "西城区"
    assert book.locate("西城区广安门外大街900号") is None  # far beyond: no guess
    assert book.locate("西城区莲花池东路102号") is None  # unknown road


def test_one_known_number_places_only_that_number():
    book = RoadBook()
    book.learn("天宁寺前街2号", 116.3440, 39.8953)
    assert book.locate("西城区天宁寺前街2号院") is not None
    assert book.locate("西城区天宁寺前街40号") is None


def test_same_road_name_in_two_districts_is_not_guessed():
    book = RoadBook()
    for district, lon in (("西城区", 116.33), ("丰台区", 116.28)):
        book.learn("建设路1号", lon, 39.86, district=district)
        book.learn("建设路99号", lon + 0.005, 39.86, district=district)
    assert book.locate("建设路50号") is None
    assert book.locate("建设路50号", district="丰台区").lon < 116.29


@pytest.mark.parametrize("address, expected", [
    ("北京市西城区广安门外大街甲305号", ("广安门外大街", 305)),
    ("西城区广外莲花池东路102号", ("莲花池东路", 102)),
    ("鸭子桥路35号", ("鸭子桥路", 35)),
    ("马连道路11号", ("马连道路", 11)),
    ("天宁寺前街2号院", ("天宁寺前街", 2)),
    ("北京市西城区广安门外街道红莲南里社区", None),
    ("西城区广外马连道中里3号楼", None),
])
def test_road_and_number_reads_union_addresses(address, expected):
    assert road_and_number(address, gazetteer=load_gazetteer()) == expected


def test_a_dragged_pin_teaches_the_road(store):
    add_candidates(store, [
        Candidate(name="甲", address="西城区鸭子桥路12号", lon=116.34407, lat=39.88584,
                  geocode_precision="exact", location_source="dragged_pin"),
        Candidate(name="乙", address="西城区鸭子桥路60号", lon=116.34433, lat=39.87720,
                  geocode_precision="exact", location_source="visit_pin"),
        Candidate(name="丙", address="西城区鸭子桥路90号", lon=116.3, lat=39.9,
                  geocode_precision="street", location_source="geocoder"),  # not trusted
    ])
    answer = Geocoder(store).geocode("西城区鸭子桥路35号")
    assert answer.precision == "road" and "12号" in answer.matched and "60号" in answer.matched
    assert Geocoder(store).geocode("西城区鸭子桥路80号").precision != "road"
