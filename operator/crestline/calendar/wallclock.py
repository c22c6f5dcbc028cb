"""Local wall-clock times in an IANA zone, as UTC instants (the DST rules live here)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


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


def parse_time(text: str, tz: ZoneInfo) -> dt.datetime:
    """ISO 8601 with or without offset; without one it is wall-clock time in ``tz``."""
    return to_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
