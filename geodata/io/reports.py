"""Coverage and siting results as GeoJSON and as an Excel report for a union's leaders.

* :func:`coverage_geojson` / :func:`siting_geojson`: FeatureCollections (WGS84) whose features
  carry a ``kind`` (``station``, ``uncovered_demand``, ``uncovered_area``, ``farthest_demand``,
  ``gap``, ``recommended_site``) and whose ``summary`` member holds the numbers.
* :func:`write_excel_report`: a workbook with Chinese headers — 汇总 (summary, naming in
  words which demand was counted: 导入的需求点 / 社区代理点 / 按面积, and whether the totals
  are people, points or m²), 一天 (the day strip), 分街道 (per street), 分群体 (per worker
  group), one 缺口 sheet per street (its gap clusters), 未覆盖需求 (uncovered list) and
  推荐站点 (recommended sites). Coordinates are given in WGS84 and in GCJ-02 (for Amap / 上图).
  Every cell holds data (:func:`geodata.io.cells.append_row`): text that starts with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return is a quote-prefixed string cell (never a
  formula), and control characters a workbook cannot hold are shown as U+FFFD.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from geodata.crs.datums import convert
from geodata.io.cells import append_row
from geodata.planning.coverage import CoverageResult
from stations import settings

__all__ = ["coverage_geojson", "siting_geojson", "write_geojson", "write_excel_report"]

_METHOD_ZH = {"straight_line": "直线距离", "straight_line_x_detour": "直线距离 × 绕行系数",
              "network": "步行路网距离"}
_SITING_MODEL_ZH = {"mclp": "最大覆盖 (MCLP)", "lscp": "集合覆盖 (LSCP)"}
_SITING_MODE_ZH = {"exact": "精确 (HiGHS)", "fast": "快速 (贪心 + 交换)"}


def _point(lon: float, lat: float, props: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props}


def coverage_geojson(result: CoverageResult, *, max_points: int | None = None,
                     stations: bool = True) -> dict:
    """A coverage result as a GeoJSON FeatureCollection (WGS84).

    Features: the stations that counted (with ``radius_m``), every uncovered demand point
    (or the first ``max_points``, heaviest and farthest first), the dissolved uncovered area
    and the farthest demand point. ``summary`` holds :meth:`CoverageResult.as_dict` without
    its lists.
    """
    import shapely

    features = []
    if stations:
        st = result.stations
        for i in range(len(st)):
            features.append(_point(float(st.lon[i]), float(st.lat[i]), {
                "kind": "station", "id": int(st.ids[i]), "name": str(st.names[i]),
                "opening_hours": str(st.hours_text[i]), "radius_m": result.radius_m}))
    for row in result.uncovered_points(max_points):
        props = {"kind": "uncovered_demand"}
        props.update({k: v for k, v in row.items() if k not in ("lon", "lat")})
        features.append(_point(row["lon"], row["lat"], props))
    geom = result.uncovered_geometry()
    if not geom.is_empty:
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(geom)),
                         "properties": {"kind": "uncovered_area",
                                        "weight": result.demand_total - result.demand_covered}})
    far = result.farthest()
    if far:
        props = {"kind": "farthest_demand"}
        props.update({k: v for k, v in far.items() if k not in ("lon", "lat")})
        features.append(_point(far["lon"], far["lat"], props))
    summary = result.as_dict(max_points=0)
    for gap in summary.get("gaps") or []:
        props = {"kind": "gap", **{k: v for k, v in gap.items() if k != "outline"}}
        if gap.get("outline"):
            features.append({"type": "Feature", "geometry": gap["outline"], "properties": props})
    for key in ("uncovered_points", "by_area", "by_group", "gaps"):
        summary.pop(key, None)
    summary["by_area"] = result.by_area()
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def siting_geojson(payload: dict) -> dict:
    """A ``site`` result (the dict of :func:`geodata.planning.siting.site`) as GeoJSON points."""
    features = [_point(c["lon"], c["lat"], {"kind": "recommended_site",
                                             **{k: v for k, v in c.items()
                                                if k not in ("lon", "lat")}})
                for c in payload.get("chosen", [])]
    summary = {k: v for k, v in payload.items() if k != "chosen"}
    return {"type": "FeatureCollection", "features": features, "summary": summary}


def write_geojson(path: str | Path, collection: dict) -> Path:
    """Write a FeatureCollection as UTF-8 JSON (Chinese kept readable)."""
    path = Path(path)
    path.write_text(json.dumps(collection, ensure_ascii=False, indent=1, default=str),
                    encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- Excel
def _sheet(book, title: str, headers: list[str], rows: list[list], *, widths=None,
           percent_cols=()):
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet = book.create_sheet(title)
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FCE4D6")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in rows:
        append_row(sheet, [_cell(v) for v in row])
    for col in percent_cols:
        for cell in sheet.iter_cols(min_col=col, max_col=col, min_row=2):
            for c in cell:
                c.number_format = "0.0%"
    for i, width in enumerate(widths or [], start=1):
        sheet.column_dimensions[_letter(i)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def _letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


def _cell(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _gcj(lon, lat):
    if lon is None or lat is None:
        return None, None
    x, y = convert(float(lon), float(lat), src="wgs84", dst="gcj02")
    return round(float(x), 7), round(float(y), 7)


def _area_label(body: dict) -> str:
    area = body.get("area") or {}
    if area.get("name"):
        return str(area["name"]) + (" (近似边界)" if area.get("approx") else "")
    return "全部 (all)"


def write_excel_report(path: str | Path, *, coverage: CoverageResult | dict | None = None,
                       siting: dict | None = None, title: str = "暖心驿站覆盖分析") -> Path:
    """Write the Excel report: 汇总 / 分街道 / 分群体 / 未覆盖需求 / 推荐站点.

    ``coverage`` may be a :class:`CoverageResult` (every uncovered point is listed) or its
    :meth:`~CoverageResult.as_dict` body (only the points it carries).
    """
    from openpyxl import Workbook

    if coverage is None and siting is None:
        raise ValueError("write_excel_report needs a coverage or a siting result")
    book = Workbook()
    book.remove(book.active)
    body = coverage.as_dict(max_points=0) if isinstance(coverage, CoverageResult) else coverage
    uncovered = (coverage.uncovered_points() if isinstance(coverage, CoverageResult)
                 else (coverage or {}).get("uncovered_points", []))
    summary: list[list] = [["报告", title],
                           ["生成时间", settings.shown_time(settings.now(), seconds=False)]]
    if body:
        summary += _coverage_summary(body)
    if siting:
        summary += _siting_summary(siting)
    _summary_sheet(book, summary)
    if body:
        unit = _UNIT_HEADER.get(body.get("demand_unit"), "权重")
        _strip_sheet(book, body.get("time_strip"))
        _area_sheet(book, body["by_area"], unit)
        _group_sheet(book, body["by_group"], unit)
        _gap_sheets(book, body.get("gaps") or [], body)
        _uncovered_sheet(book, uncovered, unit)
    _sites_sheet(book, (siting or {}).get("chosen", []), _siting_unit(siting or {}))
    path = Path(path)
    book.save(path)
    return path


#: Header word for what the demand totals count.
_UNIT_HEADER = {"people": "人", "points": "个点", "m2": "平方米"}
_SOURCE_ZH = {"imported": "导入的需求点", "community_proxy": "社区代理点", "area": "按面积",
              "grid": "网格"}


def _demand_words(body: dict) -> list[list]:
    """汇总 rows saying which demand was counted and what its totals count."""
    source = body["demand_source"]
    label = body.get("demand_label_zh") or _SOURCE_ZH.get(source, source)
    if source == "area":
        label += f" ({body.get('cell_m'):g} 米网格，裁剪到街道范围)"
    unit = _UNIT_HEADER.get(body.get("demand_unit"), "权重")
    rows = [["需求来源", label], ["需求计量", {"人": "人数 (导入的人数之和)",
                                       "个点": "点数 (每个社区点计 1，不代表人数)",
                                       "平方米": "面积 (不是人数)"}.get(unit, unit)]]
    if body.get("demand_note_zh"):
        rows.append(["说明", body["demand_note_zh"]])
    if body.get("demand_pending_pin"):
        rows.append(["待定位需求点 (未计入)", body["demand_pending_pin"]])
    return rows + [["需求点数" if source != "area" else "网格数", body["demand_points"]],
                   [f"需求总量 ({unit})", body["demand_total"]],
                   [f"已覆盖需求 ({unit})", body["demand_covered"]]]


def _method_words(body: dict) -> str:
    text = _METHOD_ZH.get(body["method"], body["method"])
    if body.get("detour_factor"):
        text += f" (绕行系数 {body['detour_factor']:g})"
    return text


def _coverage_summary(body: dict) -> list[list]:
    """汇总 rows of a coverage result (its :meth:`~CoverageResult.as_dict` body)."""
    far = body.get("farthest") or {}
    return [
        ["分析区域", _area_label(body)],
        *_demand_words(body),
        ["覆盖率", body["covered_share"]],
        [f"交叉覆盖率 (≥{body['min_stations']} 个站点)", body["multi_covered_share"]],
        ["缺口数", len(body.get("gaps") or [])],
        ["服务半径 (米)", body["radius_m"]],
        ["步行时间 (分钟)", body.get("walk_minutes")],
        ["距离计算", _method_words(body)],
        ["时间点", body.get("at") or "不限 (any time)"],
        ["参与计算的站点数", body["stations_counted"]],
        ["未覆盖需求点数", body["uncovered"]],
        ["最远需求点", far.get("name") or (f"{far.get('lon')}, {far.get('lat')}"
                                      if far else None)],
        ["最远需求点距最近站点 (米)", far.get("distance_m")],
        ["坐标系", "WGS84 (另附 GCJ-02 供高德地图使用)"],
    ]


def _siting_unit(siting: dict) -> str:
    """What a siting result's gains count (its demand's unit)."""
    return {"area": "平方米", "grid": "个点", "community_proxy": "个点"}.get(
        siting.get("demand_source"), "人")


def _siting_summary(siting: dict) -> list[list]:
    """汇总 rows of a siting result."""
    unit = _siting_unit(siting)
    return [
        ["选址模型", _SITING_MODEL_ZH[siting["model"]]],
        ["求解方式", _SITING_MODE_ZH[siting["mode"]]],
        ["推荐新增站点数", len(siting["chosen"])],
        [f"选址前覆盖需求 ({unit})", siting["covered_before"]],
        [f"选址后覆盖需求 ({unit})", siting["covered_after"]],
        ["选址前覆盖率", siting.get("covered_share_before")],
        ["选址后覆盖率", siting.get("covered_share_after")],
    ]


def _summary_sheet(book, summary: list[list]) -> None:
    """汇总: one indicator per row; the shares (率) as percentages."""
    from openpyxl.styles import Font

    sheet = _sheet(book, "汇总", ["指标", "数值"], summary, widths=[34, 48])
    for row in sheet.iter_rows(min_row=2):
        if "率" in str(row[0].value):
            row[1].number_format = "0.0%"
    sheet["A1"].font = Font(bold=True)


def _strip_sheet(book, strip: list[dict] | None) -> None:
    """一天: covered share at 06:00 / 12:00 / 18:00 / 22:00 (when computed)."""
    if not strip:
        return
    _sheet(book, "一天", ["时刻", "覆盖率", "交叉覆盖率", "开放站点数", "不在班的需求点"],
           [[r["time"], r["covered_share"], r["multi_covered_share"], r["stations_open"],
             r["demand_off_shift"]] for r in strip],
           widths=[10, 10, 12, 12, 16], percent_cols=(2, 3))


def _gap_sheets(book, gaps: list[dict], body: dict) -> None:
    """One sheet per street with its gaps (缺口-街道), largest first; one 缺口 sheet saying
    there are none otherwise."""
    if not gaps:
        _sheet(book, "缺口", ["说明"], [[f"{body['radius_m']:g} 米内没有未覆盖的需求"]],
               widths=[60])
        return
    by_street: dict[str, list[dict]] = {}
    for gap in gaps:
        by_street.setdefault(gap.get("street") or "未归属街道", []).append(gap)
    used: set[str] = set()
    for street, rows in by_street.items():
        title = _sheet_title("缺口-" + street, used)
        table = []
        for g in rows:
            glon, glat = _gcj(g["lon"], g["lat"])
            cand = g.get("candidate") or {}
            table.append([g["rank"], g["size_zh"], g["size"], g["points"],
                          g.get("nearest_station_name"), g.get("nearest_station_m"),
                          cand.get("name") or "无 (没有通过筛选的候选单位能覆盖)",
                          cand.get("covers_share"), g["lon"], g["lat"], glon, glat])
        _sheet(book, title, ["缺口编号", "规模", f"规模 ({_UNIT_HEADER.get(g['unit'], '')})",
                             "需求点/网格数", "最近驿站", "距最近驿站 (米)", "可覆盖的候选单位",
                             "候选可覆盖比例", "中心经度 (WGS84)", "中心纬度 (WGS84)",
                             "中心经度 (GCJ-02)", "中心纬度 (GCJ-02)"], table,
               widths=[8, 14, 14, 12, 26, 14, 30, 12, 14, 14, 14, 14], percent_cols=(8,))


def _sheet_title(text: str, used: set[str]) -> str:
    """A worksheet title (≤ 31 characters, none of ``[]:*?/\\``), unique in the book."""
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in text)[:31]
    title, n = clean, 2
    while title in used:
        title = f"{clean[:28]}-{n}"
        n += 1
    used.add(title)
    return title


def _area_sheet(book, by_area: list[dict], unit: str = "人") -> None:
    """分街道: coverage per street (or district)."""
    _sheet(book, "分街道", ["街道/区", "所属区", f"需求总量 ({unit})", f"已覆盖 ({unit})", "覆盖率",
                         "交叉覆盖率", "需求点数", "未覆盖点数"],
           [[a["name"], a.get("district"), a["demand_total"], a["demand_covered"],
             a["covered_share"], a["multi_covered_share"], a["demand_points"],
             a["uncovered_points"]] for a in by_area],
           widths=[22, 12, 14, 14, 10, 12, 10, 12], percent_cols=(5, 6))


def _group_sheet(book, by_group: list[dict], unit: str = "人") -> None:
    """分群体: coverage per group of workers."""
    _sheet(book, "分群体", ["群体", f"需求总量 ({unit})", f"已覆盖 ({unit})", "覆盖率",
                         "交叉覆盖率", "需求点数"],
           [[g["label_zh"], g["demand_total"], g["demand_covered"], g["covered_share"],
             g["multi_covered_share"], g["demand_points"]] for g in by_group],
           widths=[18, 14, 14, 10, 12, 10], percent_cols=(4, 5))


def _uncovered_sheet(book, uncovered: list[dict], unit: str = "人") -> None:
    """未覆盖需求: every uncovered demand point, in WGS84 and GCJ-02."""
    from geodata.planning.demand import GROUP_LABELS_ZH

    rows = []
    for n, u in enumerate(uncovered, start=1):
        glon, glat = _gcj(u["lon"], u["lat"])
        rows.append([n, u["name"] or ("（网格）" if unit == "平方米" else ""), u["area"],
                     GROUP_LABELS_ZH.get(u["group"], u["group"]), u["shift"], u["weight"],
                     u["nearest_m"], u["lon"], u["lat"], glon, glat])
    _sheet(book, "未覆盖需求", ["序号", "名称", "所属街道/区", "群体", "班次", f"需求 ({unit})",
                            "距最近站点 (米)", "经度 (WGS84)", "纬度 (WGS84)",
                            "经度 (GCJ-02)", "纬度 (GCJ-02)"], rows,
           widths=[6, 24, 16, 12, 12, 10, 14, 14, 14, 14, 14])


def _sites_sheet(book, chosen: list[dict], unit: str = "人") -> None:
    """推荐站点: the recommended sites, in WGS84 and GCJ-02 (headers only when none)."""
    rows = []
    for c in chosen:
        glon, glat = _gcj(c["lon"], c["lat"])
        rows.append([c.get("rank"), c["id"], c["name"], c.get("address"), c.get("street"),
                     c["gain"], c.get("gain_share"), c.get("unique_gain"), c["lon"], c["lat"],
                     glon, glat])
    _sheet(book, "推荐站点", ["排名", "候选编号", "名称", "地址", "所属街道", f"新增覆盖 ({unit})",
                          "新增覆盖占比", f"独有覆盖 ({unit})", "经度 (WGS84)", "纬度 (WGS84)",
                          "经度 (GCJ-02)", "纬度 (GCJ-02)"], rows,
           widths=[6, 10, 26, 34, 14, 14, 12, 12, 14, 14, 14, 14], percent_cols=(7,))
