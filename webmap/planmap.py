"""Planning maps: stations, service areas, uncovered demand and recommended sites in Folium.

Presentation: pure functions that build Folium objects from results and know nothing of
Flask (the views render them with :func:`webmap.maps.map_parts`, which vendors folium's
assets and renders once, so user text is never template source). Every coordinate is
converted from WGS84 to the datum of the tiles underneath (``to_tiles``: ``gcj02`` for
Amap/Tencent tiles, ``wgs84`` for OpenStreetMap/Tianditu) before drawing; every piece of user
text in a popup or tooltip goes through :func:`webmap.maps.escape_text`.

Folium wants ``[lat, lon]``: the swap happens in :func:`_ll` only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np

from geodata.crs.datums import convert, normalise_datum
from webmap.maps import escape_text

__all__ = ["planning_layers", "planning_map"]

_COLORS = {"station": "#1f6fb2", "service": "#1f6fb2", "uncovered": "#d7301f",
           "farthest": "#7a0177", "site": "#ff7f00", "gap": "#b30000"}


def _to(lon, lat, datum: str):
    x, y = convert(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float), src="wgs84",
                   dst=datum)
    return np.atleast_1d(x), np.atleast_1d(y)


def _ll(lon: float, lat: float) -> list[float]:
    return [float(lat), float(lon)]  # folium: lat first


def _geom_to(geom, datum: str):
    import shapely

    if datum == "wgs84":
        return geom
    return shapely.transform(geom, lambda xy: np.column_stack(_to(xy[:, 0], xy[:, 1], datum)))


_esc = escape_text  # the one escape for user text in maps (webmap.maps)


def _station_rows(stations) -> list[dict]:
    """Stations from Station records, StationArrays or dicts → ``{id, name, lon, lat}``."""
    if stations is None:
        return []
    if hasattr(stations, "hours_text"):  # StationArrays
        return [{"id": int(stations.ids[i]), "name": str(stations.names[i]),
                 "lon": float(stations.lon[i]), "lat": float(stations.lat[i]),
                 "opening_hours": str(stations.hours_text[i])} for i in range(len(stations))]
    rows = []
    for s in stations:
        if isinstance(s, dict):
            rows.append(s)
        else:
            rows.append({"id": s.id, "name": s.name, "lon": s.lon, "lat": s.lat,
                         "opening_hours": getattr(s, "opening_hours", "")})
    return rows


def planning_layers(*, to_tiles: str = "wgs84", stations=None, coverage=None,
                    siting: dict | None = None, radius_m: float | None = None,
                    isochrones: Sequence | None = None, max_points: int = 2000) -> list:
    """Folium FeatureGroups for a planning map, drawn in the ``to_tiles`` datum.

    Parameters
    ----------
    to_tiles : {"wgs84", "gcj02", "bd09"}
        Datum of the basemap tiles; every coordinate is converted to it.
    stations : sequence of Station / dicts, or StationArrays, optional
        Default: the stations of ``coverage``.
    coverage : geodata.planning.coverage.CoverageResult, optional
        Uncovered demand points and area, the farthest point, service radius.
    siting : dict, optional
        A ``site`` result (``chosen`` sites are drawn with their rank and gain).
    radius_m : float, optional
        Service circles of this radius around stations (default: the coverage radius);
        ignored when ``isochrones`` are given.
    isochrones : sequence of shapely polygons (WGS84), optional
        Walking service areas (see :func:`service_area_polygons`), drawn instead of circles.
    max_points : int
        At most this many uncovered demand points are drawn (heaviest/farthest first).
    """
    datum = normalise_datum(to_tiles)
    if stations is None and coverage is not None:
        stations = _stations_near(coverage, only_near=False)
    rows = _station_rows(stations)
    if radius_m is None and coverage is not None:
        radius_m = coverage.radius_m
    groups = [_service_layer(rows, datum, radius_m=radius_m, isochrones=isochrones),
              _stations_layer(rows, datum)]
    if coverage is not None:
        groups.append(_uncovered_layer(coverage, datum, max_points=max_points))
        if getattr(coverage, "gaps", None):
            groups.append(_gaps_layer(coverage, datum))
    if siting:
        groups.append(_sites_layer(siting, datum, radius_m=radius_m))
    return groups


def _stations_near(coverage, *, only_near: bool = True) -> list[dict]:
    """The stations of a coverage result that can reach its demand (within the demand's
    extent widened by the radius) and the three nearest to it — the map is fitted to them;
    with ``only_near=False`` every station, those first (every station is drawn, but a
    street's view is not the city's)."""
    rows = _station_rows(coverage.stations)
    demand = coverage.demand
    if not len(demand) or not rows:
        return rows
    lat0 = float(np.mean(demand.lat))
    dlat = coverage.radius_m / 111_000.0 * 1.05
    dlon = dlat / max(np.cos(np.radians(lat0)), 0.1)
    x0, x1 = float(np.min(demand.lon)) - dlon, float(np.max(demand.lon)) + dlon
    y0, y1 = float(np.min(demand.lat)) - dlat, float(np.max(demand.lat)) + dlat
    near = [x0 <= r["lon"] <= x1 and y0 <= r["lat"] <= y1 for r in rows]
    # and the few stations nearest to the demand, so the map always shows where help is
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    scale = np.cos(np.radians(lat0))
    gap = [((r["lon"] - cx) * scale) ** 2 + (r["lat"] - cy) ** 2 for r in rows]
    for i in np.argsort(gap, kind="stable")[:3].tolist():
        near[i] = True
    if only_near:
        return [r for r, ok in zip(rows, near, strict=True) if ok]
    return ([r for r, ok in zip(rows, near, strict=True) if ok]
            + [r for r, ok in zip(rows, near, strict=True) if not ok])


def _service_layer(rows: list[dict], datum: str, *, radius_m: float | None,
                   isochrones: Sequence | None):
    """服务范围: walking areas when ``isochrones`` are given, else circles of ``radius_m``."""
    import folium

    service = folium.FeatureGroup(name="服务范围", show=True)
    if isochrones:
        _add_isochrones(service, isochrones, rows, datum)
    elif radius_m and rows:
        _add_service_circles(service, rows, datum, radius_m=radius_m)
    return service


def _add_isochrones(group, isochrones: Sequence, rows: list[dict], datum: str) -> None:
    """One walking service area per station (polygons in the order of ``rows``)."""
    import folium
    import shapely

    for poly, row in zip(isochrones, rows or [{}] * len(isochrones), strict=False):
        if poly is None or poly.is_empty:
            continue
        folium.GeoJson(json.loads(shapely.to_geojson(_geom_to(poly, datum))),
                       style_function=lambda _f: {"color": _COLORS["service"], "weight": 1,
                                                  "fillOpacity": 0.12},
                       tooltip=folium.Tooltip(_esc(row.get("name")) + " 步行可达范围")
                       ).add_to(group)


def _add_service_circles(group, rows: list[dict], datum: str, *, radius_m: float) -> None:
    """A circle of ``radius_m`` metres around each station."""
    import folium

    x, y = _to([r["lon"] for r in rows], [r["lat"] for r in rows], datum)
    for r, lon, lat in zip(rows, x, y, strict=True):
        folium.Circle(_ll(lon, lat), radius=float(radius_m), color=_COLORS["service"],
                      weight=1, fill=True, fill_opacity=0.08,
                      tooltip=folium.Tooltip(
                          f"{_esc(r.get('name'))} {radius_m:.0f} 米服务半径"),
                      ).add_to(group)


def _stations_layer(rows: list[dict], datum: str):
    """驿站: one marker per station, its name and opening hours in the popup."""
    import folium

    st_group = folium.FeatureGroup(name="驿站", show=True)
    if rows:
        x, y = _to([r["lon"] for r in rows], [r["lat"] for r in rows], datum)
        for r, lon, lat in zip(rows, x, y, strict=True):
            text = f"<b>{_esc(r.get('name'))}</b>"
            if r.get("opening_hours"):
                text += f"<br>开放时间: {_esc(r.get('opening_hours'))}"
            folium.CircleMarker(_ll(lon, lat), radius=6, color=_COLORS["station"], fill=True,
                                fill_opacity=0.9, popup=folium.Popup(text, max_width=260),
                                tooltip=folium.Tooltip(_esc(r.get("name")))).add_to(st_group)
    return st_group


def _uncovered_layer(coverage, datum: str, *, max_points: int):
    """未覆盖需求: the uncovered area, up to ``max_points`` uncovered demand points and the
    farthest demand point."""
    import folium
    import shapely

    gap = folium.FeatureGroup(name="未覆盖需求", show=True)
    geom = coverage.uncovered_geometry()
    if not geom.is_empty:
        folium.GeoJson(json.loads(shapely.to_geojson(_geom_to(geom, datum))),
                       style_function=lambda _f: {"color": _COLORS["uncovered"],
                                                  "weight": 1, "fillOpacity": 0.25},
                       tooltip=folium.Tooltip("未覆盖区域")).add_to(gap)
    _add_uncovered_points(gap, coverage.uncovered_points(max_points), datum)
    far = coverage.farthest()
    if far:
        x, y = _to(far["lon"], far["lat"], datum)
        folium.CircleMarker(_ll(x[0], y[0]), radius=8, color=_COLORS["farthest"], weight=3,
                            tooltip=folium.Tooltip(
                                f"最远需求点 {_esc(far['name'])}: 距 "
                                f"{_esc(far['nearest_station_name'])} "
                                f"{far['distance_m']:.0f} 米")).add_to(gap)
    return gap


def _gaps_layer(coverage, datum: str):
    """缺口: each gap's outline, numbered by size, with its size, street, nearest station and
    the candidate that would cover it."""
    import folium
    import shapely

    from geodata.planning.gaps import size_text

    layer = folium.FeatureGroup(name="缺口", show=True)
    unit = coverage.demand.unit
    for gap in coverage.gaps:
        text = (f"<b>缺口 #{gap.rank}</b> {_esc(gap.street or '')}<br>"
                f"规模 {size_text(gap.size, unit)}<br>")
        if gap.nearest_station_name is not None:
            text += (f"最近驿站 {_esc(gap.nearest_station_name)} "
                     f"{gap.nearest_station_m:.0f} 米<br>")
        if gap.candidate:
            text += (f"候选 {_esc(gap.candidate['name'])} 可覆盖 "
                     f"{size_text(gap.candidate['covers'], unit)}")
        else:
            text += "没有通过筛选的候选单位能覆盖它"
        if gap.outline is not None and not gap.outline.is_empty:
            folium.GeoJson(json.loads(shapely.to_geojson(_geom_to(gap.outline, datum))),
                           style_function=lambda _f: {"color": _COLORS["gap"], "weight": 2,
                                                      "dashArray": "6 4", "fillOpacity": 0.05},
                           popup=folium.Popup(text, max_width=280),
                           tooltip=folium.Tooltip(f"缺口 #{gap.rank}")).add_to(layer)
        x, y = _to(gap.lon, gap.lat, datum)
        folium.Marker(_ll(x[0], y[0]), icon=folium.DivIcon(
            html=(f'<div class="gap-label" style="width:22px;height:22px;line-height:22px;'
                  f'border-radius:11px;background:{_COLORS["gap"]};color:#fff;'
                  f'text-align:center;font-weight:bold">{int(gap.rank)}</div>'),
            icon_size=(22, 22),
            icon_anchor=(11, 11)), popup=folium.Popup(text, max_width=280)).add_to(layer)
    return layer


def _add_uncovered_points(group, points: list[dict], datum: str) -> None:
    """A small marker per uncovered demand point: name, people, distance to the nearest."""
    import folium

    if not points:
        return
    x, y = _to([p["lon"] for p in points], [p["lat"] for p in points], datum)
    for p, lon, lat in zip(points, x, y, strict=True):
        dist = "—" if p["nearest_m"] is None else f"{p['nearest_m']:.0f} 米"
        tip = (f"{_esc(p['name']) or '需求点'} · 人数 {p['weight']:g} · "
               f"距最近驿站 {dist}")
        folium.CircleMarker(_ll(lon, lat), radius=3, color=_COLORS["uncovered"],
                            fill=True, fill_opacity=0.8,
                            tooltip=folium.Tooltip(tip)).add_to(group)


def _sites_layer(siting: dict, datum: str, *, radius_m: float | None):
    """推荐新站点: the chosen sites with rank and gain, each in a dashed service circle."""
    import folium

    from geodata.planning.gaps import size_text

    sites = folium.FeatureGroup(name="推荐新站点", show=True)
    chosen = siting.get("chosen", [])
    unit = {"area": "m2", "grid": "points", "community_proxy": "points"}.get(
        siting.get("demand_source"), "people")
    if chosen:
        x, y = _to([c["lon"] for c in chosen], [c["lat"] for c in chosen], datum)
        for c, lon, lat in zip(chosen, x, y, strict=True):
            text = (f"<b>推荐 #{int(c.get('rank') or 0)} {_esc(c['name'])}</b><br>"
                    f"{_esc(c.get('address'))}<br>新增覆盖 {size_text(c['gain'], unit)}")
            folium.CircleMarker(_ll(lon, lat), radius=8, color=_COLORS["site"], weight=3,
                                fill=True, fill_opacity=0.9,
                                popup=folium.Popup(text, max_width=280),
                                tooltip=folium.Tooltip(
                                    f"推荐 #{int(c.get('rank') or 0)} {_esc(c['name'])}"),
                                ).add_to(sites)
            if radius_m:
                folium.Circle(_ll(lon, lat), radius=float(radius_m), color=_COLORS["site"],
                              weight=1, dash_array="4", fill=False).add_to(sites)
    return sites


def planning_map(*, to_tiles: str = "wgs84", m=None, center: tuple[float, float] | None = None,
                 zoom: int = 14, layer_control: bool = True, **layers):
    """A :class:`folium.Map` (or ``m``, when given) with :func:`planning_layers` added.

    Without ``m`` the map has no tiles (the web face adds its basemap, whose datum must be
    ``to_tiles``). ``center`` is WGS84 ``(lon, lat)``; by default the layers' extent is fitted.
    """
    import folium

    datum = normalise_datum(to_tiles)
    groups = planning_layers(to_tiles=datum, **layers)
    if m is None:
        start = [39.9042, 116.4074] if center is None else _ll(*(
            v[0] for v in _to(center[0], center[1], datum)))
        m = folium.Map(location=start, zoom_start=zoom, tiles=None, control_scale=True)
    for group in groups:
        group.add_to(m)
    bounds = _bounds(layers, datum)
    if center is None and bounds:
        m.fit_bounds(bounds)
    if layer_control:
        folium.LayerControl(collapsed=True).add_to(m)
    return m


def _bounds(layers: dict, datum: str):
    lons, lats = [], []
    cov = layers.get("coverage")
    if cov is not None and len(cov.demand):
        lons += [float(np.min(cov.demand.lon)), float(np.max(cov.demand.lon))]
        lats += [float(np.min(cov.demand.lat)), float(np.max(cov.demand.lat))]
    stations = layers.get("stations")
    if stations is None and cov is not None:
        stations = _stations_near(cov)
    for r in _station_rows(stations):
        lons.append(float(r["lon"]))
        lats.append(float(r["lat"]))
    for c in (layers.get("siting") or {}).get("chosen", []):
        lons.append(c["lon"])
        lats.append(c["lat"])
    if not lons:
        return None
    x, y = _to(lons, lats, datum)
    return [_ll(x.min(), y.min()), _ll(x.max(), y.max())]
