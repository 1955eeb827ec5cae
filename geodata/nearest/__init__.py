"""The nearest-station index: :mod:`~geodata.nearest.index`."""
