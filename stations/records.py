"""The station record and the validation of one incoming row.

Coordinates are WGS84 decimal degrees, lon before lat. Conversion from GCJ-02/BD-09
happens before a row reaches this module (``geodata.io``).
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from stations.amenities import AMENITIES, empty_amenities, normalise_amenities, parse_tristate
from stations.errors import RowError, ValidationError

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
    "parse_host_type",
    "parse_access",
    "parse_status",
    "parse_float",
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

    def as_dict(self) -> dict:
        """Plain JSON-able dict (dates as ISO text)."""
        out = dataclasses.asdict(self)
        for key in ("verified_on", "created_at", "updated_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out

    def has(self, amenity: str) -> bool:
        """True only when the amenity is recorded ``yes`` (unknown is not yes)."""
        return self.amenities.get(amenity) == "yes"


#: Columns of the flat (CSV/XLSX) station form, in export order.
STATION_FIELDS: tuple[str, ...] = (
    "id", "code", "name", "host_type", "address", "district", "district_code", "street",
    "street_code", "lon", "lat", "access", "area_m2", "capacity", "opening_hours", "status",
    "status_reason", "sample", "verified_on", "contact_name", "contact_phone", "notes",
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
    "设施": "amenities", "服务设施": "amenities", "配套设施": "amenities",
    "楼层": "floor", "是否临街": "street_facing", "临街": "street_facing",
    "streetfacing": "street_facing", "权重": "weight", "人数": "weight", "分组": "group",
    "群体": "group", "班次": "shift", "班次时间": "shift",
}


def _fold_header(name: str) -> str:
    text = unicodedata.normalize("NFKC", str(name)).strip().lower()
    text = re.sub(r"\s+", "", text)
    return text.replace("²", "2")


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


def parse_float(value: object, *, column: str, minimum: float | None = None,
                maximum: float | None = None) -> float | None:
    """A number or ``None`` when blank; raises ValidationError naming the column."""
    if _is_blank(value):
        return None
    try:
        number = float(unicodedata.normalize("NFKC", str(value)).strip().rstrip("㎡").replace(
            "m2", "").replace("平方米", "").replace("平米", "").strip())
    except ValueError:
        raise ValidationError(f"{column}: '{value}' 不是数字 (not a number)") from None
    if math.isnan(number) or math.isinf(number):
        raise ValidationError(f"{column}: '{value}' 不是有限数字 (not a finite number)")
    if minimum is not None and number < minimum:
        raise ValidationError(f"{column}: {number} 小于 {minimum} (must be ≥ {minimum})")
    if maximum is not None and number > maximum:
        raise ValidationError(f"{column}: {number} 大于 {maximum} (must be ≤ {maximum})")
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
    text = unicodedata.normalize("NFKC", str(value)).strip()
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
    text = unicodedata.normalize("NFKC", str(value)).strip()
    folded = re.sub(r"[\s_\-]+", "", text.lower())
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


def station_from_row(row: Mapping[str, object], *, row_number: int | None = None) -> Station:
    """Validate one row (canonical column names, WGS84 lon/lat) into a :class:`Station`.

    The row may carry amenities either as one ``amenities`` column (list text or mapping)
    or as ``amenity_<key>`` tri-state columns. ``opening_hours`` is parsed to check it and
    stored in canonical text.

    Raises
    ------
    RowError
        For the first problem found, naming row number, column and reason.
    """
    from stations.hours import OpeningHours  # local: hours is a sibling topic module

    def fail(column: str | None, reason: str) -> RowError:
        return RowError(reason, row=row_number, column=column)

    name = clean_text(row.get("name"))
    if not name:
        raise fail("name", "名称为空 (a station needs a name)")
    values: dict[str, object] = {"name": name}
    for col, lo, hi in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        try:
            number = parse_float(row.get(col), column=col, minimum=lo, maximum=hi)
        except ValidationError as exc:
            raise fail(col, exc.message) from None
        if number is None:
            raise fail(col, "缺少坐标 (longitude/latitude required for a station)")
        values[col] = number
    simple = {
        "host_type": parse_host_type, "access": parse_access, "status": parse_status,
    }
    for col, parser in simple.items():
        try:
            values[col] = parser(row.get(col))
        except ValidationError as exc:
            raise fail(col, exc.message) from None
    for col in ("code", "address", "district", "district_code", "street", "street_code",
                "status_reason", "contact_name", "contact_phone", "notes"):
        values[col] = clean_text(row.get(col))
    values["code"] = values["code"] or None
    try:
        values["area_m2"] = parse_float(row.get("area_m2"), column="area_m2", minimum=0)
        cap = parse_float(row.get("capacity"), column="capacity", minimum=0)
        values["capacity"] = None if cap is None else int(cap)
        raw_id = parse_float(row.get("id"), column="id", minimum=1)
        values["id"] = None if raw_id is None else int(raw_id)
    except ValidationError as exc:
        raise fail(exc.message.split(":")[0], exc.message) from None
    try:
        values["sample"] = bool(parse_bool(row.get("sample")))
    except ValidationError as exc:
        raise fail("sample", exc.message) from None
    try:
        values["verified_on"] = parse_date(row.get("verified_on"), column="verified_on")
    except ValidationError as exc:
        raise fail("verified_on", exc.message) from None
    hours_text = clean_text(row.get("opening_hours"))
    try:
        values["opening_hours"] = OpeningHours.parse(hours_text).to_text() if hours_text else ""
    except ValueError as exc:
        raise fail("opening_hours", str(exc)) from None
    try:
        amenities = normalise_amenities(row.get("amenities") if not _is_blank(
            row.get("amenities")) or isinstance(row.get("amenities"), Mapping) else None)
        for key in AMENITIES:
            col = f"amenity_{key}"
            if col in row and not _is_blank(row[col]):
                amenities[key] = parse_tristate(row[col])
    except ValidationError as exc:
        raise fail("amenities", exc.message) from None
    values["amenities"] = amenities
    return Station(**values)
