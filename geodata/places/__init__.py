"""Where a place is by its name: address parsing (:mod:`~geodata.places.addresses`), the one
gazetteer of districts, streets and communities (:mod:`~geodata.places.gazetteer`), area
polygons and point-in-area (:mod:`~geodata.places.areas`), the offline geocoder
(:mod:`~geodata.places.geocoding`) and optional online adapters (:mod:`~geodata.places.online`).
"""
