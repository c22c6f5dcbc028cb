"""When a cron schedule fires, as instants, in an IANA zone (robfig/cron's DST rule).

The fire times are the instants whose wall-clock time in the zone is a matching
minute. Within one segment of constant UTC offset (:mod:`crestline.calendar.zones`)
that is a wall-clock search converted back by subtracting the offset; a search that
runs past the segment's end continues in the next segment from its own first wall
time. So a wall time skipped by a spring-forward change belongs to no segment and
never fires, and one repeated by an autumn change belongs to two and fires twice.

Cost: one wall-clock search per segment crossed (two or three a year), whatever the
schedule's frequency.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from crestline.calendar.cron import Cron
from crestline.calendar.zones import MAX_INSTANT, MIN_INSTANT, segment_at

__all__ = ["fire_at_or_after", "fire_at_or_before", "next_fire", "prev_fire"]

_TICK = dt.timedelta(microseconds=1)
_SEGMENTS = 64  # > nine years of segments: the longest gap a valid schedule has


def fire_at_or_after(cron: Cron, tz: ZoneInfo, t: dt.datetime) -> dt.datetime | None:
    """The first fire instant >= ``t`` (aware), or None if none within nine years."""
    t = max(t, MIN_INSTANT)
    for _ in range(_SEGMENTS):
        if t >= MAX_INSTANT:
            return None
        seg = segment_at(tz, t)
        wall = cron.next_match(seg.wall(t))
        if wall is None:
            return None
        at = seg.instant(wall)
        if at < seg.end:
            return at
        t = seg.end
    return None


def fire_at_or_before(cron: Cron, tz: ZoneInfo, t: dt.datetime) -> dt.datetime | None:
    """The last fire instant <= ``t`` (aware), or None if none within nine years."""
    t = min(t, MAX_INSTANT - _TICK)
    for _ in range(_SEGMENTS):
        if t < MIN_INSTANT:
            return None
        seg = segment_at(tz, t)
        wall = cron.prev_match(seg.wall(t))
        if wall is None:
            return None
        at = seg.instant(wall)
        if at >= seg.start:
            return at
        t = seg.start - _TICK
    return None


def next_fire(cron: Cron, tz: ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    """The first fire strictly after ``after``."""
    return fire_at_or_after(cron, tz, after + _TICK)


def prev_fire(cron: Cron, tz: ZoneInfo, before: dt.datetime) -> dt.datetime | None:
    """The last fire strictly before ``before``."""
    return fire_at_or_before(cron, tz, before - _TICK)
