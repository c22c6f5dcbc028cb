"""Instants and durations as they appear in specs, status fields and annotations.

Pure and dependency-free (the lowest layer): the API models validate with these, the
policy computes with them.
"""

from __future__ import annotations

import datetime as dt
import re

UTC = dt.UTC
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse_duration(text: str) -> dt.timedelta:
    """``90s``, ``30m``, ``2h``, ``1d``, ``1h30m``; rejects empty and unknown units."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"bad duration {text!r}: use e.g. 90s, 30m, 2h, 1d or 1h30m")
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    return dt.timedelta(days=d, hours=h, minutes=m, seconds=s)


def parse_instant(text: str) -> dt.datetime:
    """An RFC 3339 instant (offset required) as aware UTC, e.g. from an annotation."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} needs a UTC offset, e.g. 2026-11-27T09:00:00Z")
    return value.astimezone(UTC)


def format_instant(t: dt.datetime) -> str:
    """The RFC 3339 form used in status fields and annotations: 2026-11-27T09:00:00Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
