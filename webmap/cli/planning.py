"""CLI commands of this topic (registered on :data:`webmap.cli.main`)."""

from __future__ import annotations
