"""Loading walking networks from local files (all offline, no downloads).

* ``.osm`` XML — read with :func:`osmnx.graph_from_xml` (the optional ``osm`` extra);
* ``.osm.pbf`` — read with GDAL's OSM driver through pyogrio (``lines`` layer);
* ``.gpkg`` (or any vector file of LineStrings) — a layer of street edges.

:func:`default_network` loads the file named by ``NUANXIN_NETWORK`` (cached per file and
modification time); without one, coverage and nearest search use straight-line distance × the
detour factor (:mod:`stations.settings`) and say so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from geodata.crs.projection import metric_crs_for, to_metric
from geodata.errors import NetworkError
from geodata.network.graph import WalkingNetwork, is_walkable
from stations import settings

__all__ = ["load_network", "default_network", "resolve_network", "CONFIGURED", "NETWORK_ENV"]

NETWORK_ENV = settings.SETTINGS["NETWORK"].env


class _Configured:
    """The default of every ``network=`` argument: the network ``NUANXIN_NETWORK`` names."""

    def __repr__(self) -> str:
        return "CONFIGURED"


#: ``network=CONFIGURED`` (the default everywhere): the network named by ``NUANXIN_NETWORK``,
#: or straight lines when none is set. ``network=None`` always means straight lines
#: (× :data:`stations.settings.DETOUR_FACTOR`); a :class:`WalkingNetwork` is used as given.
CONFIGURED = _Configured()


def resolve_network(network=CONFIGURED) -> WalkingNetwork | None:
    """The one meaning of a ``network=`` argument (see :data:`CONFIGURED`)."""
    if network is CONFIGURED:
        return default_network() if settings.get("NETWORK") else None
    return network


def _from_osm_xml(path: Path) -> WalkingNetwork:
    try:
        import osmnx as ox
    except ImportError:  # the optional extra: pip install 'nuanxin[osm]'
        raise NetworkError(
            f"读取 .osm 文件需要 osmnx (reading {path.name} needs the optional extra: "
            "pip install 'nuanxin[osm]'; .osm.pbf and .gpkg work without it)") from None

    saved = list(ox.settings.useful_tags_way)
    ox.settings.useful_tags_way = sorted(set(saved) | {"foot", "access", "service", "area"})
    try:
        graph = ox.graph_from_xml(path, simplify=False, retain_all=True, bidirectional=True)
    except Exception as exc:  # osmnx raises plain exceptions for broken files
        raise NetworkError(f"无法读取 OSM 文件 {path.name} (cannot read OSM XML): {exc}") from exc
    finally:
        ox.settings.useful_tags_way = saved
    lon, lat, u, v = [], [], [], []
    index: dict = {}
    for a, b, data in graph.edges(data=True):
        tags = {k: (val[0] if isinstance(val, list) else val) for k, val in data.items()}
        if not is_walkable(tags):
            continue
        for node in (a, b):
            if node not in index:
                index[node] = len(lon)
                lon.append(graph.nodes[node]["x"])
                lat.append(graph.nodes[node]["y"])
        u.append(index[a])
        v.append(index[b])
    if not u:
        raise NetworkError(f"{path.name}: 没有可步行的道路 (no walkable ways in the file)")
    lon_a, lat_a = np.asarray(lon), np.asarray(lat)
    crs = metric_crs_for(lon_a, lat_a)
    x, y = to_metric(lon_a, lat_a, crs)
    return WalkingNetwork(x, y, u, v, crs=crs, source=str(path))


def _other_tags(text) -> dict:
    if not isinstance(text, str):
        return {}
    return dict(re.findall(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"', text))


def _from_osm_pbf(path: Path) -> WalkingNetwork:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path, layer="lines")
    except Exception as exc:
        raise NetworkError(f"无法读取 OSM PBF {path.name} (cannot read .osm.pbf): {exc}") from exc
    keep = []
    for highway, other in zip(frame.get("highway", []), frame.get("other_tags", [None] * len(
            frame)), strict=False):
        tags = _other_tags(other)
        tags["highway"] = highway
        keep.append(is_walkable(tags))
    frame = frame[np.asarray(keep, dtype=bool)] if len(frame) else frame
    if frame.empty:
        raise NetworkError(f"{path.name}: 没有可步行的道路 (no walkable ways in the file)")
    return _from_frame(frame, path)


def _from_frame(frame, path: Path) -> WalkingNetwork:
    if frame.crs is None:
        raise NetworkError(f"{path.name}: 图层没有坐标系 (the edge layer has no CRS)")
    wgs = frame.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = wgs.total_bounds
    crs = metric_crs_for([minx, maxx], [miny, maxy])
    metric = frame.to_crs(crs)
    return WalkingNetwork.from_lines(metric.geometry.values, crs=crs, source=str(path))


def _from_vector(path: Path, layer=None) -> WalkingNetwork:
    import pyogrio

    try:
        frame = pyogrio.read_dataframe(path, layer=layer)
    except Exception as exc:
        raise NetworkError(f"无法读取路网文件 {path.name} (cannot read edges): {exc}") from exc
    if "highway" in frame.columns:
        frame = frame[[is_walkable({"highway": h, "foot": f}) for h, f in zip(
            frame["highway"], frame["foot"] if "foot" in frame.columns else [None] * len(frame),
            strict=False)]]
    return _from_frame(frame, path)


def load_network(path: str | Path, *, layer: str | None = None) -> WalkingNetwork:
    """Load a walking network from a local file (``.osm``, ``.osm.pbf``, ``.gpkg``...).

    Raises
    ------
    NetworkError
        When the file is missing, unreadable or holds no walkable ways.
    """
    path = Path(path)
    if not path.exists():
        raise NetworkError(f"路网文件不存在 (network file not found): {path}")
    name = path.name.lower()
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        return _from_osm_pbf(path)
    if name.endswith(".osm") or name.endswith(".xml"):
        return _from_osm_xml(path)
    return _from_vector(path, layer)


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float) -> WalkingNetwork:
    return load_network(path)


def default_network(path: str | Path | None = None) -> WalkingNetwork | None:
    """The network named by ``path`` or ``NUANXIN_NETWORK`` (cached per file); else ``None``."""
    target = path or settings.get("NETWORK")
    if not target:
        return None
    p = Path(target)
    if not p.exists():
        raise NetworkError(f"路网文件不存在 (network file not found): {p} (from {NETWORK_ENV})")
    return _cached(str(p.resolve()), p.stat().st_mtime)
