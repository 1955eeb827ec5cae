"""Where the store lives: ``NUANXIN_DATABASE_URL`` or a SQLite file in the instance folder."""

from __future__ import annotations

from pathlib import Path

from stations import settings

__all__ = ["instance_path", "database_url", "DEFAULT_DB_NAME"]

DEFAULT_DB_NAME = "nuanxin.db"


def instance_path() -> Path:
    """The instance folder: ``NUANXIN_INSTANCE`` or ``./instance`` (created on demand)."""
    return settings.instance_dir()


def database_url(url: str | None = None) -> str:
    """The SQLAlchemy URL to use: the argument, else ``NUANXIN_DATABASE_URL``, else SQLite."""
    if url:
        return url
    env = settings.get("DATABASE_URL")
    if env:
        return env
    return f"sqlite:///{instance_path() / DEFAULT_DB_NAME}"
