"""Instants and durations as they appear in specs, status fields and annotations.

Pure and dependency-free (the lowest layer): the API models validate with these, the
policy computes with them.
"""

from __future__ import annotations

import datetime as dt
import re

UTC = dt.UTC
# Durations in EventDay schedules: each unit at most once, in this order, with bounded
# digits (so nothing overflows), and in total at most LONGEST_SPEC_DURATION.
SPEC_DURATION_PATTERN = r"^([0-9]{1,3}d)?([0-9]{1,4}h)?([0-9]{1,6}m)?([0-9]{1,8}s)?$"
LONGEST_SPEC_DURATION = dt.timedelta(days=366)
DURATION_FORMAT_MESSAGE = (
    "must be a duration such as 90s, 30m, 2h, 1d or 1h30m (units in that order)"
)
DURATION_TOO_LONG_MESSAGE = "must be at most 366d"
DURATION_ZERO_MESSAGE = "must be longer than 0s"
_SPEC_DURATION = re.compile(SPEC_DURATION_PATTERN, re.ASCII)
_DURATION = re.compile(r"(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?", re.ASCII)
_LONGEST = dt.timedelta(days=999_999)  # timedelta's own limit; specs bound it far lower


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``; rejects empty, unknown units and
    non-ASCII digits, and (as ValueError, not OverflowError) absurd lengths."""
    stripped = text.strip()
    match = _DURATION.fullmatch(stripped)
    if not stripped or not match:
        raise ValueError(f"bad duration {text!r}: use e.g. 90s, 30m, 2h, 1d or 1h30m")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if seconds > _LONGEST.total_seconds():
        raise ValueError(f"bad duration {text!r}: longer than {_LONGEST.days} days")
    return dt.timedelta(seconds=seconds)


def parse_spec_duration(text: str, *, positive: bool) -> dt.timedelta:
    """A duration of an EventDay schedule, with the same checks as the CRD's rules."""
    if not text or not _SPEC_DURATION.match(text):
        raise ValueError(DURATION_FORMAT_MESSAGE)
    value = parse_duration(text)
    if value > LONGEST_SPEC_DURATION:
        raise ValueError(DURATION_TOO_LONG_MESSAGE)
    if positive and not value:
        raise ValueError(DURATION_ZERO_MESSAGE)
    return value


def parse_instant(text: str) -> dt.datetime:
    """An RFC 3339 instant (offset required) as aware UTC, e.g. from an annotation."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset, e.g. 2026-11-27T09:00:00Z")
    return value.astimezone(UTC)


def format_instant(t: dt.datetime) -> str:
    """The RFC 3339 form used in status fields and annotations: 2026-11-27T09:00:00Z."""
    return t.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
