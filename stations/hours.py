"""Opening hours: read what hosts write, answer "is it open when I get there".

OSM ``opening_hours`` text is evaluated by the field's own parser, ``opening-hours-py``
(import name ``opening_hours``, the Rust ``opening-hours`` crate): every value it accepts is
accepted and means what it means in OSM — later rules win (``PH off; Mo-Fr 08:00-18:00`` is
open on a weekday holiday), a rule without days covers every day (``Mo-Fr 08:00-12:00;
13:00-17:00`` is open on Saturday 14:00), ``,`` adds a rule, hours past midnight belong to the
next calendar day's rules (``Fr 22:00-04:00; Sa 21:00-04:00`` is closed on Saturday 02:00),
``open``, months, dates, week numbers, ``Th[1]``, open ends ``+``, comments and ``unknown``.
Chinese text (``周一至周五 9:00-17:00，周六 9点-12点，节假日休息``) is first written as OSM text by
:mod:`stations.hourtext`; :meth:`OpeningHours.to_text` is the OSM text kept in the store.

Our own layer adds only what the parser cannot know:

* **Unknown hours** (tri-state): empty text, ``未知``, ``不详``, ``unknown`` … give
  ``OpeningHours(known=False)``; every question then answers ``None``. A rule that evaluates
  to OSM's *unknown* state (``Mo-Fr 10:00-12:00 unknown``, a comment-only rule such as
  ``"by appointment"``) also answers ``None`` for that time, never "open".
* **China's calendar** (:mod:`stations.holidays`, from ``chinesecalendar``): the parser's own
  calendar for ``CN`` knows only the festival days themselves (6 a year, not the 3-8 day
  blocks), and it takes no custom holiday list. So ``PH`` is evaluated here: a date that is a
  statutory day off is evaluated by a variant of the expression in which ``PH`` matches every
  day (``PH`` → ``Mo-Su``; ``PH Mo`` → ``Mo``); other dates by the expression as written with
  no holidays at all. ``工作日`` rules (``Mo-Fr … "工作日"``, see :mod:`stations.hourtext`)
  also open on a 调休 make-up Saturday or Sunday: that date is evaluated as the closest
  earlier ordinary working day (same time of day). Dates outside the years the calendar knows
  are evaluated without holidays, with a warning (:func:`stations.holidays.calendar_note`).
* **Sun events** (``sunrise-sunset``, ``dawn``, ``dusk``) use Beijing's coordinates
  (:data:`SUN_COORDS`) in Asia/Shanghai time.
* ``SH`` (school holidays): no Chinese school calendar is known, so ``SH`` rules never apply —
  the parser's own behaviour without a school calendar.
* Times are Asia/Shanghai wall-clock time, minute resolution; naive datetimes are local,
  aware ones converted.

Intended differences from the bare parser (each is a test in ``tests/test_hours.py``):

0. A rule that is only a comment (``"by appointment"``, ``Mo-Fr 09:00-17:00 || "call"``) is
   *unknown*, as opening_hours.js reads it; the Rust parser alone reads it as open. It is kept
   as ``unknown "by appointment"``.

1. ``PH`` dates come from China's calendar — ``24/7; PH off`` is closed on 2026-10-05
   (National Day block); the parser's ``CN`` calendar has only 2026-10-01.
2. ``Mo-Fr 08:00-18:00 "工作日"; PH off`` (what ``工作日 8:00-18:00`` is written as) is open
   on the make-up days 2026-09-20 (a Sunday) and 2026-10-10 (a Saturday); a plain
   ``Mo-Fr 08:00-18:00`` keeps OSM's meaning: closed on any Saturday or Sunday.
3. ``PH`` with a day offset (``PH +1 day``) cannot be mapped to a variant and never applies
   (logged once per text); ``PH Mo`` (a holiday that is a Monday) is read as ``Mo`` on a
   holiday and on the first day after one.

A time on a date depends on that date's rules and the spill from the evening before, so the
variant used has ``PH`` on exactly the holidays among those two days (``PH`` → ``Mo-Su`` when
both are holidays, → that one weekday's name when one is, the expression as written when
neither is). So ``Mo-Su 22:00-06:00; PH off`` is closed at 01:00 on the first holiday
morning (the PH rule takes that day) and open at 01:00 after the last holiday evening (that
morning belongs to the next day's own weekday rule) — as the parser reads the same expression
around a holiday its own calendar knows. ``SH`` next to ``PH`` (``Su,SH,PH``) is dropped from
the variant (it never matches). Where the two references disagree with each other the parser
is followed (an open end ``10:00+`` is open until midnight; opening_hours.js says unknown).
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache

import opening_hours as _oh

from stations import holidays as _cal
from stations.errors import ValidationError
from stations.hourtext import (
    WORKDAY_MARK,
    HoursError,
    WeekTable,
    _normalise,
    is_unknown_text,
    read_week,
    render_osm,
    render_zh,
)
from stations.limits import TIME_TEXT_MAX, check_time
from stations.settings import TZ, now

__all__ = ["SLOT_MINUTES", "SUN_COORDS", "TZ", "WEEK_SLOTS", "HoursError", "OpeningHours",
           "is_public_holiday", "hours_of", "parse_open_at"]

log = logging.getLogger(__name__)
_DAY = 1440
_FULL = ((0, _DAY),)
#: Where sunrise, sunset, dawn and dusk are computed: Beijing (Tiananmen), latitude/longitude.
SUN_COORDS = (39.9042, 116.4074)
#: A week without public holidays, used to read the weekly table behind an expression.
_REFERENCE_MONDAY = date(2026, 3, 2)
_NEXT_CHANGE_DAYS = 800  # how far ahead next_change looks before saying "never"

is_public_holiday = _cal.is_public_holiday  # kept here for callers of the old API

_DAY_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_COMMENT = re.compile(r'"[^"]*"')
_COMMENT_RULE = re.compile(r'(?P<lead>(?:^|;|\|\|)\s*)(?P<comment>"[^"]*")(?=\s*(?:$|;|\|\|))')
_SUN = re.compile(r"sunrise|sunset|dawn|dusk")
_SH_NEXT_TO_PH = re.compile(r"\bSH,PH\b|\bPH,SH\b")
_PH_TOKEN = re.compile(r"\bPH\b(?:\s+(?=(?:Mo|Tu|We|Th|Fr|Sa|Su)\b))?")
#: Everything a weekly-periodic expression is made of (comments removed first): weekdays,
#: PH, clock times, 24/7, state words and separators. Anything else (months, dates, weeks,
#: years, sun events, [n], +, SH, offsets) makes the expression date-dependent.
_PERIODIC = re.compile(r"(?:Mo|Tu|We|Th|Fr|Sa|Su|PH|\d\d:\d\d|24/7|off|closed|open|unknown"
                       r"|\|\||[-,;\s])*")


def _local(when: datetime) -> datetime:
    """Naive Asia/Shanghai wall-clock time of ``when``."""
    if not isinstance(when, datetime):
        raise TypeError(f"expected a datetime, got {type(when).__name__}: {when!r}")
    if when.tzinfo is None or when.utcoffset() is None:
        return when
    return when.astimezone(TZ).replace(tzinfo=None)


def _naive(value: datetime | None) -> datetime | None:
    return None if value is None else _local(value)


def _compile(text: str) -> _oh.OpeningHours:
    """The parser's object for OSM ``text`` (raises ``SyntaxError`` subclasses when invalid)."""
    if _SUN.search(_COMMENT.sub("", text)):
        # auto_country off: PH comes from China's calendar here (the parser's "CN" has only
        # the festival days). auto_timezone must stay at its default: turning it off makes
        # this parser version ignore the coordinates (sun events at 07:00/19:00).
        return _oh.OpeningHours(text, timezone=TZ, coords=SUN_COORDS, auto_country=False)
    return _oh.OpeningHours(text)


def _ph_as(text: str, days: str) -> str:
    """``text`` with ``PH`` matching the weekdays ``days`` (``"Mo-Su"``, ``"We"``, ``"Tu,We"``);
    ``PH Mo`` (holiday and Monday) becomes ``Mo``. Comments are left alone."""
    pieces = re.split(r'("[^"]*")', text)  # odd pieces are comments

    def swap(piece: str) -> str:
        piece = _SH_NEXT_TO_PH.sub("PH", piece)  # SH never matches (no school calendar)
        return _PH_TOKEN.sub(lambda m: "" if m.group() != "PH" else days, piece)

    return "".join(p if i % 2 else swap(p) for i, p in enumerate(pieces))


def _ph_always(text: str) -> str | None:
    """``text`` with ``PH`` matching every day, or ``None`` when that cannot be written."""
    variant = _ph_as(text, "Mo-Su")
    try:
        _compile(variant)
    except Exception:
        log.warning("opening hours %r: its PH rule cannot be evaluated with China's calendar "
                    "and is ignored", text[:80])
        return None
    return variant


def _comment_rules_unknown(text: str) -> str:
    """A rule that is only a comment (``"by appointment"``, ``… || "call"``) states nothing
    about being open: written ``unknown "…"``, as opening_hours.js reads it (the Rust parser
    alone would read it as open)."""
    return _COMMENT_RULE.sub(lambda m: f"{m['lead']}unknown {m['comment']}", text)


def _try_osm(text: str) -> tuple[str, _oh.OpeningHours] | None:
    """OSM text as the parser writes it, and its object; ``None`` when it is not OSM."""
    text = _comment_rules_unknown(text)
    candidates = [text]
    loose = " ".join(text.split()).rstrip(" ;")
    if loose != text:
        candidates.append(loose)
    for candidate in candidates:
        try:
            parsed = _compile(candidate)
        except Exception:  # the parser's ParserError is a SyntaxError; never a result
            continue
        canonical = str(parsed)
        try:  # the parser's own writing, when it reads back (``PH +1 day`` does not)
            return canonical, _compile(canonical)
        except Exception:
            return candidate, parsed
    return None


@lru_cache(maxsize=512)
def _proxy_day(day: date) -> date:
    """The closest earlier ordinary working day (Monday–Friday, no holiday) before ``day``."""
    d = day - timedelta(days=1)
    while d.weekday() >= 5 or _cal.day_kind(d) != _cal.NORMAL:
        d -= timedelta(days=1)
    return d


class OpeningHours:
    """Opening hours of a station: an OSM expression evaluated with China's calendar.

    Build with :meth:`parse` (OSM or Chinese text); ``OpeningHours(known=False)`` is "nobody
    recorded the hours". Equal when their OSM text is equal; immutable and shared between
    stations (see :func:`hours_of`).
    """

    def __init__(self, text: str = "", *, known: bool = True):
        if not isinstance(text, str):
            raise HoursError(f"opening hours must be OSM text, got {type(text).__name__}")
        self.known = bool(known) and bool(text)
        if not known and text:
            raise HoursError("unknown hours (known=False) cannot carry a text")
        self.text = text if self.known else ""
        self._table: WeekTable | None = None
        self._base = self._ph = None
        self._workday = self._periodic = False
        if self.known:
            try:
                self._base = _compile(text)
            except Exception as exc:
                raise HoursError(f"not OSM opening_hours: {text!r} ({str(exc).splitlines()[0]})",
                                 detail=text) from None
            bare = _COMMENT.sub("", text)
            self._periodic = _PERIODIC.fullmatch(bare) is not None
            self._workday = WORKDAY_MARK in text
            if re.search(r"\bPH\b", bare):
                self._ph = _ph_always(text)

    # ------------------------------------------------------------------ building
    @classmethod
    def parse(cls, text: str | None) -> OpeningHours:
        """Read OSM ``opening_hours`` text or Chinese hours text.

        Parameters
        ----------
        text : str or None
            E.g. ``"Mo-Fr 08:30-11:00,13:30-17:00; Sa 09:00-12:00; PH off"``, ``"24/7"``,
            ``"sunrise-sunset"``, ``"周一至周五 9:00-17:00，周六 9点-12点"``,
            ``"每日8:00—20:00，节假日休息"``. Empty, ``None``, ``未知``, ``不详`` or
            ``unknown`` give unknown hours.

        Raises
        ------
        HoursError
            When the text cannot be read; the message quotes the text and the bad part.
        """
        if text is None:
            return cls(known=False)
        if not isinstance(text, str):
            raise TypeError(f"opening hours text must be str or None, got {type(text).__name__}")
        if is_unknown_text(text):
            return cls(known=False)
        osm = _try_osm(text.strip())
        if osm is not None:
            return cls(osm[0])
        table = read_week(text)  # raises HoursError naming the text
        return cls(str(_compile(_faithful_osm(table))))

    # ------------------------------------------------------------------ flags
    @property
    def unknown(self) -> bool:
        """No hours were recorded; questions about being open answer ``None``."""
        return not self.known

    @property
    def periodic(self) -> bool:
        """The expression repeats every week apart from public holidays (no months, dates,
        sun events …): :attr:`week` then says everything about an ordinary week."""
        return self.known and self._periodic

    @property
    def calendar_sensitive(self) -> bool:
        """Whether China's calendar changes the answer (a ``PH`` rule or ``工作日``)."""
        return self._ph is not None or self._workday

    @property
    def always_open(self) -> bool:
        """Open 24 hours a day, 7 days a week, holidays included."""
        return (self.periodic and self.table.ph is None
                and all(day == _FULL for day in self.table.week))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpeningHours):
            return NotImplemented
        return (self.known, self.text) == (other.known, other.text)

    def __hash__(self) -> int:
        return hash((self.known, self.text))

    def __repr__(self) -> str:
        return f"OpeningHours({self.text!r})" if self.known else "OpeningHours(known=False)"

    # ------------------------------------------------------------------ evaluation
    def _variant(self, day: date) -> tuple[_oh.OpeningHours, date | None]:
        """The parser object for ``day`` and, on a make-up working day, the day to ask."""
        if not (self._ph is not None or self._workday):
            return self._base, None
        kind = _cal.day_kind(day)
        if kind == _cal.MAKEUP and self._workday:
            return self._base, _proxy_day(day)
        if self._ph is not None:
            holiday = (_cal.day_kind(day - timedelta(days=1)) == _cal.HOLIDAY,
                       kind == _cal.HOLIDAY)
            if any(holiday):  # PH matches the holidays among the day before and the day
                return self._ph_variant(holiday, day.weekday()), None
        return self._base, None

    @cached_property
    def _ph_obj(self) -> _oh.OpeningHours:
        return _compile(self._ph)

    @cached_property
    def _ph_variants(self) -> dict[tuple, _oh.OpeningHours]:
        return {}

    def _ph_variant(self, holiday: tuple[bool, bool], weekday: int) -> _oh.OpeningHours:
        """The expression with ``PH`` on exactly the holidays among the day before and the day
        asked (the only days a time on that day depends on: its own rules and the spill
        from the evening before)."""
        if all(holiday):
            return self._ph_obj
        key = (holiday, weekday)
        obj = self._ph_variants.get(key)
        if obj is None:
            name = _DAY_NAMES[weekday if holiday[1] else weekday - 1]
            obj = self._ph_variants[key] = _compile(_ph_as(self.text, name))
        return obj

    def _state(self, t: datetime) -> str:
        """``"open"``, ``"closed"`` or ``"unknown"`` at naive local ``t``."""
        obj, proxy = self._variant(t.date())
        if proxy is not None:
            t = datetime.combine(proxy, t.time())
        if obj.is_open(t):
            return "open"
        return "unknown" if obj.is_unknown(t) else "closed"

    def is_open(self, when: datetime) -> bool | None:
        """Whether the station is open at ``when``; ``None`` when hours are unknown (or the
        expression says *unknown* then).

        Parameters
        ----------
        when : datetime
            Naive means Asia/Shanghai local time; aware values are converted.
        """
        t = _local(when)
        if self.unknown:
            return None
        state = self._state(t)
        return None if state == "unknown" else state == "open"

    def _next_change_local(self, t: datetime) -> datetime | None:
        state = self._state(t)
        if not self.calendar_sensitive:
            change = _naive(self._base.next_change(t))
            for _ in range(10_000):  # the parser also reports changes of comment alone
                if change is None or self._state(change) != state:
                    return change
                change = _naive(self._base.next_change(change))
            return None
        limit = t + timedelta(days=_NEXT_CHANGE_DAYS)
        cursor = t
        while cursor < limit:
            midnight = datetime.combine(cursor.date() + timedelta(days=1), time())
            obj, proxy = self._variant(cursor.date())
            ask = cursor if proxy is None else datetime.combine(proxy, cursor.time())
            change = _naive(obj.next_change(ask))
            if change is not None and proxy is not None:
                change = cursor + (change - ask)
            while change is not None and change < midnight:
                if self._state(change) != state:
                    return change
                ask = change if proxy is None else datetime.combine(proxy, change.time())
                nxt = _naive(obj.next_change(ask))
                change = None if nxt is None else (nxt if proxy is None else change + (nxt - ask))
            if self._state(midnight) != state:
                return midnight
            cursor = midnight
        return None

    def next_change(self, when: datetime) -> datetime | None:
        """The first instant strictly after ``when`` at which open/closed/unknown flips.

        Returns
        -------
        datetime or None
            Aware (Asia/Shanghai). ``None`` for unknown or 24/7 hours, or when the state
            does not change within the next ~2 years.
        """
        t = _local(when)
        if self.unknown:
            return None
        change = self._next_change_local(t)
        return None if change is None else change.replace(tzinfo=TZ)

    def _segments(self, start: datetime, end: datetime) -> list[str]:
        a, b = _local(start), _local(end)
        if b <= a:
            raise HoursError(f"end ({end!r}) must be after start ({start!r})")
        states = []
        t: datetime | None = a
        while t is not None and t < b:
            states.append(self._state(t))
            t = self._next_change_local(t)
        return states

    def open_during(self, start: datetime, end: datetime) -> bool | None:
        """Whether it is open at any moment of ``[start, end)``; ``None`` when unknown."""
        if self.unknown:
            return None
        states = self._segments(start, end)
        return True if "open" in states else None if "unknown" in states else False

    def open_throughout(self, start: datetime, end: datetime) -> bool | None:
        """Whether it is open during all of ``[start, end)``; ``None`` when unknown."""
        if self.unknown:
            return None
        states = self._segments(start, end)
        return False if "closed" in states else None if "unknown" in states else True

    # ------------------------------------------------------------------ the weekly table
    @property
    def table(self) -> WeekTable:
        """Per weekday ``(start, end)`` minutes open in an ordinary week (no holidays;
        ``end`` past 1440 runs into the next morning), the hours on public holidays and the
        工作日 flag. For a non-:attr:`periodic` expression: the week of 2026-03-02."""
        if self._table is None:
            self._table = _derive_table(self)
        return self._table

    @property
    def week(self) -> tuple:
        """Shortcut for ``table.week``."""
        return self.table.week

    def minutes_open_on(self, weekday: int) -> int:
        """Minutes open in intervals starting on ``weekday`` (0 = Monday); 0 when unknown."""
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            raise HoursError(f"weekday must be an int 0 (Monday) .. 6 (Sunday), got {weekday!r}")
        return _union_minutes(self.week[weekday])

    def max_daily_minutes(self) -> int:
        """Longest :meth:`minutes_open_on` over the week (1440 for 24/7)."""
        return max(self.minutes_open_on(d) for d in range(7))

    def open_at_minute_any_day(self, minute_of_day: int) -> bool | None:
        """Whether on some weekday it is open at ``minute_of_day`` (e.g. ``20*60``).

        Hours spilling past midnight count for the next morning; holidays are ignored.
        ``None`` when hours are unknown.
        """
        if not isinstance(minute_of_day, int) or not 0 <= minute_of_day < _DAY:
            raise HoursError(f"minute_of_day must be an int 0..1439, got {minute_of_day!r}")
        if self.unknown:
            return None
        week = self.week
        return any(_covers(week[d], minute_of_day) or _covers(week[d - 1], minute_of_day + _DAY)
                   for d in range(7))

    def opens_by(self, minute_of_day: int) -> bool | None:
        """Same answer as :meth:`open_at_minute_any_day`; named for the early-shift question."""
        return self.open_at_minute_any_day(minute_of_day)

    # ------------------------------------------------------------------ week slots
    def week_slots(self) -> tuple[int, int] | None:
        """When in a week it may be open, for indexes that must not evaluate every station.

        Returns
        -------
        (int, int) or None
            Two bit masks over the :data:`WEEK_SLOTS` quarter-hours of a week (bit ``i`` is
            Monday 00:00 + 15·i minutes): a bit is set when the station is open at some instant
            of that quarter-hour — on an ordinary day (first mask), or on a day that is or
            follows a public holiday or make-up working day (second mask, a superset).
            A clear bit proves "closed"; a set bit must still be asked (:meth:`is_open`).
            ``(0, 0)`` for unknown hours; ``None`` when the expression is not
            :attr:`periodic` (months, dates, sun events …): ask :meth:`is_open` every time.
        """
        if self.unknown:
            return 0, 0
        if not self.periodic:
            return None
        normal = _slot_mask(self._base)
        special = normal
        if self._ph is not None:
            special |= _slot_mask(self._ph_obj)
            for weekday in range(7):  # PH on one day only: the edges of a holiday block
                special |= _slot_mask(self._ph_variant((False, True), weekday))
        if self._workday:  # a make-up day is asked as an ordinary weekday at the same time
            day = 0
            for d in range(5):
                day |= (normal >> (_DAY_SLOTS * d)) & _DAY_MASK
            for d in range(7):
                special |= day << (_DAY_SLOTS * d)
        return normal, special

    # ------------------------------------------------------------------ text
    def to_text(self) -> str:
        """The OSM text kept in the store (``""`` when unknown); parses back to an equal value."""
        return self.text

    def describe_zh(self) -> str:
        """Plain Chinese, e.g. ``"周一至周五 08:30-11:00、13:30-17:00；法定节假日休息"``.

        ``"24小时开放"`` when always open, ``"开放时间未知"`` when unknown. Expressions that say
        more than a week of hours (months, sun events, comments, *unknown*) are shown as their
        OSM text. Parses back to the same hours.
        """
        if self.unknown:
            return "开放时间未知"
        if not self._describable():
            return self.text
        return render_zh(self.table)

    def _describable(self) -> bool:
        bare = self.text.replace(WORKDAY_MARK, "")
        return (self.periodic and '"' not in bare and "unknown" not in bare
                and (self._ph is not None or not re.search(r"\bPH\b", bare))
                and OpeningHours(_faithful_osm(self.table)).table == self.table
                and self._holiday_uniform())

    def _holiday_uniform(self) -> bool:
        """The public-holiday hours are one table for every weekday (or follow the weekday)."""
        return self._ph is None or _ph_table(self) is not _MIXED


_MIXED = object()
SLOT_MINUTES = 15
#: Quarter-hours in a week: the bits of :meth:`OpeningHours.week_slots`.
WEEK_SLOTS = 7 * _DAY // SLOT_MINUTES
_DAY_SLOTS = _DAY // SLOT_MINUTES
_DAY_MASK = (1 << _DAY_SLOTS) - 1


def _slot_mask(obj: _oh.OpeningHours) -> int:
    """Bits of the quarter-hours of an ordinary week in which ``obj`` is open at some instant."""
    origin = datetime.combine(_REFERENCE_MONDAY, time())
    step = timedelta(minutes=SLOT_MINUTES)
    mask = 0
    for a, b in _open_spans(obj, origin - timedelta(days=1), origin + timedelta(days=7)):
        lo = max(0, (a - origin) // step)
        hi = min(WEEK_SLOTS, -((origin - b) // step))  # ceiling
        if hi > lo:
            mask |= ((1 << (hi - lo)) - 1) << lo
    return mask


def _union_minutes(intervals) -> int:
    total, reach = 0, -1
    for s, e in intervals:  # sorted by start
        if e > reach:
            total += e - max(s, reach)
            reach = e
    return total


def _covers(intervals, minute: int) -> bool:
    return any(s <= minute < e for s, e in intervals)


def _open_spans(obj: _oh.OpeningHours, start: datetime, end: datetime) -> list[list[datetime]]:
    """Merged OPEN spans of a parser object in ``[start, end)`` (naive local)."""
    spans: list[list[datetime]] = []
    for a, b, state, _comment in obj.intervals(start, end):
        if state != _oh.State.OPEN:
            continue
        a, b = _naive(a), _naive(b)
        if spans and spans[-1][1] >= a:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    return spans


def _week_of(obj: _oh.OpeningHours, monday: date) -> tuple:
    """Per weekday intervals of a parser object over the week of ``monday`` (see
    :attr:`OpeningHours.table`): a span that starts after midnight and ends within a day
    stays with the day it started on (``22:00-06:00``); longer spans are cut at midnights."""
    origin = datetime.combine(monday, time())
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for a, b in _open_spans(obj, origin - timedelta(days=1), origin + timedelta(days=8)):
        day_start = datetime.combine(a.date(), time())
        s = (a - day_start).seconds // 60
        length = int((b - a).total_seconds() // 60)
        if s + length <= _DAY or (s > 0 and length < _DAY):
            pieces = [(day_start, s, s + length)]
        else:  # runs through midnight for a day or more: one piece per day
            pieces = []
            while day_start < b:
                e = min(b, day_start + timedelta(days=1))
                pieces.append((day_start, (max(a, day_start) - day_start).seconds // 60,
                               int((e - day_start).total_seconds() // 60)))
                day_start += timedelta(days=1)
        for start, lo, hi in pieces:
            d = (start.date() - monday).days
            if 0 <= d < 7 and hi > lo:
                days[d].append((lo, hi))
    return tuple(_normalise(day, f"week[{d}]") for d, day in enumerate(days))


def _ph_table(hours: OpeningHours):
    """The hours on a public holiday: ``None`` (as the weekday), a table, or ``_MIXED``."""
    if hours._ph is None:
        return None
    week = _week_of(hours._ph_obj, _REFERENCE_MONDAY)
    if week == _week_of(hours._base, _REFERENCE_MONDAY):
        return None
    if all(day == week[0] for day in week):
        return week[0]
    return _MIXED


def _derive_table(hours: OpeningHours) -> WeekTable:
    if hours.unknown:
        return WeekTable(((),) * 7, None, False)
    week = _week_of(hours._base, _REFERENCE_MONDAY)
    ph = _ph_table(hours)
    if ph is _MIXED or (ph is not None and all(day == ph for day in week)):
        ph = None
    return WeekTable(week, ph, hours._workday)


def _faithful_osm(table: WeekTable) -> str:
    """OSM text for a Chinese reading, checked against the parser: hours past midnight are
    written on the next day when OSM would otherwise let that day's rule replace them."""
    text = render_osm(table)
    if OpeningHours(text).table.week == table.week:
        return text
    return render_osm(table, split=True)


@lru_cache(maxsize=16_384)
def _parsed(text: str) -> OpeningHours:
    try:
        return OpeningHours.parse(text or None)
    except HoursError as exc:  # reported once per distinct text, where it is read
        log.warning("opening hours %r cannot be read, shown as unknown: %s", text[:80],
                    exc.message)
        return OpeningHours(known=False)


def hours_of(station_or_text) -> OpeningHours:
    """The one evaluation of a station's opening hours (a station, or its hours text).

    Unreadable text counts as unknown (never open): the import that stored it already named
    the problem. Parsed once per distinct text (hosts share a handful of patterns; the value
    is immutable, so sharing it is safe).
    """
    text = station_or_text if isinstance(station_or_text, str) or station_or_text is None \
        else station_or_text.opening_hours
    return _parsed(text or "")


def parse_open_at(value: datetime | str | None) -> datetime:
    """The one parser of a time given by a user (``open_at``, ``--open-at``, ``at``, ``--at``):
    an aware Asia/Shanghai datetime.

    ``None`` and ``"now"`` are now; naive values and text without an offset are Beijing time
    (Asia/Shanghai); ISO 8601 text (``2024-05-01T08:30``, ``2024-05-01 08:30+08:00``) or a
    bare time (``06:30``, today).

    Raises
    ------
    ValidationError
        When the text is not an ISO 8601 date-time (ASCII, at most
        :data:`stations.limits.TIME_TEXT_MAX` characters) or lies outside the supported
        years (:data:`stations.limits.YEAR_MIN`–:data:`~stations.limits.YEAR_MAX`).
    """
    if value is None:
        return now()
    if isinstance(value, str):
        value = _parse_time_text(value)
        if isinstance(value, str):
            return now()
    if not isinstance(value, datetime):
        raise ValidationError(f"open_at must be a datetime or ISO text, got {value!r}")
    check_time(value, "open_at")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=TZ)
    try:
        return value.astimezone(TZ)
    except OverflowError:  # e.g. 1970-01-01T00:00+14:00 crosses no edge, but be safe
        raise ValidationError(f"open_at 超出支持范围 (out of range): {value.isoformat()}") from None


def _parse_time_text(value: str) -> datetime | str:
    text = value.strip()
    if text.lower() == "now":
        return "now"
    if len(text) > TIME_TEXT_MAX or not text.isascii():
        raise ValidationError(
            f"时间格式无效 (open_at must be ISO 8601 like 2024-05-01T08:30), "
            f"got {text[:40]!r}{'…' if len(text) > 40 else ''}")
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        try:
            return datetime.combine(now().date(), time.fromisoformat(text))
        except ValueError:
            raise ValidationError(
                f"时间格式无效 (open_at must be ISO 8601 like 2024-05-01T08:30), "
                f"got {text!r}") from None
