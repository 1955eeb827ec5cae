"""China's working calendar: statutory public holidays and 调休 make-up working days.

The dates come from the maintained ``chinesecalendar`` package (import name
``chinese_calendar``), which follows the State Council's yearly notices (国务院办公厅关于
部分节假日安排的通知). Nothing here is typed in: a newer ``chinesecalendar`` release brings a
newly published year (``pip install -U chinesecalendar``).

* :func:`is_public_holiday` — a statutory day off (法定节假日, weekend days inside a holiday
  block included): what OSM ``PH`` means in this product.
* :func:`is_makeup_workday` — a Saturday or Sunday that is a working day (调休上班).
* :func:`is_working_day` — China's 工作日: Monday–Friday unless a holiday, plus make-up days.
* Outside :func:`known_years` the State Council's arrangement is not known: :func:`calendar_note`
  gives a clear Chinese warning for that date (shown where the date is evaluated) and the first
  such date of each year is logged as a warning. A later year (up to
  :data:`PROVISIONAL_AHEAD` years on) still has its **statutory days** (法定节假日, 13 a year
  under the 2024 《全国年节及纪念日放假办法》: 元旦, 除夕 and 春节 ×3, 清明, 劳动节 ×2, 端午,
  中秋, 国庆 ×3), from the ``holidays`` package (lunar and solar-term dates computed,
  ``observed=False``: none of its guessed bridge days): those are days off whatever the
  notice adds, so ``PH off`` is closed on 2027-10-01 before the notice is packaged. The notice's
  longer blocks and its 调休 make-up working days are unknown until then — the note says so.
  Earlier years, or farther ones, count as ordinary days (no holidays) — never silently.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import cache

from chinese_calendar import constants as _cc

__all__ = ["CALENDAR_SOURCE", "PROVISIONAL_AHEAD", "calendar_note", "day_kind",
           "is_makeup_workday", "is_public_holiday", "is_working_day", "known_years",
           "statutory_days"]

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

#: How many years after the last one ``chinesecalendar`` knows still get their statutory days.
PROVISIONAL_AHEAD = 5
#: The law the statutory days follow (2024 revision: 13 days a year from 2025).
STATUTORY_FROM = 2025


@cache
def statutory_days(year: int) -> frozenset[date]:
    """The days off of ``year`` the ``holidays`` package knows without guessing
    (``observed=False``): for a year no notice has reached it yet, the statutory days by the
    2024 rules (13 dates; fewer when two festivals fall on one day); empty before
    :data:`STATUTORY_FROM`. It has no make-up working days."""
    if year < STATUTORY_FROM:
        return frozenset()
    import holidays as _holidays_pkg

    return frozenset(_holidays_pkg.China(years=year, observed=False))


def _provisional(year: int) -> bool:
    return _YEARS[1] < year <= _YEARS[1] + PROVISIONAL_AHEAD


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
    if _provisional(year):
        log.warning("China's holiday calendar (%s) knows %d–%d only: dates in %d are evaluated "
                    "with the statutory days alone (no holiday blocks, no 调休 make-up working "
                    "days)", CALENDAR_SOURCE, _YEARS[0], _YEARS[1], year)
        return
    log.warning("China's holiday calendar (%s) knows %d–%d only: dates in %d are evaluated "
                "without public holidays or 调休 make-up working days", CALENDAR_SOURCE,
                _YEARS[0], _YEARS[1], year)


def calendar_note(d: date | datetime) -> str | None:
    """``None`` when the calendar knows ``d``'s year, else the warning to show with the answer."""
    day = _day(d)
    if _known(day):
        return None
    if _provisional(day.year):
        return (f"{day.year} 年的放假调休安排尚未收录（日历 {CALENDAR_SOURCE} 只含 "
                f"{_YEARS[0]}–{_YEARS[1]} 年），只按法定节假日（元旦、春节、清明、劳动节、端午、"
                f"中秋、国庆共 13 天）计算；连休和调休上班日以国务院通知为准")
    return (f"{day.year} 年的法定节假日与调休安排尚未收录（日历 {CALENDAR_SOURCE} 只含 "
            f"{_YEARS[0]}–{_YEARS[1]} 年），该日按平常日期计算，节假日规则不生效")


def is_public_holiday(d: date | datetime) -> bool:
    """Whether ``d`` is a statutory public-holiday day off (OSM ``PH``).

    A datetime is first put in Asia/Shanghai time (naive means local already). Outside
    :func:`known_years` (with a warning, see :func:`calendar_note`) only the statutory days
    of a provisional year count.
    """
    day = _day(d)
    if not _known(day):
        return _provisional(day.year) and day in statutory_days(day.year)
    return day in _HOLIDAYS


def is_makeup_workday(d: date | datetime) -> bool:
    """Whether ``d`` is a weekend day worked in exchange for a holiday (调休上班)."""
    day = _day(d)
    return _known(day) and day in _MAKEUP


def is_working_day(d: date | datetime) -> bool:
    """China's 工作日: Monday–Friday that is not a holiday, or a make-up working day."""
    day = _day(d)
    if not _known(day):
        return day.weekday() < 5 and not is_public_holiday(day)
    return day in _MAKEUP or (day.weekday() < 5 and day not in _HOLIDAYS)


def day_kind(d: date | datetime) -> str:
    """``"holiday"``, ``"makeup"`` (调休上班 on a weekend) or ``"normal"``."""
    day = _day(d)
    if not _known(day):
        return HOLIDAY if is_public_holiday(day) else NORMAL
    if day in _HOLIDAYS:
        return HOLIDAY
    return MAKEUP if day in _MAKEUP else NORMAL
