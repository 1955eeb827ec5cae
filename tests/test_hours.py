"""Opening hours: what hosts write, and whether the station is open when a worker gets there.

Sample instants fall in the week of Monday 2026-03-02 (no public holiday) unless a test is about
holidays. The property tests compare against a brute-force minute table painted straight from
randomly generated intervals.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stations.errors import NuanxinError
from stations.hours import HOLIDAYS, TZ, HoursError, OpeningHours, is_public_holiday

MONDAY = date(2026, 3, 2)
DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")


def at(day: str, hhmm: str, *, week: int = 0) -> datetime:
    """Naive Shanghai time on a weekday of the sample week (``at("Tu", "01:00")``)."""
    hours, minutes = map(int, hhmm.split(":"))
    day_start = datetime.combine(MONDAY, datetime.min.time()) + timedelta(
        days=DAYS.index(day) + 7 * week)
    return day_start + timedelta(hours=hours, minutes=minutes)


def parse(text: str | None) -> OpeningHours:
    return OpeningHours.parse(text)


# ----------------------------------------------------------------------------- parsing
PARSE_CASES = [
    # OSM style
    ("Mo-Fr 09:00-17:00", "Mo-Fr 09:00-17:00"),
    ("Mo-Fr 08:30-11:00,13:30-17:00; Sa,Su 10:00-16:00",
     "Mo-Fr 08:30-11:00,13:30-17:00; Sa,Su 10:00-16:00"),
    ("24/7", "24/7"),
    ("Mo-Su 22:00-06:00", "Mo-Su 22:00-06:00"),
    ("Mo-Sa 06:00-18:00; PH off", "Mo-Sa 06:00-18:00; PH off"),
    ("Mo-Fr 09:00-17:00; Sa off", "Mo-Fr 09:00-17:00"),
    ("Mo-Su 08:00-18:00; Sa off", "Mo-Fr,Su 08:00-18:00"),
    ("00:00-24:00", "24/7"),
    ("Sa-Mo 10:00-12:00", "Mo,Sa,Su 10:00-12:00"),
    ("Mo-Fr 08:00-20:00; PH 10:00-14:00", "Mo-Fr 08:00-20:00; PH 10:00-14:00"),
    ("Mo-Fr,PH 09:00-17:00", "Mo-Fr 09:00-17:00; PH 09:00-17:00"),
    ("24/7; PH off", "24/7; PH off"),
    ("7×24小时", "24/7"),
    ("08:00-18:00; Su off", "Mo-Sa 08:00-18:00"),
    ("Mo-Fr 18:00-24:00", "Mo-Fr 18:00-24:00"),
    ("PH off", "off"),
    # Chinese: all day
    ("24小时", "24/7"),
    ("24小时开放", "24/7"),
    ("全天", "24/7"),
    ("全天开放", "24/7"),
    ("全天候", "24/7"),
    # Chinese: days
    ("每天 8:00-20:00", "Mo-Su 08:00-20:00"),
    ("每日8:00—20:00", "Mo-Su 08:00-20:00"),
    ("周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周一到周五 8:30-11:00、13:30-17:00", "Mo-Fr 08:30-11:00,13:30-17:00"),
    ("工作日 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周末 10:00-16:00", "Sa,Su 10:00-16:00"),
    ("周六日 9:00-12:00", "Sa,Su 09:00-12:00"),
    ("周一至周五9:00-17:00，周六9:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
    ("星期一至星期五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("礼拜一到礼拜五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("每周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周1-5 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("周六至周一 10:00-12:00", "Mo,Sa,Su 10:00-12:00"),
    ("开放时间：周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00"),
    ("8:00-18:00（周一至周五）", "Mo-Fr 08:00-18:00"),
    # Chinese: times and separators
    ("9点-17点", "Mo-Su 09:00-17:00"),
    ("9点半-17点", "Mo-Su 09:30-17:00"),
    ("9-17点", "Mo-Su 09:00-17:00"),
    ("9：00-17：00", "Mo-Su 09:00-17:00"),
    ("9:00～17:00", "Mo-Su 09:00-17:00"),
    ("9:00~17:00", "Mo-Su 09:00-17:00"),
    ("9:00－17:00", "Mo-Su 09:00-17:00"),
    ("8:00——20:00", "Mo-Su 08:00-20:00"),
    ("9:00至17:00", "Mo-Su 09:00-17:00"),
    ("9:00到17:00", "Mo-Su 09:00-17:00"),
    ("8.30-17.30", "Mo-Su 08:30-17:30"),
    ("9点30分-下午5点", "Mo-Su 09:30-17:00"),
    ("９:００-１７:００", "Mo-Su 09:00-17:00"),
    ("上午8:30-11:00 下午13:30-17:00", "Mo-Su 08:30-11:00,13:30-17:00"),
    ("下午2:00-5:00", "Mo-Su 14:00-17:00"),
    ("周一至周五 早8:00-晚8:00", "Mo-Fr 08:00-20:00"),
    ("晚上10点-早上6点", "Mo-Su 22:00-06:00"),
    ("晚上10点到2点", "Mo-Su 22:00-02:00"),
    ("每天 22:00-次日06:00", "Mo-Su 22:00-06:00"),
    ("周一至周五 8:30-11:00；13:30-17:00", "Mo-Fr 08:30-11:00,13:30-17:00"),
    # Chinese: public holidays
    ("周一至周五 9:00-17:00 节假日休息", "Mo-Fr 09:00-17:00; PH off"),
    ("每天8:00-20:00，法定节假日休息", "Mo-Su 08:00-20:00; PH off"),
    ("8:00-18:00（节假日除外）", "Mo-Su 08:00-18:00; PH off"),
    ("除节假日外 每天 9:00-17:00", "Mo-Su 09:00-17:00; PH off"),
    ("每天 8:00-20:00 节假日照常", "Mo-Su 08:00-20:00"),
    ("周一至周五 9:00-17:00，周末及节假日休息", "Mo-Fr 09:00-17:00; PH off"),
    ("法定节假日 10:00-14:00；周一至周五 9:00-17:00", "Mo-Fr 09:00-17:00; PH 10:00-14:00"),
    ("周一至周五 除节假日外 9:00-17:00", "Mo-Fr 09:00-17:00; PH off"),
    # Chinese: days after the hours they belong to, then another clause
    ("9:00-17:00 周一至周五，周六 9:00-12:00，周日休息", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
    ("8:30-11:00、13:30-17:00 周一至周五，周六 9:00-12:00",
     "Mo-Fr 08:30-11:00,13:30-17:00; Sa 09:00-12:00"),
    ("9:00-17:00周一至周五,周六全天", "Mo-Fr 09:00-17:00; Sa 00:00-24:00"),
    ("8:00-18:00 周一至周五，周末休息", "Mo-Fr 08:00-18:00"),
    ("8:00-18:00 周一至周五 节假日休息", "Mo-Fr 08:00-18:00; PH off"),
    ("8:00-18:00 周一至周五，节假日 10:00-14:00", "Mo-Fr 08:00-18:00; PH 10:00-14:00"),
    ("9:00-17:00 周一至周五 除节假日外", "Mo-Fr 09:00-17:00; PH off"),
    ("8:00-18:00 周一至周五（周六 9:00-12:00）", "Mo-Fr 08:00-18:00; Sa 09:00-12:00"),
    ("09:00-17:00 Mo-Fr, Sa 09:00-12:00", "Mo-Fr 09:00-17:00; Sa 09:00-12:00"),
    # ... but a single day list before further times leads them; the first hours cover the rest
    ("8:00-20:00，周六 9:00-12:00", "Mo-Fr,Su 08:00-20:00; Sa 09:00-12:00"),
    ("8:00-18:00 周末 10:00-16:00", "Mo-Fr 08:00-18:00; Sa,Su 10:00-16:00"),
    ("8:00-18:00 周六、周日 10:00-16:00", "Mo-Fr 08:00-18:00; Sa,Su 10:00-16:00"),
    ("8:00-18:00 周六休息", "Mo-Fr,Su 08:00-18:00"),
]


@pytest.mark.parametrize(("text", "canonical"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse_reads_osm_and_chinese_forms_into_canonical_text(text, canonical):
    hours = parse(text)
    assert hours.to_text() == canonical
    assert parse(canonical) == hours


def test_parse_stores_intervals_per_weekday_in_minutes():
    hours = parse("Mo-Fr 08:30-11:00,13:30-17:00; Sa 22:00-02:00")
    assert hours.week[0] == ((510, 660), (810, 1020))
    assert hours.week[5] == ((1320, 1560),)  # past midnight: stored on the starting day
    assert hours.week[6] == ()
    assert hours.ph is None


@pytest.mark.parametrize("text", ["", "   ", None, "未知", "不详", "开放时间未知"],
                         ids=["empty", "blank", "None", "未知", "不详", "开放时间未知"])
def test_missing_hours_are_unknown_not_an_error(text):
    hours = parse(text)
    assert hours.unknown and not hours.always_open
    assert hours.is_open(at("Mo", "10:00")) is None
    assert hours.next_change(at("Mo", "10:00")) is None
    assert hours.open_during(at("Mo", "10:00"), at("Mo", "11:00")) is None
    assert hours.open_throughout(at("Mo", "10:00"), at("Mo", "11:00")) is None
    assert hours.opens_by(7 * 60) is None
    assert hours.to_text() == ""
    assert hours.describe_zh() == "开放时间未知"


INVALID = [
    ("garbage", "abc", "cannot read 'abc'"),
    ("hour 25", "25:00-26:00", "impossible time"),
    ("minute 60", "9:60-10:00", "impossible time"),
    ("start equals end", "08:00-08:00", "same time"),
    ("empty day 00-00", "00:00-00:00", "same time"),
    ("starts at 24:00", "24:00-08:00", "may only end at 24:00"),
    ("days without times", "周一至周五", "without opening times"),
    ("bare numbers", "9-17", "ambiguous"),
    ("single time", "9:00", "cannot read"),
    ("no days or times", "开放", "no days or times"),
    ("照常 on a weekday", "周六 照常", "only applies to public holidays"),
    ("words", "随时可来", "cannot read"),
    # days between two sets of times where the split between them would be a guess
    ("spaced days between times", "9:00-17:00 周一至周五 周六 9:00-12:00", "'周一至周五 周六'"),
    ("spaced single days", "8:00-18:00 周六 周日 10:00-16:00", "between two sets of times"),
    ("spaced days before off", "9:00-17:00 周一至周五 周末休息", "are ambiguous"),
    ("three comma lists", "9:00-17:00 周一，周三，周五 10:00-12:00", "are ambiguous"),
    ("lists after a comma", "8:00-20:00，周一至周五，周六 9:00-12:00", "are ambiguous"),
]


@pytest.mark.parametrize(("text", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_unreadable_text_raises_hours_error_naming_the_text(text, reason):
    with pytest.raises(HoursError, match="无法识别的开放时间") as info:
        parse(text)
    message = str(info.value)
    assert repr(text) in message and reason in message
    assert "Mo-Fr 09:00-17:00" in message  # the hint shows accepted forms
    assert isinstance(info.value, ValueError) and isinstance(info.value, NuanxinError)


def test_parse_rejects_non_text():
    with pytest.raises(TypeError, match="str or None"):
        OpeningHours.parse(900)


def test_structure_is_validated_on_construction():
    with pytest.raises(HoursError, match="7 days"):
        OpeningHours(week=((),) * 6)
    with pytest.raises(HoursError, match=r"week\[0\]"):
        OpeningHours(week=(((600, 600),),) + ((),) * 6)
    with pytest.raises(HoursError, match="unknown"):
        OpeningHours(week=(((600, 700),),) * 7, known=False)
    merged = OpeningHours(week=(((600, 700), (650, 800), (800, 900)),) + ((),) * 6)
    assert merged.week[0] == ((600, 900),)


# A day list right after the hours belongs to them, also when another days+hours clause follows.
# Expected: open at Mon 10:00, Sat 10:00, Sat 13:00, Sun 10:00.
TRAILING_DAYS = [
    ("9:00-17:00 周一至周五，周六 9:00-12:00", (True, True, False, False)),
    ("8:30-17:30 周一至周五；周六 9:00-12:00", (True, True, False, False)),
    ("9:00-17:00（周一至周五），周六9:00-12:00", (True, True, False, False)),
    ("周一至周五 9:00-17:00，周六 9:00-12:00", (True, True, False, False)),
    ("8:00-18:00（周一至周五）", (True, False, False, False)),
]


@pytest.mark.parametrize(("text", "expected"), TRAILING_DAYS, ids=[c[0] for c in TRAILING_DAYS])
def test_days_after_hours_bind_to_them_before_the_next_clause(text, expected):
    hours = parse(text)
    samples = (at("Mo", "10:00"), at("Sa", "10:00"), at("Sa", "13:00"), at("Su", "10:00"))
    assert tuple(hours.is_open(when) for when in samples) == expected
    assert hours.ph is None


# ----------------------------------------------------------------------------- is it open?
OPEN_CASES = [
    ("split hours: morning", "Mo-Fr 08:30-11:00,13:30-17:00", at("We", "10:59"), True),
    ("split hours: closed at noon", "Mo-Fr 08:30-11:00,13:30-17:00", at("We", "12:00"), False),
    ("split hours: afternoon", "Mo-Fr 08:30-11:00,13:30-17:00", at("We", "13:30"), True),
    ("end is exclusive", "Mo-Fr 08:30-11:00,13:30-17:00", at("We", "17:00"), False),
    ("weekday only: Saturday", "Mo-Fr 09:00-17:00", at("Sa", "10:00"), False),
    ("weekday only: Friday", "工作日 9:00-17:00", at("Fr", "16:59"), True),
    ("past midnight: Tue 01:00", "Mo-Su 22:00-06:00", at("Tu", "01:00"), True),
    ("past midnight: Tue 06:00", "Mo-Su 22:00-06:00", at("Tu", "06:00"), False),
    ("past midnight: Sun→Mon spill", "Su 22:00-06:00", at("Mo", "05:59", week=1), True),
    ("past midnight: no Sat spill", "Su 22:00-06:00", at("Su", "05:00"), False),
    ("24/7 at 03:00", "24/7", at("Th", "03:00"), True),
    ("gatehouse early shift", "Mo-Su 06:00-18:00", at("Mo", "05:59"), False),
    ("24:00 end", "Mo-Fr 18:00-24:00", at("Mo", "23:59"), True),
    ("24:00 end does not spill", "Mo-Fr 18:00-24:00", at("Tu", "00:00"), False),
]


@pytest.mark.parametrize(("text", "when", "expected"), [c[1:] for c in OPEN_CASES],
                         ids=[c[0] for c in OPEN_CASES])
def test_is_open_at_sample_times(text, when, expected):
    assert parse(text).is_open(when) is expected


def test_is_open_converts_aware_times_to_shanghai():
    hours = parse("Mo-Fr 09:00-17:00")
    utc_0130 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    assert hours.is_open(utc_0130) is True
    assert hours.is_open(utc_0130.replace(hour=9, minute=30)) is False  # 17:30 local


def test_is_open_rejects_a_date_without_time():
    with pytest.raises(TypeError, match="datetime"):
        parse("24/7").is_open(date(2026, 3, 2))


def test_ph_off_closes_on_national_day_2026():
    hours = parse("Mo-Sa 06:00-18:00; PH off")
    national_day = datetime(2026, 10, 1, 10, 0)  # a Thursday
    assert hours.is_open(national_day) is False
    assert hours.is_open(datetime(2026, 10, 8, 10, 0)) is True
    assert parse("Mo-Sa 06:00-18:00").is_open(national_day) is True


def test_ph_with_own_hours_and_injected_holidays():
    hours = parse("Mo-Fr 08:00-20:00; PH 10:00-14:00")
    mid_week = at("We", "09:00")
    assert hours.is_open(mid_week) is True
    assert hours.is_open(mid_week, holidays={MONDAY + timedelta(days=2)}) is False
    assert hours.is_open(mid_week.replace(hour=11), holidays=[mid_week.date()]) is True
    # a holiday evening before a normal day: the spill still belongs to the day it started
    night = parse("Mo-Su 22:00-06:00; PH off")
    assert night.is_open(at("Tu", "01:00"), holidays={MONDAY}) is False
    assert night.is_open(at("We", "01:00"), holidays={MONDAY}) is True


def test_holiday_list_covers_2024_to_2026():
    assert is_public_holiday(date(2026, 10, 1))
    assert is_public_holiday(date(2026, 2, 23)) and not is_public_holiday(date(2026, 2, 24))
    assert is_public_holiday(date(2025, 10, 8)) and is_public_holiday(date(2025, 1, 28))
    assert is_public_holiday(date(2024, 2, 10)) and is_public_holiday(date(2024, 6, 10))
    assert not is_public_holiday(date(2026, 3, 2))
    assert is_public_holiday(datetime(2026, 5, 1, 8, 0))
    assert not is_public_holiday(date(2026, 10, 1), holidays=())
    assert {d.year for d in HOLIDAYS} >= {2024, 2025, 2026}
    assert sum(d.year == 2026 for d in HOLIDAYS) == 3 + 9 + 3 + 5 + 3 + 3 + 7


# ----------------------------------------------------------------------------- next change
NEXT_CASES = [
    ("opens later today", "Mo-Fr 09:00-17:00", at("Mo", "07:00"), at("Mo", "09:00")),
    ("closes at lunch", "Mo-Fr 08:30-11:00,13:30-17:00", at("Mo", "10:00"), at("Mo", "11:00")),
    ("strictly after an opening", "Mo-Fr 09:00-17:00", at("Mo", "09:00"), at("Mo", "17:00")),
    ("Friday evening to Monday", "Mo-Fr 09:00-17:00", at("Fr", "17:00"), at("Mo", "09:00", week=1)),
    ("past midnight closes", "Mo-Su 22:00-06:00", at("Tu", "01:00"), at("Tu", "06:00")),
    ("back-to-back nights", "Mo-Su 22:00-06:00", at("Tu", "06:00"), at("Tu", "22:00")),
    ("Sunday night into Monday", "Su 22:00-06:00", at("Su", "23:00"), at("Mo", "06:00", week=1)),
    ("24:00 meets 00:00", "Mo 18:00-24:00; Tu 00:00-03:00", at("Mo", "19:00"), at("Tu", "03:00")),
]


@pytest.mark.parametrize(("text", "when", "expected"), [c[1:] for c in NEXT_CASES],
                         ids=[c[0] for c in NEXT_CASES])
def test_next_change(text, when, expected):
    change = parse(text).next_change(when)
    assert change == expected.replace(tzinfo=TZ)
    assert change.tzinfo is TZ


def test_next_change_is_none_when_nothing_ever_changes():
    assert parse("24/7").next_change(at("Mo", "00:00")) is None
    assert parse("off").next_change(at("Mo", "00:00")) is None


def test_next_change_skips_a_closed_holiday_week():
    hours = parse("Mo-Fr 09:00-17:00; PH off")
    change = hours.next_change(datetime(2026, 9, 30, 17, 0))
    assert change == datetime(2026, 10, 8, 9, 0, tzinfo=TZ)
    always_but_holidays = parse("24/7; PH off")
    assert always_but_holidays.next_change(datetime(2026, 9, 30, 12, 0)) == datetime(
        2026, 10, 1, 0, 0, tzinfo=TZ)
    assert always_but_holidays.next_change(datetime(2026, 10, 3, 12, 0)) == datetime(
        2026, 10, 8, 0, 0, tzinfo=TZ)
    assert always_but_holidays.next_change(datetime(2100, 6, 1)) is None  # past the list


def test_open_during_and_throughout_a_visit():
    hours = parse("Mo-Fr 08:30-11:00,13:30-17:00")
    assert hours.open_during(at("Mo", "10:30"), at("Mo", "14:00")) is True
    assert hours.open_throughout(at("Mo", "10:30"), at("Mo", "14:00")) is False
    assert hours.open_during(at("Mo", "11:00"), at("Mo", "13:30")) is False  # end exclusive
    assert hours.open_throughout(at("Mo", "13:30"), at("Mo", "17:00")) is True
    assert parse("24/7").open_throughout(at("Mo", "00:00"), at("Mo", "00:00", week=3)) is True
    with pytest.raises(HoursError, match="must be after start"):
        hours.open_during(at("Mo", "12:00"), at("Mo", "11:00"))


# ----------------------------------------------------------------------------- weekly figures
def test_minutes_open_per_day_and_week_maximum():
    hours = parse("Mo-Fr 08:30-11:00,13:30-17:00; Sa 22:00-02:00")
    assert hours.minutes_open_on(0) == 150 + 210
    assert hours.minutes_open_on(5) == 240  # counted on the day it starts
    assert hours.minutes_open_on(6) == 0
    assert hours.max_daily_minutes() == 360
    assert parse("24/7").max_daily_minutes() == 1440
    assert parse(None).max_daily_minutes() == 0
    with pytest.raises(HoursError, match="weekday"):
        hours.minutes_open_on(7)


@pytest.mark.parametrize(("text", "early", "late"), [
    ("Mo-Fr 09:00-17:00", False, False),
    ("Mo-Su 06:00-18:00", True, False),
    ("Mo-Su 06:30-18:00", False, False),
    ("Sa 05:00-22:00", True, True),
    ("Mo-Su 22:00-08:00", True, False),  # the early shift is covered by last night's spill
    ("24/7", True, True),
], ids=["9-5", "gatehouse 6-18", "6:30-18", "Saturday 5-22", "night", "24/7"])
def test_shift_coverage_for_sanitation_at_six_and_couriers_at_eight(text, early, late):
    hours = parse(text)
    assert hours.opens_by(6 * 60) is early
    assert hours.open_at_minute_any_day(20 * 60) is late


def test_always_open_flag():
    assert parse("24/7").always_open
    assert parse("Mo-Su 00:00-24:00; PH 00:00-24:00").always_open
    assert not parse("24/7; PH off").always_open
    assert not parse("Mo-Sa 00:00-24:00").always_open


# ----------------------------------------------------------------------------- describing
@pytest.mark.parametrize(("text", "zh"), [
    ("Mo-Fr 08:30-11:00,13:30-17:00; Sa 09:00-12:00; PH off",
     "周一至周五 08:30-11:00、13:30-17:00；周六 09:00-12:00；法定节假日休息"),
    ("24/7", "24小时开放"),
    ("24/7; PH off", "24小时开放；法定节假日休息"),
    ("Mo-Su 22:00-06:00", "每天 22:00-次日06:00"),
    ("Sa,Su 10:00-16:00; PH 10:00-12:00", "周六、周日 10:00-16:00；法定节假日 10:00-12:00"),
    ("off", "不开放"),
], ids=["split week with PH", "24/7", "24/7 PH off", "overnight", "weekend and PH", "closed"])
def test_describe_zh(text, zh):
    hours = parse(text)
    assert hours.describe_zh() == zh
    assert parse(zh) == hours


# ----------------------------------------------------------------------------- properties
BASE = date(2031, 1, 6)  # a Monday; holidays are injected, so the year does not matter
SPAN_DAYS = 22  # minute table covers BASE-1 .. BASE+20
ORIGIN = datetime.combine(BASE - timedelta(days=1), datetime.min.time())

intervals = st.one_of(
    st.just((0, 1440)),
    st.tuples(st.integers(0, 1439),
              st.one_of(st.integers(1, 240), st.integers(1, 1439))).map(lambda p: (p[0], sum(p))),
)
weeks = st.lists(st.lists(intervals, max_size=3), min_size=7, max_size=7)
ph_rules = st.one_of(st.none(), st.just([]), st.lists(intervals, min_size=1, max_size=2))
holiday_sets = st.frozensets(st.integers(-1, 9).map(lambda k: BASE + timedelta(days=k)),
                             max_size=4)
fast = settings(max_examples=200, deadline=None, database=None)


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def osm_text(week, ph) -> str:
    """Independent writer: one explicit rule per day, ends past 24:00 written as next-day times."""
    def spans(ivs):
        return ",".join(f"{clock(s)}-{clock(e if e <= 1440 else e - 1440)}" for s, e in ivs)
    rules = [f"{DAYS[d]} {spans(ivs) if ivs else 'off'}" for d, ivs in enumerate(week)]
    if ph is not None:
        rules.append(f"PH {spans(ph) if ph else 'off'}")
    return "; ".join(rules)


def zh_text(week, ph) -> str:
    """Independent writer in Chinese, with 点/点半 times and 次日 for past midnight."""
    names = "一二三四五六日"

    def zh_clock(minute):
        h, m = divmod(minute, 60)
        return f"{h}点" if m == 0 else f"{h}点半" if m == 30 else f"{h}:{m:02d}"

    def spans(ivs):
        return "、".join(f"{zh_clock(s)}至" + (f"次日{zh_clock(e - 1440)}" if e > 1440
                                               else zh_clock(e)) for s, e in ivs)
    rules = [f"星期{names[d]} {spans(ivs) if ivs else '休息'}" for d, ivs in enumerate(week)]
    if ph is not None:
        rules.append(f"节假日 {spans(ph)}" if ph else "节假日除外")
    return "，".join(rules)


def minute_table(week, ph, holidays) -> bytearray:
    """Brute force: paint every interval of every day onto a minute-by-minute table."""
    table = bytearray(SPAN_DAYS * 1440)
    for k in range(SPAN_DAYS):
        day = BASE + timedelta(days=k - 1)
        rule = ph if ph is not None and day in holidays else week[day.weekday()]
        for s, e in rule:
            first, last = k * 1440 + s, min(k * 1440 + e, len(table))
            table[first:last] = b"\x01" * (last - first)
    return table


def minute_at(index: int) -> datetime:
    return ORIGIN + timedelta(minutes=index)


sample_minutes = st.lists(st.integers(1440, 8 * 1440), min_size=1, max_size=20)


@fast
@given(weeks, ph_rules, holiday_sets, sample_minutes, st.integers(0, 59))
def test_property_is_open_matches_brute_force(week, ph, holidays, minutes, second):
    hours = parse(osm_text(week, ph))
    table = minute_table(week, ph, holidays)
    for index in minutes:
        when = minute_at(index) + timedelta(seconds=second)
        assert hours.is_open(when, holidays=holidays) is bool(table[index]), when


@fast
@given(weeks, ph_rules, holiday_sets, st.integers(1440, 8 * 1440), st.sampled_from([0, 1, 59]))
def test_property_next_change_matches_minute_scan(week, ph, holidays, index, second):
    hours = parse(osm_text(week, ph))
    table = minute_table(week, ph, holidays)
    state = table[index]
    # scan forward minute by minute for the first minute in the other state
    expected = next((j for j in range(index + 1, len(table)) if table[j] != state), None)
    change = hours.next_change(minute_at(index) + timedelta(seconds=second), holidays=holidays)
    if expected is None:  # holidays end by BASE+9, so 11+ plain days follow: never changes
        assert change is None
    else:
        assert change == minute_at(expected).replace(tzinfo=TZ)


@fast
@given(weeks, ph_rules, holiday_sets, st.integers(1440, 8 * 1440), st.integers(1, 3000))
def test_property_open_during_and_throughout_match_brute_force(week, ph, holidays, index,
                                                                length):
    hours = parse(osm_text(week, ph))
    table = minute_table(week, ph, holidays)
    start, end = minute_at(index), minute_at(index + length)
    window = table[index:index + length]
    assert hours.open_during(start, end, holidays=holidays) is any(window)
    assert hours.open_throughout(start, end, holidays=holidays) is all(window)


@fast
@given(weeks, ph_rules)
def test_property_text_round_trips(week, ph):
    hours = parse(osm_text(week, ph))
    assert parse(zh_text(week, ph)) == hours  # both languages read to the same hours
    assert parse(hours.to_text()) == hours
    assert parse(hours.describe_zh()) == hours


@fast
@given(weeks, st.integers(0, 1439))
def test_property_weekly_figures_match_brute_force(week, minute):
    hours = parse(osm_text(week, None))
    for d, ivs in enumerate(week):
        painted = {m for s, e in ivs for m in range(s, e)}
        assert hours.minutes_open_on(d) == len(painted)
    spill = [{m - 1440 for s, e in ivs for m in range(s, e) if m >= 1440} for ivs in week]
    own = [{m for s, e in ivs for m in range(s, e) if m < 1440} for ivs in week]
    expected = any(minute in own[d] or minute in spill[d - 1] for d in range(7))
    assert hours.open_at_minute_any_day(minute) is expected
    assert hours.opens_by(minute) is expected
