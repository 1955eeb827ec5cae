"""China's working calendar: statutory public holidays and 调休 make-up working days.

The dates come from the maintained ``chinesecalendar`` package (import name
``chinese_calendar``), which follows the State Council's yearly notices (国务院办公厅关于
部分节假日安排的通知). Nothing here is typed in: a newer ``chinesecalendar`` release brings a
newly published year (``pip install -U chinesecalendar``).

* :func:`is_public_holiday` — a statutory day off (法定节假日, weekend days inside a holiday
  block included): what OSM ``PH`` means in this product.
* :func:`is_makeup_workday` — a Saturday or Sunday that is a working day (调休上班).
* :func:`is_working_day` — China's 工作日: Monday–Friday unless a holiday, plus make-up days.
* Outside :func:`known_years` the calendar is not known: :func:`calendar_note` gives a clear
  Chinese warning for that date (shown where the date is evaluated) and the first such date of
  each year is logged as a warning. Such dates count as ordinary days (no holidays, Monday–Friday
  working) — never silently: the note says so.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import cache

from chinese_calendar import constants as _cc

__all__ = ["CALENDAR_SOURCE", "calendar_note", "day_kind", "is_makeup_workday",
           "is_public_holiday", "is_working_day", "known_years"]

log = logging.getLogger(__name__)

_HOLIDAYS: frozenset[date] = frozenset(_cc.holidays)
_MAKEUP: frozenset[date] = frozenset(d for d in _cc.workdays if d.weekday() >= 5)
_YEARS: tuple[int, int] = (min(d.year for d in _HOLIDAYS), max(d.year for d in _HOLIDAYS))
try:
    from importlib.metadata import version as _version

    CALENDAR_SOURCE = f"chinesecalendar {_version('chinesecalendar')}"
except Exception:  # pragma: no cover - metadata missing in an unusual install
    CALENDAR_SOURCE = "chinesecalendar"

NORMAL, HOLIDAY, MAKEUP = "normal", "holiday", "makeup"


def _day(d: date | datetime) -> date:
    if isinstance(d, datetime):
        from stations.settings import TZ

        if d.tzinfo is not None and d.utcoffset() is not None:
            d = d.astimezone(TZ)
        return d.date()
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}: {d!r}")
    return d


def known_years() -> tuple[int, int]:
    """First and last year the installed calendar knows (inclusive), e.g. ``(2004, 2026)``."""
    return _YEARS


def _known(d: date) -> bool:
    if _YEARS[0] <= d.year <= _YEARS[1]:
        return True
    _warn_year(d.year)
    return False


@cache
def _warn_year(year: int) -> None:
    log.warning("China's holiday calendar (%s) knows %d–%d only: dates in %d are evaluated "
                "without public holidays or 调休 make-up working days", CALENDAR_SOURCE,
                _YEARS[0], _YEARS[1], year)


def calendar_note(d: date | datetime) -> str | None:
    """``None`` when the calendar knows ``d``'s year, else the warning to show with the answer."""
    day = _day(d)
    if _known(day):
        return None
    return (f"{day.year} 年的法定节假日与调休安排尚未收录（日历 {CALENDAR_SOURCE} 只含 "
            f"{_YEARS[0]}–{_YEARS[1]} 年），该日按平常日期计算，节假日规则不生效")


def is_public_holiday(d: date | datetime) -> bool:
    """Whether ``d`` is a statutory public-holiday day off (OSM ``PH``).

    A datetime is first put in Asia/Shanghai time (naive means local already). ``False``
    outside :func:`known_years` (with a warning, see :func:`calendar_note`).
    """
    day = _day(d)
    return _known(day) and day in _HOLIDAYS


def is_makeup_workday(d: date | datetime) -> bool:
    """Whether ``d`` is a weekend day worked in exchange for a holiday (调休上班)."""
    day = _day(d)
    return _known(day) and day in _MAKEUP


def is_working_day(d: date | datetime) -> bool:
    """China's 工作日: Monday–Friday that is not a holiday, or a make-up working day."""
    day = _day(d)
    if not _known(day):
        return day.weekday() < 5
    return day in _MAKEUP or (day.weekday() < 5 and day not in _HOLIDAYS)


def day_kind(d: date | datetime) -> str:
    """``"holiday"``, ``"makeup"`` (调休上班 on a weekend) or ``"normal"``."""
    day = _day(d)
    if not _known(day):
        return NORMAL
    if day in _HOLIDAYS:
        return HOLIDAY
    return MAKEUP if day in _MAKEUP else NORMAL
