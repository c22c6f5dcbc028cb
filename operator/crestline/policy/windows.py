"""EventDay schedule math: windows in a timezone, lead and trail, merging, phases.

All times handed out are timezone-aware UTC; local wall-clock times are only an input
format. That is what makes DST come out right: a one-off window from 00:00 to 00:00
the next day across the spring change lasts 23 real hours, and a recurring window's
``duration`` is elapsed time, so "6h from 22:00" across the autumn change ends at 03:00
local, not 04:00. A local time that does not exist (inside the spring gap) means the instant
the clocks jump (so a 02:30 event on that day starts at 03:00); an ambiguous one
(autumn) means its first occurrence.

Activations (window minus ``leadTime`` to window plus ``trailTime``) that overlap are
merged into one: the event stays in force across the gap rather than cooling down and
warming up again within minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from crestline.calendar.cron import Cron
from crestline.calendar.wallclock import to_utc

UTC = dt.UTC


class Phase(StrEnum):
    SCHEDULED = "Scheduled"
    WARMING = "Warming"
    ACTIVE = "Active"
    COOLING = "Cooling"
    COMPLETED = "Completed"


@dataclass(frozen=True, order=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start


def recurring(
    cron: Cron, duration: dt.timedelta, tz: ZoneInfo, since: dt.datetime, until: dt.datetime
) -> list[Window]:
    """Occurrences whose window ends after ``since`` and starts before ``until`` (UTC)."""
    out: list[Window] = []
    # Start looking early enough to catch a window that began before `since`.
    cursor = (since - duration).astimezone(tz).replace(tzinfo=None) - dt.timedelta(minutes=1)
    while True:
        cursor = cron.next_after(cursor)
        start = to_utc(cursor, tz)
        if start >= until:
            return out
        window = Window(start, start + duration)
        # Times inside a DST gap all map to the jump instant: keep one window for them.
        if window.end > since and (not out or window.start > out[-1].start):
            out.append(window)


@dataclass(frozen=True)
class Activation:
    """One merged stretch of event mode: core windows plus lead and trail."""

    start: dt.datetime  # first window start
    end: dt.datetime  # last window end
    lead: dt.timedelta
    trail: dt.timedelta

    @property
    def active_from(self) -> dt.datetime:
        return self.start - self.lead

    @property
    def active_until(self) -> dt.datetime:
        return self.end + self.trail

    def phase(self, now: dt.datetime) -> Phase | None:
        if self.active_from <= now < self.start:
            return Phase.WARMING
        if self.start <= now < self.end:
            return Phase.ACTIVE
        if self.end <= now < self.active_until:
            return Phase.COOLING
        return None


def merge(windows: Iterable[Window], lead: dt.timedelta, trail: dt.timedelta) -> list[Activation]:
    """Sorted activations; overlapping or touching ones are merged."""
    out: list[Activation] = []
    for w in sorted(w for w in windows if w.end > w.start):
        if out and w.start - lead <= out[-1].active_until:
            last = out[-1]
            out[-1] = Activation(last.start, max(last.end, w.end), lead, trail)
        else:
            out.append(Activation(w.start, w.end, lead, trail))
    return out


@dataclass(frozen=True)
class CalendarState:
    phase: Phase
    activation: Activation | None  # the current one, else the next one
    next_activation: dt.datetime | None  # when event mode next begins (after now)


def state_at(activations: Sequence[Activation], now: dt.datetime, recurring: bool) -> CalendarState:
    """The phase at ``now`` and what comes next."""
    current = next((a for a in activations if a.phase(now) is not None), None)
    upcoming = [a for a in activations if a.active_from > now]
    nxt = upcoming[0] if upcoming else None
    next_at = nxt.active_from if nxt else None
    if current is not None:
        phase = current.phase(now)
        assert phase is not None
        return CalendarState(phase, current, next_at)
    if nxt is not None or recurring:
        return CalendarState(Phase.SCHEDULED, nxt, next_at)
    return CalendarState(Phase.COMPLETED, None, None)
