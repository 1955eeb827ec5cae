"""What the store and the product accept at all: the bounds every face checks input against.

One place for the ranges that keep hostile or careless input from reaching the database as an
overflow or a crash:

* ids are database integers: 1 … 2**31 − 1 (PostgreSQL ``integer``; SQLite would take more,
  but a station id must mean the same on both backends);
* times are supported from 1970-01-01 to 2100-12-31 (Asia/Shanghai); outside that range an
  ``open_at`` answers a clear error instead of overflowing date arithmetic;
* text is valid Unicode (no lone surrogates, no NUL).
"""

from __future__ import annotations

from datetime import datetime

from stations.errors import ValidationError

__all__ = ["ID_MIN", "ID_MAX", "YEAR_MIN", "YEAR_MAX", "TIME_TEXT_MAX", "check_id",
           "check_time", "check_text"]

ID_MIN = 1
ID_MAX = 2**31 - 1
YEAR_MIN = 1970
YEAR_MAX = 2100
#: Longest date-time text accepted (``2024-05-01T08:30:00.000000+08:00`` is 32).
TIME_TEXT_MAX = 40


def check_id(value: int, what: str = "id") -> int:
    """``value`` when it is an id the store can hold, else :class:`ValidationError`."""
    if isinstance(value, bool) or not isinstance(value, int) or not ID_MIN <= value <= ID_MAX:
        raise ValidationError(
            f"{what} 超出范围 (must be a whole number from {ID_MIN} to {ID_MAX})",
            detail={"param": what, "minimum": ID_MIN, "maximum": ID_MAX})
    return value


def check_time(value: datetime, what: str = "time") -> datetime:
    """``value`` when its year lies in the supported range, else :class:`ValidationError`."""
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValidationError(
            f"{what} 超出支持范围 (supported: {YEAR_MIN}-01-01 to {YEAR_MAX}-12-31), "
            f"got {value.isoformat()}",
            detail={"param": what, "minimum": f"{YEAR_MIN}-01-01", "maximum": f"{YEAR_MAX}-12-31"})
    return value


def check_text(value: str, what: str = "text") -> str:
    """``value`` when it is storable Unicode text (no lone surrogate, no NUL)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{what} 含无效字符 (not valid Unicode text: lone surrogate)",
                              detail={"param": what, "reason": "invalid unicode"}) from None
    if "\x00" in value:
        raise ValidationError(f"{what} 含空字符 (contains a NUL character)",
                              detail={"param": what, "reason": "nul character"})
    return value
