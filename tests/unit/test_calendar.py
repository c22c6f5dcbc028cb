"""EventDay schedule math: cron, DST-correct windows, lead/trail, merging, phases."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crestline.calendar.cron import Cron, CronError
from crestline.calendar.instants import parse_duration
from crestline.calendar.wallclock import parse_time
from crestline.policy.windows import UTC, Phase, Window, merge, recurring, state_at

BERLIN = ZoneInfo("Europe/Berlin")
H = dt.timedelta(hours=1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_cron_fields_names_and_vixie_day_rule() -> None:
    c = Cron.parse("0 18 * * SAT")
    assert c.next_after(dt.datetime(2026, 11, 21, 12)) == dt.datetime(2026, 11, 21, 18)
    assert Cron.parse("*/20 9-10 * * 1-5").next_after(
        dt.datetime(2026, 11, 20, 10, 45)
    ) == dt.datetime(2026, 11, 23, 9, 0)
    # Both day fields restricted: either matches (the 1st, or any Monday).
    either = Cron.parse("0 0 1 * MON")
    assert either.next_after(dt.datetime(2026, 11, 24)) == dt.datetime(2026, 11, 30)
    assert Cron.parse("0 0 * * 7").next_after(dt.datetime(2026, 11, 21)) == dt.datetime(
        2026, 11, 22
    )


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * * *", "5 fields"),
        ("61 * * * *", "minute"),
        ("* * * 13 *", "month"),
        ("* * * * FUNDAY", "day of week"),
        ("*/0 * * * *", "step"),
        ("5-1 * * * *", "minute"),
    ],
)
def test_bad_cron_is_a_clear_error(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        Cron.parse(expr)


def test_impossible_cron_never_matches() -> None:
    with pytest.raises(CronError, match="never matches"):
        Cron.parse("0 0 30 2 *").next_after(dt.datetime(2026, 1, 1))


def test_durations() -> None:
    assert parse_duration("1h30m") == dt.timedelta(minutes=90)
    assert parse_duration("2d") == dt.timedelta(days=2)
    for bad in ("", "5x", "h", "1.5h"):
        with pytest.raises(ValueError, match="bad duration"):
            parse_duration(bad)


def test_one_off_window_across_spring_forward_has_its_real_length() -> None:
    start = parse_time("2026-03-29T00:00:00", BERLIN)
    end = parse_time("2026-03-30T00:00:00", BERLIN)
    assert end - start == 23 * H
    autumn = parse_time("2026-10-26T00:00:00", BERLIN) - parse_time("2026-10-25T00:00", BERLIN)
    assert autumn == 25 * H


def test_recurring_duration_is_elapsed_time_across_dst() -> None:
    # Saturday 22:00 for 6 h, on the night the clocks go back (2026-10-25 03:00 -> 02:00).
    windows = recurring(
        Cron.parse("0 22 * * SAT"), 6 * H, BERLIN, utc(2026, 10, 24), utc(2026, 10, 25)
    )
    assert len(windows) == 1
    assert windows[0].length == 6 * H
    assert windows[0].start == utc(2026, 10, 24, 20)  # 22:00 CEST
    assert windows[0].end.astimezone(BERLIN).hour == 3  # 03:00 CET, not 04:00


def test_nonexistent_local_time_moves_forward() -> None:
    t = parse_time("2026-03-29T02:30:00", BERLIN)  # inside the spring gap
    assert t == utc(2026, 3, 29, 1)  # 03:00 CEST, the instant the clocks jump
    gap = recurring(
        Cron.parse("*/30 * * * *"), H / 12, BERLIN, utc(2026, 3, 29, 0, 20), utc(2026, 3, 29, 1, 40)
    )
    assert [w.start for w in gap] == [
        utc(2026, 3, 29, 0, 30),
        utc(2026, 3, 29, 1),
        utc(2026, 3, 29, 1, 30),
    ]


def test_phases_with_lead_and_trail() -> None:
    w = Window(utc(2026, 11, 27, 9), utc(2026, 11, 27, 21))
    acts = merge([w], lead=2 * H, trail=H)
    assert state_at(acts, utc(2026, 11, 27, 6), False).phase is Phase.SCHEDULED
    assert state_at(acts, utc(2026, 11, 27, 7), False).phase is Phase.WARMING
    assert state_at(acts, utc(2026, 11, 27, 12), False).phase is Phase.ACTIVE
    assert state_at(acts, utc(2026, 11, 27, 21, 30), False).phase is Phase.COOLING
    assert state_at(acts, utc(2026, 11, 27, 22), False).phase is Phase.COMPLETED
    assert state_at(acts, utc(2026, 11, 27, 22), True).phase is Phase.SCHEDULED
    assert state_at(acts, utc(2026, 11, 27, 6), False).next_activation == utc(2026, 11, 27, 7)


def test_overlapping_activations_merge() -> None:
    a = Window(utc(2026, 1, 1, 10), utc(2026, 1, 1, 12))
    b = Window(utc(2026, 1, 1, 13), utc(2026, 1, 1, 14))  # within lead + trail of a
    c = Window(utc(2026, 1, 2, 10), utc(2026, 1, 2, 12))
    acts = merge([c, a, b], lead=H, trail=H)
    assert [(x.start, x.end) for x in acts] == [(a.start, b.end), (c.start, c.end)]


instants = st.datetimes(
    min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 1, 1), timezones=st.just(UTC)
)


@given(
    st.lists(st.tuples(instants, st.integers(1, 48 * 60)), max_size=8),
    st.integers(0, 600),
    st.integers(0, 600),
    instants,
)
def test_merged_activations_are_disjoint_and_the_phase_is_consistent(
    raw: list[tuple[dt.datetime, int]], lead_min: int, trail_min: int, now: dt.datetime
) -> None:
    lead, trail = dt.timedelta(minutes=lead_min), dt.timedelta(minutes=trail_min)
    windows = [Window(s, s + dt.timedelta(minutes=m)) for s, m in raw]
    acts = merge(windows, lead, trail)
    for x, y in itertools.pairwise(acts):
        assert x.active_until < y.active_from
    for w in windows:  # every window is inside exactly one activation
        assert sum(a.start <= w.start and w.end <= a.end for a in acts) == 1
    state = state_at(acts, now, recurring=False)
    in_any = any(a.active_from <= now < a.active_until for a in acts)
    assert (state.phase in (Phase.WARMING, Phase.ACTIVE, Phase.COOLING)) == in_any
    if state.next_activation is not None:
        assert state.next_activation > now


@given(
    st.sampled_from(["0 18 * * SAT", "30 2 * * *", "0 0 1 * *", "*/30 * * * *"]),
    st.integers(1, 24 * 60),
    st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    instants,
)
def test_recurring_windows_have_their_duration_and_cover_the_range(
    expr: str, minutes: int, zone: str, since: dt.datetime
) -> None:
    duration = dt.timedelta(minutes=minutes)
    until = since + dt.timedelta(days=32)  # every expression matches within a month
    windows = recurring(Cron.parse(expr), duration, ZoneInfo(zone), since, until)
    assert windows
    for w in windows:
        assert w.length == duration
        assert w.end > since
        assert w.start < until
    assert windows == sorted(windows)
