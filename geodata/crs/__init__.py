"""Coordinate reference systems: the Chinese datums (:mod:`~geodata.crs.datums`) and metric
projections for measuring in metres (:mod:`~geodata.crs.projection`)."""
