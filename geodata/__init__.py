"""Where things are: datums, places and geocoding, the nearest index, walking networks,
planning (demand, coverage, siting), file formats, and the shipped Beijing demo.

| subpackage | holds |
|---|---|
| :mod:`geodata.crs` | datums (WGS84 / GCJ-02 / BD-09) and metric projections |
| :mod:`geodata.places` | address parsing, the gazetteer, area polygons, geocoders |
| :mod:`geodata.nearest` | the in-memory nearest-station index |
| :mod:`geodata.network` | walking networks: the graph and its loaders |
| :mod:`geodata.planning` | demand, reach, coverage, siting, screening, dask |
| :mod:`geodata.io` | tables people bring, station and candidate import/export, reports |
| :mod:`geodata.demo` | the shipped Beijing demo (``geodata.demo.build`` rebuilds its files) |

Dependencies run one way: ``webmap → geodata → stations``.
"""

from pathlib import Path

#: The shipped Beijing data (districts, streets, communities, demo samples), WGS84.
DATA_DIR = Path(__file__).resolve().parent / "data" / "beijing"
