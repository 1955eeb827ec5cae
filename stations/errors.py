"""Exceptions of the station domain.

Every error Nuanxin raises on purpose derives from :class:`NuanxinError`, and also from
the matching built-in (``ValueError``, ``LookupError``...) so callers can catch either.
Faces (CLI, HTTP) map ``NuanxinError`` to exit status 2 / HTTP 400, ``NotFoundError`` to 404.
"""

from __future__ import annotations

__all__ = [
    "NuanxinError",
    "ValidationError",
    "RowError",
    "NotFoundError",
    "TransitionError",
    "StoreError",
    "ForbiddenError",
    "AuthError",
    "ConflictError",
]


class NuanxinError(Exception):
    """Base of every error the product raises on purpose (a user error, not a bug)."""

    def __init__(self, message: str, *, detail: object = None):
        super().__init__(message)
        self.message = message
        self.detail = detail


class ValidationError(NuanxinError, ValueError):
    """A value given by a user is not acceptable (wrong type, out of range, unknown name)."""


class RowError(ValidationError):
    """One row of an imported table is bad.

    Parameters
    ----------
    row : int
        Data row number counted from 1 (the header row is not a row).
    column : str or None
        The column at fault, when one is.
    reason : str
        What is wrong and how to fix it.
    """

    def __init__(self, reason: str, *, row: int | None = None, column: str | None = None):
        self.row = row
        self.column = column
        self.reason = reason
        where = []
        if row is not None:
            where.append(f"第 {row} 行")
        if column:
            where.append(f"列 {column}")
        prefix = "，".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason)

    def as_dict(self) -> dict:
        """JSON form used by import reports: ``{row, column, reason}``."""
        return {"row": self.row, "column": self.column, "reason": self.reason}


class NotFoundError(NuanxinError, LookupError):
    """A record asked for by id or name does not exist."""


class TransitionError(NuanxinError, ValueError):
    """A lifecycle step that is not allowed from the record's current state."""


class StoreError(NuanxinError, RuntimeError):
    """The store cannot be opened or written (bad URL, missing tables, locked file)."""


class AuthError(NuanxinError, PermissionError):
    """No valid credentials (HTTP 401): no token, an unknown or revoked token."""


class ForbiddenError(NuanxinError, PermissionError):
    """Authenticated, but the account may not do this here (HTTP 403); nothing changed."""


class ConflictError(NuanxinError, ValueError):
    """A write based on a stale version of a record (HTTP 409); ``detail`` has the current."""
