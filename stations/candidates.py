"""Candidate hosts (候选承建单位): the record, the validation of one sheet row, the repository.

A candidate is a place the street union might turn into a station: an enterprise, a
community service centre, a bank branch... It carries what the union knows (area, floor,
street-facing, hours, kit, access) and where it is, and it moves through the lifecycle in
:mod:`stations.lifecycle` (``stage``).

Honest locations (issue 12): ``geocode_precision`` says how well the point is known
(:data:`PRECISIONS`: ``exact``, ``poi``, ``road``, ``community``, ``street``, ``district``,
``city``, ``none``) and ``location_source`` where it came from (:data:`LOCATION_SOURCES`: the
sheet's coordinates, the geocoder, a field-visit pin, a pin dragged on the candidate page).
What a location is good for depends on its precision:

* ``exact``/``poi`` (:data:`PRECISE_PRECISIONS`): a real position — duplicates within 30 m,
  the gap rule, siting, opening a station;
* ``road`` too for the gap rule and siting (:data:`SITING_PRECISIONS`: interpolated along a
  known road, within about 150 m), but opening still needs a pin;
* ``community``/``street`` settle which street the host is in (``in_area``) but are shown as
  approximate;
* ``district``/``city``/``none``: **not placed** — ``lon``/``lat`` stay empty and the
  candidate waits for a pin (待定位, :attr:`Candidate.needs_pin`).

The legacy precision values ``input`` (sheet coordinates) and ``field`` (visit pin) are read
as ``exact`` with that source.

Duplicate helpers here are textual (same name and address); the 30 m test needs metres and
lives in :mod:`geodata.io.candidates`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

import sqlalchemy as sa

from stations import settings
from stations.amenities import AMENITIES, empty_amenities, normalise_amenities, parse_tristate
from stations.errors import NotFoundError, RowError, ValidationError
from stations.records import (
    AREA_M2_MAX,
    AREA_M2_MIN,
    clean_text,
    parse_access,
    parse_float,
    parse_host_type,
)
from stations.schema import candidates_table
from stations.text import WHITESPACE, fold, half_width

__all__ = [
    "Candidate",
    "STAGES",
    "STAGE_LABELS_ZH",
    "PRECISE_SOURCES",
    "PRECISIONS",
    "PRECISE_PRECISIONS",
    "SITING_PRECISIONS",
    "PLACED_PRECISIONS",
    "LOCATION_SOURCES",
    "LOCATION_SOURCE_NAMES_ZH",
    "PRECISION_LABELS_ZH",
    "LOCATION_SOURCE_LABELS_ZH",
    "SHEET_COLUMNS_ZH",
    "parse_candidate_host_type",
    "parse_visit_facts",
    "VISIT_FACT_LABELS_ZH",
    "host_type_label",
    "CANDIDATE_COLUMN_ALIASES",
    "candidate_column",
    "parse_floor",
    "validate_candidate_row",
    "candidate_from_row",
    "candidate_from_record",
    "add_candidates",
    "get_candidate",
    "list_candidates",
    "update_candidate",
    "count_candidates",
    "normalise_name",
    "normalise_address",
    "duplicate_key",
    "find_text_duplicates",
]

#: Lifecycle stages, in workflow order (see :mod:`stations.lifecycle`).
STAGES: tuple[str, ...] = (
    "candidate", "screened", "visited", "agreed", "opened", "suspended", "closed", "declined",
)
STAGE_LABELS_ZH = {
    "candidate": "待筛选", "screened": "已筛选", "visited": "已走访", "agreed": "已同意",
    "opened": "已建站", "suspended": "已暂停", "closed": "已关闭", "declined": "已放弃",
}

#: Location precisions, best first (INTERFACE.md).
PRECISIONS = ("exact", "poi", "road", "community", "street", "district", "city", "none")
#: Precisions that are a real position (duplicates, opening a station).
PRECISE_PRECISIONS = frozenset({"exact", "poi"})
#: Precisions good enough for the gap rule and siting (a road point is within ~150 m).
SITING_PRECISIONS = PRECISE_PRECISIONS | {"road"}
#: Precisions that place a candidate at all (the rest wait for a pin).
PLACED_PRECISIONS = SITING_PRECISIONS | {"community", "street"}
#: Kept for callers of the first rounds: the precisions that are a real position.
PRECISE_SOURCES = PRECISE_PRECISIONS
#: Where a location came from.
LOCATION_SOURCES = ("sheet", "geocoder", "visit_pin", "dragged_pin")
LOCATION_SOURCE_NAMES_ZH = {"sheet": "表格坐标", "geocoder": "按地址定位",
                            "visit_pin": "走访时校正", "dragged_pin": "地图上拖动标记", "": ""}
PRECISION_LABELS_ZH = {
    "exact": "精确位置", "poi": "已知地点", "road": "道路（按门牌推算，约 150 m）",
    "community": "社区（近似）", "street": "街道（近似，约 1 km）", "district": "仅到区，待定位",
    "city": "仅到市，待定位", "none": "未定位，待定位",
}
#: Precision (and the legacy ``input``/``field`` values) → one Chinese label.
LOCATION_SOURCE_LABELS_ZH = {**PRECISION_LABELS_ZH, "input": "表格坐标", "field": "走访时校正"}
_LEGACY_PRECISION = {"input": "sheet", "field": "visit_pin"}
#: The sheet's header for each field, for messages that name a column as the sheet does.
SHEET_COLUMNS_ZH = {
    "name": "名称", "address": "地址", "host_type": "类型", "district": "区", "street": "街道",
    "lon": "经度", "lat": "纬度", "crs": "坐标系", "area_m2": "面积", "floor": "楼层",
    "street_facing": "是否临街", "opening_hours": "开放时间", "amenities": "设施",
    "toilet_nearby": "附近卫生间", "access": "进入方式", "contact_name": "联系人",
    "contact_phone": "电话", "notes": "备注", "sample": "示例数据", "geometry": "几何",
}
#: 类型 words that are ours under another name (the rest are kept as written, "other").
CANDIDATE_HOST_SYNONYMS = {
    "书店": "shop", "药店": "shop", "药房": "shop", "餐饮": "shop", "餐馆": "shop",
    "餐厅": "shop", "市场": "shop", "菜市场": "shop", "农贸市场": "shop", "警务": "government",
    "派出所": "government", "警务站": "government",
}

#: Extra header aliases of the candidate sheet, applied after
#: :func:`stations.records.canonical_column` (keys are already folded: NFKC, lower case,
#: no spaces, bracketed explanation removed).
CANDIDATE_COLUMN_ALIASES: dict[str, str] = {
    "坐标系": "crs", "坐标系统": "crs", "datum": "crs", "crs": "crs",
    "附近卫生间": "toilet_nearby", "协议卫生间": "toilet_nearby", "卫生间安排": "toilet_nearby",
    "可用附近卫生间": "toilet_nearby", "toiletnearby": "toilet_nearby",
    "toilet_nearby": "toilet_nearby", "toiletbyarrangement": "toilet_nearby",
    "floor": "floor", "street_facing": "street_facing", "area_m2": "area_m2",
    "名称(必填)": "name", "单位": "name", "承建单位": "name", "host": "name",
    "所在区": "district", "所在街道": "street", "coordinate_system": "crs",
}

_CANDIDATE_COLUMNS = [c.name for c in candidates_table.columns]
#: Highest (and lowest, negated) floor accepted: anything beyond is a typo, not a building.
FLOOR_MAX = 200
_FLOOR_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
                "十": 10, "首": 1, "底": 1}


@dataclass
class Candidate:
    """One candidate host. ``lon``/``lat`` are WGS84 or ``None`` when not located.

    ``floor`` is 1 for the ground floor, negative below ground; ``street_facing`` and
    ``toilet_nearby`` (a toilet nearby by arrangement) are ``None`` when unknown.
    ``screening`` holds the last screening reasons (list of dicts); ``extra`` keeps visit
    notes, photos and sheet columns without a field of their own.
    """

    name: str
    id: int | None = None
    address: str = ""
    host_type: str = "other"
    district: str = ""
    street: str = ""
    lon: float | None = None
    lat: float | None = None
    geocode_precision: str = "none"
    location_source: str = ""
    host_type_text: str = ""
    geocode_matched: str = ""
    geocode_confidence: float | None = None
    area_m2: float | None = None
    floor: int | None = None
    street_facing: bool | None = None
    toilet_nearby: bool | None = None
    opening_hours: str = ""
    amenities: dict[str, str] = field(default_factory=empty_amenities)
    access: str = "unknown"
    contact_name: str = ""
    contact_phone: str = ""
    notes: str = ""
    stage: str = "candidate"
    screening_result: str | None = None
    screening_score: float | None = None
    screening: list[dict] | None = None
    station_id: int | None = None
    sample: bool = False
    extra: dict = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.geocode_precision in _LEGACY_PRECISION:  # input / field of the first rounds
            self.location_source = self.location_source or _LEGACY_PRECISION[
                self.geocode_precision]
            self.geocode_precision = "exact"

    @property
    def located(self) -> bool:
        """True when the candidate has coordinates (any precision)."""
        return self.lon is not None and self.lat is not None

    @property
    def precisely_located(self) -> bool:
        """True when the coordinates are a real position (:data:`PRECISE_PRECISIONS`)."""
        return self.located and self.geocode_precision in PRECISE_PRECISIONS

    @property
    def siting_located(self) -> bool:
        """True when the point is good enough for the gap rule and siting
        (:data:`SITING_PRECISIONS`)."""
        return self.located and self.geocode_precision in SITING_PRECISIONS

    @property
    def needs_pin(self) -> bool:
        """True when the candidate is not placed (待定位): no point, or only a district or
        city centre."""
        return not self.located or self.geocode_precision not in PLACED_PRECISIONS

    @property
    def approximate(self) -> bool:
        """True when the point is placed but only approximately (road, community, street)."""
        return self.located and not self.precisely_located and not self.needs_pin

    @property
    def host_label(self) -> str:
        """The host type in Chinese, with the sheet's own word when it differs."""
        return host_type_label(self.host_type, self.host_type_text)

    @property
    def location_label(self) -> str:
        """Precision and source in Chinese (``精确位置 · 表格坐标``)."""
        label = PRECISION_LABELS_ZH.get(self.geocode_precision, self.geocode_precision)
        source = LOCATION_SOURCE_NAMES_ZH.get(self.location_source, self.location_source)
        return f"{label} · {source}" if source else label

    def as_dict(self) -> dict:
        """Plain JSON-able dict (datetimes as ISO text)."""
        out = dataclasses.asdict(self)
        for key in ("created_at", "updated_at"):  # with the Beijing offset (issue 11)
            out[key] = settings.iso_time(out[key])
        return out


# -- one sheet row ---------------------------------------------------------------------------
def parse_candidate_host_type(value: object) -> tuple[str, str]:
    """``(category, as written)`` for a sheet's 类型: never an error (issue 12).

    Our categories and their synonyms (``便利店`` → ``supermarket``, ``药店`` → ``shop``) map
    to the category; anything else is kept as written under ``other``. The written text is
    returned when it is not exactly our category's label (blank for ``银行``, ``物业`` for
    ``物业``).
    """
    written = clean_text(value)[:64]
    if not written:
        return "other", ""
    key = CANDIDATE_HOST_SYNONYMS.get(half_width(written).strip())
    if key is None:
        try:
            key = parse_host_type(written)
        except ValidationError:
            key = "other"
    from stations.records import HOST_TYPE_LABELS_ZH

    same = written in (HOST_TYPE_LABELS_ZH.get(key), key)
    return key, "" if same else written


def host_type_label(key: str, written: str = "") -> str:
    """``银行``; ``其他（物业）``; ``商铺（书店）``: our label and the sheet's word."""
    from stations.records import HOST_TYPE_LABELS_ZH

    label = HOST_TYPE_LABELS_ZH.get(key, key)
    return f"{label}（{written}）" if written and written != label else label


def candidate_column(column: str) -> str:
    """Map a canonical column (output of ``canonical_column``) to the candidate's field name."""
    return CANDIDATE_COLUMN_ALIASES.get(fold(column, drop=WHITESPACE), column)


def parse_floor(value: object) -> int | None:
    """Floor number from ``1``, ``1层``, ``一层``, ``首层``, ``2楼``, ``地下一层``, ``B1``, ``-1``.

    Blank gives ``None`` (unknown); the ground floor is 1, below ground is negative.

    Raises
    ------
    ValidationError
        When the text is not a floor.
    """
    text = half_width(clean_text(value)).replace(" ", "").upper()
    if not text or text in ("未知", "?", "-"):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if math.isfinite(value) and float(value).is_integer() and 0 < abs(value) <= FLOOR_MAX:
            return int(value)
    m = re.fullmatch(r"(地下|负|B|-)?(\d+|[一二三四五六七八九十首底])(层|楼|F)?", text)
    if not m or (m.group(1) is None and m.group(3) is None and not m.group(2).isdigit()
                 and m.group(2) not in "首底"):
        raise ValidationError(
            f"楼层 '{value}' 无法识别 (floor: expected 1, 1层, 首层, 地下一层 or B1)")
    number = int(m.group(2)) if m.group(2).isdigit() and len(m.group(2)) <= 4 else (
        _FLOOR_WORDS.get(m.group(2), 10_000))
    if number > FLOOR_MAX:
        raise ValidationError(f"楼层 '{str(value)[:20]}' 超出范围 (floor must be within "
                              f"±{FLOOR_MAX})")
    if number == 0:
        raise ValidationError(
            f"楼层 '{value}' 不能为 0 (floor 0 does not exist; ground floor is 1)")
    return -number if m.group(1) else number


def _parse_optional_bool(value: object, column: str) -> bool | None:
    state = parse_tristate(value)
    return None if state == "unknown" else state == "yes"


_RowProblem = Callable[[str, str], None]  # bad(column, reason): note one problem

_CANDIDATE_TEXT_COLUMNS = ("address", "district", "street", "contact_name", "contact_phone",
                           "notes")
_COORDINATE_RANGES = (("lon", -180.0, 180.0), ("lat", -90.0, 90.0))
_CANDIDATE_FIELDS = (  # column, parser of the cell; a failure is reported as the parser says
    ("access", parse_access),
    ("area_m2", partial(parse_float, column="area_m2", minimum=AREA_M2_MIN,
                        maximum=AREA_M2_MAX)),
    ("floor", parse_floor),
)
_CANDIDATE_FLAGS = ("street_facing", "toilet_nearby")  # yes / no / unknown


def _check_texts(values: Mapping[str, object], out: dict[str, object],
                 bad: _RowProblem) -> None:
    """The text columns, cleaned; a candidate needs a name."""
    name = clean_text(values.get("name"))
    if not name:
        bad("name", "名称为空 (a candidate needs a name)")
    out["name"] = name
    for col in _CANDIDATE_TEXT_COLUMNS:
        out[col] = clean_text(values.get(col))


def _check_location(values: Mapping[str, object], out: dict[str, object],
                    bad: _RowProblem) -> None:
    """``lon``/``lat``: optional but a pair; without them the row needs an address."""
    coords = {}
    for col, lo, hi in _COORDINATE_RANGES:
        try:
            coords[col] = parse_float(values.get(col), column=col, minimum=lo, maximum=hi)
        except ValidationError as exc:
            bad(col, exc.message)
            coords[col] = math.nan
    if coords["lon"] is None and coords["lat"] is not None:
        bad("lon", "只有纬度没有经度 (latitude given without longitude)")
    elif coords["lat"] is None and coords["lon"] is not None:
        bad("lat", "只有经度没有纬度 (longitude given without latitude)")
    elif coords["lon"] is None and not out["address"]:
        bad("address", "既无地址也无坐标，无法定位 (give an address or lon/lat)")
    out["lon"], out["lat"] = coords["lon"], coords["lat"]


def _check_fields(values: Mapping[str, object], out: dict[str, object],
                  bad: _RowProblem) -> None:
    """Host type, access, area and floor (:data:`_CANDIDATE_FIELDS`), then the yes/no flags."""
    out["host_type"], out["host_type_text"] = parse_candidate_host_type(values.get("host_type"))
    for col, parser in _CANDIDATE_FIELDS:
        try:
            out[col] = parser(values.get(col))
        except ValidationError as exc:
            bad(col, exc.message)
    for col in _CANDIDATE_FLAGS:
        try:
            out[col] = _parse_optional_bool(values.get(col), col)
        except ValidationError as exc:
            bad(col, f"{SHEET_COLUMNS_ZH[col]}：{exc.message}")


def _check_opening_hours(values: Mapping[str, object], out: dict[str, object],
                         bad: _RowProblem) -> None:
    """``opening_hours`` parsed to check it, kept as canonical text."""
    hours = clean_text(values.get("opening_hours"))
    if hours:
        from stations.hours import OpeningHours  # sibling topic module

        try:
            out["opening_hours"] = OpeningHours.parse(hours).to_text()
        except ValueError as exc:
            bad("opening_hours", str(exc))
    else:
        out["opening_hours"] = ""


def _check_amenities(values: Mapping[str, object], out: dict[str, object],
                     bad: _RowProblem) -> None:
    """Amenities from one ``amenities`` column and/or ``amenity_<key>`` tri-state columns."""
    try:
        raw = values.get("amenities")
        amenities = normalise_amenities(None if clean_text(raw) == "" and not isinstance(
            raw, Mapping) else raw)
        for key in AMENITIES:
            col = f"amenity_{key}"
            if clean_text(values.get(col)):
                amenities[key] = parse_tristate(values[col])
        out["amenities"] = amenities
    except ValidationError as exc:
        bad("amenities", exc.message)


def _check_sample(values: Mapping[str, object], out: dict[str, object],
                  bad: _RowProblem) -> None:
    """The ``sample`` flag (示例数据, demo data)."""
    try:
        sample = parse_tristate(values.get("sample"))
        out["sample"] = sample == "yes"
    except ValidationError as exc:
        bad("sample", exc.message)


# Each check reads its columns into the candidate's fields and notes its problems, in
# column order.
_CANDIDATE_CHECKS = (_check_texts, _check_location, _check_fields, _check_opening_hours,
                     _check_amenities, _check_sample)


def _checked_candidate(values: Mapping[str, object], out: dict[str, object]) -> Candidate:
    """The candidate of a row without problems; other non-blank columns go to ``extra``."""
    known = set(out) | {"crs"} | {f"amenity_{a}" for a in AMENITIES}
    extra = {k: clean_text(v) for k, v in values.items()
             if k not in known and not k.startswith("_") and clean_text(v)}
    candidate = Candidate(**out)
    if candidate.located:
        candidate.geocode_precision, candidate.location_source = "exact", "sheet"
    if extra:
        candidate.extra = {"sheet": extra}
    return candidate


def validate_candidate_row(row: Mapping[str, object], *, row_number: int | None = None
                           ) -> tuple[Candidate | None, list[RowError]]:
    """Validate one sheet row (canonical column names; lon/lat already WGS84).

    Every problem of the row is collected (one :class:`RowError` per column at fault), so
    the union fixes a row once. Coordinates are optional but must come as a pair; a row with
    neither coordinates nor an address cannot be located and is refused.

    Returns
    -------
    (Candidate or None, list of RowError)
        The candidate when the row is good, else ``None`` and the errors.
    """
    values = {candidate_column(k): v for k, v in row.items()}
    errors: list[RowError] = []

    def bad(column: str, reason: str) -> None:
        label = SHEET_COLUMNS_ZH.get(column, column)
        if reason.startswith(f"{column}:"):  # the parser named the field; the sheet names it so
            reason = label + "：" + reason[len(column) + 1:].lstrip()
        errors.append(RowError(reason, row=row_number, column=label))

    out: dict[str, object] = {}
    for check in _CANDIDATE_CHECKS:
        check(values, out, bad)
    if errors:
        return None, errors
    return _checked_candidate(values, out), errors


def candidate_from_row(row: Mapping[str, object], *, row_number: int | None = None) -> Candidate:
    """Like :func:`validate_candidate_row` but raise the first :class:`RowError`."""
    candidate, errors = validate_candidate_row(row, row_number=row_number)
    if errors:
        raise errors[0]
    assert candidate is not None
    return candidate


# -- what a field visit saw -------------------------------------------------------------------
VISIT_FACT_LABELS_ZH = {
    "area_m2": "面积", "floor": "楼层", "street_facing": "是否临街", "opening_hours": "开放时间",
    "access": "进入方式", "amenities": "设施", "toilet_nearby": "附近卫生间",
}


def _seen_flag(value: object) -> bool | None:
    state = parse_tristate(value)
    return None if state == "unknown" else state == "yes"


def parse_visit_facts(values: Mapping[str, object]) -> dict:
    """What a visit form (or ``--seen`` options) recorded, parsed: ``{area_m2, floor,
    street_facing, toilet_nearby, opening_hours, access, amenities: {key: yes|no}}``; a blank
    or 未知 entry is not recorded. Amenities come as ``amenity_<key>`` = 有/无/yes/no.

    Raises
    ------
    ValidationError
        Naming the field in Chinese, as the sheet does.
    """
    facts: dict = {}
    parsers = (("area_m2", partial(parse_float, column="面积", minimum=AREA_M2_MIN,
                                   maximum=AREA_M2_MAX)),
               ("floor", parse_floor), ("street_facing", _seen_flag),
               ("toilet_nearby", _seen_flag), ("access", parse_access))
    for name, parser in parsers:
        raw = clean_text(values.get(name))
        if not raw or raw in ("未知", "unknown"):
            continue
        try:
            value = parser(raw)
        except ValidationError as exc:
            raise ValidationError(f"{VISIT_FACT_LABELS_ZH[name]}：{exc.message}") from None
        if value is not None and value != "unknown":
            facts[name] = value
    hours = clean_text(values.get("opening_hours"))
    if hours:
        from stations.hours import OpeningHours

        try:
            facts["opening_hours"] = OpeningHours.parse(hours).to_text()
        except ValueError as exc:
            raise ValidationError(f"开放时间：{exc}") from None
    amenities = {}
    for key in AMENITIES:
        raw = clean_text(values.get(f"amenity_{key}"))
        if raw:
            state = parse_tristate(raw)
            if state != "unknown":
                amenities[key] = state
    if amenities:
        facts["amenities"] = amenities
    return facts


# -- repository -----------------------------------------------------------------------------
def candidate_from_record(record: Mapping) -> Candidate:
    """Build a :class:`Candidate` from a database row mapping."""
    values = {k: record[k] for k in _CANDIDATE_COLUMNS if k in record}
    amenities = empty_amenities()
    amenities.update({k: v for k, v in (values.get("amenities") or {}).items() if k in AMENITIES})
    values["amenities"] = amenities
    extra = dict(values.get("extra") or {})
    values["extra"] = extra
    values["toilet_nearby"] = extra.get("toilet_nearby")
    values["sample"] = bool(values.get("sample"))
    for key in ("address", "district", "street", "opening_hours", "contact_name",
                "contact_phone", "notes", "geocode_matched"):
        values[key] = values.get(key) or ""
    values["geocode_precision"] = values.get("geocode_precision") or "none"
    values["location_source"] = values.get("location_source") or ""
    values["host_type_text"] = values.get("host_type_text") or ""
    return Candidate(**values)


def _candidate_values(candidate: Candidate) -> dict:
    values = {k: getattr(candidate, k) for k in _CANDIDATE_COLUMNS if hasattr(candidate, k)}
    values["amenities"] = {k: candidate.amenities.get(k, "unknown") for k in AMENITIES}
    extra = dict(candidate.extra or {})
    if candidate.toilet_nearby is None:
        extra.pop("toilet_nearby", None)
    else:
        extra["toilet_nearby"] = bool(candidate.toilet_nearby)
    values["extra"] = extra
    return values


def add_candidates(store, candidates: Iterable[Candidate], *, conn=None) -> list[int]:
    """Insert candidates (ids are assigned by the store) in one transaction; return the ids."""
    if conn is None:
        with store.transaction() as c:
            return add_candidates(store, candidates, conn=c)
    ids = []
    now = settings.wall_now()
    for candidate in candidates:
        values = _candidate_values(candidate)
        values.pop("id", None)
        values["created_at"] = candidate.created_at or now
        values["updated_at"] = now
        new_id = int(conn.execute(candidates_table.insert().values(**values)
                                  ).inserted_primary_key[0])
        candidate.id = new_id
        ids.append(new_id)
    if ids:
        store.bump_version("candidates_version", conn=conn)
    return ids


def get_candidate(store, candidate_id: int, *, conn=None) -> Candidate:
    """One candidate by id; :class:`NotFoundError` when absent."""
    query = sa.select(candidates_table).where(candidates_table.c.id == int(candidate_id))
    if conn is None:
        with store.engine.connect() as c:
            row = c.execute(query).mappings().first()
    else:
        row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"候选单位 {candidate_id} 不存在 (no candidate with id {candidate_id})")
    return candidate_from_record(row)


def list_candidates(store, *, stage: str | Sequence[str] | None = None,
                    ids: Sequence[int] | None = None, result: str | None = None,
                    conn=None) -> list[Candidate]:
    """Candidates ordered by id, optionally filtered by stage, ids or screening result."""
    query = sa.select(candidates_table).order_by(candidates_table.c.id)
    if stage is not None:
        wanted = [stage] if isinstance(stage, str) else list(stage)
        unknown = [s for s in wanted if s not in STAGES]
        if unknown:
            raise ValidationError(
                f"未知阶段 {unknown[0]!r} (unknown stage); use one of: {', '.join(STAGES)}")
        query = query.where(candidates_table.c.stage.in_(wanted))
    if ids is not None:
        query = query.where(candidates_table.c.id.in_([int(i) for i in ids]))
    if result is not None:
        query = query.where(candidates_table.c.screening_result == result)
    if conn is None:
        with store.engine.connect() as c:
            return [candidate_from_record(r) for r in c.execute(query).mappings()]
    return [candidate_from_record(r) for r in conn.execute(query).mappings()]


def update_candidate(store, candidate: Candidate, *, conn=None) -> None:
    """Write every field of an existing candidate (by ``id``)."""
    if candidate.id is None:
        raise ValidationError("update_candidate needs a candidate with an id")
    if conn is None:
        with store.transaction() as c:
            return update_candidate(store, candidate, conn=c)
    values = _candidate_values(candidate)
    values.pop("id")
    values.pop("created_at", None)
    values["updated_at"] = settings.wall_now()
    done = conn.execute(candidates_table.update().where(candidates_table.c.id == candidate.id)
                        .values(**values)).rowcount
    if not done:
        raise NotFoundError(f"候选单位 {candidate.id} 不存在 (no candidate with id {candidate.id})")
    store.bump_version("candidates_version", conn=conn)


def count_candidates(store, *, conn=None) -> int:
    """How many candidates (any stage)."""
    query = sa.select(sa.func.count()).select_from(candidates_table)
    if conn is None:
        with store.engine.connect() as c:
            return int(c.execute(query).scalar())
    return int(conn.execute(query).scalar())


# -- duplicates (textual) ------------------------------------------------------------------------
def normalise_name(text: str) -> str:
    """Fold a host name for comparison: :func:`stations.text.fold` (NFKC, lower case, no
    spaces or punctuation)."""
    return fold(clean_text(text))


def normalise_address(text: str) -> str:
    """Fold an address for comparison: as :func:`normalise_name`, without a leading
    ``北京市``/``北京`` and with ``社区居委会``/``居委会`` read as ``社区``."""
    folded = normalise_name(text)
    folded = re.sub(r"^(中国)?北京(市)?", "", folded)
    folded = folded.replace("社区居委会", "社区").replace("居委会", "社区")
    return folded


def duplicate_key(name: str, address: str) -> tuple[str, str] | None:
    """The key two rows share when they have the same name and address (None without address)."""
    addr = normalise_address(address)
    if not addr:
        return None
    return normalise_name(name), addr


def find_text_duplicates(items: Sequence[tuple[str, str]]) -> dict[int, int]:
    """Indexes of items repeating an earlier item's name and address: ``{later: first}``."""
    seen: dict[tuple[str, str], int] = {}
    out: dict[int, int] = {}
    for i, (name, address) in enumerate(items):
        key = duplicate_key(name, address)
        if key is None:
            continue
        if key in seen:
            out[i] = seen[key]
        else:
            seen[key] = i
    return out
