"""The station record and the validation of one incoming row.

Coordinates are WGS84 decimal degrees, lon before lat. Conversion from GCJ-02/BD-09
happens before a row reaches this module (``geodata.io.stations``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from stations import settings
from stations.amenities import AMENITIES, empty_amenities, normalise_amenities, parse_tristate
from stations.errors import RowError, ValidationError
from stations.limits import ID_MAX, ID_MIN
from stations.text import KEY_SEPARATORS, WHITESPACE, fold, half_width

__all__ = [
    "Station",
    "HOST_TYPES",
    "HOST_TYPE_LABELS_ZH",
    "ACCESS_MODES",
    "ACCESS_LABELS_ZH",
    "STATUSES",
    "STATUS_LABELS_ZH",
    "STATION_FIELDS",
    "COLUMN_ALIASES",
    "canonical_column",
    "station_from_row",
    "validate_station_row",
    "combine_row_errors",
    "AREA_M2_MIN",
    "AREA_M2_MAX",
    "CAPACITY_MIN",
    "CAPACITY_MAX",
    "ID_MIN",
    "ID_MAX",
    "CODE_MAX_LENGTH",
    "AREA_CODE_MAX_LENGTH",
    "parse_host_type",
    "parse_access",
    "parse_status",
    "parse_float",
    "parse_int",
    "parse_bool",
    "parse_date",
    "clean_text",
]

HOST_TYPES = (
    "community", "street_office", "enterprise", "bank", "gas_station", "telecom", "post",
    "hotel", "shop", "supermarket", "bus_depot", "park", "government", "school", "other",
)
HOST_TYPE_LABELS_ZH = {
    "community": "社区", "street_office": "街道", "enterprise": "企业", "bank": "银行",
    "gas_station": "加油站", "telecom": "通信营业厅", "post": "邮政", "hotel": "酒店",
    "shop": "商铺", "supermarket": "超市", "bus_depot": "公交场站", "park": "公园",
    "government": "机关单位", "school": "学校", "other": "其他",
}
_HOST_SYNONYMS = {
    "社区": "community", "社区工会": "community", "社区党群服务中心": "community",
    "社区服务站": "community", "居委会": "community", "街道": "street_office",
    "街道办": "street_office", "街道办事处": "street_office", "党群服务中心": "street_office",
    "企业": "enterprise", "公司": "enterprise", "单位": "enterprise", "银行": "bank",
    "网点": "bank", "加油站": "gas_station", "营业厅": "telecom", "通信": "telecom",
    "电信": "telecom", "移动": "telecom", "联通": "telecom", "邮局": "post", "邮政": "post",
    "酒店": "hotel", "宾馆": "hotel", "饭店": "hotel", "商店": "shop", "商铺": "shop",
    "门店": "shop", "超市": "supermarket", "便利店": "supermarket", "公交": "bus_depot",
    "公交场站": "bus_depot", "场站": "bus_depot", "公园": "park", "机关": "government",
    "政府": "government", "学校": "school", "其他": "other", "其它": "other",
}

ACCESS_MODES = ("open", "register", "ask_staff", "unknown")
ACCESS_LABELS_ZH = {
    "open": "直接进入", "register": "需注册", "ask_staff": "需联系工作人员", "unknown": "未知",
}
_ACCESS_SYNONYMS = {
    "直接进入": "open", "直接": "open", "开放": "open", "免登记": "open", "自由进入": "open",
    "需注册": "register", "注册": "register", "扫码": "register", "扫码注册": "register",
    "需扫码": "register", "app": "register", "需下载app": "register", "登记": "register",
    "需联系工作人员": "ask_staff", "联系工作人员": "ask_staff", "敲门": "ask_staff",
    "需联系": "ask_staff", "askstaff": "ask_staff", "ask": "ask_staff",
    "未知": "unknown", "": "unknown",
}

# -- bounds of what a station record may hold --------------------------------------------------
# One home for them: file imports and the union's station form validate through
# :func:`validate_station_row`, so both refuse the same values with the same words.

#: Floor area of a station in m² (a bench in a kiosk to a large service hall).
AREA_M2_MIN = 1
AREA_M2_MAX = 100_000
#: Workers a station seats at once.
CAPACITY_MIN = 1
CAPACITY_MAX = 10_000
#: Store ids (``id``, ``candidate_id``): :data:`stations.limits.ID_MIN` …
#: :data:`stations.limits.ID_MAX` (imported above), the bound of PostgreSQL's 32-bit
#: ``Integer``, which keeps a file importable into either backend.
#: Text lengths of the ``String(n)`` columns in :mod:`stations.schema` (PostgreSQL enforces
#: them; SQLite does not, so the validator does).
CODE_MAX_LENGTH = 64
AREA_CODE_MAX_LENGTH = 16

STATUSES = ("open", "suspended", "closed")
STATUS_LABELS_ZH = {"open": "开放", "suspended": "暂停", "closed": "已关闭"}
_STATUS_SYNONYMS = {"开放": "open", "运营": "open", "正常": "open", "暂停": "suspended",
                    "暂停开放": "suspended", "关闭": "closed", "已关闭": "closed",
                    "撤销": "closed", "撤除": "closed"}


@dataclass
class Station:
    """One rest station. ``lon``/``lat`` are WGS84.

    ``amenities`` maps every key of :data:`stations.amenities.AMENITIES` to
    ``yes``/``no``/``unknown``; ``opening_hours`` is the text form (see
    :mod:`stations.hours`).
    """

    name: str
    lon: float
    lat: float
    id: int | None = None
    code: str | None = None
    host_type: str = "other"
    address: str = ""
    district: str = ""
    district_code: str = ""
    street: str = ""
    street_code: str = ""
    amenities: dict[str, str] = field(default_factory=empty_amenities)
    access: str = "unknown"
    area_m2: float | None = None
    capacity: int | None = None
    opening_hours: str = ""
    status: str = "open"
    status_reason: str = ""
    sample: bool = False
    verified_on: date | None = None
    contact_name: str = ""
    contact_phone: str = ""
    notes: str = ""
    candidate_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    #: The phone the union publishes (shown to workers); ``contact_*`` stay internal.
    public_phone: str = ""
    #: Written by the store: 1 when created, +1 on each write (the write API's concurrency
    #: token).
    version: int = 1
    #: How well the point is known and where it came from (issue 12): precision ``exact``,
    #: ``poi``, ``road``…; source ``sheet``, ``geocoder``, ``visit_pin``, ``dragged_pin``
    #: (see :mod:`stations.candidates`); blank when not recorded.
    location_precision: str = ""
    location_source: str = ""
    #: What workers' reports made of the station (issue 13; written by :mod:`stations.trust`,
    #: never by an edit): ``trust`` ``ok`` or ``flagged`` as stored (``unverified`` is derived
    #: from the dates, :func:`stations.trust.trust_of`), the flagged ``problem`` (a report
    #: kind) and the reason workers see, the day of the last "still correct" report, and the
    #: amenities problem reports made unknown for workers ``{key: reason}``.
    trust: str = "ok"
    problem: str | None = None
    trust_reason: str = ""
    confirmed_on: date | None = None
    amenity_notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # rows written before these columns existed read back as NULL
        self.trust = self.trust or "ok"
        self.trust_reason = self.trust_reason or ""
        self.amenity_notes = dict(self.amenity_notes or {})

    @property
    def last_verified(self) -> date | None:
        """The last union inspection (``verified_on``) or "still correct" report, whichever
        is later; ``None`` when neither happened."""
        days = [d for d in (self.verified_on, self.confirmed_on) if d is not None]
        return max(days) if days else None

    def worker_amenities(self) -> dict[str, str]:
        """Every amenity as workers are told: ``unknown`` where problem reports put the
        recorded state in doubt (:attr:`amenity_notes`), until the union settles them."""
        return {k: ("unknown" if k in self.amenity_notes else v)
                for k, v in self.amenities.items()}

    def as_dict(self) -> dict:
        """Plain JSON-able dict (dates as ISO text)."""
        out = dataclasses.asdict(self)
        for key in ("verified_on", "confirmed_on"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        for key in ("created_at", "updated_at"):  # with the Beijing offset (issue 11)
            out[key] = settings.iso_time(out[key])
        return out

    def has(self, amenity: str) -> bool:
        """True only when the amenity is recorded ``yes`` (unknown is not yes) and no
        problem report put it in doubt (:meth:`worker_amenities`)."""
        return self.amenities.get(amenity) == "yes" and amenity not in self.amenity_notes


#: Columns of the flat (CSV/XLSX) station form, in export order.
STATION_FIELDS: tuple[str, ...] = (
    "id", "code", "name", "host_type", "address", "district", "district_code", "street",
    "street_code", "lon", "lat", "access", "area_m2", "capacity", "opening_hours", "status",
    "status_reason", "sample", "verified_on", "contact_name", "contact_phone", "public_phone",
    "notes",
) + tuple(f"amenity_{a}" for a in AMENITIES)

#: Header aliases (Chinese and English variants) → canonical column names.
COLUMN_ALIASES: dict[str, str] = {
    "编号": "id", "站点编码": "code", "编码": "code", "station_code": "code",
    "名称": "name", "站点名称": "name", "驿站名称": "name", "单位名称": "name", "title": "name",
    "地址": "address", "详细地址": "address", "addr": "address",
    "类型": "host_type", "单位类型": "host_type", "承建单位类型": "host_type", "type": "host_type",
    "hosttype": "host_type",
    "区": "district", "所属区": "district", "区县": "district", "district_name": "district",
    "区划代码": "district_code", "街道": "street", "所属街道": "street", "街乡": "street",
    "街道代码": "street_code",
    "经度": "lon", "longitude": "lon", "lng": "lon", "x": "lon", "纬度": "lat",
    "latitude": "lat", "y": "lat",
    "进入方式": "access", "准入方式": "access",
    "面积": "area_m2", "面积(m²)": "area_m2", "面积(m2)": "area_m2", "面积(平方米)": "area_m2",
    "area": "area_m2", "容纳人数": "capacity", "可容纳人数": "capacity",
    "开放时间": "opening_hours", "营业时间": "opening_hours", "hours": "opening_hours",
    "openinghours": "opening_hours", "状态": "status", "状态原因": "status_reason",
    "示例": "sample", "示例数据": "sample", "核实日期": "verified_on", "verified": "verified_on",
    "联系人": "contact_name", "contact": "contact_name", "电话": "contact_phone",
    "联系电话": "contact_phone", "phone": "contact_phone", "备注": "notes", "note": "notes",
    "公开电话": "public_phone", "对外电话": "public_phone", "服务电话": "public_phone",
    "设施": "amenities", "服务设施": "amenities", "配套设施": "amenities",
    "楼层": "floor", "是否临街": "street_facing", "临街": "street_facing",
    "streetfacing": "street_facing", "权重": "weight", "人数": "weight", "分组": "group",
    "群体": "group", "班次": "shift", "班次时间": "shift",
}


def _fold_header(name: str) -> str:
    """A header folded for lookup: NFKC (``m²`` → ``m2``), lower case, no whitespace."""
    return fold(name, drop=WHITESPACE)


def canonical_column(header: str) -> str:
    """Map a header (``名称``, ``Name``, ``面积 (m²)``...) to its canonical column name."""
    folded = _fold_header(header)
    for key, value in COLUMN_ALIASES.items():
        if _fold_header(key) == folded:
            return value
    stripped = re.sub(r"[(（].*?[)）]$", "", folded)  # bracketed text is explanation
    for key, value in COLUMN_ALIASES.items():
        if _fold_header(key) == stripped:
            return value
    return stripped.replace(" ", "_")


def clean_text(value: object) -> str:
    """Strip text; None/NaN become ``""``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip()


def _is_blank(value: object) -> bool:
    return clean_text(value) == ""


def _number_text(number: float) -> str:
    """``95.0`` → ``95``, ``1e300`` → ``1e+300``: bounds and values as a person writes them."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number) if isinstance(number, float) else str(number)


def _check_bounds(number: float, *, column: str, minimum: float | None,
                  maximum: float | None, written: object = None) -> None:
    """Refuse a number outside ``minimum``..``maximum``; shown as written when text."""
    shown = _number_text(number)
    if isinstance(written, str) and written.strip():
        shown = written.strip() if len(written.strip()) <= 40 else written.strip()[:40] + "…"
    if minimum is not None and number < minimum:
        raise ValidationError(f"{column}: {shown} 小于 {_number_text(minimum)} "
                              f"(must be ≥ {_number_text(minimum)})")
    if maximum is not None and number > maximum:
        raise ValidationError(f"{column}: {shown} 大于 {_number_text(maximum)} "
                              f"(must be ≤ {_number_text(maximum)})")


def parse_float(value: object, *, column: str, minimum: float | None = None,
                maximum: float | None = None) -> float | None:
    """A finite number or ``None`` when blank; raises ValidationError naming the column.

    ``nan`` and ``inf`` (and text such as ``1e999`` that overflows to it) are refused.
    """
    if _is_blank(value):
        return None
    try:
        number = float(half_width(value).strip().rstrip("㎡").replace(
            "m2", "").replace("平方米", "").replace("平米", "").strip())
    except ValueError:
        raise ValidationError(f"{column}: '{value}' 不是数字 (not a number)") from None
    if math.isnan(number) or math.isinf(number):
        raise ValidationError(f"{column}: '{value}' 不是有限数字 (not a finite number)")
    _check_bounds(number, column=column, minimum=minimum, maximum=maximum, written=value)
    return number


def parse_int(value: object, *, column: str, minimum: int | None = None,
              maximum: int | None = None) -> int | None:
    """A whole number or ``None`` when blank; raises ValidationError naming the column.

    Digits are read exactly (``99999999999999999999`` stays that number and is then out of
    range, never rounded into range); ``6.0`` (as spreadsheets store numbers) is 6, ``5.5``
    is refused, as are ``nan`` and ``inf``.
    """
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{column}: '{value}' 不是整数 (not a whole number)")
    if isinstance(value, int):
        number = value
    else:
        text = half_width(value).strip()
        try:
            number = int(text)
        except ValueError:
            try:
                real = float(text)
            except ValueError:
                raise ValidationError(f"{column}: '{value}' 不是数字 (not a number)") from None
            if math.isnan(real) or math.isinf(real):
                raise ValidationError(
                    f"{column}: '{value}' 不是有限数字 (not a finite number)") from None
            if not real.is_integer():
                raise ValidationError(
                    f"{column}: '{value}' 不是整数 (must be a whole number)") from None
            number = int(real)
    _check_bounds(number, column=column, minimum=minimum, maximum=maximum, written=value)
    return number


def parse_bool(value: object) -> bool | None:
    """是/否/yes/no/1/0 → bool; blank → None."""
    state = parse_tristate(value)
    return None if state == "unknown" else state == "yes"


def parse_date(value: object, *, column: str) -> date | None:
    """ISO date (``2026-11-23``, ``2026/11/23``, ``2026年11月23日``) or None when blank."""
    if _is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = half_width(value).strip()
    m = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", text)
    if not m:
        raise ValidationError(f"{column}: '{value}' 不是日期 (expected YYYY-MM-DD)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ValidationError(f"{column}: '{value}' 不是有效日期 ({exc})") from None


def _lookup(value: object, choices: tuple[str, ...], synonyms: dict[str, str], *,
            column: str, labels: dict[str, str], default: str) -> str:
    if _is_blank(value):
        return default
    text = half_width(value).strip()
    folded = fold(text, drop=KEY_SEPARATORS)
    for choice in choices:
        if folded == choice.replace("_", ""):
            return choice
    for label_key, label in labels.items():
        if text == label:
            return label_key
    if folded in synonyms:
        return synonyms[folded]
    if text in synonyms:
        return synonyms[text]
    for word, choice in synonyms.items():  # 中国建设银行xx支行 → bank
        if word and len(word) >= 2 and word in text:
            return choice
    raise ValidationError(
        f"{column}: '{value}' 不是可识别的取值 (expected one of: "
        + ", ".join(f"{c}/{labels[c]}" for c in choices) + ")"
    )


def parse_host_type(value: object) -> str:
    """Host type key from English or Chinese (银行, 社区, 加油站...); blank → ``other``."""
    return _lookup(value, HOST_TYPES, _HOST_SYNONYMS, column="host_type",
                   labels=HOST_TYPE_LABELS_ZH, default="other")


def parse_access(value: object) -> str:
    """Access mode from 直接进入 / 需注册 / 需联系工作人员 or English; blank → ``unknown``."""
    return _lookup(value, ACCESS_MODES, _ACCESS_SYNONYMS, column="access",
                   labels=ACCESS_LABELS_ZH, default="unknown")


def parse_status(value: object) -> str:
    """Status from open/suspended/closed or 开放/暂停/关闭; blank → ``open``."""
    return _lookup(value, STATUSES, _STATUS_SYNONYMS, column="status",
                   labels=STATUS_LABELS_ZH, default="open")


_RowProblem = Callable[[str | None, str], None]  # bad(column, reason): note one problem

_STATION_TEXT_COLUMNS = ("name", "code", "address", "district", "district_code", "street",
                         "street_code", "status_reason", "contact_name", "contact_phone",
                         "notes", "public_phone")
_COORDINATE_RANGES = (("lon", -180.0, 180.0), ("lat", -90.0, 90.0))
_STATION_CHOICES = {"host_type": parse_host_type, "access": parse_access, "status": parse_status}
_CODE_LIMITS = (("code", CODE_MAX_LENGTH), ("district_code", AREA_CODE_MAX_LENGTH),
                ("street_code", AREA_CODE_MAX_LENGTH))
_STATION_NUMBERS = (  # column, parser, minimum, maximum, what the number is
    ("area_m2", parse_float, AREA_M2_MIN, AREA_M2_MAX, "面积按平方米 (area in m²)"),
    ("capacity", parse_int, CAPACITY_MIN, CAPACITY_MAX, "可容纳人数 (workers seated)"),
    ("id", parse_int, ID_MIN, ID_MAX, "站点编号 (store id)"),
)


def _parse_into(values: dict[str, object], column: str, bad: _RowProblem,
                parse: Callable[[], object]) -> bool:
    """``values[column] = parse()``, or a problem of ``column``; whether the value parsed."""
    try:
        values[column] = parse()
    except ValidationError as exc:
        # parse_* messages start with the column; the RowError names it already
        bad(column, exc.message.removeprefix(f"{column}: "))
        return False
    return True


def _check_texts(row: Mapping[str, object], values: dict[str, object],
                 bad: _RowProblem) -> None:
    """The text columns, cleaned; a station needs a name."""
    for col in _STATION_TEXT_COLUMNS:
        values[col] = clean_text(row.get(col))
    if not values["name"]:
        bad("name", "名称为空 (a station needs a name)")


def _check_coordinates(row: Mapping[str, object], values: dict[str, object],
                       bad: _RowProblem) -> None:
    """``lon`` and ``lat``: required, within their WGS84 ranges."""
    for col, lo, hi in _COORDINATE_RANGES:
        parse = partial(parse_float, row.get(col), column=col, minimum=lo, maximum=hi)
        if _parse_into(values, col, bad, parse) and values[col] is None:
            bad(col, "缺少坐标 (longitude/latitude required for a station)")


def _check_choices(row: Mapping[str, object], values: dict[str, object],
                   bad: _RowProblem) -> None:
    """``host_type``, ``access`` and ``status`` from English or Chinese names."""
    for col, parser in _STATION_CHOICES.items():
        _parse_into(values, col, bad, partial(parser, row.get(col)))


def _check_code_lengths(row: Mapping[str, object], values: dict[str, object],
                        bad: _RowProblem) -> None:
    """Codes no longer than their columns in the store; a blank ``code`` is no code."""
    for col, limit in _CODE_LIMITS:
        if len(values[col]) > limit:
            bad(col, f"'{values[col][:20]}…' 长 {len(values[col])} 字符，超过 {limit} "
                     f"({col} may hold at most {limit} characters)")
    values["code"] = values["code"] or None


def _check_numbers(row: Mapping[str, object], values: dict[str, object],
                   bad: _RowProblem) -> None:
    """``area_m2``, ``capacity`` and ``id``: finite and within what the store holds."""
    for col, parser, lo, hi, what in _STATION_NUMBERS:
        try:
            values[col] = parser(row.get(col), column=col, minimum=lo, maximum=hi)
        except ValidationError as exc:
            reason = exc.message.removeprefix(f"{col}: ")
            bad(col, f"{reason}; {what}: {_number_text(lo)}–{_number_text(hi)}")


def _check_sample_and_date(row: Mapping[str, object], values: dict[str, object],
                           bad: _RowProblem) -> None:
    """The ``sample`` flag (示例数据, demo data) and the ``verified_on`` date."""
    _parse_into(values, "sample", bad, lambda: bool(parse_bool(row.get("sample"))))
    _parse_into(values, "verified_on", bad,
                partial(parse_date, row.get("verified_on"), column="verified_on"))


def _check_opening_hours(row: Mapping[str, object], values: dict[str, object],
                         bad: _RowProblem) -> None:
    """``opening_hours`` parsed to check it, kept as canonical text."""
    from stations.hours import OpeningHours  # local: hours is a sibling topic module

    hours_text = clean_text(row.get("opening_hours"))
    try:
        values["opening_hours"] = OpeningHours.parse(hours_text).to_text() if hours_text else ""
    except ValueError as exc:
        bad("opening_hours", str(exc))


def _check_amenities(row: Mapping[str, object], values: dict[str, object],
                     bad: _RowProblem) -> None:
    """Amenities from one ``amenities`` column and/or ``amenity_<key>`` tri-state columns."""
    try:
        amenities = normalise_amenities(row.get("amenities") if not _is_blank(
            row.get("amenities")) or isinstance(row.get("amenities"), Mapping) else None)
        for key in AMENITIES:
            col = f"amenity_{key}"
            if col in row and not _is_blank(row[col]):
                amenities[key] = parse_tristate(row[col])
    except ValidationError as exc:
        bad("amenities", exc.message)
    else:
        values["amenities"] = amenities


#: A published phone: digits, spaces, ``+ - ( )`` and 转 (extension), at least 3 digits.
_PUBLIC_PHONE = re.compile(r"[0-9+()\- 转]{3,32}")


def _check_public_phone(row: Mapping[str, object], values: dict[str, object],
                        bad: _RowProblem) -> None:
    """``public_phone`` (shown to workers): a phone number or blank, in half-width digits."""
    text = half_width(values["public_phone"]).strip()
    if text and (not _PUBLIC_PHONE.fullmatch(text) or sum(c.isdigit() for c in text) < 3):
        bad("public_phone", f"'{text[:40]}' 不是电话号码 (a public phone holds 3-32 digits, "
                            "spaces, + - ( ) or 转 for an extension, e.g. 010-63450000)")
    values["public_phone"] = text


def _check_no_nul(row: Mapping[str, object], values: dict[str, object],
                  bad: _RowProblem) -> None:
    """No text may contain a NUL character (the store cannot hold one)."""
    for col, text in list(values.items()):
        if isinstance(text, str) and "\x00" in text:
            bad(col, "含有 NUL 字符 (U+0000)，无法保存 (text may not contain NUL characters)")


# Each check reads its columns of the row into the values and notes its problems; in column
# order, so the problems of a row come in that order.
_STATION_CHECKS = (_check_texts, _check_coordinates, _check_choices, _check_code_lengths,
                   _check_numbers, _check_sample_and_date, _check_opening_hours,
                   _check_amenities, _check_public_phone, _check_no_nul)


def validate_station_row(row: Mapping[str, object], *, row_number: int | None = None
                         ) -> tuple[Station | None, list[RowError]]:
    """Validate one row (canonical column names, WGS84 lon/lat); collect every problem.

    The row may carry amenities either as one ``amenities`` column (list text or mapping)
    or as ``amenity_<key>`` tri-state columns. ``opening_hours`` is parsed to check it and
    stored in canonical text. Values the store cannot hold are refused here, so one bad
    cell never fails a whole import at the database: numbers must be finite, ``area_m2``
    within :data:`AREA_M2_MIN`–:data:`AREA_M2_MAX`, ``capacity`` a whole number within
    :data:`CAPACITY_MIN`–:data:`CAPACITY_MAX`, ``id`` within :data:`ID_MIN`–:data:`ID_MAX`,
    codes no longer than their columns, and no text may contain a NUL character.

    Returns
    -------
    (Station or None, list of RowError)
        The station when the row is good, else ``None`` and one :class:`RowError` per
        problem (row number, column, reason), in column order.
    """
    problems: list[RowError] = []

    def bad(column: str | None, reason: str) -> None:
        problems.append(RowError(reason, row=row_number, column=column))

    values: dict[str, object] = {}
    for check in _STATION_CHECKS:
        check(row, values, bad)
    if problems:
        return None, problems
    return Station(**values), problems


def combine_row_errors(problems: list[RowError]) -> RowError:
    """One :class:`RowError` for a row with one or more problems.

    One problem is returned as it is. Several keep the row number and the first column;
    the reason lists every problem as ``column: reason``, joined with ``；``.
    """
    if not problems:
        raise ValueError("combine_row_errors needs at least one problem")
    if len(problems) == 1:
        return problems[0]
    reason = "；".join(f"{p.column}: {p.reason}" if p.column else p.reason for p in problems)
    return RowError(reason, row=problems[0].row, column=problems[0].column)


def station_from_row(row: Mapping[str, object], *, row_number: int | None = None) -> Station:
    """Validate one row into a :class:`Station` (see :func:`validate_station_row`).

    Raises
    ------
    RowError
        Naming the row number, the first column at fault and every problem of the row
        (:func:`combine_row_errors`).
    """
    station, problems = validate_station_row(row, row_number=row_number)
    if problems:
        raise combine_row_errors(problems)
    assert station is not None
    return station
