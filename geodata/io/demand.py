"""The demand sheet: where outdoor workers gather, as a union writes it down.

* :func:`write_template` — the sheet to fill (``nuanxin demand template FILE.xlsx`` and a
  download on the coverage page): Chinese headers 名称, 类型, 人数, 班次, 地址 or 经度/纬度,
  坐标系, 区, 街道, 备注, one example row, and a sheet 填写说明 explaining each column.
* :func:`import_demand_sheet` — CSV / XLSX / GeoJSON in. Every bad row is reported
  ``{row, column, reason}`` (row numbers count data rows from 1); good rows are written in one
  transaction. Rows with an address but no coordinates are geocoded with the same geocoder
  and the same precision vocabulary as candidate sheets (:mod:`geodata.io.candidates`): a
  row found only to its district or city is **not placed** — it is stored waiting for a pin
  (待定位, :func:`stations.demand_points.pending_pins`) and counts nowhere until it has one.
* Candidate and host sheets that carry a head count (户外劳动者人数) feed demand too: the
  same import reads them; rows without a head count are skipped (listed, not rejected).

The values of a row (shifts, worker groups, the sheet's 类型) are decided here
(:func:`demand_from_row`); :mod:`geodata.planning.demand` turns stored rows into arrays.
"""

from __future__ import annotations

import re
from pathlib import Path

from geodata.crs.datums import convert, normalise_datum
from geodata.errors import DatumError
from geodata.io import cells
from geodata.io.cells import unquote_rows
from geodata.io.tables import read_rows
from stations import demand_points
from stations.candidates import LOCATION_SOURCE_LABELS_ZH
from stations.errors import RowError, ValidationError
from stations.records import clean_text, parse_float
from stations.text import fold, half_width

__all__ = [
    "GROUPS",
    "GROUP_LABELS_ZH",
    "KINDS",
    "PLACED_PRECISIONS",
    "TEMPLATE_COLUMNS",
    "HEADCOUNT_HOST_COLUMN",
    "parse_shift",
    "normalise_group",
    "demand_from_row",
    "import_demand_sheet",
    "write_template",
]

#: Worker groups with a fixed key (other text is kept as given).
GROUPS = ("sanitation", "courier", "delivery", "taxi", "ride_hailing", "traffic_police",
          "construction", "line_worker", "bus", "other")
GROUP_LABELS_ZH = {
    "sanitation": "环卫工人", "courier": "快递员", "delivery": "外卖骑手", "taxi": "出租车司机",
    "ride_hailing": "网约车司机", "traffic_police": "交通警察", "construction": "建筑工人",
    "line_worker": "电力/通信线路工", "bus": "公交司乘", "other": "其他",
    "community": "社区 (代理需求)", "": "未分组",
}
_GROUP_SYNONYMS = {
    "环卫": "sanitation", "保洁": "sanitation", "清洁": "sanitation", "环卫工": "sanitation",
    "快递": "courier", "快递员": "courier", "快递小哥": "courier", "外卖": "delivery",
    "骑手": "delivery", "外卖员": "delivery", "出租": "taxi", "出租车": "taxi", "的哥": "taxi",
    "网约车": "ride_hailing", "交警": "traffic_police", "警察": "traffic_police",
    "建筑": "construction", "工地": "construction", "施工": "construction",
    "电力": "line_worker", "线路": "line_worker", "通信": "line_worker", "其他": "other",
    "公交": "bus", "场站": "bus", "商圈": "delivery", "候客": "taxi",
    "其它": "other", "food_delivery": "delivery", "ridehailing": "ride_hailing",
    "police": "traffic_police",
}
#: The demand sheet's 类型 (places outdoor workers gather) and the worker group each implies;
#: other text is kept as written (its group from :func:`normalise_group`, else "other").
KINDS = {"快递网点": "courier", "外卖集中点/商圈": "delivery", "环卫作业点/环卫所": "sanitation",
         "出租车/网约车候客点": "taxi", "公交场站": "bus", "建筑工地": "construction",
         "其他": "other"}
#: Location precisions that place a demand point (sheet coordinates, a pin, or a geocode to a
#: building, road or community; ``street`` is placed but approximate); ``district``, ``city``
#: and ``none`` wait for a pin (待定位), as candidate rows do.
PLACED_PRECISIONS = frozenset({"input", "field", "exact", "poi", "road", "community", "street"})
_EXTRA_ALIASES = {"headcount": "weight", "workers": "weight", "count": "weight",
                  "户外劳动者人数": "weight", "户外劳动者": "weight", "职工人数": "weight",
                  "head_count": "weight",
                  "班组": "group", "工种": "group", "worker_group": "group",
                  "上班时间": "shift", "工作时间": "shift", "shift_hours": "shift", "时段": "shift",
                  "班次或时段": "shift", "班次/时段": "shift", "作业时段": "shift",
                  "host_type": "kind", "类别": "kind", "场所类型": "kind",
                  "notes": "note", "坐标系": "crs"}
_SHIFT = re.compile(
    r"^\s*(\d{1,2})(?::(\d{2}))?\s*(?:-|–|—|~|至|到)\s*(\d{1,2})(?::(\d{2}))?\s*$")


# ----------------------------------------------------------------------------- values
def parse_shift(text: object) -> tuple[int, int] | None:
    """Read a shift ``HH:MM-HH:MM`` into minutes ``(start, end)``; blank → ``None``.

    An end at or before the start runs past midnight: ``22:00-06:00`` → ``(1320, 1800)``.
    Full-width colons, ``5点-13点``, ``至``/``~`` separators are accepted.

    Raises
    ------
    ValidationError
        When the text is not one interval or a time is out of range.
    """
    raw = clean_text(text)
    if not raw:
        return None
    norm = half_width(raw).replace("点", ":").replace("时", ":")
    norm = re.sub(r":(?=\s*(?:-|–|—|~|至|到|$))", "", norm)  # "5:-13:" from 5点-13点
    m = _SHIFT.match(norm)
    if not m:
        raise ValidationError(
            f"班次 '{raw}' 无法识别 (shift must look like 05:00-13:00, one interval)")
    h1, m1, h2, m2 = (int(g) if g else 0 for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValidationError(f"班次 '{raw}' 的时间超出范围 (hours 0-24, minutes 0-59)")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise ValidationError(f"班次 '{raw}' 起止时间相同 (start equals end)")
    if end < start:
        end += 1440
    return start, end


def _shift_text(shift: tuple[int, int] | None) -> str:
    if shift is None:
        return ""
    s, e = shift
    e = e - 1440 if e > 1440 else e
    return f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}"


#: Group keys are snake_case words: whitespace and ``-`` between words become ``_``
#: (``road sweeper`` → ``road_sweeper``), unlike the other folds of :mod:`stations.text`.
_GROUP_SEPARATORS = re.compile(r"[\s\-]+")


def normalise_group(value: object) -> str:
    """Group key from English or Chinese (``环卫`` → ``sanitation``); unknown text kept."""
    text = clean_text(value)
    if not text:
        return ""
    folded = fold(text, drop=_GROUP_SEPARATORS, sep="_")
    if folded in GROUPS:
        return folded
    if folded in _GROUP_SYNONYMS:
        return _GROUP_SYNONYMS[folded]
    for label_key, label in GROUP_LABELS_ZH.items():
        if text == label and label_key:
            return label_key
    for word, key in _GROUP_SYNONYMS.items():
        if len(word) >= 2 and word in text:
            return key
    return text[:32]


def demand_from_row(row: dict, *, row_number: int | None = None,
                    allow_address: bool = False) -> dict:
    """Validate one canonical row into values of the demand table.

    With ``allow_address`` a row without coordinates but with an address is valid: its
    ``lon``/``lat`` are ``None`` and the caller geocodes it (:mod:`geodata.io.demand`).
    ``kind`` is the sheet's 类型 as written; ``group`` comes from the row's group column, else
    from the kind (``快递网点`` → ``courier``).

    Raises
    ------
    RowError
        Naming the row number, the column and the reason.
    """
    row = {_EXTRA_ALIASES.get(k, k): v for k, v in row.items()}
    if row.get("_geometry_error"):
        raise RowError(f"几何类型错误 ({row['_geometry_error']}); demand must be points",
                       row=row_number, column="geometry")
    values: dict = {"address": clean_text(row.get("address"))}
    values.update(_coordinates(row, row_number, allow_address=allow_address and bool(
        values["address"])))
    try:
        weight = parse_float(row.get("weight"), column="人数", minimum=0)
    except ValidationError as exc:
        raise RowError(exc.message, row=row_number, column="weight") from None
    values["weight"] = 1.0 if weight is None else weight
    try:
        values["shift"] = _shift_text(parse_shift(row.get("shift")))
    except ValidationError as exc:
        raise RowError(exc.message, row=row_number, column="shift") from None
    values["kind"] = clean_text(row.get("kind"))[:64]
    values["group"] = normalise_group(row.get("group")) or _group_of_kind(values["kind"])
    for col in ("name", "district", "street", "note"):
        values[col] = clean_text(row.get(col))
    values["precision"] = "input" if values["lon"] is not None else "none"
    return values


def _coordinates(row: dict, row_number: int | None, *, allow_address: bool) -> dict:
    """``{lon, lat}`` of a row (both ``None`` when blank and an address may stand in)."""
    raw = {col: row.get(col) for col in ("lon", "lat")}
    if allow_address and all(clean_text(v) == "" for v in raw.values()):
        return {"lon": None, "lat": None}
    values = {}
    for col, lo, hi in (("lon", -180.0, 180.0), ("lat", -90.0, 90.0)):
        try:
            number = parse_float(raw[col], column={"lon": "经度", "lat": "纬度"}[col],
                                 minimum=lo, maximum=hi)
        except ValidationError as exc:
            raise RowError(exc.message, row=row_number, column=col) from None
        if number is None:
            raise RowError("缺少坐标或地址 (longitude and latitude, or an address, are "
                           "required for demand)", row=row_number, column=col)
        values[col] = number
    return values


def _group_of_kind(kind: str) -> str:
    if not kind:
        return ""
    if kind in KINDS:
        return KINDS[kind]
    group = normalise_group(kind)
    return group if group in GROUPS else "other"


#: The sheet's header of each column a rejected row may name.
SHEET_COLUMNS_ZH = {"name": "名称", "kind": "类型", "weight": "人数", "shift": "班次",
                    "address": "地址", "lon": "经度", "lat": "纬度", "crs": "坐标系",
                    "district": "区", "street": "街道", "note": "备注", "geometry": "几何"}


# ----------------------------------------------------------------------------- template
#: The header of a candidate or host sheet that carries a head count.
HEADCOUNT_HOST_COLUMN = "户外劳动者人数"

#: Template columns: (header, required, explanation, example).
TEMPLATE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("名称", "必填", "聚集点名称，如某快递网点、某环卫所、某商圈", "广外某快递网点（示例）"),
    ("类型", "选填", "快递网点、外卖集中点/商圈、环卫作业点/环卫所、出租车/网约车候客点、公交场站、"
     "建筑工地、其他；也可写其他说法，按原文保留", "快递网点"),
    ("人数", "选填", "在此聚集或作业的户外劳动者人数（不填按 1 人计）", "25"),
    ("班次", "选填", "在此的时段，如 06:00-14:00；跨夜写 22:00-06:00；不填表示全天都算",
     "07:00-19:00"),
    ("地址", "无坐标时必填", "详细地址（区、街道、路名门牌或社区）；无经纬度时按地址定位，"
     "只能定位到区或市的行会列入“待定位”，不参与计算", "北京市西城区广安门外街道红莲南路"),
    ("经度", "选填", "经度（十进制度）；与纬度成对填写", "116.3353"),
    ("纬度", "选填", "纬度（十进制度）", "39.8800"),
    ("坐标系", "选填", "经纬度的坐标系：wgs84（GPS/天地图）、gcj02（高德/腾讯）或 bd09（百度）；"
     "不填时按导入时选择的坐标系", "gcj02"),
    ("区", "选填", "所在区；不填时由坐标或地址推断", "西城区"),
    ("街道", "选填", "所在街道（可写简称，如“广外”）；不填时由坐标或地址推断", "广安门外街道"),
    ("备注", "选填", "其他说明（如：早班为环卫清扫）", ""),
)


def write_template(path: str | Path) -> Path:
    """Write the demand template (``.xlsx``: sheet 需求点 with the columns and one example
    row, sheet 填写说明 explaining each column; ``.csv``: header and the example row)."""
    return cells.write_template(
        path, columns=TEMPLATE_COLUMNS, sheet_title="需求点",
        widths=(26, 18, 8, 14, 40, 12, 12, 10, 10, 14, 24),
        note="第一行是表头，请勿修改列名；从第二行起每行一个户外劳动者聚集点，示例行请删除。"
             "行号从第一条数据算起（表头不算）。有“户外劳动者人数”列的候选单位表也可直接导入为需求。")


# ----------------------------------------------------------------------------- import
def import_demand_sheet(store, path: str | Path, *, crs: str = "wgs84", replace: bool = False,
                        replace_source: bool = False, source: str | None = None,
                        sample: bool = False, geocoder=None, progress: bool | None = None,
                        scope=None) -> dict:
    """Import a demand sheet (see the module notes for the rules).

    Parameters
    ----------
    store : stations.store.Store
    path : str or Path
        ``.csv``, ``.xlsx``, ``.geojson`` (or ``.gpkg``).
    crs : {"wgs84", "gcj02", "bd09"}
        Datum of the coordinates unless a row's 坐标系 says otherwise; stored as WGS84.
    replace, replace_source : bool
        Delete every existing demand point (or those of the same ``source``) first, in the
        same transaction.
    source : str, optional
        Recorded with each point; defaults to the file name.
    sample : bool
        Mark the points as sample data (示例数据).
    geocoder : object with ``geocode_many``, optional
        Defaults to :func:`geodata.places.online.geocoder_from_env`.
    scope : stations.scope.Scope, optional
        The importing account: rows outside its area are rejected (``None``: everywhere).

    Returns
    -------
    dict
        ``{imported, rejected: [{row, column, reason}], pending_pin: [{row, name, address,
        precision}], approximate: [{row, name, precision}], geocoded: {precision: n},
        skipped: [{row, reason}], people, total}``.
    """
    path = Path(path)
    default_datum = normalise_datum(crs)
    rows = unquote_rows(read_rows(path), path)
    hosts = any(HEADCOUNT_HOST_COLUMN in r for _, r in rows) and not any(
        "weight" in r for _, r in rows)
    report = {"imported": 0, "rejected": [], "pending_pin": [], "approximate": [],
              "geocoded": {}, "skipped": [], "people": 0.0, "total": len(rows)}
    good: list[tuple[int, dict]] = []
    for number, row in rows:
        if hosts and clean_text(row.get(HEADCOUNT_HOST_COLUMN)) == "":
            report["skipped"].append({"row": number, "reason": "无户外劳动者人数 (no head count)"})
            continue
        try:
            values = demand_from_row(row, row_number=number, allow_address=True)
            datum = _row_datum(row, number, default_datum)
        except RowError as exc:
            report["rejected"].append(exc.as_dict())
            continue
        if values["lon"] is not None and datum != "wgs84":
            lon, lat = convert(values["lon"], values["lat"], src=datum, dst="wgs84")
            values["lon"], values["lat"] = float(lon), float(lat)
        values["source"] = source if source is not None else path.name
        values["sample"] = bool(sample)
        good.append((number, values))
    _geocode(store, good, geocoder, report, progress)
    _place(good)
    good = _inside_scope(good, scope, report)
    for bad in report["rejected"]:  # columns named as the sheet names them (班次, not shift)
        bad["column"] = SHEET_COLUMNS_ZH.get(bad.get("column"), bad.get("column"))
    report["rejected"].sort(key=lambda r: r["row"] or 0)
    demand_points.write_demand(
        store, [v for _, v in good], replace_all=replace,
        replace_source=(source if source is not None else path.name) if replace_source else None)
    report["imported"] = len(good)
    report["people"] = float(sum(v["weight"] for _, v in good
                                 if v["precision"] in PLACED_PRECISIONS))
    return report


def _row_datum(row: dict, number: int, default: str) -> str:
    raw = clean_text(row.get("crs") or row.get("坐标系"))
    if not raw:
        return default
    try:
        return normalise_datum(raw)
    except DatumError as exc:
        raise RowError(exc.message, row=number, column="坐标系") from None


def _geocode(store, good: list[tuple[int, dict]], geocoder, report: dict, progress) -> None:
    """Locate the rows given by address; a row found only to its district or city waits for a
    pin (no coordinates); a street-level answer is placed and listed as approximate."""
    todo = [(n, v) for n, v in good if v["lon"] is None]
    if not todo:
        return
    if geocoder is None:
        from geodata.places.online import geocoder_from_env

        geocoder = geocoder_from_env(store)
    results = geocoder.geocode_many([_full_address(v) for _, v in todo],
                                    progress=bool(progress))
    for (number, values), result in zip(todo, results, strict=True):
        report["geocoded"][result.precision] = report["geocoded"].get(result.precision, 0) + 1
        values["precision"] = result.precision
        values["district"] = values["district"] or result.district
        values["street"] = values["street"] or result.street
        entry = {"row": number, "name": values["name"], "address": values["address"],
                 "precision": result.precision,
                 "precision_zh": LOCATION_SOURCE_LABELS_ZH.get(result.precision,
                                                               result.precision)}
        if result.precision in PLACED_PRECISIONS and result.lon is not None:
            values["lon"], values["lat"] = float(result.lon), float(result.lat)
            if result.precision == "street":
                report["approximate"].append(entry)
        else:
            report["pending_pin"].append(entry)


def _full_address(values: dict) -> str:
    """The address, prefixed with the sheet's district/street when the address lacks them."""
    address = values["address"]
    for part in (values["street"], values["district"]):
        if part and part not in address:
            address = part + address
    return address


def _place(good: list[tuple[int, dict]]) -> None:
    """Canonical district and street of each row: from its location when it has one (the
    sheet's names only where the shipped data cannot place it), else from its names."""
    from geodata.places.assign import areas_at

    values = [v for _, v in good]
    areas = areas_at([v["lon"] for v in values], [v["lat"] for v in values],
                     districts=[v["district"] for v in values],
                     streets=[v["street"] for v in values])
    for v, area in zip(values, areas, strict=True):
        v["district"], v["street"] = area.district, area.street


def _inside_scope(good: list[tuple[int, dict]], scope, report: dict) -> list[tuple[int, dict]]:
    """The rows inside the account's area; the others rejected with row, column and reason."""
    if scope is None or getattr(scope, "role", "admin") == "admin":
        return good
    from geodata.places.assign import area_of_names

    column = "street" if scope.role == "street" else "district"
    kept = []
    for number, v in good:
        if v["lon"] is None and not v["street"] and scope.area.district in ("", v["district"]):
            # waiting for a pin, its street unknown: the union's own sheet, so its own street
            # (the pin, when placed, decides for good)
            v["district"] = v["district"] or scope.area.district
            v["street"] = scope.area.street
        area = area_of_names(v["district"], v["street"])
        if scope.covers(area):
            kept.append((number, v))
            continue
        where = area.label() if (area.district or area.street) else "未知区域"
        report["rejected"].append({"row": number, "column": column, "reason": (
            f"位于{where}，不在本账号的管辖范围（{scope.area.label()}）内，未导入 "
            f"(outside the account's area {scope.area.label()}; not imported)")})
    return kept
