"""Publishing where workers already look (issue 13 item 5): the sheets a union uploads to Amap,
Baidu and Tianditu, and the difference between two such sheets.

:func:`export_for_platform` writes one row per open station with Chinese headers: the code,
name, address, the public phone only (never the host's contact), the hours in words, the
services, and the coordinates in the platform's datum (:data:`PLATFORMS`: Amap GCJ-02, Baidu
BD-09, Tianditu CGCS2000, which is WGS84 within centimetres), converted by
:func:`geodata.crs.datums.convert` from the WGS84 the store keeps. ``.xlsx`` or ``.csv``;
every text cell is written by :mod:`geodata.io.cells` (no formula survives).

:func:`diff_exports` compares two exports by station code: stations added, changed (field by
field) and gone (an export lists open stations only, so a station missing from the newer one
was closed or suspended); :func:`diff_table_zh` says it in Chinese.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from geodata.crs.datums import convert
from geodata.io.tables import read_table
from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
from stations.errors import ValidationError
from stations.hours import hours_of
from stations.records import ACCESS_LABELS_ZH, Station

__all__ = ["Platform", "PLATFORMS", "HEADERS", "platform_rows", "export_for_platform",
           "read_export", "diff_exports", "diff_table_zh", "COORDINATE_DECIMALS"]


@dataclass(frozen=True)
class Platform:
    """A map platform a union uploads its stations to."""

    key: str
    name_zh: str
    datum: str  # what geodata.crs.datums.convert calls it
    datum_zh: str


PLATFORMS: dict[str, Platform] = {
    "amap": Platform("amap", "高德地图", "gcj02", "GCJ-02（高德/国测局坐标）"),
    "baidu": Platform("baidu", "百度地图", "bd09", "BD-09（百度坐标）"),
    "tianditu": Platform("tianditu", "天地图", "wgs84", "CGCS2000（天地图，与 WGS84 相差厘米级）"),
}
#: The sheet's columns, in order (``名称``, ``经度``, ``纬度`` as INTERFACE.md names them).
HEADERS = ("站点编码", "名称", "地址", "电话", "营业时间", "服务内容", "进入方式", "24小时",
           "所属区", "所属街道", "分类", "经度", "纬度", "坐标系")
#: Decimals of the written coordinates (1e-7° is about a centimetre).
COORDINATE_DECIMALS = 7
_TEXT = {"站点编码", "电话"}
_CATEGORY = "职工暖心驿站（工会户外劳动者服务站点）"


def _platform(key: str) -> Platform:
    found = PLATFORMS.get(str(key or "").strip().lower())
    if found is None:
        raise ValidationError(f"未知平台 {key!r} (unknown platform); use one of: "
                              + ", ".join(f"{p.key} ({p.name_zh})" for p in PLATFORMS.values()),
                              detail={"param": "for", "expected": list(PLATFORMS)})
    return found


def platform_rows(stations: list[Station], platform: str) -> list[dict]:
    """The rows of ``platform``'s sheet: open stations in code order, :data:`HEADERS` keys."""
    target = _platform(platform)
    chosen = sorted((s for s in stations if s.status == "open"),
                    key=lambda s: (s.code or "", s.id or 0))
    if not chosen:
        return []
    lon, lat = convert([s.lon for s in chosen], [s.lat for s in chosen], src="wgs84",
                       dst=target.datum)
    rows = []
    for i, s in enumerate(chosen):
        hours = hours_of(s)
        worker = s.worker_amenities()
        rows.append({
            "站点编码": s.code or "", "名称": s.name, "地址": s.address,
            "电话": s.public_phone or "",
            "营业时间": "时间未知" if hours.unknown else hours.describe_zh(),
            "服务内容": "、".join(AMENITY_LABELS_ZH[a] for a in AMENITIES
                               if worker.get(a) == "yes"),
            "进入方式": ACCESS_LABELS_ZH.get(s.access, ""),
            "24小时": "是" if hours.always_open else "否",
            "所属区": s.district, "所属街道": s.street, "分类": _CATEGORY,
            "经度": round(float(lon[i]), COORDINATE_DECIMALS),
            "纬度": round(float(lat[i]), COORDINATE_DECIMALS),
            "坐标系": target.datum_zh,
        })
    return rows


def export_for_platform(store, path: str | Path, platform: str) -> int:
    """Write ``platform``'s upload sheet of the store's open stations to ``path`` (``.xlsx``
    or ``.csv``); how many rows."""
    path = Path(path)
    target = _platform(platform)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValidationError(f"{target.name_zh}上传表须为 .xlsx 或 .csv (the {target.key} sheet "
                              f"is .xlsx or .csv), got {path.name!r}",
                              detail={"param": "file"})
    rows = platform_rows(store.list_stations(status="open"), target.key)
    (_write_xlsx if suffix == ".xlsx" else _write_csv)(rows, path, target)
    return len(rows)


def _write_csv(rows: list[dict], path: Path, _platform: Platform) -> None:
    from geodata.io.cells import csv_row

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in rows:
            writer.writerow(csv_row(row[h] for h in HEADERS))


def _write_xlsx(rows: list[dict], path: Path, platform: Platform) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from geodata.io.cells import append_row

    book = Workbook()
    sheet = book.active
    sheet.title = platform.name_zh
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in rows:
        append_row(sheet, [row[h] for h in HEADERS])
    for index, name in enumerate(HEADERS, start=1):
        if name in _TEXT:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "@"
    book.save(path)


# -- reading and comparing exports -----------------------------------------------------------
def read_export(path: str | Path) -> list[dict]:
    """The rows of an export (``.xlsx`` or ``.csv``) keyed by its own headers, values as text
    (blank for empty cells); a CSV cell's formula guard is taken off."""
    from geodata.io.cells import unquote

    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"文件不存在 (file not found): {path}", detail={"param": "file"})
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ValidationError(f"只能比较 .xlsx 或 .csv 导出表 (compare .xlsx or .csv exports), "
                              f"got {path.name!r}", detail={"param": "file"})
    header, body = read_table(path)
    names = [str(h).strip() if h is not None else "" for h in header]
    if "名称" not in names:
        raise ValidationError(f"{path.name}: 没有“名称”列，不是站点导出表 (no 名称 column: not a "
                              "station export)", detail={"param": "file"})
    rows = []
    for raw in body:
        if all(v is None or str(v).strip() == "" for v in raw):
            continue
        rows.append({n: _text(unquote(v)) for n, v in zip(names, raw, strict=False) if n})
    return rows


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _key(row: dict) -> str:
    return row.get("站点编码") or row.get("编码") or row.get("code") or row["名称"]


def _same(field: str, before: str, after: str) -> bool:
    if field in ("经度", "纬度"):
        try:  # the same point written with other rounding is the same point
            return abs(float(before) - float(after)) < 0.5 * 10 ** -6
        except ValueError:
            pass
    return before == after


def diff_exports(old_path: str | Path, new_path: str | Path) -> dict:
    """What changed between two exports, by station code.

    ``{added: [{code, name}], changed: [{code, name, fields: {column: {before, after}}}],
    closed: [{code, name}]}`` (``closed``: in the older export, not in the newer one).
    Exports for platforms in different datums are refused (their coordinates differ
    everywhere).
    """
    old, new = read_export(old_path), read_export(new_path)
    datums = {r.get("坐标系", "") for r in old[:1] + new[:1]}
    if len(datums) > 1:
        raise ValidationError("两个导出表的坐标系不同，无法比较 (the two exports use different "
                              f"datums: {' / '.join(sorted(datums))})",
                              detail={"param": "file"})
    before = {_key(r): r for r in old}
    after = {_key(r): r for r in new}
    changed = []
    for code in sorted(set(before) & set(after)):
        a, b = before[code], after[code]
        fields = {f: {"before": a.get(f, ""), "after": b.get(f, "")}
                  for f in dict.fromkeys([*a, *b])
                  if not _same(f, a.get(f, ""), b.get(f, ""))}
        if fields:
            changed.append({"code": code, "name": b["名称"], "fields": fields})
    return {
        "added": [{"code": c, "name": after[c]["名称"]} for c in sorted(set(after) - set(before))],
        "changed": changed,
        "closed": [{"code": c, "name": before[c]["名称"]}
                   for c in sorted(set(before) - set(after))],
    }


def diff_table_zh(diff: dict) -> str:
    """The difference as a plain Chinese table for the terminal."""
    lines = [f"新增 {len(diff['added'])} 个站点，变更 {len(diff['changed'])} 个，"
             f"撤下（关闭或暂停）{len(diff['closed'])} 个"]
    if diff["added"]:
        lines.append("\n新增站点")
        lines += [f"  {d['code']}\t{d['name']}" for d in diff["added"]]
    if diff["changed"]:
        lines.append("\n变更站点（字段：原值 → 新值）")
        for d in diff["changed"]:
            lines.append(f"  {d['code']}\t{d['name']}")
            lines += [f"    {f}：{v['before'] or '（空）'} → {v['after'] or '（空）'}"
                      for f, v in d["fields"].items()]
    if diff["closed"]:
        lines.append("\n撤下站点（新表中没有）")
        lines += [f"  {d['code']}\t{d['name']}" for d in diff["closed"]]
    return "\n".join(lines)
