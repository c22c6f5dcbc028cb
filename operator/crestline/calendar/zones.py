"""A zone's UTC offset as a sequence of segments of constant offset.

Inside one segment wall-clock time is instant plus offset, with no gap and no
repetition, so schedule arithmetic can be done in wall-clock time and converted back
exactly. A spring-forward change is where one segment ends and the next starts with a
larger offset (those wall times exist in neither); an autumn change starts a segment
with a smaller offset (those wall times exist in both).

``zoneinfo`` does not expose a zone's transitions, so they are found by sampling the
offset every few days and bisecting each change to the second, then cached per zone
and year (the data is immutable, so the cache is a pure function's memo). Two changes
closer together than the sampling step that restore the same offset would go unseen;
no zone has had such a pair since 1970 (Morocco's Ramadan pauses, the shortest, last
about a month). Segments also end at each 1 January UTC, which keeps every lookup to
one year's table.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

__all__ = ["MAX_INSTANT", "MIN_INSTANT", "Segment", "segment_at", "transitions_between"]

UTC = dt.UTC
_STEP = 4 * 86_400  # sampling step, see the module docstring
# Instants handled at all: wall-clock times must stay inside years 2..9998 (see cron).
MIN_INSTANT = dt.datetime(3, 1, 1, tzinfo=UTC)
MAX_INSTANT = dt.datetime(9998, 1, 1, tzinfo=UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Segment:
    """Instants ``start <= t < end`` all have wall-clock time ``t + offset``."""

    start: dt.datetime
    end: dt.datetime
    offset: dt.timedelta

    def wall(self, t: dt.datetime) -> dt.datetime:
        """The naive wall-clock time of an instant (aware, any zone) in this segment."""
        return (t.astimezone(UTC) + self.offset).replace(tzinfo=None)

    def instant(self, wall: dt.datetime) -> dt.datetime:
        """The instant of a wall-clock time in this segment's offset (aware UTC)."""
        return wall.replace(tzinfo=UTC) - self.offset


def _offset(tz: ZoneInfo, seconds: int) -> int:
    off = dt.datetime.fromtimestamp(seconds, tz).utcoffset()
    assert off is not None
    return int(off.total_seconds())


def _year_start(year: int) -> int:
    return (dt.datetime(year, 1, 1, tzinfo=UTC) - _EPOCH) // dt.timedelta(seconds=1)


@functools.lru_cache(maxsize=4096)
def _year(tz: ZoneInfo, year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(change instants, offset from each change on) in [1 Jan year, 1 Jan year+1), as
    epoch seconds; the first entry is 1 Jan itself."""
    start, end = _year_start(year), _year_start(year + 1)
    times, offsets = [start], [_offset(tz, start)]
    probe = start
    while probe < end:
        nxt = min(probe + _STEP, end - 1)
        if _offset(tz, nxt) != offsets[-1]:
            lo, hi = probe, nxt  # offset(lo) == offsets[-1] != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(tz, mid) == offsets[-1]:
                    lo = mid
                else:
                    hi = mid
            times.append(hi)
            offsets.append(_offset(tz, hi))
        if nxt == end - 1:
            break
        probe = nxt
    return tuple(times), tuple(offsets)


def _at(seconds: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(seconds=seconds)


def segment_at(tz: ZoneInfo, t: dt.datetime) -> Segment:
    """The segment containing instant ``t`` (MIN_INSTANT <= t < MAX_INSTANT)."""
    if not MIN_INSTANT <= t < MAX_INSTANT:
        raise ValueError(f"{t.isoformat()} is outside the supported years")
    year = t.astimezone(UTC).year
    times, offsets = _year(tz, year)
    seconds = (t - _EPOCH) // dt.timedelta(seconds=1)
    i = bisect.bisect_right(times, seconds) - 1
    end = times[i + 1] if i + 1 < len(times) else _year_start(year + 1)
    return Segment(_at(times[i]), _at(end), dt.timedelta(seconds=offsets[i]))


def transitions_between(
    tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.timedelta, dt.timedelta]]:
    """Offset changes in [start, end) as (instant, offset before, offset after)."""
    out = []
    for year in range(start.astimezone(UTC).year, end.astimezone(UTC).year + 1):
        times, offsets = _year(tz, year)
        before = _offset(tz, times[0] - 1)
        for when, off in zip(times, offsets, strict=True):
            at = _at(when)
            if off != before and start <= at < end:
                out.append((at, dt.timedelta(seconds=before), dt.timedelta(seconds=off)))
            before = off
    return out
