"""Exceptions of the geodata package (all under :class:`stations.errors.NuanxinError`)."""

from __future__ import annotations

from stations.errors import NuanxinError

__all__ = ["GeodataError", "DatumError", "GeocodingError", "NetworkError", "CRSMismatchError"]


class GeodataError(NuanxinError, ValueError):
    """Base of the geodata errors."""


class DatumError(GeodataError):
    """Unknown datum name or malformed coordinates."""


class GeocodingError(GeodataError):
    """An address could not be geocoded or a geocoder is misconfigured."""


class NetworkError(GeodataError):
    """A walking network cannot be loaded or used."""


class CRSMismatchError(GeodataError):
    """Layers in different coordinate reference systems were mixed."""
