"""Roads learnt from the store: road + house number → a point on that road (issue 12).

There is no road or house-number gazetteer offline. But a union's sheets, field visits and
dragged pins keep telling us where addresses really are: ``广安门外大街168号`` is *here*,
``广安门外大街401号`` is *there*. :class:`RoadBook` keeps every such trusted address
(``road``, house ``number``, WGS84 point, district, street) and places a new address on the same
road by interpolating between the two known house numbers around it (the same side of the road
— odd or even — when both neighbours exist on that side). The answer's precision is ``road``,
never better.

Honesty over reach: an address is placed only

* between two known numbers of the same road (in the same district when the address or the
  known points say which), no more than :data:`MAX_BRACKET_M` apart; or
* on a known number itself; or
* just beyond the known range, when the road's own spacing puts it within
  :data:`MAX_EXTRAPOLATE_M` of the nearest known number.

Everything else is left to the gazetteer (community, street…) and, without one, to a pin.

Road names are read from the text before the house number, without the administrative names
before it (``北京市西城区广外莲花池东路102号`` → ``莲花池东路``, 102); ``甲``/``乙`` before a number
and ``号院`` after it are the same house for this purpose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from geodata.crs.projection import from_metric, to_metric
from geodata.places.addresses import normalise_text

__all__ = ["RoadPoint", "RoadBook", "road_and_number", "MAX_BRACKET_M", "MAX_EXTRAPOLATE_M"]

#: Two known neighbours farther apart than this do not bracket a house (the road may bend).
MAX_BRACKET_M = 2000.0
#: How far beyond the known numbers an address may be placed along the road's spacing.
MAX_EXTRAPOLATE_M = 60.0

_ROAD_CORE = (r"[\u4e00-\u9fff\d]{1,14}?"
              r"(?:大街|大道|路|街(?!道)|胡同|巷|斜街|[东南西北]?[一二三四五六七八九十\d]+条)")
_ROAD_NUMBER_RE = re.compile(
    rf"({_ROAD_CORE})(?:[东南西北]?(?:侧|口))?([甲乙丙丁]?)(\d{{1,5}})(?:-\d+)?号(?!楼)")
# What comes before a road name and is not part of it: city, district, street office, community
_ADMIN_PREFIX_RE = re.compile(
    r"^(?:中国)?(?:北京市?)?(?:市辖区)?(?:[\u4e00-\u9fff]{1,6}?区)?"
    r"(?:[\u4e00-\u9fff]{2,8}?(?:街道办事处|街道办|街道|地区办事处|地区|镇|乡))?"
    r"(?:[\u4e00-\u9fff\d]{2,12}?(?:社区居委会|社区居民委员会|社区|居委会))?")


_SUFFIX_AT_END = re.compile(
    r"(?:[东南西北中]?(?:大街|大道|路|街|胡同|巷|斜街)|[东南西北]?[一二三四五六七八九十\d]+条)$")


def _strip_area_names(road: str, gazetteer) -> str:
    """Drop a district/street/community name written before the road (``广外莲花池东路``) when
    what is left is still a named road (``广安门外大街`` and ``马连道路`` stay whole)."""
    if gazetteer is None:
        return road
    for start, end, _term in gazetteer.scan(road):
        if start != 0:
            continue
        rest = road[end:]
        if len(_SUFFIX_AT_END.sub("", rest)) >= 2:
            return _strip_area_names(rest, gazetteer)
    return road


def road_and_number(address: str, *, known_roads: Iterable[str] = (), gazetteer=None
                    ) -> tuple[str, int] | None:
    """``(road, house number)`` of an address, or ``None`` when it names no road + number.

    ``known_roads``: road names already learnt; the longest one ending the text before the
    number wins. ``gazetteer``: names of areas to drop before the road (``广外莲花池东路`` →
    ``莲花池东路``).
    """
    q = normalise_text(address)
    m = _ROAD_NUMBER_RE.search(q, _ADMIN_PREFIX_RE.match(q).end())
    if m is None:
        m = _ROAD_NUMBER_RE.search(q)
        if m is None:
            return None
    road = _strip_area_names(m.group(1), gazetteer)
    for known in sorted(set(known_roads), key=len, reverse=True):
        if road.endswith(known):
            road = known
            break
    return road, int(m.group(3))


@dataclass
class RoadPoint:
    """One trusted address on a road (WGS84)."""

    road: str
    number: int
    lon: float
    lat: float
    district: str = ""
    street: str = ""
    source: str = ""


@dataclass
class _Road:
    points: list[RoadPoint] = field(default_factory=list)
    xy: np.ndarray | None = None

    def metric(self) -> np.ndarray:
        if self.xy is None or len(self.xy) != len(self.points):
            x, y = to_metric(np.array([p.lon for p in self.points]),
                             np.array([p.lat for p in self.points]))
            self.xy = np.column_stack([np.atleast_1d(x), np.atleast_1d(y)])
        return self.xy


@dataclass
class RoadAnswer:
    """Where :meth:`RoadBook.locate` puts an address."""

    lon: float
    lat: float
    road: str
    number: int
    district: str
    street: str
    neighbours: tuple[int, ...]
    how: str  # "same_number", "between", "beyond"

    @property
    def matched(self) -> str:
        near = "、".join(f"{n}号" for n in self.neighbours)
        how = {"same_number": "同门牌已知位置", "between": "按门牌在已知地址之间推算",
               "beyond": "按门牌间距在已知地址旁推算"}[self.how]
        return f"{self.road}{self.number}号（{how}：{near}）"


class RoadBook:
    """Trusted addresses by road; see the module docstring."""

    def __init__(self, points: Iterable[RoadPoint] = (), *, gazetteer=None):
        self.gazetteer = gazetteer
        self._roads: dict[str, list[RoadPoint]] = {}
        for p in points:
            self.add(p)

    def __len__(self) -> int:
        return sum(len(points) for points in self._roads.values())

    @property
    def road_names(self) -> set[str]:
        """Every road learnt."""
        return set(self._roads)

    def add(self, point: RoadPoint) -> None:
        """Learn one trusted address."""
        self._roads.setdefault(point.road, []).append(point)

    def learn(self, address: str, lon: float | None, lat: float | None, *, district: str = "",
              street: str = "", source: str = "") -> bool:
        """Learn ``address`` at a trusted point; False when it names no road + number."""
        if lon is None or lat is None or not address:
            return False
        found = road_and_number(address, known_roads=self.road_names,
                                gazetteer=self.gazetteer)
        if found is None:
            return False
        self.add(RoadPoint(found[0], found[1], float(lon), float(lat), district, street, source))
        return True

    def _road(self, road: str, district: str) -> _Road | None:
        """The known points of ``road`` in ``district`` (points without a district count);
        without a district, the road must lie in one district only."""
        points = self._roads.get(road, [])
        if district:
            points = [p for p in points if p.district in ("", district)]
        elif len({p.district for p in points if p.district}) > 1:
            return None  # the same road name in several districts: do not guess
        return _Road(points) if points else None

    def locate(self, address: str, *, district: str = "") -> RoadAnswer | None:
        """A point for ``address`` on a learnt road, or ``None`` (see the module docstring)."""
        found = road_and_number(address, known_roads=self.road_names,
                                gazetteer=self.gazetteer)
        if found is None:
            return None
        name, number = found
        road = self._road(name, district)
        if road is None:
            return None
        return _place(road, name, number)


def _nearest_area(points: list[RoadPoint]) -> tuple[str, str]:
    districts = [p.district for p in points if p.district]
    streets = [p.street for p in points if p.street]
    return _most_common(districts), _most_common(streets)


def _most_common(values: list[str]) -> str:
    return max(sorted(set(values)), key=values.count) if values else ""


def _answer(road: _Road, name: str, number: int, xy: np.ndarray, used: list[int], how: str
            ) -> RoadAnswer:
    lon, lat = from_metric(np.array([xy[0]]), np.array([xy[1]]))
    points = [road.points[i] for i in used]
    district, street = _nearest_area(points)
    return RoadAnswer(float(np.atleast_1d(lon)[0]), float(np.atleast_1d(lat)[0]), name, number,
                      district, street, tuple(sorted({p.number for p in points})), how)


def _place(road: _Road, name: str, number: int) -> RoadAnswer | None:
    xy = road.metric()
    numbers = np.array([p.number for p in road.points])
    same = np.flatnonzero(numbers == number)
    if len(same):
        return _answer(road, name, number, xy[same].mean(axis=0), list(same), "same_number")
    between = _bracket(numbers, number, xy)
    if between is not None:
        lo, hi = between
        t = (number - numbers[lo]) / (numbers[hi] - numbers[lo])
        return _answer(road, name, number, xy[lo] + t * (xy[hi] - xy[lo]), [lo, hi], "between")
    return _beyond(road, name, number, numbers, xy)


def _bracket(numbers: np.ndarray, number: int, xy: np.ndarray) -> tuple[int, int] | None:
    """The closest known numbers below and above ``number`` (same side first), close enough."""
    for mask in (numbers % 2 == number % 2, np.ones(len(numbers), dtype=bool)):
        below = np.flatnonzero(mask & (numbers < number))
        above = np.flatnonzero(mask & (numbers > number))
        if len(below) and len(above):
            lo = below[np.argmax(numbers[below])]
            hi = above[np.argmin(numbers[above])]
            if math.dist(xy[lo], xy[hi]) <= MAX_BRACKET_M:
                return int(lo), int(hi)
    return None


def _beyond(road: _Road, name: str, number: int, numbers: np.ndarray, xy: np.ndarray
            ) -> RoadAnswer | None:
    """Just past the known range: along the two nearest numbers' spacing, if that is short."""
    if len(set(numbers.tolist())) < 2:
        return None
    order = np.argsort(np.abs(numbers - number), kind="stable")
    first = int(order[0])
    second = next((int(i) for i in order[1:] if numbers[i] != numbers[first]), None)
    if second is None:
        return None
    step = (xy[first] - xy[second]) / (numbers[first] - numbers[second])  # metres per number
    offset = step * (number - numbers[first])
    if float(np.hypot(*offset)) > MAX_EXTRAPOLATE_M:
        return None
    return _answer(road, name, number, xy[first] + offset, [first, second], "beyond")
