"""Five-field cron expressions, matched in local wall-clock time.

Our own small parser (no dependency) because the semantics matter and are easy to pin
down: minute hour day-of-month month day-of-week; ``*``, lists, ``a-b`` ranges, ``/n``
steps, month and weekday names; Sunday is 0 or 7; and, as in Vixie cron, when both
day fields are restricted a day matches if *either* does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_SEARCH_LIMIT = dt.timedelta(days=366 * 5)


class CronError(ValueError):
    """The expression is not valid cron; the message says which field and why."""


def _value(token: str, names: dict[str, int], field: str) -> int:
    token = token.strip().upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise CronError(f"{field}: {token!r} is not a number")
    return int(token)


def _parse_field(text: str, field: str, lo: int, hi: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        part, step = item, 1
        if "/" in item:
            part, step_text = item.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{field}: bad step {step_text!r}")
            step = int(step_text)
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, names, field), _value(b, names, field)
        else:
            start = _value(part, names, field)
            end = hi if step > 1 else start
        if not (lo <= start <= hi and lo <= end <= hi) or start > end:
            raise CronError(f"{field}: {part!r} outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = text.split()
        if len(parts) != 5:
            raise CronError(
                f"cron needs 5 fields (minute hour day month weekday), got {len(parts)}"
            )
        parsed = [
            _parse_field(p, name, lo, hi, names)
            for p, (name, lo, hi, names) in zip(parts, _FIELDS, strict=True)
        ]
        weekdays = frozenset(d % 7 for d in parsed[4])
        return cls(
            parsed[0], parsed[1], parsed[2], parsed[3], weekdays, parts[2] != "*", parts[4] != "*"
        )

    def _day_matches(self, day: dt.date) -> bool:
        dom = day.day in self.days
        dow = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return dom or dow
        return dom and dow

    def next_after(self, after: dt.datetime) -> dt.datetime:
        """The first matching minute strictly after ``after`` (naive wall-clock time)."""
        t = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        limit = after + _SEARCH_LIMIT
        while t <= limit:
            if t.month not in self.months:
                t = (t.replace(day=1, hour=0, minute=0) + dt.timedelta(days=32)).replace(day=1)
                continue
            if not self._day_matches(t.date()):
                t = t.replace(hour=0, minute=0) + dt.timedelta(days=1)
                continue
            if t.hour not in self.hours:
                t = t.replace(minute=0) + dt.timedelta(hours=1)
                continue
            if t.minute not in self.minutes:
                t += dt.timedelta(minutes=1)
                continue
            return t
        raise CronError("the expression never matches (e.g. February 30)")
