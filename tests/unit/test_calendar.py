"""Schedule math in crestline.calendar: CronJob cron meaning, DST rules, direct search.

The fire times checked here by hand are the cases the issue names; the tables ported
from robfig/cron and cronsim are in test_cron_upstream.py and the differential test
against robfig/cron itself is in test_cron_robfig.py.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crestline.calendar.cron import Cron, CronError
from crestline.calendar.fires import fire_at_or_after, fire_at_or_before, next_fire, prev_fire
from crestline.calendar.instants import format_instant, parse_duration, parse_spec_duration
from crestline.calendar.runs import always_on, run_end, run_start
from crestline.calendar.wallclock import parse_local_time, parse_time
from crestline.calendar.zones import segment_at, transitions_between

UTC = dt.UTC
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def fires(expr: str, tz: ZoneInfo, after: dt.datetime, n: int) -> list[dt.datetime]:
    out, t, cron = [], after, Cron.parse(expr)
    for _ in range(n):
        found = next_fire(cron, tz, t)
        assert found is not None
        out.append(found)
        t = found
    return out


def local(ts: list[dt.datetime], tz: ZoneInfo) -> list[str]:
    return [t.astimezone(tz).strftime("%m-%d %H:%M %Z") for t in ts]


# -- meaning of the fields (robfig/cron v3, as a CronJob) ---------------------------------
def test_n_slash_one_means_n_to_max() -> None:
    assert Cron.parse("30 5/1 * * *").hours == Cron.parse("30 5-23 * * *").hours
    got = fires("30 5/1 * * *", ZoneInfo("UTC"), utc(2026, 6, 1, 4), 3)
    assert got == [utc(2026, 6, 1, 5, 30), utc(2026, 6, 1, 6, 30), utc(2026, 6, 1, 7, 30)]


def test_a_star_day_field_makes_both_day_fields_required() -> None:
    # */1 is a star (robfig keeps the star bit): the 13th only, not every day.
    on_13th = fires("0 0 13 * */1", ZoneInfo("UTC"), utc(2026, 1, 1), 3)
    assert [t.day for t in on_13th] == [13, 13, 13]
    assert fires("0 0 13 * ?", ZoneInfo("UTC"), utc(2026, 1, 1), 2) == on_13th[:2]
    # */2 is not a star: either field (the 13th, or Sun/Tue/Thu/Sat).
    either = fires("0 0 13 * */2", ZoneInfo("UTC"), utc(2025, 12, 31), 4)
    assert [(t.day, t.isoweekday() % 7) for t in either] == [(1, 4), (3, 6), (4, 0), (6, 2)]
    # A list covering every weekday is a restriction too.
    listed = fires("0 0 13 * 0,1,2,3,4,5,6", ZoneInfo("UTC"), utc(2025, 12, 31), 2)
    assert [t.day for t in listed] == [1, 2]


@pytest.mark.parametrize(
    ("descriptor", "fields"),
    [
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("@monthly", "0 0 1 * *"),
        ("@weekly", "0 0 * * 0"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@hourly", "0 * * * *"),
    ],
)
def test_descriptors(descriptor: str, fields: str) -> None:
    after = utc(2026, 5, 17, 13, 21)
    assert fires(descriptor, NY, after, 3) == fires(fields, NY, after, 3)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("", "exactly 5 fields"),
        ("* * * *", "exactly 5 fields"),
        ("* * * * * *", "exactly 5 fields"),
        ("61 * * * *", "minute:"),
        ("* 24 * * *", "hour:"),
        ("* * 0 * *", "day-of-month:"),
        ("* * * 13 *", "month:"),
        ("* * * * 7", "day-of-week:"),  # Sunday is 0 only, as in robfig
        ("* * * * FUNDAY", "day-of-week:"),
        ("*/0 * * * *", "minute:"),
        ("5-1 * * * *", "minute: a range"),
        ("* * * DEC-JAN *", "month: a range"),
        ("\u0663 * * * *", "minute:"),  # Arabic-Indic three: str.isdigit() says yes
        ("\uff15 * * * *", "minute:"),  # fullwidth five
        ("1--2 * * * *", "minute:"),
        ("*//2 * * * *", "minute:"),
        ("*/-12 * * * *", "minute:"),
        ("TZ=UTC 0 * * * *", "TZ= and CRON_TZ="),
        ("CRON_TZ=Europe/Berlin 0 * * * *", "TZ= and CRON_TZ="),
        ("@every 1h", "@every is not supported"),
        ("@reboot", "unknown descriptor"),
        ("@daily ", "unknown descriptor"),
        ("* * 30 2 *", "day-of-month: none of its days"),
        ("* * 31 4 *", "day-of-month: none of its days"),
        ("0 0 31 2,4,6,9,11 *", "day-of-month: none of its days"),
        (", * * * *", "minute: has no value"),
        ("* * , * *", "day-of-month: has no value"),
        ("* * 1 , *", "month: has no value"),
        ("* * , * ,", "no day can ever match"),
    ],
)
def test_bad_cron_names_the_field(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message.replace("*", r"\*")):
        Cron.parse(expr)


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 29 2 *",  # leap days
        "0 0 31 */2 *",  # January, March, ... have a 31st
        "0 0 30 2 MON",  # both restricted: any Monday of February
        "0 0 1 * ,",  # an empty weekday list under the OR rule: the 1st
        "*-x/5 0 1 * *",  # robfig reads "*-anything" as "*"
        "+5 007 1 jan Mon",
        "0 0 * * MON-FR\u0130",  # Go lowers U+0130 to i, so robfig reads FRI
        "0\u00a00\u3000*\t*\v*",  # Go's strings.Fields splits on Unicode white space
        "*/9223372036854775807 * * * *",
    ],
)
def test_what_a_cronjob_accepts_is_accepted(expr: str) -> None:
    Cron.parse(expr)


def test_whole_numbers_beyond_int64_are_rejected_like_atoi() -> None:
    with pytest.raises(CronError, match="minute:"):
        Cron.parse("*/9223372036854775808 * * * *")


# -- direct search -------------------------------------------------------------------------
def test_feb_29_from_2097_is_2104() -> None:
    cron = Cron.parse("0 0 29 2 *")
    assert next_fire(cron, ZoneInfo("UTC"), utc(2097, 1, 1)) == utc(2104, 2, 29)
    assert prev_fire(cron, ZoneInfo("UTC"), utc(2104, 1, 1)) == utc(2096, 2, 29)


def test_next_and_prev_are_strict_and_at_or_are_inclusive() -> None:
    cron, tz = Cron.parse("0 9 * * 1"), ZoneInfo("UTC")
    monday = utc(2026, 11, 30, 9)
    assert fire_at_or_after(cron, tz, monday) == monday
    assert fire_at_or_before(cron, tz, monday) == monday
    assert next_fire(cron, tz, monday) == monday + 7 * 24 * H
    assert prev_fire(cron, tz, monday) == monday - 7 * 24 * H


def test_no_fire_before_the_supported_range_ends() -> None:
    assert next_fire(Cron.parse("0 0 29 2 *"), ZoneInfo("UTC"), utc(9997, 1, 1)) is None


# -- DST: robfig's rule ----------------------------------------------------------------------
def test_a_skipped_time_does_not_fire_that_day() -> None:
    # New York springs forward 2026-03-08 02:00 -> 03:00.
    got = fires("30 2 * * *", NY, utc(2026, 3, 7, 12), 2)
    assert local(got, NY) == ["03-09 02:30 EDT", "03-10 02:30 EDT"]


def test_no_double_fire_after_the_spring_jump() -> None:
    got = fires("*/20 * * * *", NY, utc(2026, 3, 8, 6, 30), 4)
    assert local(got, NY) == [
        "03-08 01:40 EST",
        "03-08 03:00 EDT",
        "03-08 03:20 EDT",
        "03-08 03:40 EDT",
    ]
    assert len(set(got)) == len(got)


def test_a_repeated_time_fires_at_both_instants() -> None:
    # New York falls back 2026-11-01 02:00 EDT -> 01:00 EST.
    hourly = fires("0 * * * *", NY, utc(2026, 11, 1, 4, 30), 4)
    assert local(hourly, NY) == [
        "11-01 01:00 EDT",
        "11-01 01:00 EST",
        "11-01 02:00 EST",
        "11-01 03:00 EST",
    ]
    nightly = fires("30 1 * * *", NY, utc(2026, 11, 1), 3)
    assert local(nightly, NY) == ["11-01 01:30 EDT", "11-01 01:30 EST", "11-02 01:30 EST"]
    # From 01:10 EST the next is 01:30 EST, never a start already in the past.
    assert fires("30 1 * * *", NY, utc(2026, 11, 1, 6, 10), 1) == [utc(2026, 11, 1, 6, 30)]


def test_half_hour_dst_lord_howe() -> None:
    # Lord Howe springs forward 2026-10-04 02:00 -> 02:30 and falls back 2026-04-05
    # 02:00 -> 01:30 (so 01:30-01:59 happens twice).
    spring = fires("15,45 2 * * *", LORD_HOWE, utc(2026, 10, 3, 12), 2)
    assert local(spring, LORD_HOWE) == ["10-04 02:45 +11", "10-05 02:15 +11"]
    autumn = fires("45 1 * * *", LORD_HOWE, utc(2026, 4, 4, 12), 3)
    assert local(autumn, LORD_HOWE) == ["04-05 01:45 +11", "04-05 01:45 +1030", "04-06 01:45 +1030"]
    assert autumn[1] - autumn[0] == dt.timedelta(minutes=30)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["* * * * *", "*/7 1-3 * * *", "0,30 * * * *", "59 23 * * *", "0 2 * * SUN"]),
    st.sampled_from(["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]),
    st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
)
def test_fires_are_exactly_the_instants_whose_wall_time_matches(
    expr: str, zone: str, naive: dt.datetime
) -> None:
    """Brute force over whole minutes: next fire == first instant whose wall time matches,
    and prev fire == last one; so nothing is skipped, doubled or invented."""
    cron, tz = Cron.parse(expr), ZoneInfo(zone)
    t = naive.replace(tzinfo=UTC)
    found = next_fire(cron, tz, t)
    assert found is not None
    probe = t.replace(second=0, microsecond=0) + M
    while probe < found:
        assert not cron.matches(probe.astimezone(tz).replace(tzinfo=None))
        probe += M
    assert cron.matches(found.astimezone(tz).replace(tzinfo=None))
    assert prev_fire(cron, tz, found + M) == found


# -- zones and one-off wall-clock times --------------------------------------------------------
def test_segments_and_transitions() -> None:
    seg = segment_at(NY, utc(2026, 6, 1))
    assert (seg.start, seg.end, seg.offset) == (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6), -4 * H)
    changes = transitions_between(LORD_HOWE, utc(2026, 1, 1), utc(2027, 1, 1))
    assert [(w, (a - b).total_seconds() / 60) for w, b, a in changes] == [
        (utc(2026, 4, 4, 15), -30.0),
        (utc(2026, 10, 3, 15, 30), 30.0),
    ]


def test_a_one_off_time_in_the_gap_is_the_jump_itself() -> None:
    assert parse_time("2026-03-08T02:30:00", NY) == utc(2026, 3, 8, 7)  # not 07:00:01
    assert parse_time("2026-03-29T02:30:00", BERLIN) == utc(2026, 3, 29, 1)
    assert parse_time("2026-10-04T02:10:00", LORD_HOWE) == utc(2026, 10, 3, 15, 30)
    assert parse_time("2026-11-01T01:30:00", NY) == utc(2026, 11, 1, 5, 30)  # first 01:30


def test_one_off_window_across_spring_forward_has_its_real_length() -> None:
    start = parse_time("2026-03-29T00:00:00", BERLIN)
    end = parse_time("2026-03-30T00:00:00", BERLIN)
    assert end - start == 23 * H


@pytest.mark.parametrize(
    "text",
    ["2026-02-30T00:00:00", "2027-02-29T00:00:00", "2100-02-29T00:00:00", "2026-13-01T00:00:00",
     "2026-01-01T24:00:00", "1969-12-31T23:59:59", "9999-01-01T00:00:00", "2026-01-01",
     "\u0662\u0660\u0662\u0666-01-01T00:00:00", ""],
)  # fmt: skip
def test_local_times_that_do_not_exist_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="must be a date and time that exists"):
        parse_local_time(text)


def test_leap_day_exists() -> None:
    assert parse_local_time("2028-02-29T12:00:00") == dt.datetime(2028, 2, 29, 12)


# -- durations and instants -----------------------------------------------------------------------
def test_durations() -> None:
    assert parse_duration("1h30m") == 90 * M
    assert parse_duration("2d") == 48 * H
    for bad in ("", "5x", "h", "1.5h", "\u0663h"):
        with pytest.raises(ValueError, match="bad duration"):
            parse_duration(bad)
    with pytest.raises(ValueError, match="longer than"):
        parse_duration("9" * 40 + "d")  # a ValueError, never an OverflowError


@pytest.mark.parametrize(
    ("text", "positive", "message"),
    [
        ("", False, "must be a duration"),
        ("1m2h", False, "must be a duration"),
        ("1000d", False, "must be a duration"),  # digits are bounded before any arithmetic
        ("367d", False, "at most 366d"),
        ("365d24h1s", False, "at most 366d"),
        ("0s", True, "longer than 0s"),
        ("0d0h", True, "longer than 0s"),
    ],
)
def test_spec_durations_are_bounded(text: str, positive: bool, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_spec_duration(text, positive=positive)


def test_spec_duration_limits_are_inclusive() -> None:
    assert parse_spec_duration("366d", positive=True) == dt.timedelta(days=366)
    assert parse_spec_duration("0s", positive=False) == dt.timedelta()


def test_format_instant_keeps_four_digit_years() -> None:
    assert format_instant(utc(3, 1, 1)) == "0003-01-01T00:00:00Z"
    assert format_instant(dt.datetime(2026, 11, 27, 10, tzinfo=dt.timezone(H))) == (
        "2026-11-27T09:00:00Z"
    )


# -- runs: where a chain of close fires starts and ends -------------------------------------------
def _brute_run(
    cron: Cron, tz: ZoneInfo, fire: dt.datetime, gap: dt.timedelta
) -> tuple[dt.datetime, dt.datetime] | None:
    """The run through ``fire``, walking fire by fire (None if longer than 2000 fires)."""
    first, last = fire, fire
    for _ in range(2000):
        p = prev_fire(cron, tz, first)
        if p is None or first - p > gap:
            break
        first = p
    else:
        return None
    for _ in range(2000):
        n = next_fire(cron, tz, last)
        if n is None or n - last > gap:
            return first, last
        last = n
    return None


@settings(max_examples=120, deadline=None)
@given(
    st.sampled_from(
        ["*/5 9-17 * * 1-5", "0,10,50 * * * *", "*/10 0-2,22-23 * * *", "*/15 * 1-7 * *",
         "0 */3 * * *", "30 2 * * *", "0-9 1,3 * * SAT,SUN", "59 23 * * *"]
    ),
    st.sampled_from(["America/New_York", "Australia/Lord_Howe", "Europe/London", "UTC"]),
    st.sampled_from([0, 5, 10, 59, 60, 61, 119, 120, 180, 1439, 1440, 2880]),
    st.datetimes(min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 12, 31)),
)  # fmt: skip
def test_runs_match_walking_fire_by_fire(
    expr: str, zone: str, gap_minutes: int, naive: dt.datetime
) -> None:
    cron, tz, gap = Cron.parse(expr), ZoneInfo(zone), dt.timedelta(minutes=gap_minutes)
    fire = next_fire(cron, tz, naive.replace(tzinfo=UTC))
    assert fire is not None
    brute = _brute_run(cron, tz, fire, gap)
    assume(brute is not None)
    assert brute is not None
    assert run_start(cron, tz, fire, gap=gap, steps=32) == (brute[0], True)
    assert run_end(cron, tz, fire, gap=gap, steps=32) == (brute[1], True)


def test_always_on_is_exact_across_dst() -> None:
    hourly = Cron.parse("0 * * * *")
    assert always_on(hourly, NY, gap=H)  # 01:00 EST -> 03:00 EDT is one real hour
    assert not always_on(hourly, NY, gap=H - M)
    assert always_on(Cron.parse("* * * * *"), LORD_HOWE, gap=M)
    # Daily at 00:30 with 24h between: the autumn change makes one gap 25 hours.
    daily = Cron.parse("30 0 * * *")
    assert always_on(daily, ZoneInfo("UTC"), gap=24 * H)
    assert not always_on(daily, NY, gap=24 * H)
    assert always_on(daily, NY, gap=25 * H)
    # Not every day: never "always".
    assert not always_on(Cron.parse("* * * * 1-5"), ZoneInfo("UTC"), gap=48 * H)
    # And the brute force agrees around New York's changes.
    for around in (utc(2026, 3, 8, 7), utc(2026, 11, 1, 6)):
        t = around - 30 * H
        while t < around + 30 * H:
            n = next_fire(daily, NY, t)
            assert n is not None
            assert n - t <= 25 * H
            t = n
