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
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from crestline.policy.cron import Cron

UTC = dt.UTC
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class Phase(StrEnum):
    SCHEDULED = "Scheduled"
    WARMING = "Warming"
    ACTIVE = "Active"
    COOLING = "Cooling"
    COMPLETED = "Completed"


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``; rejects empty and unknown units."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"bad duration {text!r}: use e.g. 90s, 30m, 2h, 1d or 1h30m")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(days=d, hours=h, minutes=m, seconds=s)


def to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in ``tz`` (naive) or an aware time, as aware UTC."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    # fold=0 picks the first occurrence of an ambiguous (autumn) time.
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    # Nonexistent (inside the spring gap): the instant the clocks jump, i.e. the first
    # instant whose wall time is past `local`. Every time in the gap maps to it.
    lo = local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = first
    while hi - lo > dt.timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).replace(tzinfo=None) > local:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) + (
        dt.timedelta(seconds=1) if hi.microsecond else dt.timedelta()
    )


@dataclass(frozen=True, order=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start


def parse_instant(text: str) -> dt.datetime:
    """An RFC 3339 instant (offset required) as aware UTC, e.g. from an annotation."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset, e.g. 2026-11-27T09:00:00Z")
    return value.astimezone(UTC)


def format_instant(t: dt.datetime) -> str:
    """The RFC 3339 form used in status fields and annotations: 2026-11-27T09:00:00Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str, tz: ZoneInfo) -> dt.datetime:
    """ISO 8601 with or without offset; without one it is wall-clock time in ``tz``."""
    return to_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), tz)


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
