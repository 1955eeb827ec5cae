"""Opening hours: read what hosts write, answer "is it open when I get there".

:meth:`OpeningHours.parse` reads OSM ``opening_hours`` text (``Mo-Fr 08:30-11:00; PH off``) and
the Chinese hosts write (``周一至周五 9:00-17:00，周六 9点-12点，节假日休息``) into one weekly
structure; :meth:`~OpeningHours.to_text` and :meth:`~OpeningHours.describe_zh` write it back.

* An interval ``(start, end)`` in minutes belongs to the weekday it starts on; ``end`` may pass
  1440 and spill into the next morning (``22:00-06:00`` is ``(1320, 1800)``).
* Rules apply in order: a rule naming days replaces those days' hours (``Mo-Su 08:00-18:00; Sa
  off``); a rule naming no days covers every day when first, else adds to the previous rule's
  days (``周一至周五 8:30-11:00；13:30-17:00``).
* Public holidays: without a PH rule a holiday keeps its weekday's hours; ``PH off`` closes it,
  ``PH 10:00-14:00`` gives it own hours. Dates from :data:`HOLIDAYS` unless ``holidays=`` is given.
* Asia/Shanghai wall-clock time, minute resolution; naive datetimes are local, aware converted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import groupby

from stations.errors import NuanxinError, ValidationError
from stations.limits import TIME_TEXT_MAX, check_time
from stations.settings import TZ, now
from stations.text import half_width

__all__ = ["HOLIDAYS", "TZ", "HoursError", "OpeningHours", "is_public_holiday", "hours_of",
           "parse_open_at"]

log = logging.getLogger(__name__)
_DAY = 1440
_FULL = ((0, _DAY),)
_PH = 7  # selector value standing for public holidays
_Day = tuple[tuple[int, int], ...]  # one day's (start, end) minute intervals


class HoursError(NuanxinError, ValueError):
    """Opening hours that cannot be understood (bad text, bad interval, bad argument)."""


def _span(first: str, last: str) -> list[date]:
    a, b = date.fromisoformat(first), date.fromisoformat(last)
    return [a + timedelta(days=k) for k in range((b - a).days + 1)]


#: Days off under China's statutory public holidays (法定节假日, weekend days inside a holiday
#: block included), from the State Council's yearly notices for 2024, 2025 and 2026.
#: UPDATE EVERY YEAR when the State Council publishes the next year's notice (usually in
#: November); after the last listed year, PH rules simply never apply.
HOLIDAYS: frozenset[date] = frozenset(
    d
    for first, last in (
        # 2024 (New Year's block began on 2023-12-30)
        ("2023-12-30", "2024-01-01"), ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
        ("2024-05-01", "2024-05-05"), ("2024-06-08", "2024-06-10"), ("2024-09-15", "2024-09-17"),
        ("2024-10-01", "2024-10-07"),
        # 2025 (from this year Spring Festival eve and 2 May are statutory holidays too)
        ("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
        ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08"),
        # 2026
        ("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
        ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
        ("2026-10-01", "2026-10-07"),
    )
    for d in _span(first, last)
)


def is_public_holiday(d: date, *, holidays: Collection[date] | None = None) -> bool:
    """Whether ``d`` is a statutory public-holiday day off.

    Parameters
    ----------
    d : date
        A date; a datetime is first put in Asia/Shanghai time (naive means local already).
    holidays : collection of date, optional
        Override for :data:`HOLIDAYS`.
    """
    if isinstance(d, datetime):
        d = _local(d).date()
    return d in (HOLIDAYS if holidays is None else holidays)


def _local(when: datetime) -> datetime:
    """Naive Asia/Shanghai wall-clock time of ``when``."""
    if not isinstance(when, datetime):
        raise TypeError(f"expected a datetime, got {type(when).__name__}: {when!r}")
    if when.tzinfo is None or when.utcoffset() is None:
        return when
    return when.astimezone(TZ).replace(tzinfo=None)


def _normalise(intervals: Iterable[tuple[int, int]], where: str) -> _Day:
    """Validate, sort and merge one day's intervals (merging only into representable spans)."""
    checked = []
    for iv in intervals:
        s, e = iv if isinstance(iv, tuple | list) and len(iv) == 2 else (None, None)
        if type(s) is not int or type(e) is not int:
            raise HoursError(f"{where}: interval {iv!r} must be a (start, end) pair of int minutes")
        if not (0 <= s < _DAY and s < e and (e - s < _DAY or (s, e) == (0, _DAY))):
            raise HoursError(
                f"{where}: interval {iv!r} is not a valid (start, end) in minutes; expected "
                "0 <= start < 1440 and start < end < start + 1440 (or exactly (0, 1440))")
        checked.append((s, e))
    merged: list[tuple[int, int]] = []
    for s, e in sorted(checked):
        if merged:
            ps, pe = merged[-1]
            end = max(pe, e)
            if s <= pe and (end - ps < _DAY or (ps, end) == (0, _DAY)):
                merged[-1] = (ps, end)
                continue
        merged.append((s, e))
    return tuple(merged)


def _union_minutes(intervals: Iterable[tuple[int, int]]) -> int:
    total, reach = 0, -1
    for s, e in intervals:  # sorted by start
        if e > reach:
            total += e - max(s, reach)
            reach = e
    return total


def _covers(intervals: Iterable[tuple[int, int]], minute: int) -> bool:
    return any(s <= minute < e for s, e in intervals)


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours of a station, with a public-holiday rule.

    Parameters
    ----------
    week : sequence of 7 sequences of (int, int)
        Per weekday (0 = Monday ... 6 = Sunday) the ``(start, end)`` minutes it is open;
        ``end`` may exceed 1440 for hours running past midnight. Normalised on creation:
        sorted, overlapping intervals merged.
    ph : sequence of (int, int), optional
        Hours on public holidays: ``None`` (default) follows the weekday, ``()`` is closed.
    known : bool, default True
        ``False`` for stations whose hours nobody has recorded (then ``week`` must be empty).
    """

    week: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7
    ph: tuple[tuple[int, int], ...] | None = None
    known: bool = True

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise HoursError(f"week must hold 7 days (Monday first), got {len(self.week)}")
        week = tuple(_normalise(day, f"week[{d}]") for d, day in enumerate(self.week))
        ph = None if self.ph is None else _normalise(self.ph, "ph")
        if ph is not None and all(day == ph for day in week):
            ph = None  # holidays keep the hours every weekday has anyway
        if not self.known and (any(week) or ph is not None):
            raise HoursError("unknown hours (known=False) cannot carry intervals")
        object.__setattr__(self, "week", week)
        object.__setattr__(self, "ph", ph)

    @classmethod
    def parse(cls, text: str | None) -> OpeningHours:
        """Read OSM-style or Chinese opening-hours text.

        Parameters
        ----------
        text : str or None
            E.g. ``"Mo-Fr 08:30-11:00,13:30-17:00; Sa 09:00-12:00; PH off"``, ``"24/7"``,
            ``"周一至周五 9:00-17:00，周六 9点-12点"``, ``"每日8:00—20:00，节假日休息"``.
            Empty, ``None``, ``未知`` or ``不详`` give unknown hours.

        Raises
        ------
        HoursError
            When the text cannot be read; the message quotes the text and the bad part.
        """
        if text is None:
            return cls(known=False)
        if not isinstance(text, str):
            raise TypeError(f"opening hours text must be str or None, got {type(text).__name__}")
        norm = _normalise_text(text)
        if _LABEL.sub("", norm).strip(" ;,.") in _UNKNOWN_WORDS:
            return cls(known=False)
        week, ph = _Parser(text, norm).run()
        return cls(week=week, ph=ph)

    @property
    def always_open(self) -> bool:
        """Open 24 hours a day, 7 days a week, holidays included."""
        return self.known and self.ph is None and all(day == _FULL for day in self.week)

    @property
    def unknown(self) -> bool:
        """No hours were recorded; questions about being open answer ``None``."""
        return not self.known

    def _day(self, d: date, holidays: Collection[date]) -> _Day:
        if self.ph is not None and d in holidays:
            return self.ph
        return self.week[d.weekday()]

    def _open_local(self, t: datetime, holidays: Collection[date]) -> bool:
        for back in (1, 0):
            d = t.date() - timedelta(days=back)
            offset = t - datetime.combine(d, time())
            if any(timedelta(minutes=s) <= offset < timedelta(minutes=e)
                   for s, e in self._day(d, holidays)):
                return True
        return False

    def _blocks(self, first: date, last: date,
                holidays: Collection[date]) -> Iterator[tuple[datetime, datetime | None]]:
        """Maximal open spans from intervals starting on days ``first..last``.

        The last span's end is only yielded when it is final (as ``None`` otherwise).
        """
        current: list[datetime] | None = None
        d = first
        while d <= last:
            base = datetime.combine(d, time())
            for s, e in self._day(d, holidays):
                a, b = base + timedelta(minutes=s), base + timedelta(minutes=e)
                if current is not None and a <= current[1]:
                    current[1] = max(current[1], b)
                    continue
                if current is not None:
                    yield current[0], current[1]
                current = [a, b]
            d += timedelta(days=1)
        if current is not None:
            final = current[1] < datetime.combine(last + timedelta(days=1), time())
            yield current[0], current[1] if final else None

    def _next_change_local(self, t: datetime, holidays: Collection[date]) -> datetime | None:
        if self.always_open:
            return None
        today = t.date()
        last = today + timedelta(days=9)
        if self.ph is not None:  # past the last listed holiday the week repeats
            ahead = [h for h in holidays if h >= today]
            if ahead:
                last = max(last, max(ahead) + timedelta(days=9))
        for a, b in self._blocks(today - timedelta(days=1), last, holidays):
            if a > t:
                return a
            if b is not None and b > t:
                return b
        return None

    def is_open(self, when: datetime, *, holidays: Collection[date] | None = None) -> bool | None:
        """Whether the station is open at ``when``; ``None`` when hours are unknown.

        Parameters
        ----------
        when : datetime
            Naive means Asia/Shanghai local time; aware values are converted.
        holidays : collection of date, optional
            Override for :data:`HOLIDAYS`.
        """
        t = _local(when)
        if self.unknown:
            return None
        return self._open_local(t, _holidays(holidays))

    def next_change(self, when: datetime, *,
                    holidays: Collection[date] | None = None) -> datetime | None:
        """The first instant strictly after ``when`` at which open/closed flips.

        Returns
        -------
        datetime or None
            Aware (Asia/Shanghai). ``None`` for unknown or 24/7 hours, or when the state
            never changes again.
        """
        t = _local(when)
        if self.unknown:
            return None
        change = self._next_change_local(t, _holidays(holidays))
        return None if change is None else change.replace(tzinfo=TZ)

    def _window(self, start: datetime, end: datetime,
                holidays: Collection[date] | None) -> tuple[datetime, bool, datetime | None]:
        a, b = _local(start), _local(end)
        if b <= a:
            raise HoursError(f"end ({end!r}) must be after start ({start!r})")
        hol = _holidays(holidays)
        return b, self._open_local(a, hol), self._next_change_local(a, hol)

    def open_during(self, start: datetime, end: datetime, *,
                    holidays: Collection[date] | None = None) -> bool | None:
        """Whether it is open at any moment of ``[start, end)``; ``None`` when unknown."""
        if self.unknown:
            return None
        b, open_now, change = self._window(start, end, holidays)
        return open_now or (change is not None and change < b)

    def open_throughout(self, start: datetime, end: datetime, *,
                        holidays: Collection[date] | None = None) -> bool | None:
        """Whether it is open during all of ``[start, end)``; ``None`` when unknown."""
        if self.unknown:
            return None
        b, open_now, change = self._window(start, end, holidays)
        return open_now and (change is None or change >= b)

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
        return any(_covers(self.week[d], minute_of_day)
                   or _covers(self.week[d - 1], minute_of_day + _DAY) for d in range(7))

    def opens_by(self, minute_of_day: int) -> bool | None:
        """Whether on some weekday it is already open at ``minute_of_day`` (e.g. ``7*60``).

        Same answer as :meth:`open_at_minute_any_day`; named for the early-shift question.
        """
        return self.open_at_minute_any_day(minute_of_day)

    def _groups(self) -> list[tuple[list[int], _Day]]:
        groups: dict[tuple, list[int]] = {}
        for d, day in enumerate(self.week):
            if day:
                groups.setdefault(day, []).append(d)
        return [(days, ivs) for ivs, days in groups.items()]

    def _render(self, days_fn: Callable[[list[int]], str], ivs_fn: Callable[[_Day], str], *,
                all_day: str, closed: str, ph_off: str, ph_on: str, sep: str) -> str:
        if self.unknown:
            return ""
        if all(day == _FULL for day in self.week):
            parts = [all_day]
        else:
            parts = [f"{days_fn(days)} {ivs_fn(ivs)}" for days, ivs in self._groups()] or [closed]
        if self.ph is not None:
            parts.append(ph_off if not self.ph else f"{ph_on} {ivs_fn(self.ph)}")
        return sep.join(parts)

    def to_text(self) -> str:
        """Canonical OSM-style text, e.g. ``"Mo-Fr 08:30-11:00,13:30-17:00; PH off"``.

        ``"24/7"`` when always open, ``"off"`` when never, ``""`` when unknown;
        ``OpeningHours.parse(h.to_text()) == h``.
        """
        return self._render(
            lambda days: _day_text(days, _OSM_NAMES, ",", "-"),
            lambda ivs: ",".join(f"{_hhmm(s)}-{_hhmm(e if e <= _DAY else e - _DAY)}"
                                 for s, e in ivs),
            all_day="24/7", closed="off", ph_off="PH off", ph_on="PH", sep="; ")

    def describe_zh(self) -> str:
        """Plain Chinese, e.g. ``"周一至周五 08:30-11:00、13:30-17:00；法定节假日休息"``.

        ``"24小时开放"`` when always open, ``"开放时间未知"`` when unknown; parses back.
        """
        if self.unknown:
            return "开放时间未知"

        def days_zh(days: list[int]) -> str:
            return "每天" if len(days) == 7 else _day_text(days, _ZH_NAMES, "、", "至")

        def ivs_zh(ivs: _Day) -> str:
            return "、".join("全天" if (s, e) == (0, _DAY) else
                            f"{_hhmm(s)}-{'次日' + _hhmm(e - _DAY) if e > _DAY else _hhmm(e)}"
                            for s, e in ivs)

        return self._render(days_zh, ivs_zh, all_day="24小时开放", closed="不开放",
                            ph_off="法定节假日休息", ph_on="法定节假日", sep="；")


def _holidays(holidays: Collection[date] | None) -> Collection[date]:
    return HOLIDAYS if holidays is None else frozenset(holidays)


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


_OSM_NAMES = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
_ZH_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _day_text(days: list[int], names: Sequence[str], comma: str, dash: str) -> str:
    """Days as runs: three or more consecutive days become a range (Mo-Fr)."""
    out: list[str] = []
    for _, group in groupby(enumerate(days), key=lambda pair: pair[1] - pair[0]):
        run = [d for _, d in group]
        out += [f"{names[run[0]]}{dash}{names[run[-1]]}"] if len(run) >= 3 else [
            names[d] for d in run]
    return comma.join(out)


# ---------------------------------------------------------------------- the text reader
_UNKNOWN_WORDS = frozenset({"", "未知", "不详", "不明", "暂无", "待定", "待补充", "无", "unknown",
                            "n/a", "na", "none", "?", "-"})
_LABEL = re.compile(r"^(?:开放|营业|服务|办公)?时间\s*:?\s*")
_HINT = ("expected opening hours such as 'Mo-Fr 09:00-17:00; Sa 10:00-16:00; PH off', '24/7', "
         "'Mo-Su 22:00-06:00', '每天 8:00-20:00', '周一至周五 8:30-11:00、13:30-17:00', "
         "'24小时开放' or '节假日休息'")
_DASHES = dict.fromkeys(map(ord, "‐‑‒–—―−"), "-") | {ord("。"): ";", ord("〜"): "~"}

_MER = r"上午|早上|早晨|清晨|凌晨|中午|下午|傍晚|晚上|夜间|夜里|早|晚"
_PM = frozenset({"下午", "傍晚", "晚上", "夜间", "夜里", "晚"})
_SEP = r"(?:-+|~+|至|到)"


def _clock(p: str) -> str:
    return (rf"(?:(?P<{p}mer>{_MER})\s*)?(?P<{p}h>\d{{1,2}})(?:[:.](?P<{p}m>\d{{2}})"
            rf"|\s*(?P<{p}u>[点时])(?:(?P<{p}half>半)|(?P<{p}um>\d{{1,2}})\s*分?)?)?")


_CN_P = r"(?:每?(?:周|星期|礼拜))"
_CN_D = r"(?:[一二三四五六日天七]|[1-7](?![\d:.点时]))"
_CN_NUM = {c: i for i, c in enumerate("一二三四五六日")} | {"天": 6, "七": 6} | {
    str(n): n - 1 for n in range(1, 8)}
_OSM_NUM = {n.lower(): i for i, n in enumerate(_OSM_NAMES)} | {
    n: i for i, n in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
_ALL = frozenset(range(7))
_TOKENS = [(kind, re.compile(rx)) for kind, rx in [
    ("semi", r";"), ("lpar", r"[(\[]"), ("rpar", r"[)\]]"), ("skip", r"[\s,、/和及与&+:.]+"),
    ("247", r"24\s*/\s*7|7\s*[x×*]\s*24\s*(?:小时|h(?![a-z]))?"),
    ("allday", r"24\s*(?:小时|h(?![a-z])|hours?)|全天候|全天|通宵|整天"),
    ("phoff", r"除\s*(?:法定)?节假日\s*(?:以)?外"),
    ("range", _clock("s") + rf"\s*{_SEP}\s*(?:次日|翌日)?\s*" + _clock("e")),
    ("satsun", _CN_P + r"六\s*[、,]?\s*[日天]"),
    ("cnday", rf"{_CN_P}(?P<a>{_CN_D})(?:\s*{_SEP}\s*{_CN_P}?(?P<b>{_CN_D}))?"),
    ("osmday", r"(?P<a>mon|tue|wed|thu|fri|sat|sun|mo|tu|we|th|fr|sa|su)(?![a-z])"
               r"(?:\s*-\s*(?P<b>mon|tue|wed|thu|fri|sat|sun|mo|tu|we|th|fr|sa|su)(?![a-z]))?"),
    ("every", r"每天|每日|天天|全周|每周|全年无休|全年|daily|every\s*day"),
    ("workday", r"工作日|weekdays?"), ("weekend", r"周末|双休日|双休|weekends?"),
    ("ph", r"ph(?![a-z])|(?:国家)?法定(?:节)?假日|节假日|节日|公众假期|public\s*holidays?"),
    ("off", r"off|closed|休息|除外|不开放|关闭|闭馆|不营业|歇业|暂停开放|休"),
    ("same", r"照常|正常|如常"),
    ("skip", r"(?:开放|营业|服务|办公)(?:时间)?|时间|开门|均|都|为|是|open|hours"),
]]


@dataclass
class _Rule:
    days: frozenset[int]  # 0..6 weekdays, _PH for public holidays
    explicit: bool  # the text named the days (False: all days, or the previous rule's days)
    add: bool  # continue the previous rule: add hours instead of replacing them
    hours: list[tuple[int, int]]
    mode: str | None  # None (hours), "off" or "same" (PH as on a normal day)


_DAY_KINDS = frozenset({"satsun", "cnday", "osmday", "every", "workday", "weekend", "ph"})
_SEP_RANK = {"": 0, "space": 1, "join": 2, "clause": 3}  # what separates two tokens


def _sep_class(skipped: str) -> str:
    """``clause`` for a comma (，), ``join`` for a list joiner (、和及/…), else ``space``."""
    if "," in skipped:
        return "clause"
    return "join" if any(c in "、/和及与&+" for c in skipped) else "space"


def _normalise_text(text: str) -> str:
    return half_width(text).translate(_DASHES).lower().strip()


class _Parser:
    """Scan normalised text token by token into :class:`_Rule` s, then apply them in order."""

    def __init__(self, text: str, norm: str):
        self.text, self.norm = text, norm
        self.rules: list[_Rule] = []
        self.sel: set[int] | None = None
        self.hours: list[tuple[int, int]] = []
        self.mode: str | None = None
        self.last_sel: frozenset[int] | None = None
        self.sep = ""  # strongest separator skipped since the last token (see _SEP_RANK)
        # Day tokens read since leading hours without days ("9:00-17:00 周一至周五，…") were
        # flushed as a rule: (separator before, days, start, end) each; see split_trail.
        self.trail: list[tuple[str, set[int], int, int]] | None = None

    def fail(self, reason: str) -> HoursError:
        return HoursError(f"无法识别的开放时间: {self.text!r} — {reason}; {_HINT}",
                          detail=self.text)

    def run(self) -> tuple[list[list[tuple[int, int]]], list[tuple[int, int]] | None]:
        pos = 0
        while pos < len(self.norm):
            for kind, rx in _TOKENS:
                m = rx.match(self.norm, pos)
                if m and m.end() > pos:
                    self.token(kind, m)
                    pos = m.end()
                    break
            else:
                raise self.fail(f"cannot read {self.norm[pos:pos + 12]!r} at position {pos}")
        self.flush(retarget=True)
        if not self.rules:
            raise self.fail("no days or times found")
        return self.build()

    def token(self, kind: str, m: re.Match) -> None:
        if kind == "skip":
            self.sep = max(self.sep, _sep_class(m.group()), key=_SEP_RANK.__getitem__)
            return
        sep, self.sep = self.sep, ""
        self.settle_trail(kind)
        self._ON_TOKEN.get(kind, _Parser.on_days)(self, kind, m, sep)

    def settle_trail(self, kind: str) -> None:
        """Decide what day tokens read after leading hours belong to, once a token of
        ``kind`` shows that the day list has ended."""
        if self.trail and kind in ("range", "allday", "off", "same"):
            self.split_trail()
        elif self.trail and kind == "phoff" and self.trail[0][0] != "clause":
            # "9:00-17:00 周一至周五 除节假日外": the days can only be those of the hours
            self.retarget({d for _, days, _, _ in self.trail for d in days})
            self.sel, self.trail = None, None
        if kind not in _DAY_KINDS and kind != "lpar":
            self.trail = None

    def flush_pending(self) -> None:
        """Close the rule being read if it already has hours or a mode."""
        if self.hours or self.mode:
            self.flush()

    def on_end(self, kind: str, m: re.Match, sep: str) -> None:
        """``;`` or ``)``: the rule ends."""
        self.flush(retarget=True)

    def on_open_paren(self, kind: str, m: re.Match, sep: str) -> None:
        """``(``: what follows is a new clause."""
        self.flush_pending()
        self.sep = "clause"

    def on_hours(self, kind: str, m: re.Match, sep: str) -> None:
        """A time range, all day (``24小时``) or always (``24/7``)."""
        if self.mode or kind == "247":
            self.flush()
        if kind == "247":
            self.sel = set(_ALL)
        self.hours.append((0, _DAY) if kind != "range" else self.interval(m))

    def on_mode(self, kind: str, m: re.Match, sep: str) -> None:
        """``off`` (closed) or ``same`` (as on a normal day)."""
        if self.hours:
            raise self.fail(f"{m.group()!r} follows opening times in the same rule")
        self.mode = kind

    def on_except_holidays(self, kind: str, m: re.Match, sep: str) -> None:
        """``除节假日外``: its own rule; days already read stay for the times to come."""
        self.flush_pending()
        self.rules.append(_Rule(frozenset({_PH}), True, False, [], "off"))

    def on_days(self, kind: str, m: re.Match, sep: str) -> None:
        """A day or day range (any kind in ``_DAY_KINDS``): add it to the selection."""
        days = self.days(kind, m)
        if self.hours or self.mode:
            self.flush()
            if self.retargetable():
                self.trail = []
        if self.trail is not None:
            self.trail.append((sep, days, m.start(), m.end()))
        self.sel = (self.sel or set()) | days

    _ON_TOKEN: dict[str, Callable[[_Parser, str, re.Match, str], None]] = {
        "semi": on_end, "rpar": on_end, "lpar": on_open_paren,
        "range": on_hours, "allday": on_hours, "247": on_hours,
        "off": on_mode, "same": on_mode, "phoff": on_except_holidays,
    }  # any other kind is a day token (on_days)

    def days(self, kind: str, m: re.Match) -> set[int]:
        if kind in ("cnday", "osmday"):
            table = _CN_NUM if kind == "cnday" else _OSM_NUM
            a = table[m["a"]]
            b = a if m["b"] is None else table[m["b"]]
            return {(a + k) % 7 for k in range((b - a) % 7 + 1)}
        return {"satsun": {5, 6}, "every": set(_ALL), "workday": set(range(5)),
                "weekend": {5, 6}}.get(kind, {_PH})

    def minute(self, m: re.Match, p: str) -> int:
        h = int(m[p + "h"])
        mm = int(m[p + "m"] or m[p + "um"] or (30 if m[p + "half"] else 0))
        mer = m[p + "mer"]
        if (mer in _PM and h < 12) or (mer == "中午" and h < 11):
            h += 12
        elif mer == "凌晨" and h == 12:
            h = 0
        if mm >= 60 or h > 24 or (h == 24 and mm):
            raise self.fail(f"{m.group()!r} has an impossible time")
        return h * 60 + mm

    def interval(self, m: re.Match) -> tuple[int, int]:
        if not any(m[p] for p in ("sm", "su", "em", "eu")):
            raise self.fail(f"{m.group()!r} is ambiguous, write times as '9:00-17:00'")
        s, e = self.minute(m, "s"), self.minute(m, "e")
        if s == _DAY:
            raise self.fail(f"{m.group()!r} starts at 24:00; a range may only end at 24:00")
        mer = m["smer"]
        if m["emer"] is None and (mer in _PM or mer == "中午") and e < 720 and e + 720 > s:
            e += 720  # 下午2:00-5:00: the afternoon carries over to the end
        if s == e and (s, e) != (0, _DAY):
            raise self.fail(f"{m.group()!r} starts and ends at the same time")
        return (s, e + _DAY) if e < s else (s, e)

    def retargetable(self) -> bool:
        """Whether the last rule is leading hours without days, which later days may claim."""
        return bool(self.rules) and not self.rules[-1].explicit and not self.rules[-1].add

    def retarget(self, days: Iterable[int]) -> None:
        prev = self.rules[-1]
        prev.days, prev.explicit = frozenset(days), True
        self.last_sel = prev.days

    def split_trail(self) -> None:
        """Share days read after leading hours between those hours and the times that follow.

        ``9:00-17:00 周一至周五，周六 9:00-12:00``: a day list directly after the hours is theirs
        (trailing form) and the days after the comma lead the next times. One day list alone
        (``8:00-20:00 周六 9:00-12:00``, ``8:00-20:00，周六、周日 9:00-12:00``) leads the next
        times and the first hours cover the other days. A list whose split is a guess raises.
        """
        trail, self.trail = self.trail or [], None
        groups = [[trail[0]]]
        spaced = False  # two day names side by side with no comma or list joiner between
        for tok in trail[1:]:
            sep, days = tok[0], tok[1]
            if sep == "clause" or (sep != "join" and _PH in days
                                   and _PH not in groups[-1][-1][1]):
                groups.append([tok])  # a comma, or weekdays then holidays: "周一至周五 节假日…"
            else:
                groups[-1].append(tok)
                spaced = spaced or sep != "join"
        direct = trail[0][0] != "clause"  # nothing but spaces between the hours and the days
        if len(groups) == 1 and (not direct or not spaced):
            return
        if not direct or len(groups) > 2 or spaced:
            where = self.norm[trail[0][2]:trail[-1][3]]
            raise self.fail(
                f"the days {where!r} between two sets of times are ambiguous: it is unclear "
                "which belong to the times before and which to the times after; put the days "
                "first ('周一至周五 9:00-17:00，周六 9:00-12:00') or end each clause with '；'")
        first, second = ({d for tok in g for d in tok[1]} for g in groups)
        self.retarget(first)
        self.sel = second

    def flush(self, *, retarget: bool = False) -> None:
        sel, hours, mode = self.sel, self.hours, self.mode
        self.sel, self.hours, self.mode, self.trail = None, [], None, None
        if sel is None and not hours and mode is None:
            return
        if not hours and mode is None:  # days with no hours: "8:00-18:00（周一至周五）"?
            if retarget and self.retargetable():
                self.retarget(sel)
                return
            raise self.fail("days are given without opening times")
        if sel is None:
            add = self.last_sel is not None
            rule = _Rule(self.last_sel if add else _ALL, False, add, hours, mode)
        else:
            rule = _Rule(frozenset(sel), True, False, hours, mode)
        self.rules.append(rule)
        self.last_sel = rule.days

    def build(self) -> tuple[list[list[tuple[int, int]]], list[tuple[int, int]] | None]:
        week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        ph: list[tuple[int, int]] | None = None
        for rule in self.rules:
            if rule.mode == "same" and rule.days != {_PH}:
                raise self.fail("'照常' (as usual) only applies to public holidays")
            for d in rule.days:
                old = (ph if d == _PH else week[d]) or []
                new = None if rule.mode == "same" else [] if rule.mode == "off" else (
                    old + rule.hours if rule.add else list(rule.hours))
                if d == _PH:
                    ph = new
                else:
                    week[d] = new
        return week, ph


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

    ``None`` and ``"now"`` are now; naive values and text are Shanghai local time; ISO 8601 text
    (``2024-05-01T08:30``, ``2024-05-01 08:30+08:00``) or a bare time (``06:30``, today).

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
        text = value.strip()
        if text.lower() == "now":
            return now()
        if len(text) > TIME_TEXT_MAX or not text.isascii():
            raise ValidationError(
                f"时间格式无效 (open_at must be ISO 8601 like 2024-05-01T08:30), "
                f"got {text[:40]!r}{'…' if len(text) > 40 else ''}")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            try:
                value = datetime.combine(now().date(), time.fromisoformat(text))
            except ValueError:
                raise ValidationError(
                    f"时间格式无效 (open_at must be ISO 8601 like 2024-05-01T08:30), "
                    f"got {text!r}") from None
    if not isinstance(value, datetime):
        raise ValidationError(f"open_at must be a datetime or ISO text, got {value!r}")
    check_time(value, "open_at")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=TZ)
    try:
        return value.astimezone(TZ)
    except OverflowError:  # e.g. 1970-01-01T00:00+14:00 crosses no edge, but be safe
        raise ValidationError(f"open_at 超出支持范围 (out of range): {value.isoformat()}") from None
