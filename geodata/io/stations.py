"""Station files in and out: import with a full report, export by file extension.

Import reads a CSV / XLSX / GeoJSON / GeoPackage table (:func:`geodata.io.tables.read_rows`),
converts coordinates from the source datum to WGS84, validates every row with
:func:`stations.records.validate_station_row`, collects *every* problem of every bad row
(row number, column, reason) and writes all good rows in **one** transaction, so a failing
database write leaves nothing behind. A value the store cannot hold (an id beyond the
integer column, ``capacity=1e300``, ``area_m2=1e308``, ``nan``) rejects its row, never the
file. Row numbers are data-row numbers as INTERFACE.md defines them: the first row under
the header is row 1 and blank lines count, so row *N* is the spreadsheet's row *N + 1*.

Every station takes its ``district``/``street`` (and their codes) from its location
(:mod:`geodata.places.assign`): a point inside the shipped Beijing data belongs to the district
and street there, whatever the file typed; the file's names count only for a point outside it.

A row whose ``code`` is already a station's is written over it only when the caller asks
(``update=True``, ``nuanxin stations import --update``); otherwise it is rejected as a
duplicate naming the station and the fields that differ. A row identical to the station
it names changes nothing and is counted ``unchanged`` (so re-importing an export is a
no-op, not an error).

Export writes the store's stations as

* ``.geojson`` — a FeatureCollection of WGS84 Points; properties carry every field, with
  ``amenities`` as a mapping ``key → yes/no/unknown``;
* ``.gpkg`` — a GeoPackage layer ``stations`` in EPSG:4326 with flat columns;
* ``.csv`` — UTF-8 with a BOM (Excel opens the Chinese text correctly), the columns of
  :data:`stations.records.STATION_FIELDS` (amenities as ``amenity_<key>`` tri-state columns);
* ``.xlsx`` — the same columns, bold header row, frozen first row.

Spreadsheets cannot run code (:mod:`geodata.io.cells`): text beginning with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written as ``'``-prefixed text in CSV and as a
quote-prefixed string cell in XLSX; numbers stay numbers. Import takes that one ``'`` off
again, so export → import into a fresh store → export reproduces the same file content.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import date, datetime
from pathlib import Path

from geodata.crs.datums import normalise_datum
from geodata.errors import GeodataError
from geodata.io.cells import unquote_rows
from geodata.io.tables import TableError, read_rows, to_wgs84_rows
from geodata.places.assign import assign_areas
from stations import settings
from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
from stations.errors import NuanxinError, RowError, StoreError, ValidationError
from stations.records import (
    ACCESS_LABELS_ZH,
    HOST_TYPE_LABELS_ZH,
    ID_MAX,
    ID_MIN,
    STATION_FIELDS,
    STATUS_LABELS_ZH,
    Station,
    clean_text,
    combine_row_errors,
    parse_int,
    validate_station_row,
)

__all__ = [
    "ImportReport",
    "import_stations",
    "export_stations",
    "station_to_flat",
    "station_to_feature",
    "station_to_sheet_row",
    "EXPORT_HEADERS_ZH",
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

    Every data row read ends up either imported or rejected:
    ``imported + len(rejected) == total``.

    Attributes
    ----------
    imported : int
        Rows the store now holds as the file gives them:
        ``inserted + updated + unchanged``.
    inserted : int
        New stations.
    updated : int
        Existing stations (same ``code``) overwritten; only with ``update=True``.
    unchanged : int
        Rows identical to the station with their ``code``; nothing written.
    rejected : list of dict
        One ``{row, column, reason}`` per rejected *row*, in row order; ``column`` is the
        first column at fault and ``reason`` lists every problem of the row
        (:func:`stations.records.combine_row_errors`).
    problems : list of dict
        One ``{row, column, reason}`` per problem, in row order (a row may have several).
    ids : list of int
        Store ids of the imported rows, in row order.
    total : int
        Data rows read from the file (blank lines are not rows).
    """

    imported: int = 0
    rejected: list[dict] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON form: INTERFACE.md's ``{imported, rejected}`` plus the new keys.

        ``{imported, inserted, updated, unchanged, rejected: [{row, column, reason}],
        problems: [{row, column, reason}]}``.
        """
        return {"imported": self.imported, "inserted": self.inserted, "updated": self.updated,
                "unchanged": self.unchanged,
                "rejected": [dict(r) for r in self.rejected],
                "problems": [dict(p) for p in self.problems]}

    def _reject(self, problems: list[RowError]) -> None:
        self.rejected.append(combine_row_errors(problems).as_dict())
        self.problems.extend(p.as_dict() for p in problems)


# -- import -------------------------------------------------------------------------------


def import_stations(store, path: str | Path, *, crs: str = "wgs84", update: bool = False,
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
    update : bool, keyword-only
        ``True`` overwrites the station whose ``code`` a row carries; ``False`` (default)
        rejects such a row as a duplicate unless it is identical to the station.
    progress : bool or None, keyword-only
        ``True`` always shows a progress bar on stderr, ``False`` never, ``None`` shows one
        when stderr is a terminal or the file has more than :data:`PROGRESS_MIN_ROWS` rows.

    Returns
    -------
    ImportReport

    Raises
    ------
    geodata.io.tables.TableError
        The file cannot be read as a table at all (missing, wrong type, broken).
    stations.errors.StoreError
        The database write failed; nothing was written.
    """
    normalise_datum(crs)  # a bad --crs is named before the file is read
    rows = to_wgs84_rows(_read_table(path), crs)
    report = ImportReport(total=len(rows))
    good: list[tuple[int, Station]] = []
    seen_codes: dict[str, int] = {}
    for number, row in _progress(rows, enabled=progress, desc="校验 (validating)"):
        station, problems = _validate_import_row(row, number)
        code = station.code if station is not None else (clean_text(row.get("code")) or None)
        if code and code in seen_codes:
            problems.append(RowError(
                f"编码 {code} 与第 {seen_codes[code]} 行重复 "
                f"(duplicate code; each station code may appear once per file)",
                row=number, column="code"))
        if problems:
            report._reject(problems)
            continue
        assert station is not None
        if code:
            seen_codes[code] = number
        good.append((number, station))
    assign_areas([st for _, st in good])  # each belongs where it is (module docstring)
    if good:
        try:
            with store.transaction() as conn:
                _write_good_rows(store, good, report, update=update, progress=progress,
                                 conn=conn)
        except StoreError:
            raise
        except Exception as exc:  # IntegrityError, OperationalError...: rolled back
            first_line = (str(exc).splitlines() or [""])[0][:300]
            raise StoreError(
                f"写入数据库失败，未导入任何行 (database write failed; nothing was imported): "
                f"{type(exc).__name__}: {first_line}") from exc
    report.rejected.sort(key=lambda r: r["row"] or 0)
    report.problems.sort(key=lambda r: r["row"] or 0)
    report.imported = report.inserted + report.updated + report.unchanged
    return report


#: Station fields an import compares to tell an unchanged row from an update (the store
#: assigns ``id``, the timestamps and the version).
_COMPARED_FIELDS = tuple(f.name for f in dataclass_fields(Station)
                         if f.name not in ("id", "created_at", "updated_at", "version"))


def _write_good_rows(store, good: list[tuple[int, Station]], report: ImportReport, *,
                     update: bool, progress: bool | None, conn) -> None:
    """Sort validated rows into insert / update / unchanged / duplicate and write them."""
    stored = _stations_by_code(store, [st.code for _, st in good if st.code], conn=conn)
    ids_by_row: dict[int, int] = {}
    inserts: list[tuple[int, Station]] = []
    updates: list[tuple[int, Station]] = []
    for number, station in good:
        old = stored.get(station.code) if station.code else None
        if old is None:
            inserts.append((number, station))
            continue
        changed = _changed_fields(station, old)
        if not changed:
            report.unchanged += 1
            ids_by_row[number] = int(old.id)
        elif update:
            updates.append((number, station))
        else:
            shown = ", ".join(changed[:6]) + (", …" if len(changed) > 6 else "")
            report._reject([RowError(
                f"编码 {station.code} 已是站点 {old.id}「{old.name}」，内容不同 ({shown})，"
                f"未覆盖；要更新请加 --update (code {station.code} is already station "
                f"{old.id}; this row differs in {shown}; pass --update, or update=True, "
                f"to overwrite it)", row=number, column="code")])
    inserts = _leave_room_for_fresh_ids(inserts, report)
    to_write = sorted(inserts + updates, key=lambda item: item[0])
    report.inserted, report.updated = len(inserts), len(updates)
    if to_write:
        ids = store.add_stations(
            _progress([st for _, st in to_write], enabled=progress, desc="写入 (writing)"),
            conn=conn, upsert_by_code=update)
        if max(ids) > ID_MAX:  # SQLite would take it; PostgreSQL's INTEGER id would not
            raise StoreError(
                f"新站点编号将超过 {ID_MAX}，未导入任何行 (new station ids would exceed "
                f"{ID_MAX}, the largest the id column holds; nothing was imported)")
        ids_by_row.update(zip((n for n, _ in to_write), ids, strict=True))
    report.ids = [ids_by_row[n] for n in sorted(ids_by_row)]


def _leave_room_for_fresh_ids(inserts: list[tuple[int, Station]], report: ImportReport
                              ) -> list[tuple[int, Station]]:
    """Reject new rows whose explicit ``id`` leaves no room for the rows the store numbers.

    The store numbers new stations above the highest id in use, so a row asking for an id
    near :data:`ID_MAX` would push the others out of the id column's range.
    """
    fresh = sum(1 for _, st in inserts if st.id is None)
    if not fresh:
        return inserts
    kept = []
    for number, station in inserts:
        if station.id is not None and station.id + fresh > ID_MAX:
            report._reject([RowError(
                f"编号 {station.id} 过大，其后 {fresh} 个新站点的编号将超过 {ID_MAX}；"
                f"请留空由系统编号 (id {station.id} leaves no room for the {fresh} new "
                f"station(s) numbered after it, up to {ID_MAX}; leave id blank)",
                row=number, column="id")])
        else:
            kept.append((number, station))
    return kept


def _stations_by_code(store, codes: list[str], *, conn) -> dict[str, Station]:
    """The stored stations carrying these codes (looked up inside the import's transaction)."""
    ids = list(store._ids_by_code(codes, conn=conn).values())  # the store's lookup
    found: dict[str, Station] = {}
    for start in range(0, len(ids), 500):
        for station in store.list_stations(ids=ids[start:start + 500], conn=conn):
            found[station.code] = station
    return found


def _changed_fields(new: Station, old: Station) -> list[str]:
    changed = []
    for name in _COMPARED_FIELDS:
        a, b = getattr(new, name), getattr(old, name)
        if name == "amenities":
            a = {k: a.get(k, "unknown") for k in AMENITIES}
            b = {k: b.get(k, "unknown") for k in AMENITIES}
        if a != b:
            changed.append(name)
    return changed


def _read_table(path: str | Path) -> list[tuple[int, dict]]:
    if not _EXPORT_COLUMNS:
        _EXPORT_COLUMNS.update(_export_columns())
    try:
        rows = unquote_rows(read_rows(path), path)  # '=… in a CSV we wrote: =…
        return [(n, {_sheet_field(k): v for k, v in row.items()}) for n, row in rows]
    except NuanxinError:
        raise
    except (OSError, RuntimeError, ValueError, KeyError) as exc:  # broken GeoPackage, ...
        raise TableError(f"{Path(path).name}: 无法读取文件 (cannot read the file): "
                         f"{type(exc).__name__}: {exc}") from exc


def _validate_import_row(row: dict, number: int) -> tuple[Station | None, list[RowError]]:
    """A file row → (station or None, every problem of the row)."""
    geometry_error = row.pop("_geometry_error", None)
    station, problems = validate_station_row(row, row_number=number)
    if geometry_error:  # missing lon/lat are its consequence, not problems of their own
        problems = [p for p in problems if p.column not in ("lon", "lat")]
        problems.insert(0, RowError(
            f"几何类型不是点 (station geometry must be a Point; {geometry_error})",
            row=number, column="geometry"))
    # Fields the flat validator leaves alone but a lossless round trip needs.
    extra: dict[str, object] = {}
    try:
        extra["candidate_id"] = parse_int(row.get("candidate_id"), column="candidate_id",
                                          minimum=ID_MIN, maximum=ID_MAX)
    except ValidationError as exc:
        problems.append(RowError(exc.message.removeprefix("candidate_id: "),
                                 row=number, column="candidate_id"))
    for key in ("created_at", "updated_at"):
        raw = row.get(key)
        if isinstance(raw, datetime):  # a time without an offset is Beijing time
            extra[key] = settings.local_time(raw)
        elif clean_text(raw):
            try:
                extra[key] = settings.local_time(clean_text(raw))
            except ValueError:
                problems.append(RowError(f"'{raw}' 不是日期时间 (expected ISO 8601 date-time)",
                                         row=number, column=key))
    if problems:
        return None, problems
    assert station is not None
    for key, value in extra.items():
        if value is not None:
            setattr(station, key, value)
    return station, problems


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
#: The station sheet's headers as the union reads them (issue 12): Chinese first, the field
#: name in brackets as the secondary explanation. The importer reads them back (brackets are
#: explanation, :func:`stations.records.canonical_column`; :func:`_sheet_field` for the rest).
_FIELD_LABELS_ZH = {
    "id": "编号", "code": "站点编码", "name": "名称", "host_type": "类型", "address": "地址",
    "district": "区", "district_code": "区划代码", "street": "街道", "street_code": "街道代码",
    "lon": "经度", "lat": "纬度", "access": "进入方式", "area_m2": "面积(m²)",
    "capacity": "容纳人数", "opening_hours": "开放时间", "status": "状态",
    "status_reason": "状态原因", "sample": "示例数据", "verified_on": "核实日期",
    "contact_name": "联系人", "contact_phone": "联系电话", "public_phone": "公开电话",
    "notes": "备注",
}


def _header_zh(name: str) -> str:
    if name.startswith("amenity_"):
        return f"设施·{AMENITY_LABELS_ZH[name[len('amenity_'):]]} ({name})"
    return f"{_FIELD_LABELS_ZH[name]} ({name})"


#: Header of each flat column in the CSV/XLSX export, in :data:`STATION_FIELDS` order.
EXPORT_HEADERS_ZH: tuple[str, ...] = tuple(_header_zh(n) for n in STATION_FIELDS)
_TRISTATE_ZH = {"yes": "有", "no": "无", "unknown": "未知"}


def _sheet_field(column: str) -> str:
    """A canonical column read from one of our Chinese headers → its field (``设施·热水`` →
    ``amenity_hot_water``); other columns unchanged."""
    return _EXPORT_COLUMNS.get(column, column)


def _export_columns() -> dict[str, str]:
    from stations.records import canonical_column

    out = {}
    for header, name in zip(EXPORT_HEADERS_ZH, STATION_FIELDS, strict=True):
        read = canonical_column(header)
        if read != name:
            out[read] = name
    return out


_EXPORT_COLUMNS: dict[str, str] = {}


def station_to_sheet_row(station: Station) -> list:
    """One station as a row of the Chinese sheet: labels for type, access, status, amenities
    (有/无/未知) and the sample flag (是/否), in :data:`STATION_FIELDS` order."""
    flat = station_to_flat(station)
    out = []
    for name in STATION_FIELDS:
        value = flat[name]
        if name.startswith("amenity_"):
            value = _TRISTATE_ZH.get(value, value)
        elif name == "host_type":
            value = HOST_TYPE_LABELS_ZH.get(value, value)
        elif name == "access":
            value = ACCESS_LABELS_ZH.get(value, value)
        elif name == "status":
            value = STATUS_LABELS_ZH.get(value, value)
        elif name == "sample":
            value = "是" if value else "否"
        out.append(value)
    return out



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
    """CSV cells by :func:`geodata.io.cells.csv_row`: text that could start a formula is
    written behind a single quote (the importer takes it off again)."""
    from geodata.io.cells import csv_row

    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_HEADERS_ZH)
        for station in stations:
            writer.writerow(csv_row(station_to_sheet_row(station)))


def _write_xlsx(stations: list[Station], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    from geodata.io.cells import append_row

    book = Workbook()
    sheet = book.active
    sheet.title = "站点"
    sheet.append(list(EXPORT_HEADERS_ZH))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    text_columns = {"code", "district_code", "street_code", "contact_phone", "verified_on"}
    for station in stations:
        row = station_to_sheet_row(station)
        append_row(sheet, [v if c not in text_columns or v is None else str(v)
                           for c, v in zip(STATION_FIELDS, row, strict=True)])
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
            flat[key] = settings.iso_time(value) if isinstance(value, datetime) else value
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
