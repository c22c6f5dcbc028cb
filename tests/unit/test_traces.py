"""The generated traces: deterministic for a seed, scaled to the peak, and of the character
their names claim (the benchmark's verdict per trace only means something if they are)."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

import pytest

from crestline_dev.sim.traces import (
    DEFAULT_PEAK_RPS,
    GENERATORS,
    MINUTES_PER_DAY,
    day_shape,
    diurnal_weekly,
    flash_crowds,
    growth,
    slow_ramps,
    step_down_up,
)


def rps(trace_per_minute: Sequence[float]) -> list[float]:
    return [x / 60.0 for x in trace_per_minute]


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_deterministic_for_a_seed_and_scaled_to_the_peak(name: str) -> None:
    gen = GENERATORS[name]
    a, b = gen(days=7), gen(days=7)
    assert a.per_minute == b.per_minute
    assert gen(days=7, seed=99).per_minute != a.per_minute
    assert len(a.per_minute) == 7 * MINUTES_PER_DAY
    assert a.peak_rps == pytest.approx(DEFAULT_PEAK_RPS)
    assert min(a.per_minute) > 0


def test_day_shape_has_a_night_trough_and_an_afternoon_peak() -> None:
    assert day_shape(4 * 60) < 0.3
    assert day_shape(13 * 60) > 0.85
    assert day_shape(4 * 60) < day_shape(20 * 60) < day_shape(13 * 60)


def test_diurnal_weekly_has_daily_and_weekly_seasonality() -> None:
    r = rps(diurnal_weekly(days=14).per_minute)
    day = MINUTES_PER_DAY

    def hours(lo: int, hi: int, days: range) -> float:
        return statistics.fmean(v for d in days for v in r[d * day + lo * 60 : d * day + hi * 60])

    weekdays, weekend = range(5), range(5, 7)
    assert hours(12, 14, weekdays) > 3 * hours(3, 5, weekdays)
    assert hours(0, 24, weekend) < 0.7 * hours(0, 24, weekdays)
    # Noise, but not white: neighbouring minutes are alike.
    steps = [abs(b / a - 1) for a, b in itertools.pairwise(r)]
    assert 0.01 < statistics.fmean(steps) < 0.1


def test_flash_crowds_jump_tenfold_within_a_minute_and_last_minutes() -> None:
    days, per_day = 7, 2.0
    r = rps(flash_crowds(days=days, per_day=per_day).per_minute)
    onsets = [m for m in range(1, len(r)) if r[m] > 5 * r[m - 1]]
    assert len(onsets) == round(days * per_day)
    for m in onsets:
        before = r[m - 1]
        assert max(r[m : m + 2]) > 8 * before  # ~10x, reached within the minute
        assert all(v > 5 * before for v in r[m : m + 3])  # lasts at least 3 minutes


def test_slow_ramps_change_slowly_over_a_wide_range() -> None:
    r = rps(slow_ramps(days=7).per_minute)
    quarter_hours = [statistics.fmean(r[i : i + 15]) for i in range(0, len(r) - 15, 15)]
    # No quarter of an hour moves the load by more than an eighth of the peak.
    changes = [abs(b - a) for a, b in itertools.pairwise(quarter_hours)]
    assert max(changes) < DEFAULT_PEAK_RPS / 8
    assert min(r) < 0.4 * max(r)


def test_step_down_up_drops_and_returns_within_a_minute() -> None:
    days = 7
    r = rps(step_down_up(days=days).per_minute)
    downs = [m for m in range(1, len(r)) if r[m] < 0.5 * r[m - 1]]
    ups = [m for m in range(1, len(r)) if r[m] > 2 * r[m - 1]]
    assert len(downs) == len(ups) >= 3 * days
    lengths = {u - d for d, u in zip(downs, ups, strict=True)}
    assert min(lengths) <= 5  # back before a 5-minute stabilization window ends
    assert max(lengths) >= 90  # and long after it


def test_growth_grows_fourfold_over_the_trace() -> None:
    weeks = 8
    r = rps(growth(days=7 * weeks, factor=4.0).per_minute)
    week = 7 * MINUTES_PER_DAY
    first, last = statistics.fmean(r[:week]), statistics.fmean(r[-week:])
    assert 3.0 < last / first < 5.0
    # Monotone week over week, despite the weekly pattern and the noise.
    means = [statistics.fmean(r[w * week : (w + 1) * week]) for w in range(weeks)]
    assert all(b > a for a, b in itertools.pairwise(means))
