"""Chinese opening-hours text → OSM ``opening_hours`` syntax (and the weekly tables behind it).

The field's own parser (``opening-hours-py``, see :mod:`stations.hours`) evaluates OSM syntax;
this module only reads what Chinese hosts write — ``工作日 8:00-18:00``, ``周一至周五``,
``24小时``, ``节假日休息``, ``早8点到晚8点`` … — and writes it as OSM text with
:func:`to_osm`. It also renders weekly tables (per weekday ``(start, end)`` minutes, ``end`` past
1440 for hours running into the next morning) back into OSM text or plain Chinese.

Chinese reading, where it differs from OSM (on purpose; OSM text never reaches this reader):

* A clause without days after a clause with days adds to those days: ``周一至周五
  8:30-11:00；13:30-17:00`` is two spells on Monday–Friday (OSM's ``Mo-Fr 08:30-11:00;
  13:30-17:00`` opens 13:30-17:00 every day).
* ``工作日`` is China's working days (a make-up Saturday 调休上班 included, public holidays
  excluded): written ``Mo-Fr … "工作日"`` — an OSM comment the evaluator in
  :mod:`stations.hours` reads — plus ``PH off`` when the text names no other days and says
  nothing about holidays.
* Hours past midnight stay with the day they start (``周五 22:00-次日4:00``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import groupby

from stations.errors import NuanxinError
from stations.text import half_width

__all__ = ["HoursError", "UNKNOWN_WORDS", "WORKDAY_MARK", "is_unknown_text", "read_week",
           "render_osm", "render_zh", "to_osm"]

_DAY = 1440
_FULL = ((0, _DAY),)
_PH = 7  # selector value standing for public holidays
_Day = tuple[tuple[int, int], ...]  # one day's (start, end) minute intervals
#: The OSM comment that marks a rule as China's working days (工作日).
WORKDAY_MARK = '"工作日"'


class HoursError(NuanxinError, ValueError):
    """Opening hours that cannot be understood (bad text, bad interval, bad argument)."""


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
UNKNOWN_WORDS = frozenset({"", "未知", "不详", "不明", "暂无", "待定", "待补充", "无", "unknown",
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


def is_unknown_text(text: str) -> bool:
    """Whether the text says the hours are not known (``未知``, ``不详``, ``unknown``, empty)."""
    return _LABEL.sub("", _normalise_text(text)).strip(" ;,.") in UNKNOWN_WORDS


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
        self.workday = False  # the text said 工作日 (China's working days)

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
        self.workday = self.workday or kind == "workday"
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




# ---------------------------------------------------------------------- weekly tables → text
Week = tuple[_Day, ...]


@dataclass(frozen=True)
class WeekTable:
    """What the Chinese reader found: per weekday intervals, public-holiday hours (``None``:
    as on the weekday, ``()``: closed) and whether the days were said as 工作日."""

    week: Week
    ph: _Day | None
    workday: bool = False


def read_week(text: str) -> WeekTable:
    """Read Chinese (or loosely written OSM-like) hours into a :class:`WeekTable`.

    Raises
    ------
    HoursError
        When the text cannot be read; the message quotes the text and the bad part.
    """
    parser = _Parser(text, _normalise_text(text))
    week, ph = parser.run()
    days = tuple(_normalise(day, f"week[{d}]") for d, day in enumerate(week))
    hol = None if ph is None else _normalise(ph, "ph")
    if hol is not None and all(day == hol for day in days):
        hol = None
    workday = parser.workday and bool(days[0]) and all(days[d] == days[0] for d in range(5))
    return WeekTable(days, hol, workday)


def _groups(week: Week) -> list[tuple[list[int], _Day]]:
    groups: dict[tuple, list[int]] = {}
    for d, day in enumerate(week):
        if day:
            groups.setdefault(day, []).append(d)
    return [(days, ivs) for ivs, days in groups.items()]


def _split_overnight(week: Week) -> Week:
    """Hours past midnight moved to the next day's own table (``22:00-06:00`` on Monday becomes
    Monday ``22:00-24:00`` and Tuesday ``00:00-06:00``): what OSM needs when the next day has
    rules of its own, which in OSM replace the spill from the evening before."""
    days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    for d, day in enumerate(week):
        for s, e in day:
            days[d].append((s, min(e, _DAY)))
            if e > _DAY:
                days[(d + 1) % 7].append((0, e - _DAY))
    return tuple(_normalise(day, f"week[{d}]") for d, day in enumerate(days))


def _osm_ivs(ivs: _Day) -> str:
    return ",".join(f"{_hhmm(s)}-{_hhmm(e if e <= _DAY else e - _DAY)}" for s, e in ivs)


def render_osm(table: WeekTable, *, split: bool = False) -> str:
    """OSM text for a weekly table, e.g. ``"Mo-Fr 08:30-11:00,13:30-17:00; PH off"``.

    ``"24/7"`` when always open, ``"off"`` when never; with ``split`` hours past midnight are
    written on the next day (see :func:`_split_overnight`).
    """
    week = _split_overnight(table.week) if split else table.week
    if all(day == _FULL for day in week):
        parts = ["24/7"]
    else:
        parts = []
        for days, ivs in _groups(week):
            mark = f" {WORKDAY_MARK}" if table.workday and days == [0, 1, 2, 3, 4] else ""
            parts.append(f"{_day_text(days, _OSM_NAMES, ',', '-')} {_osm_ivs(ivs)}{mark}")
        parts = parts or ["off"]
    ph = table.ph
    if ph is None and table.workday and all(not week[d] for d in (5, 6)):
        ph = ()  # 工作日 alone: holidays are not working days
    if ph is not None:
        parts.append("PH off" if not ph else f"PH {_osm_ivs(ph)}")
    return "; ".join(parts)


def render_zh(table: WeekTable) -> str:
    """Plain Chinese, e.g. ``"周一至周五 08:30-11:00、13:30-17:00；法定节假日休息"``."""

    def days_zh(days: list[int]) -> str:
        if table.workday and days == [0, 1, 2, 3, 4]:
            return "工作日"
        return "每天" if len(days) == 7 else _day_text(days, _ZH_NAMES, "、", "至")

    def ivs_zh(ivs: _Day) -> str:
        return "、".join("全天" if (s, e) == (0, _DAY) else
                        f"{_hhmm(s)}-{'次日' + _hhmm(e - _DAY) if e > _DAY else _hhmm(e)}"
                        for s, e in ivs)

    if all(day == _FULL for day in table.week):
        parts = ["24小时开放"]
    else:
        parts = [f"{days_zh(days)} {ivs_zh(ivs)}" for days, ivs in _groups(table.week)]
        parts = parts or ["不开放"]
    ph = table.ph
    if ph is None and table.workday and all(not table.week[d] for d in (5, 6)):
        ph = ()
    if ph is not None:
        parts.append("法定节假日休息" if not ph else f"法定节假日 {ivs_zh(ph)}")
    return "；".join(parts)


def to_osm(text: str) -> str:
    """Chinese hours text → OSM ``opening_hours`` text (see the module notes)."""
    return render_osm(read_week(text))


def table_text(render: Callable[[WeekTable], str], week: Iterable, ph, workday: bool) -> str:
    """Render a table given as plain sequences (normalised first)."""
    days = tuple(_normalise(day, f"week[{d}]") for d, day in enumerate(week))
    hol = None if ph is None else _normalise(ph, "ph")
    return render(WeekTable(days, hol, workday))

