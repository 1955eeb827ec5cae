"""The shipped district and street outlines written into the store (``nuanxin init``), so a
PostGIS store can assign areas in SQL (``nuanxin_area_at``, ``nuanxin_assign_areas``,
:meth:`stations.store.Store.spatial_assign_areas`) by the rule of
:func:`geodata.places.areas.locate_many`."""

from __future__ import annotations

from pathlib import Path

__all__ = ["area_rows", "store_areas"]


def area_rows(*, data_dir: str | Path | None = None) -> list[dict]:
    """Rows of the ``areas`` table: every district, then every street, in the shipped order."""
    import shapely

    from geodata.places.areas import load_districts, load_street_areas

    rows: list[dict] = []
    districts = load_districts(data_dir=data_dir)
    for rank, d in enumerate(districts.itertuples(index=False)):
        rows.append({"code": str(d.adcode), "level": "district", "name": d.name,
                     "district": d.name, "district_code": str(d.adcode), "rank": rank,
                     "outline": shapely.to_geojson(d.geometry)})
    streets = load_street_areas(data_dir=data_dir)
    for rank, s in enumerate(streets.itertuples(index=False)):
        rows.append({"code": str(s.code), "level": "street", "name": s.name,
                     "district": s.district, "district_code": str(s.district_code),
                     "rank": rank, "outline": shapely.to_geojson(s.geometry)})
    return rows


def store_areas(store, *, data_dir: str | Path | None = None) -> int:
    """Write the outlines into ``store`` (replacing what it had); how many."""
    return store.replace_areas(area_rows(data_dir=data_dir))
