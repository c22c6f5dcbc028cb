"""Local wall-clock times of one-off windows, as UTC instants.

A one-off window's times are wall-clock times in the schedule's zone. A time the
clocks skip (inside a spring-forward gap) means the instant the clocks jump, so a
02:30 start on that day starts at the jump (03:00 new time); a time that occurs twice
(an autumn change) means its first occurrence. Recurring windows follow the cron rule
instead (:mod:`crestline.calendar.fires`): a skipped time does not fire, a repeated
one fires twice.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from crestline.calendar.zones import transitions_between

UTC = dt.UTC
LOCAL_TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$"
FIRST_YEAR, LAST_YEAR = 1970, 9998
LOCAL_TIME_MESSAGE = (
    "must be a date and time that exists, YYYY-MM-DDThh:mm:ss with a year from 1970 to "
    "9998 (e.g. 2026-11-27T09:00:00; not 2026-02-30 nor 2027-02-29)"
)
_LOCAL_TIME = re.compile(LOCAL_TIME_PATTERN, re.ASCII)


def parse_local_time(text: str) -> dt.datetime:
    """A one-off window's wall-clock time (naive), with the CRD's checks."""
    if not _LOCAL_TIME.match(text):
        raise ValueError(LOCAL_TIME_MESSAGE)
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(LOCAL_TIME_MESSAGE) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(LOCAL_TIME_MESSAGE)
    return value


def to_utc(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """A wall-clock time in ``tz`` (naive) or an aware time, as aware UTC."""
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    # fold=0 is the first occurrence of a repeated time.
    first = local.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == local:
        return first
    # Skipped: fold=0 read it with the offset from before the jump, which puts it just
    # after the jump; the jump itself is the last offset change at or before that.
    changes = transitions_between(tz, first - dt.timedelta(days=2), first + dt.timedelta(seconds=1))
    return max(when for when, _, _ in changes if when <= first)


def parse_time(text: str, tz: ZoneInfo) -> dt.datetime:
    """ISO 8601 with or without offset; without one it is wall-clock time in ``tz``."""
    return to_utc(dt.datetime.fromisoformat(text.replace("Z", "+00:00")), tz)
