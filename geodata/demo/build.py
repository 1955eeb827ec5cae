"""Build tooling of the shipped Beijing demo (not on the runtime path): rebuild its files.

``python -m geodata.demo build [--source DIR] [--dest DIR]`` (``make demo``) reads the GCJ-02
source files in ``geodata/demo/source/`` (a copy of the Beijing part of ``../shared/data``; see
its ``SOURCES.md``), converts every coordinate to WGS84 and writes ``geodata/data/beijing/``:

``districts.geojson``
    The 16 district polygons (Vonng/adcode fences), converted vertex by vertex, 7 decimals.
``streets.csv``
    Streets/towns (街道/乡镇): 2023 names and codes (modood), short names and pinyin
    (AreaCity), WGS84 street-office points (Vonng/adcode, 2016) where known.
``communities.csv``
    Communities/villages (社区/村, 2016 list) with WGS84 centre points where known.
``streets_approx.geojson``
    *Approximate* street polygons: Voronoi cells of the community and street-office points
    of each district, dissolved by street and clipped to the district (``approx: true``).
``demo_stations.geojson``, ``demo_candidates.csv``, ``demo_demand.csv``
    Sample data (see :mod:`geodata.demo._samples`), every row marked sample.

The build is deterministic: rebuilding from the same sources reproduces the same bytes
(tests/test_demo.py checks the shipped files against a fresh build).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from geodata.crs.datums import convert
from geodata.demo import DEMO_DIR
from geodata.demo._samples import (
    DEMO_SEED,
    GUANGWAI_CODE,
    build_candidates,
    build_demand,
    build_stations,
)
from geodata.errors import GeodataError

__all__ = [
    "DEFAULT_SOURCE",
    "STREET_FIELDS",
    "COMMUNITY_FIELDS",
    "build",
    "main",
]

#: The public source data, kept in the repository (``geodata/demo/source/``: the Beijing subset
#: of ``../shared/data``, licences and ``SOURCES.md`` beside it; streets.csv trimmed to
#: Beijing's rows, which is all the build reads), so a clone rebuilds the demo without
#: ``../shared``. ``make demo DATA=../shared/data`` builds from the full shared copy instead.
DEFAULT_SOURCE = Path(__file__).resolve().parent / "source"

STREET_FIELDS = ("code", "name", "short_name", "pinyin", "district", "district_code", "lon",
                 "lat", "vintage", "name_2016")
COMMUNITY_FIELDS = ("code", "name", "short_name", "kind", "street", "street_code", "district",
                    "district_code", "lon", "lat")
_VONNG_COLUMNS = ("code", "parent", "name", "level", "rank", "adcode", "post_code", "area_code",
                  "ur_code", "municipality", "virtual", "dummy", "longitude", "latitude",
                  "center", "province", "city", "county", "town", "village")
_STREET_SUFFIX = re.compile(r"(街道办事处|地区办事处|办事处|街道|地区|镇|乡)$")
_COMMUNITY_SUFFIX = re.compile(
    r"(社区居委会|社区居民委员会|居民委员会|村民委员会|居委会|村委会|社区)$")
_LICENCES = (  # (source file, shipped name)
    ("vonng-adcode/LICENSE.md", "LICENSE-vonng-adcode.md"),
    ("modood-divisions/LICENSE", "LICENSE-modood-divisions.txt"),
    ("areacity/LICENSE", "LICENSE-areacity.txt"),
)
_DECIMALS_POINT = 7
_DECIMALS_APPROX = 6  # approximate polygons: 0.1 m is far finer than their accuracy
_SIMPLIFY_M = 20.0  # coverage simplification of the approximate polygons, metres


# -- reading the sources ---------------------------------------------------------------------


def _source_file(source: Path, relative: str) -> Path:
    path = source / relative
    if not path.exists():
        raise GeodataError(
            f"找不到源数据 {relative} (source file missing under {source}); pass --source with "
            "the folder holding vonng-adcode/, modood-divisions/ and areacity/")
    return path


def _read_vonng(source: Path) -> list[dict]:
    folder = _source_file(source, "vonng-adcode/adcode")
    rows = []
    for path in sorted(folder.glob("1101*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows += [dict(zip(_VONNG_COLUMNS, rec, strict=False)) for rec in csv.reader(handle)]
    if not rows:
        raise GeodataError(f"{folder}: 没有区县 CSV (no 1101xx.csv district files)")
    return rows


def _read_csv_dicts(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _wgs84_point(lon_text: str, lat_text: str) -> tuple[float, float] | None:
    if not lon_text or not lat_text:
        return None
    lon, lat = convert(float(lon_text), float(lat_text), src="gcj02", dst="wgs84")
    return round(float(lon), _DECIMALS_POINT), round(float(lat), _DECIMALS_POINT)


# -- gazetteer tables ------------------------------------------------------------------------


def _build_districts(source: Path, areacity: list[dict]) -> list[dict]:
    import shapely
    from shapely.geometry import mapping, shape

    doc = json.loads(_source_file(source, "vonng-adcode/beijing_districts_gcj02.geojson")
                     .read_text(encoding="utf-8"))
    by_code = {r["ext_id"][:6]: r for r in areacity if r["deep"] == "2"}

    def to_wgs84(coords: np.ndarray) -> np.ndarray:
        lon, lat = convert(coords[:, 0], coords[:, 1], src="gcj02", dst="wgs84")
        return np.round(np.column_stack([lon, lat]), _DECIMALS_POINT)

    features = []
    for feat in sorted(doc["features"], key=lambda f: f["properties"]["adcode"]):
        props = feat["properties"]
        geom = shapely.transform(shape(feat["geometry"]), to_wgs84)
        geom = _valid_polygonal(geom)
        centre = _wgs84_point(str(props["center_lon_gcj02"]), str(props["center_lat_gcj02"]))
        extra = by_code.get(props["adcode"], {})
        features.append({"type": "Feature", "properties": {
            "adcode": props["adcode"], "name": props["name"],
            "short_name": extra.get("name", props["name"].removesuffix("区")),
            "pinyin": extra.get("pinyin", ""),
            "center_lon": centre[0], "center_lat": centre[1], "datum": "wgs84",
            "source": "Vonng/adcode fences (Amap, GCJ-02) converted to WGS84",
        }, "geometry": mapping(geom)})
    if len(features) != 16:
        raise GeodataError(f"expected 16 Beijing districts, found {len(features)}")
    return features


def _valid_polygonal(geom):
    """Make a (rounded) geometry valid and keep only its polygonal part."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        polys = []
        for part in parts:
            polys += list(part.geoms) if part.geom_type == "MultiPolygon" else [part]
        geom = polys[0] if len(polys) == 1 else MultiPolygon(polys)
    if not isinstance(geom, Polygon | MultiPolygon) or geom.is_empty or not geom.is_valid:
        raise GeodataError(f"polygon could not be made valid: {geom.geom_type}")
    return geom


def _build_streets(source: Path, vonng: list[dict], areacity: list[dict],
                   districts: dict[str, str]) -> tuple[list[dict], dict[str, dict]]:
    """Streets table plus a map 2016 code (9 digits) → street row."""
    modood = {r["code"]: r["name"] for r in _read_csv_dicts(
        _source_file(source, "modood-divisions/streets.csv")) if r["code"].startswith("11")}
    ac_by_name = {(r["ext_id"][:6], r["ext_name"]): r for r in areacity if r["deep"] == "3"}
    old = {r["code"][:9]: r for r in vonng if r["rank"] == "4"}
    streets: dict[str, dict] = {}
    by_old_code: dict[str, dict] = {}
    for code9 in sorted(old):
        rec = old[code9]
        name_2016 = rec["name"].removesuffix("办事处")
        code, name, vintage = code9, name_2016, "2016"
        if code9 in modood:  # same code in 2023: same unit (renames kept: 卢沟桥→六里桥...)
            name, vintage = modood[code9], "2016-2023"
        else:  # moved to a new code with the same name (首都机场街道)
            moved = [c for c, n in modood.items()
                     if c[:6] == code9[:6] and n == name_2016 and c not in old]
            if len(moved) == 1:
                code, name, vintage = moved[0], modood[moved[0]], "2016-2023"
        point = _wgs84_point(rec["longitude"], rec["latitude"])
        row = _street_row(code, name, districts, ac_by_name, point, vintage, name_2016)
        streets[code] = row
        by_old_code[code9] = row
    for code, name in modood.items():
        if code not in streets:
            streets[code] = _street_row(code, name, districts, ac_by_name, None, "2023", "")
    return [streets[c] for c in sorted(streets)], by_old_code


def _street_row(code, name, districts, ac_by_name, point, vintage, name_2016) -> dict:
    extra = ac_by_name.get((code[:6], name))
    short = extra["name"] if extra else (_STREET_SUFFIX.sub("", name) or name)
    return {
        "code": code, "name": name, "short_name": short,
        "pinyin": extra["pinyin"] if extra else "",
        "district": districts[code[:6]], "district_code": code[:6],
        "lon": point[0] if point else "", "lat": point[1] if point else "",
        "vintage": vintage, "name_2016": name_2016,
    }


def _build_communities(vonng: list[dict], by_old_code: dict[str, dict]) -> list[dict]:
    rows = []
    for rec in sorted((r for r in vonng if r["rank"] == "5"), key=lambda r: r["code"]):
        street = by_old_code[rec["parent"][:9]]
        point = _wgs84_point(rec["longitude"], rec["latitude"])
        name = rec["name"]
        rows.append({
            "code": rec["code"], "name": name,
            "short_name": _COMMUNITY_SUFFIX.sub("", name) or name,
            "kind": "village" if name.endswith(("村委会", "村民委员会")) else "community",
            "street": street["name"], "street_code": street["code"],
            "district": street["district"], "district_code": street["district_code"],
            "lon": point[0] if point else "", "lat": point[1] if point else "",
        })
    return rows


# -- approximate street polygons -------------------------------------------------------------


def _build_street_areas(district_features: list[dict], streets: list[dict],
                        communities: list[dict]) -> tuple[list[dict], list[str]]:
    """Voronoi cells of each district's points, dissolved by street, clipped to the district.

    Returns the features and the codes of streets that have points but got no polygon.
    """
    import shapely
    from shapely.geometry import mapping, shape

    from geodata.crs.projection import BEIJING_CRS, transformer

    fwd = transformer("EPSG:4326", BEIJING_CRS)
    inv = transformer(BEIJING_CRS, "EPSG:4326")

    def project(coords: np.ndarray) -> np.ndarray:
        return np.column_stack(fwd.transform(coords[:, 0], coords[:, 1]))

    def unproject(coords: np.ndarray) -> np.ndarray:
        return np.round(np.column_stack(inv.transform(coords[:, 0], coords[:, 1])),
                        _DECIMALS_APPROX)

    street_by_code = {s["code"]: s for s in streets}
    features, missing = [], []
    for feat in district_features:
        dcode = feat["properties"]["adcode"]
        district_m = shapely.transform(shape(feat["geometry"]), project)
        # Street-office points first: they win when a community shares their exact spot.
        pts = [(s["lon"], s["lat"], s["code"]) for s in streets
               if s["district_code"] == dcode and s["lon"] != ""]
        pts += [(c["lon"], c["lat"], c["street_code"]) for c in communities
                if c["district_code"] == dcode and c["lon"] != ""]
        if not pts:
            continue
        xy = project(np.array([(p[0], p[1]) for p in pts], dtype=float))
        labels, seen, unique_xy = [], set(), []
        for (x, y), (_, _, code) in zip(xy, pts, strict=True):
            if (x, y) not in seen:
                seen.add((x, y))
                unique_xy.append((x, y))
                labels.append(code)
        counts: dict[str, int] = {}
        for _, _, code in pts:
            counts[code] = counts.get(code, 0) + 1
        extent = shapely.box(*district_m.bounds).buffer(5000)
        if len(unique_xy) == 1:
            cells = [extent]
        else:
            cells = list(shapely.voronoi_polygons(
                shapely.MultiPoint(unique_xy), extend_to=extent, ordered=True).geoms)
        grouped: dict[str, list] = {}
        for code, cell in zip(labels, cells, strict=True):
            grouped.setdefault(code, []).append(cell)
        codes, parts = [], []
        for code in sorted(counts):
            area = shapely.intersection(shapely.union_all(grouped.get(code, [])), district_m)
            area = shapely.get_parts(area)
            area = shapely.union_all([g for g in area if g.geom_type == "Polygon"])
            if area.is_empty or area.area < 1.0:
                missing.append(code)
                continue
            codes.append(code)
            parts.append(area)
        # One coverage per district: simplifying it together keeps shared edges shared.
        simplified = shapely.coverage_simplify(parts, _SIMPLIFY_M) if parts else []
        for code, area in zip(codes, simplified, strict=True):
            geom = _valid_polygonal(shapely.transform(area, unproject))
            street = street_by_code[code]
            features.append({"type": "Feature", "properties": {
                "code": code, "name": street["name"], "short_name": street["short_name"],
                "district": street["district"], "district_code": street["district_code"],
                "points": counts[code], "approx": True, "method": "voronoi", "datum": "wgs84",
            }, "geometry": mapping(geom)})
    features.sort(key=lambda f: f["properties"]["code"])
    return features, missing


# -- writing ---------------------------------------------------------------------------------


def _geojson_text(features: Sequence[dict], *, name: str) -> str:
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    head = json.dumps({"type": "FeatureCollection", "name": name}, ensure_ascii=False,
                      separators=(",", ":"))[:-1]
    return head + ',"features":[\n' + ",\n".join(lines) + "\n]}\n"


def _csv_text(rows: Sequence[dict], fields: Sequence[str]) -> str:
    sink = io.StringIO()
    writer = csv.DictWriter(sink, fieldnames=list(fields), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in fields})
    return sink.getvalue()


def build(source: str | Path | None = None, dest: str | Path | None = None) -> dict[str, int]:
    """Rebuild every demo file from the source data.

    Parameters
    ----------
    source : str or Path, optional
        Folder with ``vonng-adcode/``, ``modood-divisions/``, ``areacity/`` and
        ``station-news/`` (default :data:`DEFAULT_SOURCE`).
    dest : str or Path, optional
        Output folder (default :data:`DEMO_DIR`); created when missing.

    Returns
    -------
    dict
        Figures of the build (counts of districts, streets, communities, samples...).
    """
    source = Path(source) if source else DEFAULT_SOURCE
    dest = Path(dest) if dest else DEMO_DIR
    if not source.is_dir():
        raise GeodataError(f"源数据目录不存在 (source folder not found): {source}")
    areacity = _read_csv_dicts(_source_file(source, "areacity/ok_data_level4_beijing.csv"))
    vonng = _read_vonng(source)
    district_features = _build_districts(source, areacity)
    districts = {f["properties"]["adcode"]: f["properties"]["name"] for f in district_features}
    streets, by_old_code = _build_streets(source, vonng, areacity, districts)
    communities = _build_communities(vonng, by_old_code)
    areas, missing = _build_street_areas(district_features, streets, communities)
    if missing:
        raise GeodataError(f"streets with points but no approximate polygon: {missing}")
    news = _read_csv_dicts(_source_file(
        source, "station-news/beijing_station_news_mentions.csv"))
    stations = build_stations(streets, communities, news)
    cand_rows, cand_fields = build_candidates(streets, communities, vonng)
    demand = build_demand(communities)
    figures = {
        "districts": len(district_features), "streets": len(streets),
        "streets_with_point": sum(1 for s in streets if s["lon"] != ""),
        "communities": len(communities),
        "communities_with_point": sum(1 for c in communities if c["lon"] != ""),
        "street_areas": len(areas), "demo_stations": len(stations),
        "demo_stations_guangwai": sum(
            1 for f in stations if f["properties"]["street_code"] == GUANGWAI_CODE),
        "demo_stations_other": sum(
            1 for f in stations if f["properties"]["street_code"] != GUANGWAI_CODE),
        "demo_candidates": len(cand_rows), "demo_demand": len(demand),
    }
    from geodata.demo._readme import readme_text

    files = {
        "districts.geojson": _geojson_text(district_features, name="beijing_districts_wgs84"),
        "streets.csv": _csv_text(streets, STREET_FIELDS),
        "communities.csv": _csv_text(communities, COMMUNITY_FIELDS),
        "streets_approx.geojson": _geojson_text(areas, name="beijing_streets_approx_wgs84"),
        "demo_stations.geojson": _geojson_text(stations, name="demo_stations_wgs84"),
        "demo_candidates.csv": _csv_text(cand_rows, cand_fields),
        "demo_demand.csv": _csv_text(demand, tuple(demand[0])),
        "README.md": readme_text(figures, seed=DEMO_SEED),
    }
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (dest / name).write_text(text, encoding="utf-8", newline="\n")
    for relative, shipped in _LICENCES:
        shutil.copyfile(_source_file(source, relative), dest / shipped)
    return figures


# -- command line ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m geodata.demo build [--source DIR] [--dest DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m geodata.demo",
                                     description="Rebuild the shipped Beijing demo data.")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("build", help="rebuild geodata/data/beijing from the source data")
    cmd.add_argument("--source", default=None, help=f"source folder (default {DEFAULT_SOURCE})")
    cmd.add_argument("--dest", default=None, help=f"output folder (default {DEMO_DIR})")
    args = parser.parse_args(argv)
    try:
        figures = build(args.source, args.dest)
    except GeodataError as exc:
        print(f"错误 (error): {exc}", file=sys.stderr)
        return 2
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
