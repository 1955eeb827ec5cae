"""Walking networks: a hand-written riverside quarter where the river makes walks long.

``tests/data/riverside.osm`` (see its header): streets on both banks of a river along
39.8800N, one footbridge at the west end; a road bridge forbids pedestrians and a motorway
bridge is not walkable. The oracle inserts points into the graph by brute force and asks
networkx for shortest paths, independently of the scipy/virtual-node machinery under test.
"""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely

from geodata.errors import NetworkError
from geodata.network import WalkingNetwork, default_network, is_walkable, load_network
from geodata.planning.coverage import StationArrays, compute_coverage
from geodata.planning.demand import DemandSet

DATA = Path(__file__).parent / "data"
OSM = DATA / "riverside.osm"


@pytest.fixture(scope="module")
def net() -> WalkingNetwork:
    return load_network(OSM)


def _nearest_edge(net, x, y):
    ux, uy = net.node_x[net.edge_u], net.node_y[net.edge_u]
    vx, vy = net.node_x[net.edge_v], net.node_y[net.edge_v]
    dx, dy = vx - ux, vy - uy
    t = np.clip(((x - ux) * dx + (y - uy) * dy) / (dx * dx + dy * dy), 0, 1)
    dist = np.hypot(x - (ux + t * dx), y - (uy + t * dy))
    e = int(np.argmin(dist))
    return e, float(t[e] * net.edge_len[e]), float(dist[e])


def _oracle_graph(net, points):
    """networkx graph with every point inserted on its nearest edge (edges split in order)."""
    graph = nx.Graph()
    on_edge: dict[int, list] = {}
    for name, (x, y) in points.items():
        e, along, offset = _nearest_edge(net, x, y)
        on_edge.setdefault(e, []).append((along, name))
        graph.add_edge(name, ("on", name), weight=offset)
    for e in range(net.n_edges):
        u, v = int(net.edge_u[e]), int(net.edge_v[e])
        chain = [(0.0, u)] + sorted((a, ("on", n)) for a, n in on_edge.get(e, [])) + [
            (float(net.edge_len[e]), v)]
        for (a, p), (b, q) in zip(chain[:-1], chain[1:], strict=True):
            graph.add_edge(p, q, weight=b - a)
    return graph


def _xy(net, lon, lat):
    x, y = net.to_metric(lon, lat)
    return x, y


def test_only_walkable_ways_are_loaded(net):
    assert (net.n_nodes, net.n_edges) == (17, 16)
    lon, lat = net.node_lonlat()
    # the mid-river points of the road bridge (foot=no) and the motorway bridge are not nodes
    assert not np.any(np.isclose(lat, 39.8800, atol=1e-6))
    assert is_walkable({"highway": "footway", "bridge": "yes"})
    assert not is_walkable({"highway": "primary", "foot": "no"})
    assert not is_walkable({"highway": "motorway"})
    assert not is_walkable({"waterway": "river"})


def test_the_river_makes_the_walk_three_times_the_straight_line(net):
    sx, sy = _xy(net, 116.3500, 39.8832)  # north bank, east end
    dx, dy = _xy(net, 116.3500, 39.8768)  # south bank, straight across
    straight = float(np.hypot(dx - sx, dy - sy)[0])
    walk, src = net.nearest_distances(dx, dy, sx, sy)
    assert 700 < straight < 720
    assert walk[0] > 3 * straight and src[0] == 0
    graph = _oracle_graph(net, {"d": (dx[0], dy[0]), "s": (sx[0], sy[0])})
    assert walk[0] == pytest.approx(nx.dijkstra_path_length(graph, "d", "s"), rel=1e-9)


def test_distances_equal_a_networkx_oracle_on_random_points(net):
    rng = np.random.default_rng(11)
    lon = rng.uniform(116.3395, 116.3505, 40)
    lat = rng.uniform(39.8765, 39.8855, 40)
    slon = rng.uniform(116.3395, 116.3505, 6)
    slat = rng.uniform(39.8765, 39.8855, 6)
    x, y = _xy(net, lon, lat)
    sx, sy = _xy(net, slon, slat)
    points = {("d", i): (x[i], y[i]) for i in range(x.size)}
    points.update({("s", j): (sx[j], sy[j]) for j in range(sx.size)})
    graph = _oracle_graph(net, points)
    oracle = np.full((sx.size, x.size), np.inf)
    for j in range(sx.size):
        lengths = nx.single_source_dijkstra_path_length(graph, ("s", j))
        for i in range(x.size):
            oracle[j, i] = lengths.get(("d", i), np.inf)
    matrix = net.distance_matrix(x, y, sx, sy)
    np.testing.assert_allclose(matrix, oracle, rtol=1e-9)
    near, src = net.nearest_distances(x, y, sx, sy)
    np.testing.assert_allclose(near, oracle.min(axis=0), rtol=1e-9)
    np.testing.assert_allclose(oracle[src, np.arange(x.size)], oracle.min(axis=0), rtol=1e-9)
    for radius in (300.0, 800.0, 1500.0):
        np.testing.assert_array_equal(net.count_within(x, y, sx, sy, radius),
                                      (oracle <= radius).sum(axis=0))
    # the StationIndex hook: one query point against every station
    hook = net.walk_distances(lon[0], lat[0], np.column_stack([slon, slat]))
    np.testing.assert_allclose(hook, oracle[:, 0], rtol=1e-9)


def test_node_distances_are_the_multi_source_minimum(net):
    sx, sy = _xy(net, [116.3431, 116.3488], [39.8833, 39.8768])
    dist, nearest = net.node_distances(sx, sy)
    graph = _oracle_graph(net, {("s", 0): (sx[0], sy[0]), ("s", 1): (sx[1], sy[1])})
    per = [nx.single_source_dijkstra_path_length(graph, ("s", j)) for j in range(2)]
    for node in range(net.n_nodes):
        best = min(per[0][node], per[1][node])
        assert dist[node] == pytest.approx(best, rel=1e-9)
        assert per[nearest[node]][node] == pytest.approx(best, rel=1e-9)


def test_service_area_stays_on_its_bank(net):
    sx, sy = _xy(net, 116.3460, 39.8832)
    (area,) = net.service_areas(sx, sy, 800.0, buffer_m=20)
    across = shapely.Point(*[v[0] for v in _xy(net, 116.3460, 39.8770)])  # 690 m, other bank
    along = shapely.Point(*[v[0] for v in _xy(net, 116.3410, 39.8830)])  # 430 m on the street
    far = shapely.Point(*[v[0] for v in _xy(net, 116.3400, 39.8790)])  # past the bridge
    assert area.contains(along)
    assert not area.contains(across) and not area.contains(far)


def test_nearest_search_ranks_by_the_network(net):
    from geodata.nearest.index import StationIndex
    from stations.records import Station

    north = Station(name="北岸驿站", lon=116.3500, lat=39.8826, id=1, opening_hours="24/7")
    south = Station(name="南岸驿站", lon=116.3418, lat=39.8772, id=2, opening_hours="24/7")
    straight = StationIndex([north, south]).nearest(116.3500, 39.8772, k=2)
    walked = StationIndex([north, south], network=net).nearest(116.3500, 39.8772, k=2)
    assert [r.station.name for r in straight] == ["北岸驿站", "南岸驿站"]
    assert [r.station.name for r in walked] == ["南岸驿站", "北岸驿站"]
    assert {r.method for r in walked} == {"network"}
    assert walked[1].walk_distance_m > 2000


def test_coverage_along_the_network_leaves_the_other_bank_out(net):
    lon = np.array([116.3500, 116.3470, 116.3430])
    lat = np.array([39.8768, 39.8772, 39.8828])
    demand = DemandSet(lon=lon, lat=lat, weight=[5, 3, 2])
    stations = StationArrays.from_arrays([116.3500], [39.8832])
    straight = compute_coverage(demand, stations, radius_m=1000)
    walked = compute_coverage(demand, stations, radius_m=1000, network=net)
    assert straight.demand_covered == 10
    assert walked.demand_covered == 2
    body = walked.as_dict()
    assert body["method"] == "network" and body["network"]["edges"] == 16
    assert body["farthest"]["distance_m"] > 2000


def test_an_edge_geopackage_gives_the_same_network(net, tmp_path):
    import geopandas as gpd

    lon, lat = net.node_lonlat()
    lines = [shapely.LineString([(lon[u], lat[u]), (lon[v], lat[v])])
             for u, v in zip(net.edge_u, net.edge_v, strict=True)]
    blocked = shapely.LineString([(116.3480, 39.8830), (116.3480, 39.8770)])
    frame = gpd.GeoDataFrame({"highway": ["residential"] * len(lines) + ["motorway"]},
                             geometry=lines + [blocked], crs="EPSG:4326")
    frame.to_file(tmp_path / "edges.gpkg", driver="GPKG")
    other = load_network(tmp_path / "edges.gpkg")
    assert (other.n_nodes, other.n_edges) == (net.n_nodes, net.n_edges)
    x, y = _xy(net, [116.3500, 116.3433], [39.8768, 39.8790])
    sx, sy = _xy(net, [116.3500], [39.8832])
    np.testing.assert_allclose(other.nearest_distances(x, y, sx, sy)[0],
                               net.nearest_distances(x, y, sx, sy)[0], rtol=1e-7)


# -- a minimal OSM PBF writer (protobuf by hand), so the .osm.pbf path is tested offline -----
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:  # length-delimited
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _packed(number: int, values) -> bytes:
    return _field(number, b"".join(_varint(v) for v in values))


def _zigzag_deltas(values) -> list[int]:
    out, last = [], 0
    for v in values:
        out.append(((v - last) << 1) ^ ((v - last) >> 63))
        last = v
    return out


def _blob(kind: str, payload: bytes) -> bytes:
    blob = _int_field(2, len(payload)) + _field(3, zlib.compress(payload))
    header = _field(1, kind.encode()) + _int_field(3, len(blob))
    return struct.pack(">I", len(header)) + header + blob


def _osm_xml_to_pbf(xml_path: Path, pbf_path: Path) -> None:
    """Write the same nodes, ways and tags as an OSM PBF file (dense nodes, zlib blobs)."""
    root = ET.parse(xml_path).getroot()
    strings = [""]

    def sid(text: str) -> int:
        if text not in strings:
            strings.append(text)
        return strings.index(text)

    nodes = root.findall("node")
    keys_vals = []
    for node in nodes:
        for tag in node.findall("tag"):
            keys_vals += [sid(tag.get("k")), sid(tag.get("v"))]
        keys_vals.append(0)
    dense = (_packed(1, _zigzag_deltas([int(n.get("id")) for n in nodes]))
             + _packed(8, _zigzag_deltas([round(float(n.get("lat")) * 1e7) for n in nodes]))
             + _packed(9, _zigzag_deltas([round(float(n.get("lon")) * 1e7) for n in nodes]))
             + _packed(10, keys_vals))
    ways = b""
    for way in root.findall("way"):
        tags = [(t.get("k"), t.get("v")) for t in way.findall("tag")]
        ways += _field(3, _int_field(1, int(way.get("id")))
                       + _packed(2, [sid(k) for k, _ in tags])
                       + _packed(3, [sid(v) for _, v in tags])
                       + _packed(8, _zigzag_deltas([int(nd.get("ref"))
                                                    for nd in way.findall("nd")])))
    table = _field(1, b"".join(_field(1, s.encode()) for s in strings))
    block = table + _field(2, _field(2, dense)) + _field(2, ways)
    header = _field(4, b"OsmSchema-V0.6") + _field(4, b"DenseNodes")
    pbf_path.write_bytes(_blob("OSMHeader", header) + _blob("OSMData", block))


def test_an_osm_pbf_extract_gives_the_same_network(net, tmp_path):
    _osm_xml_to_pbf(OSM, tmp_path / "riverside.osm.pbf")
    other = load_network(tmp_path / "riverside.osm.pbf")
    assert (other.n_nodes, other.n_edges) == (net.n_nodes, net.n_edges)
    x, y = _xy(net, [116.3500, 116.3433, 116.3461], [39.8768, 39.8790, 39.8849])
    sx, sy = _xy(net, [116.3500, 116.3402], [39.8832, 39.8771])
    np.testing.assert_allclose(other.distance_matrix(x, y, sx, sy),
                               net.distance_matrix(x, y, sx, sy), rtol=1e-7)


def test_default_network_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("NUANXIN_NETWORK", raising=False)
    assert default_network() is None
    monkeypatch.setenv("NUANXIN_NETWORK", str(OSM))
    assert default_network().n_edges == 16
    assert default_network() is default_network()  # cached
    monkeypatch.setenv("NUANXIN_NETWORK", str(tmp_path / "missing.osm"))
    with pytest.raises(NetworkError, match="not found"):
        default_network()
    empty = tmp_path / "empty.osm"
    empty.write_text('<?xml version="1.0"?><osm version="0.6"><node id="1" lat="39.9" '
                     'lon="116.3"/><node id="2" lat="39.9" lon="116.31"/><way id="3">'
                     '<nd ref="1"/><nd ref="2"/><tag k="waterway" v="river"/></way></osm>',
                     encoding="utf-8")
    with pytest.raises(NetworkError, match="walkable"):
        load_network(empty)


def test_synthetic_grid_network_matches_scipy_distances():
    from scipy.sparse.csgraph import dijkstra

    side = 30
    ij = np.arange(side * side)
    x, y = (ij % side) * 100.0, (ij // side) * 100.0
    right = ij[(ij % side) < side - 1]
    up = ij[ij < side * (side - 1)]
    grid = WalkingNetwork(x, y, np.r_[right, up], np.r_[right + 1, up + side], crs="EPSG:4548")
    # stations exactly on nodes: the distance field is plain node-to-node Dijkstra
    src = np.array([0, 455, 899])
    dist, nearest = grid.node_distances(x[src], y[src])
    full = dijkstra(grid.graph, indices=src)
    np.testing.assert_allclose(dist, full.min(axis=0), atol=1e-9)
    np.testing.assert_array_equal(full[nearest, ij], full.min(axis=0))


def test_the_nearest_command_walks_the_configured_network(store, monkeypatch):
    """With NUANXIN_NETWORK set, `nuanxin nearest` ranks by walking distance and says so."""
    import json

    from click.testing import CliRunner

    from geodata.nearest.cache import clear_index_cache
    from stations.records import Station
    from webmap.cli import main

    store.add_stations([Station(name="北岸驿站", lon=116.3500, lat=39.8826),
                        Station(name="南岸驿站", lon=116.3418, lat=39.8772)])
    query = ["nearest", "--lon", "116.3500", "--lat", "39.8772", "-k", "2", "--json"]
    clear_index_cache()
    plain = json.loads(CliRunner().invoke(main, query).output)
    assert plain["method"] == "straight_line_x_detour"
    assert [r["name"] for r in plain["results"]] == ["北岸驿站", "南岸驿站"]
    monkeypatch.setenv("NUANXIN_NETWORK", str(OSM))
    clear_index_cache()
    walked = json.loads(CliRunner().invoke(main, query).output)
    assert walked["method"] == "network"
    assert {r["method"] for r in walked["results"]} == {"network"}
    assert [r["name"] for r in walked["results"]] == ["南岸驿站", "北岸驿站"]
