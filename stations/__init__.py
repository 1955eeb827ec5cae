"""Nuanxin's domain: station records, amenities, opening hours, the standard, lifecycle, store.

Pure domain code: no Flask, no geopandas.
"""

from stations.amenities import AMENITIES, AMENITY_LABELS_ZH
from stations.errors import NotFoundError, NuanxinError, RowError, ValidationError
from stations.records import Station, station_from_row
from stations.store import Store, open_store

__all__ = [
    "AMENITIES",
    "AMENITY_LABELS_ZH",
    "NotFoundError",
    "NuanxinError",
    "RowError",
    "Station",
    "Store",
    "ValidationError",
    "open_store",
    "station_from_row",
]
