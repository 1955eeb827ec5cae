"""The walking graph: a plain undirected graph in a metric CRS, walked with scipy.

A :class:`WalkingNetwork` holds node coordinates and straight edge segments with their
lengths as a symmetric ``scipy.sparse`` CSR matrix. Points (stations, demand) are snapped to
the nearest point of the nearest edge; the walk from a point is ``offset`` (straight to the
edge) + along the edge to one of its ends + the shortest path on the graph (or directly along
the edge when both points share it).

The fast path for "distance to the nearest station from everywhere" is one multi-source
Dijkstra (:func:`scipy.sparse.csgraph.dijkstra` with ``min_only``) over the graph extended by
one virtual node per station (edges to the two ends of the station's edge): ~ms for 50k nodes.

Ways that are not walkable are dropped with the filter OSMnx uses for ``network_type="walk"``
(motorways, ``foot=no``, private access, cycleways, areas...): :func:`is_walkable`.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from geodata.crs.projection import from_metric, to_metric
from geodata.errors import NetworkError

__all__ = ["WalkingNetwork", "is_walkable", "service_area_polygons"]

_EXCLUDED_HIGHWAY = re.compile(
    r"abandoned|bus_guideway|construction|cycleway|motor|^no$|planned|platform|proposed|"
    r"raceway|razed")


def is_walkable(tags: dict) -> bool:
    """Whether an OSM way with these tags may be walked (OSMnx's ``walk`` filter)."""
    highway = tags.get("highway")
    if not highway or not isinstance(highway, str):
        return False
    if _EXCLUDED_HIGHWAY.search(highway):
        return False
    if str(tags.get("area", "")).lower() == "yes":
        return False
    if str(tags.get("foot", "")).lower() == "no":
        return False
    if str(tags.get("service", "")).lower() == "private":
        return False
    return str(tags.get("access", "")).lower() != "private"


class WalkingNetwork:
    """An undirected walking graph in a metric CRS.

    Parameters
    ----------
    node_x, node_y : array of float
        Node coordinates in ``crs`` (metres).
    edge_u, edge_v : array of int
        Edge end nodes (each edge a straight segment; direction does not matter).
    crs : str
        Metric CRS of the coordinates.
    source : str
        Where the network came from (reported in results).
    """

    def __init__(self, node_x, node_y, edge_u, edge_v, *, crs: str, source: str = ""):
        self.node_x = np.asarray(node_x, dtype=float)
        self.node_y = np.asarray(node_y, dtype=float)
        u = np.asarray(edge_u, dtype=np.int64)
        v = np.asarray(edge_v, dtype=np.int64)
        keep = u != v
        u, v = u[keep], v[keep]
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        pairs = np.unique(np.stack([lo, hi], axis=1), axis=0) if lo.size else np.zeros((0, 2),
                                                                                       np.int64)
        self.edge_u, self.edge_v = pairs[:, 0], pairs[:, 1]
        self.edge_len = np.hypot(self.node_x[self.edge_v] - self.node_x[self.edge_u],
                                 self.node_y[self.edge_v] - self.node_y[self.edge_u])
        self.crs = crs
        self.source = source
        n = self.node_x.size
        rows = np.concatenate([self.edge_u, self.edge_v])
        cols = np.concatenate([self.edge_v, self.edge_u])
        data = np.concatenate([self.edge_len, self.edge_len])
        # zero-length edges would vanish from a sparse matrix: keep them as a tiny length
        data = np.where(data > 0, data, 1e-9)
        self.graph = sparse.csr_matrix((data, (rows, cols)), shape=(n, n))
        self.graph.sum_duplicates()
        self.graph.sort_indices()
        self._edge_tree = None
        self._station_cache: dict = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_segments(cls, x1, y1, x2, y2, *, crs: str, source: str = "",
                      tolerance: float = 1e-3) -> WalkingNetwork:
        """Build from segment end coordinates (metres); ends closer than ``tolerance`` merge."""
        x1, y1, x2, y2 = (np.asarray(a, dtype=float) for a in (x1, y1, x2, y2))
        pts = np.concatenate([np.stack([x1, y1], 1), np.stack([x2, y2], 1)])
        keys = np.round(pts / tolerance).astype(np.int64)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        first = np.full(len(uniq), -1, dtype=np.int64)
        first[inverse[::-1]] = np.arange(len(pts))[::-1]
        nodes = pts[first]
        m = x1.size
        return cls(nodes[:, 0], nodes[:, 1], inverse[:m], inverse[m:], crs=crs, source=source)

    @classmethod
    def from_lines(cls, geometries, *, crs: str, source: str = "") -> WalkingNetwork:
        """Build from LineStrings (already in the metric ``crs``): every vertex is a node."""
        import shapely

        geoms = np.asarray(geometries, dtype=object)
        geoms = shapely.get_parts(geoms[~shapely.is_missing(geoms)])
        geoms = geoms[shapely.get_type_id(geoms) == 1]  # LineString parts only
        if geoms.size == 0:
            raise NetworkError("网络中没有线段 (the network has no line geometries)")
        coords, index = shapely.get_coordinates(geoms, return_index=True)
        same = index[1:] == index[:-1]
        a, b = coords[:-1][same], coords[1:][same]
        return cls.from_segments(a[:, 0], a[:, 1], b[:, 0], b[:, 1], crs=crs, source=source)

    # ------------------------------------------------------------------ basics
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return int(self.node_x.size)

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return int(self.edge_u.size)

    def node_lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Node coordinates in WGS84."""
        return from_metric(self.node_x, self.node_y, self.crs)

    def to_metric(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 → the network's metric CRS."""
        x, y = to_metric(np.atleast_1d(np.asarray(lon, dtype=float)),
                         np.atleast_1d(np.asarray(lat, dtype=float)), self.crs)
        return np.asarray(x, dtype=float), np.asarray(y, dtype=float)

    def describe(self) -> dict:
        """Summary for results: ``{source, nodes, edges, crs}``."""
        return {"source": self.source, "nodes": self.n_nodes, "edges": self.n_edges,
                "crs": self.crs}

    # ------------------------------------------------------------------ snapping
    def _tree(self):
        if self._edge_tree is None:
            import shapely

            lines = shapely.linestrings(np.stack([
                np.stack([self.node_x[self.edge_u], self.node_y[self.edge_u]], 1),
                np.stack([self.node_x[self.edge_v], self.node_y[self.edge_v]], 1)], axis=1))
            self._edge_lines = lines
            self._edge_tree = shapely.STRtree(lines)
        return self._edge_tree

    def snap_xy(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Snap metric points to their nearest edge.

        Returns
        -------
        edge : array of int
            Index of the nearest edge.
        along : array of float
            Distance from the edge's ``u`` end to the snapped point, metres.
        offset : array of float
            Straight distance from the point to the edge, metres.
        """
        import shapely

        if self.n_edges == 0:
            raise NetworkError("网络为空 (the walking network has no edges)")
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        tree = self._tree()
        points = shapely.points(x, y)
        (pi, ei), _ = tree.query_nearest(points, return_distance=True, all_matches=False)
        edge = np.empty(x.size, dtype=np.int64)
        edge[pi] = ei
        ux, uy = self.node_x[self.edge_u[edge]], self.node_y[self.edge_u[edge]]
        vx, vy = self.node_x[self.edge_v[edge]], self.node_y[self.edge_v[edge]]
        dx, dy = vx - ux, vy - uy
        length = self.edge_len[edge]
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(length > 0, ((x - ux) * dx + (y - uy) * dy) / (length * length), 0.0)
        t = np.clip(t, 0.0, 1.0)
        along = t * length
        offset = np.hypot(x - (ux + t * dx), y - (uy + t * dy))
        return edge, along, offset

    def snap(self, lon, lat):
        """Snap WGS84 points: ``(edge, along_m, offset_m)`` as in :meth:`snap_xy`."""
        return self.snap_xy(*self.to_metric(lon, lat))

    # ------------------------------------------------------------------ distances
    def _augmented(self, edge, along, offset) -> sparse.csr_matrix:
        """The graph plus one virtual source node per snapped point (outgoing edges only)."""
        n, m = self.n_nodes, edge.size
        g = self.graph
        w_u = np.maximum(offset + along, 1e-12)
        w_v = np.maximum(offset + self.edge_len[edge] - along, 1e-12)
        cols = np.stack([self.edge_u[edge], self.edge_v[edge]], 1).ravel()
        data = np.stack([w_u, w_v], 1).ravel()
        indptr = np.concatenate([g.indptr, g.indptr[-1] + 2 * np.arange(1, m + 1)])
        return sparse.csr_matrix(
            (np.concatenate([g.data, data]), np.concatenate([g.indices, cols]), indptr),
            shape=(n + m, n + m))

    def node_distances(self, src_x, src_y, *, limit: float = np.inf,
                       snapped=None) -> tuple[np.ndarray, np.ndarray]:
        """Distance from the nearest source to every node (multi-source Dijkstra).

        Parameters
        ----------
        src_x, src_y : array of float
            Source points (stations) in the metric CRS.
        limit : float
            Stop searching beyond this many metres (farther nodes get ``inf``).

        Returns
        -------
        dist : array of float, shape (n_nodes,)
            Metres to the nearest source (``inf`` when unreachable).
        nearest : array of int, shape (n_nodes,)
            Index of that source (``-1`` when unreachable).
        """
        edge, along, offset = snapped if snapped is not None else self.snap_xy(src_x, src_y)
        n, m = self.n_nodes, edge.size
        if m == 0:
            return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
        aug = self._augmented(edge, along, offset)
        dist, _, sources = csgraph.dijkstra(aug, directed=True, indices=np.arange(n, n + m),
                                            min_only=True, limit=limit,
                                            return_predecessors=True)
        nearest = np.where(sources >= n, sources - n, -1)
        return dist[:n], nearest[:n]

    def _point_from_field(self, field, edge, along, offset) -> np.ndarray:
        """Distances of snapped points given per-node distances ``field`` (via edge ends)."""
        via_u = field[..., self.edge_u[edge]] + along
        via_v = field[..., self.edge_v[edge]] + (self.edge_len[edge] - along)
        return offset + np.minimum(via_u, via_v)

    @staticmethod
    def _same_edge_pairs(a_edge, b_edge) -> tuple[np.ndarray, np.ndarray]:
        """All index pairs (i, j) with ``a_edge[i] == b_edge[j]``."""
        order = np.argsort(b_edge, kind="stable")
        sorted_b = b_edge[order]
        lo = np.searchsorted(sorted_b, a_edge, "left")
        hi = np.searchsorted(sorted_b, a_edge, "right")
        counts = hi - lo
        if not counts.any():
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ii = np.repeat(np.arange(a_edge.size), counts)
        starts = np.repeat(lo, counts)
        within = np.arange(ii.size) - np.repeat(np.cumsum(counts) - counts, counts)
        return ii, order[starts + within]

    def nearest_distances(self, x, y, src_x, src_y, *, limit: float = np.inf
                          ) -> tuple[np.ndarray, np.ndarray]:
        """Network distance from each point to its nearest source, and which source.

        Points and sources are metric coordinates; returns ``(dist_m, source_index)`` with
        ``inf``/``-1`` where no source is reachable (within ``limit``).
        """
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        s_snap = self.snap_xy(src_x, src_y)
        field, nearest = self.node_distances(src_x, src_y, limit=limit, snapped=s_snap)
        if x.size == 0:
            return np.zeros(0), np.zeros(0, np.int64)
        p_edge, p_along, p_off = self.snap_xy(x, y)
        via = self._point_from_field(field, p_edge, p_along, p_off)
        pick_u = (field[self.edge_u[p_edge]] + p_along
                  <= field[self.edge_v[p_edge]] + self.edge_len[p_edge] - p_along)
        src = np.where(pick_u, nearest[self.edge_u[p_edge]], nearest[self.edge_v[p_edge]])
        ii, jj = self._same_edge_pairs(p_edge, s_snap[0])
        if ii.size:
            direct = p_off[ii] + np.abs(p_along[ii] - s_snap[1][jj]) + s_snap[2][jj]
            order = np.lexsort((direct, ii))
            ii, jj, direct = ii[order], jj[order], direct[order]
            first = np.unique(ii, return_index=True)[1]
            ii, jj, direct = ii[first], jj[first], direct[first]
            better = direct < via[ii]
            via[ii[better]] = direct[better]
            src[ii[better]] = jj[better]
        via = np.where(np.isfinite(via) & (via <= limit), via, np.inf)
        src = np.where(np.isfinite(via), src, -1)
        return via, src

    def distance_matrix(self, x, y, src_x, src_y, *, limit: float = np.inf,
                        chunk: int = 64) -> np.ndarray:
        """Full network distances, shape ``(n_sources, n_points)`` (``inf`` beyond ``limit``).

        Memory grows with sources × points; use :meth:`count_within` for big inputs.
        """
        out = []
        for block in self._iter_blocks(x, y, src_x, src_y, limit=limit, chunk=chunk):
            out.append(block)
        if not out:
            return np.zeros((0, np.atleast_1d(x).size))
        return np.concatenate(out, axis=0)

    def _iter_blocks(self, x, y, src_x, src_y, *, limit, chunk):
        x = np.atleast_1d(np.asarray(x, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        src_x = np.atleast_1d(np.asarray(src_x, dtype=float))
        src_y = np.atleast_1d(np.asarray(src_y, dtype=float))
        if src_x.size == 0:
            return
        s_edge, s_along, s_off = self.snap_xy(src_x, src_y)
        p_edge, p_along, p_off = self.snap_xy(x, y) if x.size else (
            np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        aug = self._augmented(s_edge, s_along, s_off)
        n = self.n_nodes
        ii, jj = self._same_edge_pairs(p_edge, s_edge)
        for start in range(0, src_x.size, chunk):
            stop = min(start + chunk, src_x.size)
            field = csgraph.dijkstra(aug, directed=True, indices=np.arange(n + start, n + stop),
                                     limit=limit)[:, :n]
            block = self._point_from_field(field, p_edge, p_along, p_off)
            sel = (jj >= start) & (jj < stop)
            if sel.any():
                direct = p_off[ii[sel]] + np.abs(p_along[ii[sel]] - s_along[jj[sel]]) \
                    + s_off[jj[sel]]
                rows, cols = jj[sel] - start, ii[sel]
                block[rows, cols] = np.minimum(block[rows, cols], direct)
            block[block > limit] = np.inf
            yield block

    def count_within(self, x, y, src_x, src_y, radius_m: float, *, cap: int | None = None,
                     chunk: int = 64) -> np.ndarray:
        """How many sources each point reaches within ``radius_m`` along the network.

        ``cap`` stops counting at that number (counts above it are reported as ``cap``).
        """
        count = np.zeros(np.atleast_1d(x).size, dtype=np.int64)
        for block in self._iter_blocks(x, y, src_x, src_y, limit=radius_m, chunk=chunk):
            count += (block <= radius_m).sum(axis=0)
            if cap is not None and count.size and count.min() >= cap:
                break
        return count if cap is None else np.minimum(count, cap)

    # ------------------------------------------------------------------ the index hook
    def walk_distances(self, lon, lat, station_positions) -> np.ndarray:
        """Walking metres from one WGS84 point to each station (the StationIndex hook).

        Parameters
        ----------
        lon, lat : float
            The query point (WGS84).
        station_positions : array-like, shape (n, 2)
            Station ``lon, lat`` (WGS84).

        Returns
        -------
        numpy.ndarray, shape (n,)
            Metres along the network; ``inf`` when a station cannot be reached.
        """
        pos = np.asarray(station_positions, dtype=float).reshape(-1, 2)
        if pos.shape[0] == 0:
            return np.zeros(0)
        key = (pos.shape[0], hash(pos.tobytes()))
        cached = self._station_cache.get(key)
        if cached is None:
            sx, sy = self.to_metric(pos[:, 0], pos[:, 1])
            cached = (sx, sy, self.snap_xy(sx, sy))
            if len(self._station_cache) > 32:
                self._station_cache.clear()
            self._station_cache[key] = cached
        sx, sy, (s_edge, s_along, s_off) = cached
        qx, qy = self.to_metric(lon, lat)
        q_snap = self.snap_xy(qx, qy)
        field, _ = self.node_distances(qx, qy, snapped=q_snap)
        dist = self._point_from_field(field, s_edge, s_along, s_off)
        same = s_edge == q_snap[0][0]
        if same.any():
            direct = q_snap[2][0] + np.abs(s_along[same] - q_snap[1][0]) + s_off[same]
            dist[same] = np.minimum(dist[same], direct)
        return dist

    # ------------------------------------------------------------------ service areas
    def service_areas(self, src_x, src_y, radius_m: float, *, buffer_m: float = 25.0) -> list:
        """Isochrone polygons (metric CRS): what each source reaches within ``radius_m``.

        The reachable parts of edges (partial edges included) are buffered by ``buffer_m``
        and dissolved, one polygon per source (empty when nothing is reachable).
        """
        import shapely

        src_x = np.atleast_1d(np.asarray(src_x, dtype=float))
        src_y = np.atleast_1d(np.asarray(src_y, dtype=float))
        if src_x.size == 0:
            return []
        s_edge, s_along, s_off = self.snap_xy(src_x, src_y)
        aug = self._augmented(s_edge, s_along, s_off)
        n = self.n_nodes
        ux, uy = self.node_x[self.edge_u], self.node_y[self.edge_u]
        vx, vy = self.node_x[self.edge_v], self.node_y[self.edge_v]
        length = np.maximum(self.edge_len, 1e-12)
        polygons = []
        for j in range(src_x.size):
            d = csgraph.dijkstra(aug, directed=True, indices=n + j, limit=radius_m)[:n]
            reach_u = np.clip(radius_m - d[self.edge_u], 0, None)  # metres from u
            reach_v = np.clip(radius_m - d[self.edge_v], 0, None)
            segs = []
            whole = reach_u + reach_v >= self.edge_len
            idx = np.nonzero(whole & (np.isfinite(d[self.edge_u]) | np.isfinite(d[self.edge_v])))[0]
            segs.append((idx, np.zeros(idx.size), np.ones(idx.size)))
            part_u = np.nonzero(~whole & (reach_u > 0))[0]
            segs.append((part_u, np.zeros(part_u.size), reach_u[part_u] / length[part_u]))
            part_v = np.nonzero(~whole & (reach_v > 0))[0]
            segs.append((part_v, 1 - reach_v[part_v] / length[part_v], np.ones(part_v.size)))
            left = radius_m - s_off[j]
            if left > 0:  # along the station's own edge in both directions
                e = s_edge[j]
                a = max(0.0, s_along[j] - left) / length[e]
                b = min(self.edge_len[e], s_along[j] + left) / length[e]
                segs.append((np.array([e]), np.array([a]), np.array([b])))
            e_all = np.concatenate([s[0] for s in segs])
            t0 = np.concatenate([s[1] for s in segs])
            t1 = np.concatenate([s[2] for s in segs])
            start = np.stack([ux[e_all] + t0 * (vx[e_all] - ux[e_all]),
                              uy[e_all] + t0 * (vy[e_all] - uy[e_all])], 1)
            stop = np.stack([ux[e_all] + t1 * (vx[e_all] - ux[e_all]),
                             uy[e_all] + t1 * (vy[e_all] - uy[e_all])], 1)
            pieces = [shapely.Point(src_x[j], src_y[j]).buffer(buffer_m)] if left > 0 else []
            if e_all.size:
                lines = shapely.linestrings(np.stack([start, stop], axis=1))
                pieces.extend(shapely.buffer(lines, buffer_m, quad_segs=4))
            polygons.append(shapely.union_all(pieces) if pieces else shapely.Polygon())
        return polygons


def _lonlat(stations) -> tuple[list[float], list[float]]:
    """WGS84 lon/lat lists of Station records, dicts or a StationArrays."""
    if stations is None:
        return [], []
    if hasattr(stations, "hours_text"):  # StationArrays
        return [float(v) for v in stations.lon], [float(v) for v in stations.lat]
    rows = [(s["lon"], s["lat"]) if isinstance(s, dict) else (s.lon, s.lat) for s in stations]
    return [float(r[0]) for r in rows], [float(r[1]) for r in rows]


def service_area_polygons(network, stations, radius_m: float, *, buffer_m: float = 25.0):
    """WGS84 isochrone polygons of ``stations`` on a walking ``network`` (one per station)."""
    import shapely

    lon, lat = _lonlat(stations)
    if not len(lon):
        return []
    x, y = network.to_metric(lon, lat)
    polys = network.service_areas(x, y, radius_m, buffer_m=buffer_m)
    return [shapely.transform(p, lambda xy: np.column_stack(
        from_metric(xy[:, 0], xy[:, 1], network.crs))) for p in polys]
