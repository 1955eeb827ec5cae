"""Walking networks: the graph (:mod:`~geodata.network.graph`) and its file loaders
(:mod:`~geodata.network.loaders`)."""

from geodata.network.graph import WalkingNetwork, is_walkable, service_area_polygons
from geodata.network.loaders import (
    CONFIGURED,
    NETWORK_ENV,
    default_network,
    load_network,
    resolve_network,
)

__all__ = ["WalkingNetwork", "is_walkable", "service_area_polygons", "load_network",
           "default_network", "resolve_network", "CONFIGURED", "NETWORK_ENV"]
