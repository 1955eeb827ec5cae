"""The candidate page's pin map (issue 12): a small Folium map with the candidate where it is
(or the centre of its street/district while it waits for a pin), drawn on the configured basemap
with the same datum handling as the worker map (:mod:`webmap.maps`: overlays in the tiles'
datum, GCJ-02 for Amap). The page's ``pin.js`` adds the draggable pin and converts its position
back to WGS84 (``datum.js``) before the form posts it.
"""

from __future__ import annotations

import folium

from geodata.crs.datums import convert
from webmap import maps

__all__ = ["candidate_pin_map", "pin_start"]


def pin_start(candidate, *, fallback=None) -> tuple[float, float, bool]:
    """``(lon, lat, placed)``: where the pin starts (WGS84) — the candidate's point, else the
    centre of its street (or of ``fallback``'s street: the account's area, when the candidate
    knows only its district), else of its district, else the city's."""
    if candidate.located and not candidate.needs_pin:
        return float(candidate.lon), float(candidate.lat), True
    from geodata.places.assign import area_of_names
    from geodata.places.gazetteer import load_gazetteer

    gazetteer = load_gazetteer()
    area = area_of_names(candidate.district, candidate.street)
    if not area.street_code and fallback is not None and fallback.street_code and (
            not area.district_code or area.district_code == fallback.district_code):
        area = fallback
    for code, table in ((area.street_code, gazetteer.street_by_code),
                        (area.district_code, gazetteer.district_by_code)):
        place = table.get(code) if code else None
        if place is not None and place.has_point:
            return float(place.lon), float(place.lat), False
    city = gazetteer.city
    return float(city.lon), float(city.lat), False


def candidate_pin_map(candidate, *, tiles: str, tianditu_key: str = "", fallback=None
                      ) -> tuple[folium.Map, dict]:
    """The map and the page's pin config ``{lon, lat, datum, placed}`` (start in the tiles'
    datum: the pin is drawn where the tiles show that place)."""
    lon, lat, placed = pin_start(candidate, fallback=fallback)
    m = maps.base_map(tiles=tiles, center=(lon, lat), zoom=17 if placed else 15,
                      tianditu_key=tianditu_key, lean=True, height="100%")
    datum = maps.tile_datum(tiles)
    if datum != "wgs84":
        lon, lat = (float(v) for v in convert(lon, lat, src="wgs84", dst=datum))
    return m, {"lon": lon, "lat": lat, "datum": datum, "placed": placed}


def overview_map(coverage, *, tiles: str, tianditu_key: str = "") -> folium.Map:
    """The dashboard's small gap map (issue 12, item 8): stations with their service radius,
    uncovered demand and the gap outlines of a coverage result, on the configured basemap in
    its datum (:func:`webmap.planmap.planning_layers`)."""
    import numpy as np

    from webmap.planmap import planning_layers

    demand = coverage.demand
    if len(demand):
        center = (float(np.mean(demand.lon)), float(np.mean(demand.lat)))
    else:
        from geodata.places.gazetteer import load_gazetteer

        city = load_gazetteer().city
        center = (float(city.lon), float(city.lat))
    m = maps.base_map(tiles=tiles, center=center, zoom=14, tianditu_key=tianditu_key,
                      lean="popups", height="100%")
    for layer in planning_layers(to_tiles=maps.tile_datum(tiles), coverage=coverage,
                                 max_points=400):
        layer.add_to(m)
    return m
