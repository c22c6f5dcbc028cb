"""Runs of a cron schedule: fires that follow each other by at most a given gap.

An EventDay merges activations whose lead..trail spans touch, so two fires of one
recurring window belong to the same activation when they are at most
``lead + duration + trail`` apart. Finding where such a run starts or ends by
stepping fire by fire costs as much as the schedule fires (``* * * * *``: 1440 steps a
day). Here the run is found from the schedule's structure instead, in wall-clock time
inside one segment of constant UTC offset (where wall-clock gaps are real gaps):

- within an hour, the gaps are those between the minute values, the same every hour;
- between two hours of one day, the gap is fixed by the hour values and the first and
  last minute;
- between two matching days, by the number of days and the first and last fire time.

So a run's start is the latest "break" (a fire whose gap to the previous one is too
big) at or before the fire, looked up level by level with bit masks; only the day
level walks, one matching day per step, and not at all when every day matches. At a
segment boundary (a DST change, or 1 January) the gap to the previous segment's last
fire is measured exactly, as instants; that crossing is the only repeated step, two or
three a year. :func:`always_on` tells when a schedule's run never ends at all.
"""

from __future__ import annotations

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from crestline.calendar.cron import Cron
from crestline.calendar.fires import next_fire, prev_fire
from crestline.calendar.zones import segment_at, transitions_between

__all__ = ["always_on", "run_end", "run_start"]

_MINUTE = dt.timedelta(minutes=1)
_DAY_MINUTES = 1440
# DST rules checked by always_on: the rules in force now, and their announced future.
_RULE_YEARS = (1990, 2060)


def _low(mask: int) -> int:
    return (mask & -mask).bit_length() - 1


def _high(mask: int) -> int:
    return mask.bit_length() - 1


def _next_bit(mask: int, i: int) -> int | None:
    rest = mask >> i
    return None if rest == 0 else i + _low(rest)


def _prev_bit(mask: int, i: int) -> int | None:
    if i < 0:
        return None
    low = mask & ((2 << i) - 1)
    return None if low == 0 else _high(low)


@functools.lru_cache(maxsize=1024)
def _breaks(minutes: int, hours: int, gap: int) -> tuple[int, int]:
    """(minutes, hours) whose distance from the previous fire of the same day exceeds
    ``gap`` minutes: minute values after a big gap in every hour, and hours entered
    after a big gap from the previous hour's last minute. The day's first fire is not
    among them (its predecessor is on another day)."""
    first_minute, last_minute = _low(minutes), _high(minutes)
    minute_breaks, hour_breaks = 0, 0
    previous = None
    for m in range(60):
        if minutes >> m & 1:
            if previous is not None and m - previous > gap:
                minute_breaks |= 1 << m
            previous = m
    previous = None
    for h in range(24):
        if hours >> h & 1:
            if previous is not None and (h - previous) * 60 + first_minute - last_minute > gap:
                hour_breaks |= 1 << h
            previous = h
    return minute_breaks, hour_breaks


def _at(day: dt.date, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute)


class _Shape:
    """The parts of a schedule's structure a run walk needs, for one gap."""

    def __init__(self, cron: Cron, gap: int) -> None:
        self.cron = cron
        self.minute_breaks, self.hour_breaks = _breaks(cron.minutes, cron.hours, gap)
        self.m0, self.m_last = _low(cron.minutes), _high(cron.minutes)
        self.h0, self.h_last = _low(cron.hours), _high(cron.hours)
        first, last = self.h0 * 60 + self.m0, self.h_last * 60 + self.m_last
        # Two matching days chain when they are at most this many days apart.
        self.day_reach = (gap - first + last) // _DAY_MINUTES
        self.breaks_within_day = bool(self.minute_breaks or self.hour_breaks)


def _wall_run_start(shape: _Shape, fire: dt.datetime, lowest: dt.datetime) -> dt.datetime:
    """The first fire of the run through wall-clock ``fire``, not before ``lowest``."""
    cron = shape.cron
    day, h, m = fire.date(), fire.hour, fire.minute

    def clamp(found: dt.datetime) -> dt.datetime:
        if found >= lowest:
            return found
        first = cron.next_match(lowest)
        assert first is not None
        assert first <= fire
        return first

    brk = _prev_bit(shape.minute_breaks, m)
    if brk is not None:
        return clamp(_at(day, h, brk))
    if shape.hour_breaks >> h & 1:
        return clamp(_at(day, h, shape.m0))
    before = _prev_bit(cron.hours, h - 1)
    if before is not None:
        if shape.minute_breaks:
            return clamp(_at(day, before, _high(shape.minute_breaks)))
        brk = _prev_bit(shape.hour_breaks, before)
        if brk is not None:
            return clamp(_at(day, brk, shape.m0))
    # The run reaches the first fire of `day`; walk back over matching days.
    while True:
        first = _at(day, shape.h0, shape.m0)
        if first < lowest:
            return clamp(first)
        if shape.day_reach >= 1 and cron.every_day and not shape.breaks_within_day:
            return clamp(lowest - _MINUTE)  # every day chains to the next: down to lowest
        earlier = cron.prev_day(day - dt.timedelta(days=1), lowest.date())
        if earlier is None or (day - earlier).days > shape.day_reach:
            return first
        if shape.minute_breaks:
            return clamp(_at(earlier, shape.h_last, _high(shape.minute_breaks)))
        if shape.hour_breaks:
            return clamp(_at(earlier, _high(shape.hour_breaks), shape.m0))
        day = earlier


def _wall_run_end(shape: _Shape, fire: dt.datetime, highest: dt.datetime) -> dt.datetime:
    """The last fire of the run through wall-clock ``fire``, not after ``highest``."""
    cron = shape.cron
    day, h, m = fire.date(), fire.hour, fire.minute

    def clamp(found: dt.datetime) -> dt.datetime:
        if found <= highest:
            return found
        last = cron.prev_match(highest)
        assert last is not None
        assert last >= fire
        return last

    def minute_before(limit: int) -> int:
        found = _prev_bit(cron.minutes, limit - 1)
        assert found is not None
        return found

    brk = _next_bit(shape.minute_breaks, m + 1)
    if brk is not None:
        return clamp(_at(day, h, minute_before(brk)))
    after = _next_bit(cron.hours, h + 1)
    if after is not None:
        if shape.hour_breaks >> after & 1:
            return clamp(_at(day, h, shape.m_last))
        if shape.minute_breaks:
            return clamp(_at(day, after, minute_before(_low(shape.minute_breaks))))
        brk = _next_bit(shape.hour_breaks, after + 1)
        if brk is not None:
            hour = _prev_bit(cron.hours, brk - 1)
            assert hour is not None
            return clamp(_at(day, hour, shape.m_last))
    while True:
        last = _at(day, shape.h_last, shape.m_last)
        if last > highest:
            return clamp(last)
        if shape.day_reach >= 1 and cron.every_day and not shape.breaks_within_day:
            return clamp(highest + _MINUTE)
        later = cron.next_day(day + dt.timedelta(days=1), highest.date())
        if later is None or (later - day).days > shape.day_reach:
            return last
        if shape.minute_breaks:
            return clamp(_at(later, shape.h0, minute_before(_low(shape.minute_breaks))))
        if shape.hour_breaks:
            hour = _prev_bit(cron.hours, _low(shape.hour_breaks) - 1)
            assert hour is not None
            return clamp(_at(later, hour, shape.m_last))
        day = later


def run_start(
    cron: Cron, tz: ZoneInfo, fire: dt.datetime, *, gap: dt.timedelta, steps: int
) -> tuple[dt.datetime, bool]:
    """The first fire of the run through ``fire`` (fires at most ``gap`` apart).

    Returns (first fire, exact): ``exact`` is False when ``steps`` segment crossings
    did not reach the run's start, and the fire returned is the earliest one reached.
    """
    shape = _Shape(cron, gap // _MINUTE)
    for _ in range(steps):
        seg = segment_at(tz, fire)
        wall = _wall_run_start(shape, seg.wall(fire), seg.wall(seg.start))
        first = seg.instant(wall)
        before = prev_fire(cron, tz, first)
        if before is None or first - before > gap:
            return first, True
        fire = before
    return fire, False


def run_end(
    cron: Cron, tz: ZoneInfo, fire: dt.datetime, *, gap: dt.timedelta, steps: int
) -> tuple[dt.datetime, bool]:
    """The last fire of the run through ``fire``; see :func:`run_start`."""
    shape = _Shape(cron, gap // _MINUTE)
    for _ in range(steps):
        seg = segment_at(tz, fire)
        last_wall = seg.wall(seg.end - dt.timedelta(microseconds=1))
        last = seg.instant(_wall_run_end(shape, seg.wall(fire), last_wall))
        after = next_fire(cron, tz, last)
        if after is None or after - last > gap:
            return last, True
        fire = after
    return fire, False


@functools.lru_cache(maxsize=1024)
def _rule_changes(tz: ZoneInfo) -> frozenset[tuple[int, int]]:
    """The zone's kinds of offset change, as (wall time of day in seconds just before the
    change, change in seconds), over the years of :data:`_RULE_YEARS`."""
    start = dt.datetime(_RULE_YEARS[0], 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(_RULE_YEARS[1], 1, 1, tzinfo=dt.UTC)
    kinds = set()
    for when, before, after in transitions_between(tz, start, end):
        wall = when + before
        seconds = wall.hour * 3600 + wall.minute * 60 + wall.second
        kinds.add((seconds, int((after - before).total_seconds())))
    return frozenset(kinds)


@functools.lru_cache(maxsize=1024)
def always_on(cron: Cron, tz: ZoneInfo, *, gap: dt.timedelta) -> bool:
    """Whether consecutive fires are never more than ``gap`` apart, so the whole timeline
    is one run (checked against the zone's offset changes of :data:`_RULE_YEARS`).

    Only schedules that match every day and whose day has no inner break qualify; for
    those, the real gap across an offset change depends only on the wall time of the
    change and its size: from the last fire before it to the first fire after it.
    """
    shape = _Shape(cron, gap // _MINUTE)
    if not cron.every_day or shape.breaks_within_day or shape.day_reach < 1:
        return False
    limit = gap.total_seconds()
    return all(_across(cron, wall, change) <= limit for wall, change in _rule_changes(tz))


def _across(cron: Cron, wall: int, change: int) -> int:
    """Seconds from the last fire before an offset change at wall time of day ``wall``
    (seconds) to the first fire after it, for a schedule that fires every day."""
    before = _fire_time(cron, wall - 1, backward=True)
    after_wall = wall + change
    after = _fire_time(cron, after_wall, backward=False)
    return (wall - before) + (after - after_wall)


def _fire_time(cron: Cron, second: int, *, backward: bool) -> int:
    """The fire time of day nearest ``second`` (seconds, any integer) going backward
    (<=) or forward (>=), as seconds on the same scale (so possibly another day)."""
    day = 86_400
    base, t = divmod(second, day)
    minute = t // 60 if backward or t % 60 == 0 else t // 60 + 1
    probe = dt.datetime(2001, 1, 2) + dt.timedelta(minutes=minute)  # every day matches
    found = cron.prev_match(probe) if backward else cron.next_match(probe)
    assert found is not None
    days = (found.date() - dt.date(2001, 1, 2)).days
    return (base + days) * day + found.hour * 3600 + found.minute * 60
