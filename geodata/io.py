"""Station files in and out: import with a full report, export by file extension.

Import reads a CSV / XLSX / GeoJSON / GeoPackage table (:func:`geodata.tables.read_rows`),
converts coordinates from the source datum to WGS84, validates every row with
:func:`stations.records.station_from_row`, collects *every* bad row (row number, column,
reason) and writes all good rows in **one** transaction, so a failing database write
leaves nothing behind.

Export writes the store's stations as

* ``.geojson`` — a FeatureCollection of WGS84 Points; properties carry every field, with
  ``amenities`` as a mapping ``key → yes/no/unknown``;
* ``.gpkg`` — a GeoPackage layer ``stations`` in EPSG:4326 with flat columns;
* ``.csv`` — UTF-8 with a BOM (Excel opens the Chinese text correctly), the columns of
  :data:`stations.records.STATION_FIELDS` (amenities as ``amenity_<key>`` tri-state columns);
* ``.xlsx`` — the same columns, bold header row, frozen first row.

Export → import into a fresh store → export reproduces the same file content.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from geodata.datums import normalise_datum
from geodata.errors import GeodataError
from geodata.tables import TableError, read_rows, to_wgs84_rows
from stations.amenities import AMENITIES
from stations.errors import NuanxinError, RowError, StoreError
from stations.records import STATION_FIELDS, Station, clean_text, station_from_row

__all__ = [
    "ImportReport",
    "import_stations",
    "export_stations",
    "station_to_flat",
    "station_to_feature",
    "EXPORT_SUFFIXES",
    "PROGRESS_MIN_ROWS",
]

#: File types :func:`export_stations` writes.
EXPORT_SUFFIXES = (".geojson", ".gpkg", ".csv", ".xlsx")
#: Above this many rows an import shows a progress bar even when stderr is not a terminal.
PROGRESS_MIN_ROWS = 2000
#: Fields carried by GeoJSON/GeoPackage beyond :data:`STATION_FIELDS`.
_EXTRA_FIELDS = ("candidate_id", "created_at", "updated_at")


@dataclass
class ImportReport:
    """What an import did.

    Attributes
    ----------
    imported : int
        Rows written to the store (new or updated by ``code``).
    rejected : list of dict
        One ``{row, column, reason}`` per bad row, in row order.
    ids : list of int
        Store ids of the imported rows, in row order.
    total : int
        Data rows read from the file.
    """

    imported: int = 0
    rejected: list[dict] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    total: int = 0

    def as_dict(self) -> dict:
        """JSON form (INTERFACE.md): ``{imported, rejected: [{row, column, reason}]}``."""
        return {"imported": self.imported, "rejected": [dict(r) for r in self.rejected]}


# -- import -------------------------------------------------------------------------------


def import_stations(store, path: str | Path, *, crs: str = "wgs84",
                    progress: bool | None = False) -> ImportReport:
    """Import stations from a file into ``store``; keep every good row, report every bad one.

    Parameters
    ----------
    store : stations.store.Store
        An initialised store.
    path : str or Path
        ``.csv``, ``.xlsx``, ``.geojson``/``.json`` or ``.gpkg``. Headers may be Chinese or
        English (``名称``/``name``, ``经度``/``lon``...); unknown columns are ignored.
    crs : str, keyword-only
        Datum of the file's coordinates: ``wgs84`` (default), ``gcj02`` or ``bd09``.
    progress : bool or None, keyword-only
        ``True`` always shows a progress bar on stderr, ``False`` never, ``None`` shows one
        when stderr is a terminal or the file has more than :data:`PROGRESS_MIN_ROWS` rows.

    Returns
    -------
    ImportReport

    Raises
    ------
    geodata.tables.TableError
        The file cannot be read as a table at all (missing, wrong type, broken).
    stations.errors.StoreError
        The database write failed; nothing was written.
    """
    normalise_datum(crs)  # a bad --crs is named before the file is read
    rows = to_wgs84_rows(_read_table(path), crs)
    report = ImportReport(total=len(rows))
    good: list[Station] = []
    seen_codes: dict[str, int] = {}
    for number, row in _progress(rows, enabled=progress, desc="校验 (validating)"):
        try:
            station = _station_from_import_row(row, number)
        except RowError as exc:
            report.rejected.append(exc.as_dict())
            continue
        if station.code:
            if station.code in seen_codes:
                report.rejected.append(RowError(
                    f"编码 {station.code} 与第 {seen_codes[station.code]} 行重复 "
                    f"(duplicate code; each station code may appear once per file)",
                    row=number, column="code").as_dict())
                continue
            seen_codes[station.code] = number
        good.append(station)
    if good:
        try:
            with store.transaction() as conn:
                report.ids = store.add_stations(
                    _progress(good, enabled=progress, desc="写入 (writing)"), conn=conn)
        except StoreError:
            raise
        except Exception as exc:  # IntegrityError, OperationalError...: rolled back
            first_line = (str(exc).splitlines() or [""])[0][:300]
            raise StoreError(
                f"写入数据库失败，未导入任何行 (database write failed; nothing was imported): "
                f"{type(exc).__name__}: {first_line}") from exc
    report.imported = len(report.ids)
    return report


def _read_table(path: str | Path) -> list[tuple[int, dict]]:
    try:
        return read_rows(path)
    except NuanxinError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # broken GeoPackage, ...
        raise TableError(f"{Path(path).name}: 无法读取文件 (cannot read the file): "
                         f"{type(exc).__name__}: {exc}") from exc


def _station_from_import_row(row: dict, number: int) -> Station:
    geometry_error = row.pop("_geometry_error", None)
    if geometry_error:
        raise RowError(f"几何类型不是点 (station geometry must be a Point; {geometry_error})",
                       row=number, column="geometry")
    station = station_from_row(row, row_number=number)
    # Fields the flat validator leaves alone but a lossless round trip needs.
    raw = row.get("candidate_id")
    if clean_text(raw):
        try:
            station.candidate_id = int(float(clean_text(raw)))
        except ValueError:
            raise RowError(f"'{raw}' 不是整数 (candidate_id must be an integer)",
                           row=number, column="candidate_id") from None
    for key in ("created_at", "updated_at"):
        raw = row.get(key)
        if isinstance(raw, datetime):
            setattr(station, key, raw.replace(tzinfo=None))
        elif clean_text(raw):
            try:
                setattr(station, key, datetime.fromisoformat(clean_text(raw)).replace(tzinfo=None))
            except ValueError:
                raise RowError(f"'{raw}' 不是日期时间 (expected ISO 8601 date-time)",
                               row=number, column=key) from None
    return station


def _progress(items: list, *, enabled: bool | None, desc: str) -> Iterable:
    if enabled is None:
        enabled = len(items) > PROGRESS_MIN_ROWS or _stderr_is_tty()
    if not enabled:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="行", file=sys.stderr, leave=False)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# -- export -------------------------------------------------------------------------------


def station_to_flat(station: Station) -> dict:
    """One station as a flat row of :data:`STATION_FIELDS` (plain Python values).

    Amenities become ``amenity_<key>`` columns holding ``yes``/``no``/``unknown``; blank
    numbers and dates are ``None``.
    """
    data = station.as_dict()
    row: dict = {}
    for name in STATION_FIELDS:
        if name.startswith("amenity_"):
            row[name] = station.amenities.get(name[len("amenity_"):], "unknown")
        else:
            row[name] = data[name]
    return row


def station_to_feature(station: Station) -> dict:
    """One station as a GeoJSON Feature (WGS84 Point; every field in ``properties``)."""
    props = station.as_dict()
    props.pop("lon"), props.pop("lat")
    props["amenities"] = {key: station.amenities.get(key, "unknown") for key in AMENITIES}
    props["lon"], props["lat"] = station.lon, station.lat
    return {
        "type": "Feature",
        "id": station.id,
        "geometry": {"type": "Point", "coordinates": [station.lon, station.lat]},
        "properties": props,
    }


def export_stations(store, path: str | Path, *, stations: list[Station] | None = None) -> int:
    """Write the store's stations (all statuses) to ``path``; the extension picks the format.

    Parameters
    ----------
    store : stations.store.Store
    path : str or Path
        Ends in ``.geojson``, ``.gpkg``, ``.csv`` or ``.xlsx``.
    stations : list of Station, keyword-only, optional
        Write these instead of every station in the store.

    Returns
    -------
    int
        How many stations were written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    writers = {".geojson": _write_geojson, ".json": _write_geojson, ".gpkg": _write_gpkg,
               ".csv": _write_csv, ".xlsx": _write_xlsx}
    if suffix not in writers:
        raise GeodataError(
            f"不支持的导出格式 {suffix or '(none)'} (unsupported export type for {path.name}); "
            f"use one of {', '.join(EXPORT_SUFFIXES)}")
    if stations is None:
        stations = store.list_stations()
    if path.parent and not path.parent.exists():
        raise GeodataError(f"目录不存在 (folder does not exist): {path.parent}")
    writers[suffix](stations, path)
    return len(stations)


def _write_geojson(stations: list[Station], path: Path) -> None:
    doc = {"type": "FeatureCollection", "features": [station_to_feature(s) for s in stations]}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _write_csv(stations: list[Station], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(STATION_FIELDS)
        for station in stations:
            flat = station_to_flat(station)
            writer.writerow(["" if flat[c] is None else _csv_text(flat[c])
                             for c in STATION_FIELDS])


def _csv_text(value: object) -> str:
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back to the same double
    return str(value)


def _write_xlsx(stations: list[Station], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "stations"
    sheet.append(list(STATION_FIELDS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    text_columns = {"code", "district_code", "street_code", "contact_phone", "verified_on"}
    for station in stations:
        flat = station_to_flat(station)
        sheet.append([flat[c] if c not in text_columns or flat[c] is None else str(flat[c])
                      for c in STATION_FIELDS])
    for index, name in enumerate(STATION_FIELDS, start=1):
        if name in text_columns:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "@"
    book.save(path)


def _write_gpkg(stations: list[Station], path: Path) -> None:
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    columns = list(STATION_FIELDS) + list(_EXTRA_FIELDS)
    records = []
    for station in stations:
        flat = station_to_flat(station)
        for key in _EXTRA_FIELDS:
            value = getattr(station, key)
            flat[key] = value.isoformat() if isinstance(value, datetime) else value
        if isinstance(flat["verified_on"], date):
            flat["verified_on"] = flat["verified_on"].isoformat()
        records.append(flat)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for name in ("area_m2",):
        frame[name] = frame[name].astype("float64")
    for name in ("id", "capacity", "candidate_id"):
        frame[name] = frame[name].astype("Int64")
    for name in columns:
        if frame[name].dtype == object:
            frame[name] = frame[name].astype("string")
    geometry = [Point(s.lon, s.lat) for s in stations]
    gdf = gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    if path.exists():
        path.unlink()  # a GeoPackage is a database: start from a clean file
    gdf.to_file(path, layer="stations", driver="GPKG")
