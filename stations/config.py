"""Where the store lives: ``NUANXIN_DATABASE_URL`` or a SQLite file in the instance folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["instance_path", "database_url", "DEFAULT_DB_NAME"]

DEFAULT_DB_NAME = "nuanxin.db"


def instance_path() -> Path:
    """The instance folder: ``NUANXIN_INSTANCE`` or ``./instance`` (created on demand)."""
    path = Path(os.environ.get("NUANXIN_INSTANCE") or Path.cwd() / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url(url: str | None = None) -> str:
    """The SQLAlchemy URL to use: the argument, else ``NUANXIN_DATABASE_URL``, else SQLite."""
    if url:
        return url
    env = os.environ.get("NUANXIN_DATABASE_URL", "").strip()
    if env:
        return env
    return f"sqlite:///{instance_path() / DEFAULT_DB_NAME}"
