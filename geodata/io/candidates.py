"""The union's candidate sheet: import (with geocoding and duplicate checks), screening, template.

Import rules
------------
* CSV or XLSX, Chinese or English headers (``名称, 地址, 类型, 经度, 纬度, 面积 (m²), 楼层,
  是否临街, 开放时间, 设施, 进入方式, 联系人, 电话`` ...; see :func:`write_template`).
  Coordinates are optional; their datum is the ``crs`` argument (``--crs``) or a per-row
  ``坐标系`` column (wgs84 / gcj02 / bd09). Rows without coordinates are geocoded offline
  (or by the configured chain) and carry the geocoder's precision.
* Every bad row is reported ``{row, column, reason}`` (one entry per column at fault); every
  good row is kept. The good rows are written in one transaction.
* **Duplicates are reported and not imported.** A row is a duplicate when it has the same name
  and address as an earlier row of the sheet or a candidate already in the store, or names the
  same host (same name after folding, or nearly the same: rapidfuzz ratio ≥ 90) within
  :data:`DUPLICATE_RADIUS_M` metres of one (measured in a metric projection, and only between
  precisely located records: two rows geocoded to the same street centre are not duplicates).
  The first occurrence is imported; the later one appears in ``rejected`` (reason names the
  first) and in ``duplicates`` with the details, so re-importing a sheet never doubles it and
  nothing is merged silently.

Screening computes each candidate's context (distance to the nearest *other* open station via
:func:`geodata.nearest.get_index`, whether the area is dense from community and station counts,
its district and street) and applies :class:`stations.standard.Standard`, saving the result on
the candidate (and moving new candidates to ``screened``, see :mod:`stations.lifecycle`).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from geodata.crs.datums import convert, normalise_datum
from geodata.errors import DatumError, GeodataError
from geodata.io import cells
from geodata.io.cells import unquote_rows
from geodata.io.tables import read_rows
from stations.candidates import (
    PRECISION_LABELS_ZH,
    Candidate,
    add_candidates,
    candidate_column,
    duplicate_key,
    list_candidates,
    normalise_name,
    validate_candidate_row,
)
from stations.errors import RowError, ValidationError
from stations.standard import ScreeningContext, Standard, load_standard

__all__ = [
    "DUPLICATE_RADIUS_M",
    "SAME_HOST_RATIO",
    "TEMPLATE_COLUMNS",
    "CandidateImportReport",
    "import_candidates",
    "screen_candidates",
    "write_template",
    "area_codes",
    "load_demo_candidates",
    "apply_geocode",
    "place_pin",
    "record_visit",
    "open_candidate",
]

DUPLICATE_RADIUS_M = 30.0
SAME_HOST_RATIO = 90.0

#: Template columns: (header, required, explanation, example).
TEMPLATE_COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("名称", "必填", "承建单位或站点名称", "广安门外某银行网点（示例）"),
    ("地址", "无坐标时必填", "详细地址，越完整越好（区、街道、社区、门牌号）；无坐标时按地址定位",
     "北京市西城区广安门外街道红莲南里社区红莲南街6号"),
    ("类型", "选填", "任意填写，如实写单位类型即可：社区、街道、企业、银行、加油站、"
     "通信营业厅、邮政、酒店、商铺、超市、公交场站、公园、机关单位、学校；其他类型（物业、医院、"
     "环卫等）按原样保存，归入“其他”", "银行"),
    ("区", "选填", "所在区；不填时由地址或坐标推断", "西城区"),
    ("街道", "选填", "所在街道（可写简称，如“广外”）；不填时由地址或坐标推断", "广安门外街道"),
    ("经度", "选填", "经度（十进制度）；与纬度成对填写", "116.3353"),
    ("纬度", "选填", "纬度（十进制度）", "39.8800"),
    ("坐标系", "选填", "经纬度的坐标系：wgs84（GPS/天地图）、gcj02（高德/腾讯）或 bd09（百度）；"
     "不填时按导入时选择的坐标系", "wgs84"),
    ("面积 (m²)", "选填", "可用面积，平方米（标准要求 ≥ 12 m²）", "15"),
    ("楼层", "选填", "所在楼层：1、首层、2楼、地下一层", "1"),
    ("是否临街", "选填", "是 / 否；不清楚请留空", "是"),
    ("开放时间", "选填", "如：周一至周五 9:00-17:00；每天 6:00-21:00；24小时", "每天 6:00-21:00"),
    ("设施", "选填", "用逗号或顿号分隔：热水、饮用水、座椅、微波炉、手机充电、电动车充电、卫生间、"
     "医药箱、取暖、空调、冰箱、Wi-Fi、雨伞、无障碍、母婴室、AED；没有的写“无卫生间”",
     "热水,座椅,微波炉,手机充电,医药箱,空调,卫生间"),
    ("附近卫生间", "选填", "站内无卫生间时，是否已约定可用附近卫生间：是 / 否", ""),
    ("进入方式", "选填", "直接进入 / 需注册（下载App或扫码）/ 需联系工作人员", "直接进入"),
    ("联系人", "选填", "承建单位联系人", "张三"),
    ("电话", "选填", "联系电话", "010-12345678"),
    ("备注", "选填", "其他说明", "一层大厅东侧"),
)


@dataclass
class CandidateImportReport:
    """What a candidate import did.

    Attributes
    ----------
    imported : int
        Candidates written to the store.
    rejected : list of dict
        ``{row, column, reason}`` for every bad row (and every duplicate row).
    duplicates : list of dict
        ``{row, name, reason, duplicate_of: {row | candidate_id, name}, distance_m}``.
    geocoded : dict
        Precision → count for the rows located from their address.
    ids : list of int
        Store ids of the imported candidates, in row order.
    """

    imported: int = 0
    rejected: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    geocoded: dict[str, int] = field(default_factory=dict)
    ids: list[int] = field(default_factory=list)
    total: int = 0
    located: list[dict] = field(default_factory=list)

    @property
    def rejected_rows(self) -> list[int]:
        """The distinct rejected rows (a row with several problems counts once)."""
        return sorted({r["row"] for r in self.rejected if r.get("row") is not None})

    @property
    def needs_pin(self) -> list[dict]:
        """The imported rows that are not placed (待定位): geocoded only to a district or city."""
        return [r for r in self.located if r["needs_pin"]]

    def summary_zh(self) -> str:
        """One line: rows read, imported, rejected (distinct rows), waiting for a pin."""
        pins = len(self.needs_pin)
        return (f"共 {self.total} 行：导入 {self.imported} 行"
                + (f"（其中 {pins} 行待定位，需在地图上放置标记）" if pins else "")
                + f"，拒绝 {len(self.rejected_rows)} 行。")

    def location_groups_zh(self) -> list[tuple[str, list[int]]]:
        """``[(如何定位, [行号…])]`` in precision order, for the import report."""
        from stations.candidates import PRECISIONS

        groups: dict[str, list[int]] = {}
        order = {p: i for i, p in enumerate(PRECISIONS)}
        for r in sorted(self.located, key=lambda r: (order.get(r["precision"], 99), r["row"])):
            groups.setdefault(r["label"], []).append(r["row"])
        return list(groups.items())

    def as_dict(self) -> dict:
        """JSON form: ``{imported, rejected, rejected_rows, duplicates, geocoded, located,
        needs_pin, ids, total}`` (``located``: ``{row, name, precision, source, label,
        needs_pin}`` per imported row; ``needs_pin``: their row numbers)."""
        return {"imported": self.imported, "rejected": [dict(r) for r in self.rejected],
                "rejected_rows": self.rejected_rows,
                "duplicates": [dict(d) for d in self.duplicates],
                "geocoded": dict(self.geocoded), "located": [dict(r) for r in self.located],
                "needs_pin": [r["row"] for r in self.needs_pin], "ids": list(self.ids),
                "total": self.total}


# -- import -----------------------------------------------------------------------------------
def import_candidates(store, path: str | Path, *, crs: str = "wgs84", geocoder=None,
                      progress: bool | None = None, scope=None) -> CandidateImportReport:
    """Import the union's candidate sheet (see the module docstring for the rules).

    Parameters
    ----------
    store : stations.store.Store
    path : str or Path
        ``.csv`` or ``.xlsx`` (GeoJSON works too).
    crs : str, keyword-only
        Datum of the coordinates unless a row's ``坐标系`` column says otherwise.
    geocoder : object with ``geocode_many``, optional
        Defaults to :func:`geodata.places.online.geocoder_from_env` (offline unless
        ``NUANXIN_GEOCODER`` configures an online chain).
    progress : bool or None
        Progress bar on stderr while geocoding; ``None`` shows it when stderr is a terminal.
    scope : stations.scope.Scope, optional
        The importing account: a row whose district/street (from its position, see
        :func:`_resolve_areas`) lies outside its area is rejected with its row, column and
        reason (``None``: the whole city, as the CLI).

    Returns
    -------
    CandidateImportReport
    """
    default_datum = normalise_datum(crs)
    rows = unquote_rows(read_rows(path), path)  # '=… in a CSV we wrote: =…
    report = CandidateImportReport(total=len(rows))
    good: list[tuple[int, Candidate]] = []
    for number, row in rows:
        geometry_error = row.pop("_geometry_error", None)
        candidate, errors = validate_candidate_row(row, row_number=number)
        if geometry_error:
            errors.append(RowError(f"几何类型不是点 (a candidate must be a Point; "
                                   f"{geometry_error})", row=number, column="几何"))
        datum = default_datum
        raw_crs = next((v for k, v in row.items() if candidate_column(k) == "crs"), None)
        if raw_crs not in (None, "") and str(raw_crs).strip():
            try:
                datum = normalise_datum(str(raw_crs))
            except DatumError as exc:
                errors.append(RowError(exc.message, row=number, column="坐标系"))
        if errors:
            report.rejected.extend(e.as_dict() for e in errors)
            continue
        if candidate.located and datum != "wgs84":
            lon, lat = convert(candidate.lon, candidate.lat, src=datum, dst="wgs84")
            candidate.lon, candidate.lat = float(lon), float(lat)
        good.append((number, candidate))
    _resolve_areas([c for _, c in good if c.located])  # the sheet's points teach roads
    _geocode_missing(store, good, geocoder, report, progress)
    _resolve_areas([c for _, c in good])
    good = _outside_scope(good, scope, report)
    kept = _drop_duplicates(store, good, report)
    report.rejected.sort(key=lambda r: (r["row"] or 0))
    if kept:
        with store.transaction() as conn:
            report.ids = add_candidates(store, [c for _, c in kept], conn=conn)
    report.imported = len(report.ids)
    report.located = [_located_row(number, c) for number, c in kept]
    return report


def _located_row(number: int, c: Candidate) -> dict:
    """How one imported row was located, for the report."""
    from stations.candidates import LOCATION_SOURCE_NAMES_ZH, PRECISION_LABELS_ZH

    source = LOCATION_SOURCE_NAMES_ZH.get(c.location_source, c.location_source)
    precision = PRECISION_LABELS_ZH.get(c.geocode_precision, c.geocode_precision)
    return {"row": number, "name": c.name, "precision": c.geocode_precision,
            "source": c.location_source, "needs_pin": c.needs_pin,
            "label": f"{source}：{precision}" if source else precision}


def _geocode_missing(store, good, geocoder, report, progress) -> None:
    todo = [(n, c) for n, c in good if not c.located]
    if not todo:
        return
    if geocoder is None:
        from geodata.places.online import geocoder_from_env

        geocoder = geocoder_from_env(store)
    if progress is None:
        progress = _stderr_is_tty()
    teach = getattr(geocoder, "teach", None)
    if teach is not None:  # the sheet's own rows at known points teach their roads
        for _, c in good:
            if c.located:
                teach(_full_address(c), c.lon, c.lat, district=c.district, street=c.street)
    results = geocoder.geocode_many([_full_address(c) for _, c in todo], progress=progress)
    for (_, candidate), result in zip(todo, results, strict=True):
        report.geocoded[result.precision] = report.geocoded.get(result.precision, 0) + 1
        apply_geocode(candidate, result)
        if not candidate.district and result.district:
            candidate.district = result.district
        if not candidate.street and result.street:
            candidate.street = result.street
            candidate.extra = {**candidate.extra, "area_source": "geocoder"}


def apply_geocode(candidate: Candidate, result) -> None:
    """Put a geocoder's answer on a candidate: a district or city centre is **not** a place
    (the candidate waits for a pin, 待定位); district and street names are kept when known."""
    from stations.candidates import PLACED_PRECISIONS

    candidate.geocode_precision = result.precision
    candidate.geocode_matched = result.matched
    candidate.geocode_confidence = result.confidence
    candidate.location_source = "geocoder" if result.precision != "none" else ""
    if result.lon is not None and result.precision in PLACED_PRECISIONS:
        candidate.lon, candidate.lat = float(result.lon), float(result.lat)
    else:
        candidate.lon = candidate.lat = None


def _full_address(candidate: Candidate) -> str:
    """The address, prefixed with the sheet's district/street when the address lacks them."""
    address = candidate.address
    for part in (candidate.street, candidate.district):
        if part and part not in address:
            address = part + address
    return address


@lru_cache(maxsize=1)
def _gazetteer():
    from geodata.places.gazetteer import load_gazetteer

    return load_gazetteer()


def _place_or_none(find, name: str, **scope):
    """What the gazetteer lookup ``find`` answers for ``name``, or ``None`` when it cannot say
    (unknown or ambiguous name: a sheet keeps what it wrote)."""
    if not name:
        return None
    try:
        return find(name, **scope)
    except GeodataError:
        return None


def _resolve_areas(candidates: list[Candidate]) -> None:
    """Each candidate's district and street (canonical names).

    A precisely located candidate belongs where it is: district and street from its position
    (:func:`geodata.places.assign.areas_at`; the sheet's names only where the shipped data
    cannot place the point). Otherwise the sheet's (or geocoder's) names through the gazetteer
    (``广外`` → ``广安门外街道``). ``extra["area_source"] = "approx_polygon"`` marks a street
    the position decided against (or without) what the sheet wrote.
    """
    from geodata.places.assign import areas_at

    gazetteer = _gazetteer()
    precise = [c for c in candidates if c.precisely_located]
    for c in candidates:
        if c.precisely_located:
            continue
        district = _place_or_none(gazetteer.find_district, c.district)
        if district is not None:
            c.district = district.name
        found = _place_or_none(gazetteer.find_street, c.street, district=district)
        if found is not None:
            c.street = found.name
            c.district = c.district or found.district
    typed = areas_at([c.lon for c in precise], [c.lat for c in precise],
                     districts=[c.district for c in precise], streets=[c.street for c in precise])
    for c, area in zip(precise, typed, strict=True):
        sheet = _place_or_none(gazetteer.find_street, c.street, district=c.district or None)
        if area.street and (sheet is None or sheet.code != area.street_code):
            c.extra = {**c.extra, "area_source": "approx_polygon"}
        c.district, c.street = area.district, area.street


def _outside_scope(good, scope, report) -> list[tuple[int, Candidate]]:
    """The rows inside ``scope`` (a :class:`stations.scope.Scope`); each other row is
    rejected ``{row, column, reason}`` (the column the account's area is compared on)."""
    from geodata.places.assign import area_of_record

    if scope is None or scope.role == "admin":
        return good
    column = "街道" if scope.role == "street" else "区"
    kept = []
    for number, c in good:
        area = area_of_record(c)
        if scope.covers(area) or _may_be_inside(c, area, scope):
            kept.append((number, c))
            continue
        where = area.label() if (area.district or area.street) else "未知区域"
        report.rejected.append({"row": number, "column": column, "reason": (
            f"位于{where}，不在本账号的管辖范围（{scope.area.label()}）内，未导入 "
            f"(outside the account's area {scope.area.label()}; not imported)")})
    return kept


def _may_be_inside(c: Candidate, area, scope) -> bool:
    """A row waiting for a pin whose known parts do not contradict the account's area (a
    street union's row located only to its district): kept, its pin decides (and is checked
    against the scope when it is set)."""
    if not c.needs_pin or area.street:
        return False
    return not area.district or not scope.area.district or (
        area.district_code or area.district) == (scope.area.district_code
                                                 or scope.area.district)


def _drop_duplicates(store, good, report) -> list[tuple[int, Candidate]]:
    from rapidfuzz import fuzz

    existing = list_candidates(store)
    by_key: dict[tuple[str, str], tuple[str, object, str]] = {}
    for c in existing:
        key = duplicate_key(c.name, c.address)
        if key is not None:
            by_key.setdefault(key, ("candidate_id", c.id, c.name))
    # precise points, existing first, then the sheet's rows in order
    points: list[tuple[str, object, str, float, float]] = [
        ("candidate_id", c.id, c.name, c.lon, c.lat) for c in existing if c.precisely_located]
    kept = []
    for number, c in good:
        dup = None
        key = duplicate_key(c.name, c.address)
        if key is not None and key in by_key:
            kind, ref, name = by_key[key]
            dup = {"reason": "same_name_address", "duplicate_of": {kind: ref, "name": name},
                   "distance_m": None}
        elif c.precisely_located and points:
            folded = normalise_name(c.name)
            for kind, ref, name, lon, lat in points:
                other = normalise_name(name)
                if other != folded and fuzz.ratio(other, folded) < SAME_HOST_RATIO:
                    continue
                metres = _distance_m(c.lon, c.lat, lon, lat)
                if metres <= DUPLICATE_RADIUS_M:
                    dup = {"reason": "same_host_within_30m",
                           "duplicate_of": {kind: ref, "name": name},
                           "distance_m": round(metres, 1)}
                    break
        if dup is not None:
            ref = dup["duplicate_of"]
            if "row" in ref:
                what, what_en = f"第 {ref['row']} 行", f"row {ref['row']}"
            else:
                what = f"已有候选单位 #{ref['candidate_id']}"
                what_en = f"candidate #{ref['candidate_id']}"
            why = ("名称和地址相同" if dup["reason"] == "same_name_address"
                   else f"同一单位且相距 {dup['distance_m']:.0f} m（≤ {DUPLICATE_RADIUS_M:.0f} m）")
            reason = (f"与{what}（{ref['name']}）重复：{why}；未导入 "
                      f"(duplicate of {what_en}; not imported)")
            report.duplicates.append({"row": number, "name": c.name, **dup})
            report.rejected.append({"row": number, "column": "名称", "reason": reason})
            continue
        kept.append((number, c))
        if key is not None:
            by_key.setdefault(key, ("row", number, c.name))
        if c.precisely_located:
            points.append(("row", number, c.name, c.lon, c.lat))
    return kept


def _distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    from geodata.crs.projection import metric_crs_for, to_metric

    crs = metric_crs_for([lon1, lon2], [lat1, lat2])
    x, y = to_metric(np.array([lon1, lon2]), np.array([lat1, lat2]), crs)
    return float(math.hypot(x[0] - x[1], y[0] - y[1]))


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# -- screening ----------------------------------------------------------------------------------
def area_codes(district: str, street: str) -> tuple[str, str]:
    """``(district_code, street_code)`` for names (any written form); blanks when unknown."""
    gazetteer = _gazetteer()
    d = _place_or_none(gazetteer.find_district, district)
    s = _place_or_none(gazetteer.find_street, street, district=d)
    d_code = d.code if d is not None else (s.district_code if s is not None else "")
    return d_code, (s.code if s is not None else "")


def _union_area(district: str, street: str) -> tuple[str, str]:
    """The union's ``(district, street)`` by canonical names (any written form); ``("", "")``
    when neither is given (``in_area`` does not apply).

    Raises
    ------
    ValidationError
        An unknown district, a street that is unknown (within the district, when given) or
        ambiguous, or a street outside the given district.
    """
    if not district and not street:
        return "", ""
    from geodata.places.assign import area_of_names

    try:
        area = area_of_names(district, street, strict=True)
    except ValidationError as exc:
        field = (exc.detail or {}).get("field", "area")
        raise ValidationError(f"工会辖区无法确定 (unknown union {field} in Beijing; use names "
                              f"such as 西城区 and 广安门外街道 or 广外): {exc.message}",
                              detail=exc.detail) from None
    return area.district, area.street


@lru_cache(maxsize=4)
def _community_tree(crs: str):
    from scipy.spatial import cKDTree

    from geodata.crs.projection import to_metric

    points = [(c.lon, c.lat) for c in _gazetteer().communities if c.has_point]
    if not points:
        return None
    lon, lat = np.array(points).T
    x, y = to_metric(lon, lat, crs)
    return cKDTree(np.column_stack([x, y]))


def _contexts(store, candidates: list[Candidate], standard: Standard, *,
              union_district: str, union_street: str) -> list[ScreeningContext]:
    from geodata.nearest.cache import get_index

    params = standard.params("gap")  # the standard's numbers, also when gap is switched off
    index = get_index(store)
    precise = [i for i, c in enumerate(candidates) if c.siting_located]
    contexts = [ScreeningContext(union_district=union_district, union_street=union_street)
                for _ in candidates]
    for ctx, c in zip(contexts, candidates, strict=True):
        ctx.candidate_district, ctx.candidate_street = c.district, c.street
        if c.extra.get("area_source") == "approx_polygon":
            ctx.area_note = "按坐标和近似街道范围判断"
        ctx.placed = not c.needs_pin
        if c.approximate and not c.siting_located:
            ctx.location_note = (f"位置仅到{PRECISION_LABELS_ZH[c.geocode_precision]}"
                                 "，不足以判断服务空白")
        elif c.needs_pin:
            ctx.location_note = "尚未定位（待定位）"
    if not precise:
        return contexts
    lon = np.array([candidates[i].lon for i in precise])
    lat = np.array([candidates[i].lat for i in precise])
    if len(index) == 0:
        for i in precise:
            contexts[i].nearest_open_station_m = math.inf
    else:
        k = min(len(index), 2)
        dist, idx = index.nearest_bulk(lon, lat, k=k)
        for row, i in enumerate(precise):
            c = candidates[i]
            for d, j in zip(dist[row], idx[row], strict=True):
                if j < 0:
                    continue
                station = index.stations[j]
                if station.id == c.station_id or (c.id is not None
                                                  and station.candidate_id == c.id):
                    continue  # its own station does not count
                contexts[i].nearest_open_station_m = float(d)
                contexts[i].nearest_station_name = station.name
                break
            else:
                contexts[i].nearest_open_station_m = math.inf
    from scipy.spatial import cKDTree

    from geodata.crs.projection import to_metric

    radius = float(params["density_radius_m"])
    x, y = to_metric(lon, lat, index.crs)
    xy = np.column_stack([x, y])
    tree = _community_tree(index.crs)
    communities = (np.array([len(n) for n in tree.query_ball_point(xy, radius)])
                   if tree is not None else np.zeros(len(precise), dtype=int))
    if len(index):
        near = cKDTree(index.xy).query_ball_point(xy, radius)
        stations = np.array([len(n) for n in near])
    else:
        stations = np.zeros(len(precise), dtype=int)
    for row, i in enumerate(precise):
        contexts[i].dense_area = bool(
            communities[row] >= params["dense_min_communities"]
            or stations[row] >= params["dense_min_stations"])
    return contexts


def screen_candidates(store, *, standard: Standard | str | Path | None = None,
                      ids: list[int] | None = None, actor: str = "system",
                      union_district: str | None = None, union_street: str | None = None
                      ) -> list[dict]:
    """Screen candidates against the standard and save the results on them.

    Parameters
    ----------
    standard : Standard, path or None
        ``None`` loads ``NUANXIN_STANDARD`` or the shipped default.
    ids : list of int, optional
        Only these candidates (default: all).
    actor : str
        Recorded in the lifecycle log.
    union_district, union_street : str, optional
        The acting union's jurisdiction for the ``in_area`` rule (the dashboard account's
        area, or ``--union-district``/``--union-street``); without either the rule answers
        ``not_applicable`` and decides nothing.

    Returns
    -------
    list of dict
        Best first (pass, then unknown, then fail; higher score first):
        ``{id, name, result, score, max_score, stage, reasons: [{rule, label, outcome, detail,
        hard, score}]}``.
    """
    from stations.lifecycle import screen_result

    if not isinstance(standard, Standard):
        standard = load_standard(standard)
    u_district, u_street = _union_area((union_district or "").strip(),
                                       (union_street or "").strip())
    candidates = list_candidates(store, ids=ids)
    contexts = _contexts(store, candidates, standard, union_district=u_district,
                         union_street=u_street)
    out = []
    with store.transaction() as conn:
        for c, ctx in zip(candidates, contexts, strict=True):
            screening = standard.evaluate(c, ctx)
            reasons = [r.as_dict() for r in screening.reasons]
            updated = screen_result(store, c.id, actor=actor, result=screening.result,
                                    score=screening.score, reasons=reasons, conn=conn)
            out.append({"id": c.id, "name": c.name, "result": screening.result,
                        "score": round(screening.score, 2),
                        "max_score": round(screening.max_score, 2), "stage": updated.stage,
                        "summary": screening.summary_zh(), "reasons": reasons})
    order = {"pass": 0, "unknown": 1, "fail": 2}
    out.sort(key=lambda r: (order[r["result"]], -r["score"], r["id"]))
    return out


# -- the workflow steps that need the map --------------------------------------------------------
def _point_area(lon: float, lat: float):
    """The district and street of a WGS84 point from the gazetteer (the point decides)."""
    from geodata.places.assign import area_at

    return area_at(lon, lat)


def place_pin(store, candidate_id: int, lon: float, lat: float, *, actor: str,
              source: str = "dragged_pin", union_district: str = "", union_street: str = "",
              check=None) -> dict:
    """Set a candidate's location from a pin (WGS84): district and street recomputed from the
    gazetteer at the new point, recorded (:func:`stations.lifecycle.set_location`), then the
    candidate is screened again. ``check(area)`` may refuse the new area (an account's scope).

    Returns the new screening ``{id, name, result, score, max_score, stage, summary,
    reasons}``.
    """
    from stations.lifecycle import set_location

    area = _point_area(lon, lat)
    if check is not None:
        check(area)
    set_location(store, candidate_id, actor=actor, lon=lon, lat=lat, district=area.district,
                 street=area.street, source=source)
    return screen_candidates(store, ids=[candidate_id], actor=actor,
                             union_district=union_district, union_street=union_street)[0]


def record_visit(store, candidate_id: int, *, actor: str, notes: str, lon: float | None = None,
                 lat: float | None = None, photos=(), facts: dict | None = None,
                 union_district: str = "", union_street: str = "", check=None) -> dict:
    """A field visit (:func:`stations.lifecycle.visit`) with the area of its pin from the
    gazetteer, then a new screening of the candidate with what was seen (returned as by
    :func:`screen_candidates`)."""
    from stations.lifecycle import visit

    area = _point_area(lon, lat) if lon is not None and lat is not None else None
    if area is not None and check is not None:
        check(area)
    visit(store, candidate_id, actor=actor, notes=notes, lon=lon, lat=lat, photos=photos,
          facts=facts, district=area.district if area else None,
          street=area.street if area else None)
    return screen_candidates(store, ids=[candidate_id], actor=actor,
                             union_district=union_district, union_street=union_street)[0]


def open_candidate(store, candidate_id: int, *, actor: str, note: str = "",
                   code: str | None = None, override: str = ""):
    """Open the station of an agreed candidate (:func:`stations.lifecycle.open_station`) with
    the district, street and codes of its point, as every other station has them (the code
    ``NX-<street code>-<id>``)."""
    from geodata.places.assign import area_at
    from stations.candidates import get_candidate
    from stations.lifecycle import open_station

    c = get_candidate(store, candidate_id)
    area = (area_at(c.lon, c.lat, district=c.district, street=c.street) if c.located
            else None)
    district = area.district if area is not None and area.district else c.district
    street = area.street if area is not None and area.street else c.street
    district_code, street_code = area_codes(district, street)
    return open_station(store, candidate_id, actor=actor, note=note, code=code,
                        district_code=district_code, street_code=street_code,
                        override=override, district=district, street=street)


def load_demo_candidates(store, path: str | Path, *, union_district: str = "",
                         union_street: str = "") -> int:
    """Import the shipped demo sheet (coordinates in GCJ-02) and screen the new rows as the
    demo's union (``union_district``/``union_street``, :data:`geodata.demo.DEMO_UNION`).

    Idempotent: a second load reports the rows as duplicates and imports nothing. Returns how
    many sample candidates the store holds.
    """
    report = import_candidates(store, path, crs="gcj02", progress=False)
    if report.ids:
        screen_candidates(store, ids=report.ids, actor="demo", union_district=union_district,
                          union_street=union_street)
    return sum(1 for c in list_candidates(store) if c.sample)


# -- template ---------------------------------------------------------------------------------
def write_template(path: str | Path) -> Path:
    """Write the downloadable candidate template (``.xlsx``: sheet 候选单位 with the expected
    columns and one example row, sheet 填写说明 explaining each column; ``.csv``: header and
    the example row)."""
    return cells.write_template(
        path, columns=TEMPLATE_COLUMNS, sheet_title="候选单位",
        widths=(24, 44, 10, 10, 14, 12, 12, 10, 10, 8, 10, 22, 40, 12, 16, 10, 16, 20),
        note="第一行是表头，请勿修改列名；从第二行起每行一个候选单位，示例行可删除。"
             "行号从第一条数据算起（表头不算）。同名同址或同一单位相距 30 米以内的行视为重复，"
             "会在导入结果中列出且不重复导入。")

