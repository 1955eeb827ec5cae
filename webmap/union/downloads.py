"""Downloads: every station as a file, and the candidate sheet template.
"""

from __future__ import annotations

from flask import abort

from webmap.extensions import get_store
from webmap.union.common import XLSX, bp, send_temp

__all__ = ["download_stations", "candidates_template", "EXPORT_TYPES"]

EXPORT_TYPES = {"xlsx": XLSX, "geojson": "application/geo+json", "csv": "text/csv",
                "gpkg": "application/geopackage+sqlite3"}


@bp.get("/download/stations.<ext>")
def download_stations(ext: str):
    """Every station as Excel, GeoJSON, CSV or GeoPackage (``geodata.io.stations``)."""
    if ext not in EXPORT_TYPES:
        abort(404)
    from geodata.io.stations import export_stations

    return send_temp(lambda p: export_stations(get_store(), p), f"nuanxin-stations.{ext}",
                     EXPORT_TYPES[ext])



@bp.get("/candidates/template.xlsx")
def candidates_template():
    """The candidate sheet template (columns + one example row)."""
    from geodata.io.candidates import write_template

    return send_temp(write_template, "nuanxin-candidates-template.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
