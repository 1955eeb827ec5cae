"""Read a Chinese address into its parts, without any gazetteer.

``北京市西城区广安门外街道红莲南里社区居委会红莲南街6号院3号楼2单元101`` becomes province
北京市, city 北京市, district 西城区, street 广安门外街道, community 红莲南里社区居委会, road
红莲南街, house number 6号院, building 3号楼, unit 2单元, room 101.

The parser works on text shape alone (administrative suffixes, house-number patterns); the
geocoder (:mod:`geodata.places.geocoding`) confirms the names against the gazetteer, which also
finds
names written without their suffix (``广外``, ``红莲南里``). Text is folded with
:func:`normalise_text` first (the address rule of :mod:`stations.text`): NFKC (full-width
``６号`` → ``6号``), no spaces or punctuation, Chinese numerals in house numbers left alone.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from stations.text import ADDRESS_PUNCTUATION, fold

__all__ = [
    "AddressParts",
    "MUNICIPALITIES",
    "PROVINCES",
    "normalise_text",
    "parse_address",
    "strip_admin_suffix",
    "ROAD_SUFFIX",
]

MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
#: Province-level names (short forms); an address starting with one of them names its province.
PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江",
    "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州",
    "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港",
    "澳门",
)
#: What follows a name when the name is a road, not an area (鸭子桥路, 广安门外大街, 马连道南街).
ROAD_SUFFIX = re.compile(
    r"(?:[东南西北中]?(?:大街|大道|路|街(?!道)|胡同|巷|斜街|辅路|桥)|[东南西北]?[一二三四五六七八九十\d]+条)")

_CJK = "\u4e00-\u9fff"
_PROVINCE_RE = re.compile(
    r"^(?:中国|中华人民共和国)?(" + "|".join(sorted(PROVINCES, key=len, reverse=True))
    + r")(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)?")
_CITY_RE = re.compile(r"^([^区县旗镇乡村路街道里号\d]{2,7}?(?:市|自治州|盟))(?!场|政|民|辖区)")
_DISTRICT_RE = re.compile(rf"^([{_CJK}]{{1,6}}?(?:区|县|旗))")
_NOT_DISTRICT = re.compile(r"(?:小|社|园|校|厂|景|街|院|营|矿|地|住宅|商业|生活|办公|功能|片)区$")
_STREET_RE = re.compile(rf"^([{_CJK}]{{2,8}}?(?:街道办事处|街道办|街道|地区办事处|地区|镇|乡))")
_COMMUNITY_RE = re.compile(
    rf"([{_CJK}\d]{{2,12}}?)(社区居委会|社区居民委员会|社区服务站|社区|居委会|村民委员会|村委会|小区)")
_ROAD_RE = re.compile(
    rf"([{_CJK}\d]{{1,12}}?(?:大街|大道|路|街(?!道)|胡同|巷|斜街|[东南西北]?[一二三四五六七八九十]+条))"
    r"(\d+(?:-\d+)?号(?:院)?)(?!楼)")
_NUMBER_RE = re.compile(r"(\d+(?:-\d+)?号(?:院)?)(?!楼)")
_BUILDING_RE = re.compile(r"(\d+|[a-z]\d*)(号楼|栋|幢|座|号院楼)")
_UNIT_RE = re.compile(r"(\d+)单元")
_ROOM_RE = re.compile(r"(\d+)(?:室|号房|房间)?$")


@dataclass
class AddressParts:
    """The parts of one address (empty strings when absent); ``text`` is the folded input."""

    text: str
    province: str = ""
    city: str = ""
    district: str = ""
    street: str = ""
    community: str = ""
    road: str = ""
    house_number: str = ""
    building: str = ""
    unit: str = ""
    room: str = ""

    @property
    def in_beijing(self) -> bool | None:
        """True/False when the address names its province or city, None when it does not."""
        place = self.province or self.city
        if not place:
            return None
        return place.startswith("北京")

    def as_dict(self) -> dict:
        """The parts as a plain dict."""
        return asdict(self)


def normalise_text(text: object) -> str:
    """Fold an address: :func:`stations.text.fold` with the address rule (NFKC, lower case,
    no spaces or punctuation, but ``-``/``_``/``#`` kept for house numbers), and an em dash
    read as the hyphen of a house number (``6—1号`` → ``6-1号``)."""
    return fold(text or "", drop=ADDRESS_PUNCTUATION).replace("—", "-")


def strip_admin_suffix(name: str) -> str:
    """``广安门外街道`` → ``广安门外``, ``鸭子桥社区居委会`` → ``鸭子桥``, ``西城区`` → ``西城``.

    Two-character names keep their suffix (``东城区`` → ``东城`` but ``城区`` stays).
    """
    for suffix in ("社区居民委员会", "社区居委会", "村民委员会", "街道办事处", "地区办事处",
                   "社区服务站", "村委会", "居委会", "街道办", "街道", "地区", "社区", "区",
                   "县", "镇", "乡"):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


def parse_address(text: str) -> AddressParts:
    """Split an address into province / city / district / street / community / road /
    house number / building / unit / room by shape (see the module docstring).

    Administrative parts are read in order from the start (province, city, district, street);
    the community, road and numbers are searched anywhere after them. Nothing is checked
    against a gazetteer here.
    """
    t = normalise_text(text)
    parts = AddressParts(text=t)
    rest = _take_admin(parts, _take_province(parts, t))
    _take_local(parts, rest)
    return parts


def _take_province(parts: AddressParts, rest: str) -> str:
    """Read the province (and, for a municipality, the city) off the start of ``rest``."""
    m = _PROVINCE_RE.match(rest)
    if not m:
        return rest
    name, suffix = m.group(1), m.group(2) or ""
    if name in MUNICIPALITIES:
        parts.province = parts.city = name + "市"
        rest = re.sub(r"^(?:市辖区|城区)(?=.)", "", rest[m.end():])
        return rest[len(name) + 1:] if rest.startswith(name + "市") else rest
    if suffix or len(name) >= 2:
        parts.province = name + (suffix or ("" if name in ("香港", "澳门") else "省"))
        return rest[m.end():]
    return rest


def _take_admin(parts: AddressParts, rest: str) -> str:
    """Read the city, district and street off the start of ``rest`` (in that order)."""
    if not parts.city:
        m = _CITY_RE.match(rest)
        if m and (parts.province or not _STREET_RE.match(rest)):
            parts.city = m.group(1)
            rest = rest[m.end():]
    m = _DISTRICT_RE.match(rest)
    if m and not _NOT_DISTRICT.search(m.group(1)):
        parts.district = m.group(1)
        rest = rest[m.end():]
    m = _STREET_RE.match(rest)
    if m:
        parts.street = m.group(1)
        rest = rest[m.end():]
    return rest


def _take_local(parts: AddressParts, rest: str) -> None:
    """Find the community, road and house number, building, unit and room anywhere in
    ``rest`` (each found part is cut out before looking for the next)."""
    m = _COMMUNITY_RE.search(rest)
    if m:
        parts.community = m.group(1) + m.group(2)
        rest = _cut(rest, m)
    m = _ROAD_RE.search(rest)
    if m:
        parts.road, parts.house_number = m.group(1), m.group(2)
        rest = _cut(rest, m)
    else:
        m = _NUMBER_RE.search(rest)
        if m:
            parts.house_number = m.group(1)
            rest = _cut(rest, m)
    m = _BUILDING_RE.search(rest)
    if m:
        parts.building = m.group(1) + m.group(2)
        rest = _cut(rest, m)
    m = _UNIT_RE.search(rest)
    if m:
        parts.unit = m.group(0)
        rest = _cut(rest, m)
    if parts.building or parts.unit:
        m = _ROOM_RE.search(rest)
        if m:
            parts.room = m.group(1)


def _cut(text: str, match: re.Match) -> str:
    return text[: match.start()] + text[match.end():]
