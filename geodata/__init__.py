"""Where things are: datums, projections, geocoding, spatial index, networks, coverage, siting."""
