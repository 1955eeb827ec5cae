"""Read the tables people bring (CSV, XLSX, GeoJSON, GeoPackage) into canonical rows.

Every reader returns ``[(row_number, {canonical_column: value})]`` where row numbers count
data rows from 1 (the header is not a row, INTERFACE.md) and headers are mapped through
:func:`stations.records.canonical_column` (``名称`` → ``name``, ``经度`` → ``lon``...).
Point geometries become ``lon``/``lat``. Coordinates are returned as found: call
:func:`to_wgs84_rows` with the source datum.

Row numbers are the sheet's own: blank lines are not returned as rows, but they keep their
number, so data row *N* is always the spreadsheet's row *N + 1* (the header is row 1 there)
and the *N*-th record under the header of a CSV. GeoJSON and GeoPackage rows are numbered
by feature, from 1.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

from geodata.crs.datums import convert, normalise_datum
from geodata.errors import GeodataError
from stations.records import canonical_column

__all__ = ["read_rows", "read_table", "to_wgs84_rows", "SUPPORTED_SUFFIXES", "TableError"]

SUPPORTED_SUFFIXES = (".csv", ".xlsx", ".geojson", ".json", ".gpkg")


class TableError(GeodataError):
    """A file cannot be read as a table at all (wrong type, no header, broken encoding)."""


def read_rows(path: str | Path) -> list[tuple[int, dict]]:
    """Rows of a CSV / XLSX / GeoJSON / GeoPackage file with canonical column names."""
    path = Path(path)
    if not path.exists():
        raise TableError(f"文件不存在 (file not found): {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        header, body = _read_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        header, body = _read_xlsx(path)
    elif suffix in (".geojson", ".json"):
        return _read_geojson(path)
    elif suffix == ".gpkg":
        return _read_gpkg(path)
    else:
        raise TableError(
            f"不支持的文件类型 {suffix or '(none)'} (unsupported file type); use one of "
            + ", ".join(SUPPORTED_SUFFIXES))
    columns = [canonical_column(h) if h is not None and str(h).strip() else "" for h in header]
    if not any(columns):
        raise TableError(f"{path.name}: 第一行应为表头 (the first row must be a header row)")
    rows = []
    for number, raw in enumerate(body, start=1):
        if all(v is None or str(v).strip() == "" for v in raw):
            continue  # a blank line is not a row, but it keeps its number (as a sheet shows)
        rows.append((number, {c: v for c, v in zip(columns, raw, strict=False) if c}))
    return rows


def read_table(path: str | Path) -> tuple[list, list[list]]:
    """The header row and the data rows of a ``.csv`` (UTF-8 or GB18030) or ``.xlsx`` file as
    they stand (no column mapping): :class:`TableError` when it cannot be read as a table."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _read_csv(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raise TableError(f"只能读 .xlsx 或 .csv (read .xlsx or .csv), got {path.name!r}")


def _read_csv(path: Path):
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TableError(f"{path.name}: 无法识别文件编码 (not UTF-8 or GB18030)")
    reader = list(csv.reader(io.StringIO(text)))
    if not reader:
        raise TableError(f"{path.name}: 文件为空 (empty file)")
    return reader[0], reader[1:]


def _read_xlsx(path: Path):
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException...
        raise TableError(f"{path.name}: 不是有效的 Excel 文件 (not a valid .xlsx): {exc}") from exc
    sheet = book.worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    if not values:
        raise TableError(f"{path.name}: 工作表为空 (empty sheet)")
    return values[0], values[1:]


def _feature_row(feature: dict, number: int) -> dict:
    props = feature.get("properties") or {}
    row = {canonical_column(k): v for k, v in props.items()}
    geom = feature.get("geometry")
    if geom and geom.get("type") == "Point":
        coords = geom.get("coordinates") or []
        if len(coords) >= 2:
            row["lon"], row["lat"] = coords[0], coords[1]
    elif geom:
        row["_geometry_error"] = f"geometry type {geom.get('type')} is not Point"
    return row


def _read_geojson(path: Path) -> list[tuple[int, dict]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TableError(f"{path.name}: 不是有效的 GeoJSON (invalid JSON): {exc}") from exc
    if isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        features = doc.get("features") or []
    elif isinstance(doc, dict) and doc.get("type") == "Feature":
        features = [doc]
    else:
        raise TableError(f"{path.name}: 需要 FeatureCollection (expected a FeatureCollection)")
    return [(i, _feature_row(f, i)) for i, f in enumerate(features, start=1)]


def _read_gpkg(path: Path) -> list[tuple[int, dict]]:
    import geopandas as gpd

    frame = gpd.read_file(path)
    if frame.crs is not None and frame.crs.to_epsg() != 4326:
        frame = frame.to_crs("EPSG:4326")
    rows = []
    for i, (_, rec) in enumerate(frame.iterrows(), start=1):
        row = {canonical_column(k): (None if _is_nan(v) else v)
               for k, v in rec.items() if k != "geometry"}
        geom = rec.geometry
        if geom is not None and geom.geom_type == "Point":
            row["lon"], row["lat"] = geom.x, geom.y
        elif geom is not None:
            row["_geometry_error"] = f"geometry type {geom.geom_type} is not Point"
        rows.append((i, row))
    return rows


def _is_nan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)


def to_wgs84_rows(rows: list[tuple[int, dict]], crs: str) -> list[tuple[int, dict]]:
    """Convert ``lon``/``lat`` of rows from ``crs`` (wgs84, gcj02, bd09) to WGS84 in place.

    Rows whose coordinates are blank, not numbers, not finite or outside ±180/±90 are left
    alone (the validator names them in the file's own words).
    """
    datum = normalise_datum(crs)
    if datum == "wgs84":
        return rows
    for _, row in rows:
        try:
            lon, lat = float(row.get("lon")), float(row.get("lat"))
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(lon) and math.isfinite(lat)
                and -180 <= lon <= 180 and -90 <= lat <= 90):
            continue
        row["lon"], row["lat"] = convert(lon, lat, src=datum, dst="wgs84")
    return rows
