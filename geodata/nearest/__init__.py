"""The nearest-station index: which stations are nearest, and open when a worker gets there.

| module | holds |
|---|---|
| :mod:`~geodata.nearest.index` | :class:`StationIndex` (k-nearest, radius, bulk; walking time) |
| :mod:`~geodata.nearest.snapshot` | the station snapshot shared by index, map and planning |
| :mod:`~geodata.nearest.cache` | :func:`get_index`: a store's index, rebuilt on change |
| :mod:`~geodata.nearest.payload` | the JSON answer (``nuanxin nearest --json``, ``/api/nearest``) |
"""

from geodata.nearest.cache import clear_index_cache, get_index
from geodata.nearest.index import METHOD_NETWORK, METHOD_STRAIGHT, NearestResult, StationIndex
from geodata.nearest.payload import nearest_payload, result_dict

__all__ = ["StationIndex", "NearestResult", "METHOD_NETWORK", "METHOD_STRAIGHT", "get_index",
           "clear_index_cache", "nearest_payload", "result_dict"]
