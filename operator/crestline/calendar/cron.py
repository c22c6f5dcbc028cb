"""Cron schedules with the syntax and meaning of a Kubernetes CronJob ``schedule``.

A CronJob's schedule is parsed by ``cron.ParseStandard`` of robfig/cron v3, after the
API server rejects any schedule containing ``TZ`` (the zone is ``spec.timeZone``).
EventDay schedules accept the same strings and mean the same times, so a team can
paste a CronJob schedule (or a KEDA cron trigger's) and get what it expects.

Why hand-written: the maintained Python libraries do not have robfig's meaning.
cronsim and croniter follow Vixie/Debian cron: ``*/1`` in a day field counts as a
restriction (robfig treats ``*``, ``?`` and ``*/1`` as "star", so ``0 0 13 * */1`` fires
on the 13th only), they accept weekday ``7`` (robfig: 0-6), and they move or merge
fire times around DST changes (robfig computes in wall-clock time, see below).

The syntax, exactly as robfig/cron v3 ``ParseStandard`` (rows of its tests are in
tests/unit/test_cron_upstream.py):

- five fields split on Unicode white space (Go's ``strings.Fields``): minute 0-59,
  hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 0-6 or SUN-SAT
  (names are case-insensitive);
- a field is a comma list (empty items are ignored) of ``*`` or ``?``, ``N``, ``N-M``,
  each optionally ``/STEP``; ``N/STEP`` means ``N-max/STEP`` (so ``5/1`` is 5 to max);
  ``*-anything`` is ``*``; numbers are ASCII decimal with an optional ``+``;
- ``@yearly @annually @monthly @weekly @daily @midnight @hourly``;
- the day rule: when the day-of-month or the day-of-week field is a star (an item
  ``*``, ``?`` or ``*/1``), a day must match both; otherwise either. ``*/2`` and
  ``1-31`` are restrictions.

Beyond what a CronJob rejects, :meth:`Cron.parse` also rejects a schedule that can
never fire (``0 0 30 2 *``, an empty field) and ``@every``: a CronJob anchors
``@every`` at its own creation time, which an EventDay schedule does not have.

Meaning across DST changes, robfig's rule: fire times are wall-clock times in the
schedule's zone. A wall time skipped by a spring-forward change does not fire that
day (``30 2 * * *`` in New York skips 2026-03-08); a wall time that occurs twice in an
autumn change fires at both instants (``0 * * * *`` fires at 01:00 EDT and 01:00
EST). The zone arithmetic lives in :mod:`crestline.calendar.fires`; this module only
knows wall-clock times (naive datetimes).

All methods are pure; computation is field arithmetic on bit masks (skip months, days,
hours), so the cost does not depend on how often the schedule fires.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property

__all__ = [
    "DESCRIPTORS",
    "DESCRIPTOR_MESSAGE",
    "EVERY_MESSAGE",
    "FIELDS_MESSAGE",
    "GO_SPACE",
    "IMPOSSIBLE_DAY_MESSAGE",
    "NO_DAY_MESSAGE",
    "TZ_MESSAGE",
    "Cron",
    "CronError",
    "empty_message",
    "order_message",
    "syntax_message",
]

_MINUTE = dt.timedelta(minutes=1)
MIN_YEAR, MAX_YEAR = 2, 9998  # wall times are searched inside these years only
_SEARCH_YEARS = 9  # the longest gap of a schedule that can fire: Feb 29 2096 -> 2104

MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Go's unicode.IsSpace, which strings.Fields splits on.
GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPLIT = re.compile(f"[{GO_SPACE}]+")
_ATOI = re.compile(r"[+-]?[0-9]+")  # Go strconv.Atoi: ASCII digits only
_INT64_MAX = 2**63 - 1
_LONGEST_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class CronError(ValueError):
    """Not a schedule a CronJob accepts, or one that can never fire.

    The message is one of the rule messages below, word for word the message of the
    matching CEL rule in the EventDay CRD (crestline.api.schedule), so a schedule gets
    the same answer from the API server and from the operator.
    """


TZ_MESSAGE = (
    "TZ= and CRON_TZ= are not allowed in the schedule (as in a CronJob): use schedule.timezone"
)
EVERY_MESSAGE = (
    "@every is not supported: a CronJob counts it from its own creation time, which an "
    "EventDay does not have; use five fields, e.g. '*/30 * * * *'"
)
DESCRIPTOR_MESSAGE = (
    "unknown descriptor: use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
)
FIELDS_MESSAGE = "expected exactly 5 fields: minute hour day-of-month month day-of-week"
IMPOSSIBLE_DAY_MESSAGE = (
    "day-of-month: none of its days exists in the selected months (e.g. 30 February), so "
    "the schedule never fires"
)
NO_DAY_MESSAGE = "day-of-month and day-of-week: no day can ever match, so the schedule never fires"
_VALUES = {
    "minute": "0 to 59",
    "hour": "0 to 23",
    "day-of-month": "1 to 31",
    "month": "1 to 12 in ASCII digits, or JAN to DEC",
    "day-of-week": "0 to 6 in ASCII digits (Sunday is 0), or SUN to SAT",
}


def syntax_message(field: str) -> str:
    values = _VALUES[field]
    if "ASCII" not in values:
        values += " in ASCII digits"
    return (
        f"{field}: each comma-separated item must be *, ?, N or N-M, optionally followed by "
        f"/STEP (STEP at least 1), where N is {values}"
    )


def order_message(field: str) -> str:
    return f"{field}: a range N-M must not start after it ends"


def empty_message(field: str) -> str:
    return f"{field}: has no value (only commas), so the schedule never fires"


@dataclass(frozen=True)
class _Bounds:
    name: str
    lo: int
    hi: int
    names: tuple[str, ...] = ()  # names[i] has the value lo + i


_FIELDS = (
    _Bounds("minute", 0, 59),
    _Bounds("hour", 0, 23),
    _Bounds("day-of-month", 1, 31),
    _Bounds("month", 1, 12, MONTH_NAMES),
    _Bounds("day-of-week", 0, 6, DAY_NAMES),
)


def _go_lower(text: str) -> str:
    """``strings.ToLower`` as far as it can produce an ASCII name (U+0130 is i in Go)."""
    return text.replace("\u0130", "i").replace("\u212a", "k").lower()


def _atoi(text: str, bounds: _Bounds) -> int:
    """strconv.Atoi, then robfig's "no negative numbers"."""
    if not _ATOI.fullmatch(text) or not 0 <= int(text) <= _INT64_MAX:
        raise CronError(syntax_message(bounds.name))
    return int(text)


def _int_or_name(text: str, bounds: _Bounds) -> int:
    lowered = _go_lower(text)
    if lowered in bounds.names:
        return bounds.lo + bounds.names.index(lowered)
    return _atoi(text, bounds)


def _parse_range(expr: str, bounds: _Bounds) -> tuple[int, bool]:
    """One comma item as (bit mask, is-star), with robfig's rules and checks, in its order."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    star = low_and_high[0] in ("*", "?")
    if star:
        start, end = bounds.lo, bounds.hi
    else:
        start = _int_or_name(low_and_high[0], bounds)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds)
        else:
            raise CronError(syntax_message(bounds.name))  # too many hyphens
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _atoi(range_and_step[1], bounds)
        if len(low_and_high) == 1:
            end = bounds.hi  # "N/step" means "N-max/step"
        star = star and step <= 1
    else:
        raise CronError(syntax_message(bounds.name))  # too many slashes
    if not (bounds.lo <= start <= bounds.hi and bounds.lo <= end <= bounds.hi):
        raise CronError(syntax_message(bounds.name))  # robfig: below minimum, above maximum
    if start > end:
        raise CronError(order_message(bounds.name))
    if step == 0:
        raise CronError(syntax_message(bounds.name))
    mask = 0
    for value in range(start, end + 1, step):
        mask |= 1 << value
    return mask, star


def _parse_field(text: str, bounds: _Bounds) -> tuple[int, bool]:
    mask, star = 0, False
    for item in text.split(","):
        if item:  # strings.FieldsFunc drops empty items
            bits, item_star = _parse_range(item, bounds)
            mask |= bits
            star = star or item_star
    return mask, star


def _next_bit(mask: int, i: int) -> int | None:
    """The smallest set bit >= i."""
    rest = mask >> i
    return None if rest == 0 else i + (rest & -rest).bit_length() - 1


def _prev_bit(mask: int, i: int) -> int | None:
    """The largest set bit <= i."""
    if i < 0:
        return None
    low = mask & ((2 << i) - 1)
    return None if low == 0 else low.bit_length() - 1


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return _LONGEST_MONTH[month - 1]


@dataclass(frozen=True)
class Cron:
    """A parsed schedule: one bit mask per field (bit i set = value i matches)."""

    text: str
    minutes: int
    hours: int
    days: int  # day-of-month, bits 1..31
    months: int  # bits 1..12
    weekdays: int  # bits 0..6, 0 = Sunday
    day_and: bool = field(default=True)  # a star day field: both day fields must match

    @classmethod
    def parse(cls, text: str) -> Cron:
        if not text:
            raise CronError(FIELDS_MESSAGE)
        if "TZ" in text:
            raise CronError(TZ_MESSAGE)
        expanded = text
        if text.startswith("@"):
            if text.startswith("@every "):
                raise CronError(EVERY_MESSAGE)
            if text not in DESCRIPTORS:
                raise CronError(DESCRIPTOR_MESSAGE)
            expanded = DESCRIPTORS[text]
        parts = [p for p in _SPLIT.split(expanded) if p]
        if len(parts) != 5:
            raise CronError(FIELDS_MESSAGE)
        parsed = [_parse_field(p, b) for p, b in zip(parts, _FIELDS, strict=True)]
        (minutes, _), (hours, _), (days, dom_star), (months, _), (weekdays, dow_star) = parsed
        cron = cls(text, minutes, hours, days, months, weekdays, dom_star or dow_star)
        cron._check_can_fire()
        return cron

    def _check_can_fire(self) -> None:
        """Reject what can never match (robfig would search five years and give up)."""
        for name, mask in (("minute", self.minutes), ("hour", self.hours), ("month", self.months)):
            if not mask:
                raise CronError(empty_message(name))
        longest = max(_LONGEST_MONTH[m - 1] for m in range(1, 13) if self.months >> m & 1)
        fits = bool(self.days & ((2 << longest) - 1))
        if self.day_and:
            if not self.days:
                raise CronError(empty_message("day-of-month"))
            if not self.weekdays:
                raise CronError(empty_message("day-of-week"))
            if not fits:
                raise CronError(IMPOSSIBLE_DAY_MESSAGE)
        elif not fits and not self.weekdays:
            raise CronError(NO_DAY_MESSAGE)

    # -- days ----------------------------------------------------------------------------
    @cached_property
    def _weekday_masks(self) -> tuple[int, ...]:
        """For each weekday of the 1st (0 = Sunday): the days of that month on a weekday."""
        masks = []
        for first in range(7):
            mask = 0
            for day in range(1, 32):
                if self.weekdays >> ((first + day - 1) % 7) & 1:
                    mask |= 1 << day
            masks.append(mask)
        return tuple(masks)

    def day_mask(self, year: int, month: int) -> int:
        """Matching days of one month, as bits 1..31 (0 if the month does not match)."""
        if not self.months >> month & 1:
            return 0
        first = dt.date(year, month, 1).isoweekday() % 7
        by_weekday = self._weekday_masks[first]
        mask = self.days & by_weekday if self.day_and else self.days | by_weekday
        return mask & ((2 << _days_in(year, month)) - 1)

    @cached_property
    def every_day(self) -> bool:
        """Whether every calendar date matches (all months, and the day rule always holds)."""
        all_days, all_weekdays = (2 << 31) - 2, (1 << 7) - 1
        dom, dow = self.days & all_days == all_days, self.weekdays & all_weekdays == all_weekdays
        all_months = self.months & 0x1FFE == 0x1FFE
        return all_months and ((dom and dow) if self.day_and else (dom or dow))

    def next_day(self, day: dt.date, highest: dt.date) -> dt.date | None:
        """The first matching date >= ``day`` and <= ``highest``."""
        y, mo, d = day.year, day.month, day.day
        while (y, mo) <= (highest.year, highest.month):
            found = _next_bit(self.day_mask(y, mo), d)
            if found is not None:
                date = dt.date(y, mo, found)
                return date if date <= highest else None
            y, mo, d = (y + 1, 1, 1) if mo == 12 else (y, mo + 1, 1)
        return None

    def prev_day(self, day: dt.date, lowest: dt.date) -> dt.date | None:
        """The last matching date <= ``day`` and >= ``lowest``."""
        y, mo, d = day.year, day.month, day.day
        while (y, mo) >= (lowest.year, lowest.month):
            found = _prev_bit(self.day_mask(y, mo), d)
            if found is not None:
                date = dt.date(y, mo, found)
                return date if date >= lowest else None
            y, mo, d = (y - 1, 12, 31) if mo == 1 else (y, mo - 1, 31)
        return None

    def matches(self, wall: dt.datetime) -> bool:
        """Whether this wall-clock minute is a fire time (seconds must be zero)."""
        return (
            wall.second == 0
            and wall.microsecond == 0
            and bool(self.minutes >> wall.minute & 1)
            and bool(self.hours >> wall.hour & 1)
            and bool(self.day_mask(wall.year, wall.month) >> wall.day & 1)
        )

    # -- wall-clock search -----------------------------------------------------------------
    def next_match(self, wall: dt.datetime) -> dt.datetime | None:
        """The first matching wall-clock minute at or after ``wall`` (naive), or None.

        None means none within nine years (no schedule that passed :meth:`parse` has a
        longer gap) or none before the end of year 9998.
        """
        if wall.second or wall.microsecond:
            wall = wall.replace(second=0, microsecond=0) + _MINUTE
        y, mo, d, h, mi = wall.year, wall.month, wall.day, wall.hour, wall.minute
        limit = min(y + _SEARCH_YEARS, MAX_YEAR)
        while y <= limit:
            month = _next_bit(self.months & 0x1FFE, mo)
            if month is None:
                y, mo, d, h, mi = y + 1, 1, 1, 0, 0
                continue
            if month != mo:
                mo, d, h, mi = month, 1, 0, 0
            day = _next_bit(self.day_mask(y, mo), d)
            if day is None:
                y, mo, d, h, mi = (y + 1, 1, 1, 0, 0) if mo == 12 else (y, mo + 1, 1, 0, 0)
                continue
            if day != d:
                d, h, mi = day, 0, 0
            hour = _next_bit(self.hours, h)
            if hour is None:
                d, h, mi = d + 1, 0, 0  # past the month's end: no day bit, so next month
                continue
            if hour != h:
                h, mi = hour, 0
            minute = _next_bit(self.minutes, mi)
            if minute is None:
                h, mi = h + 1, 0  # hour 24 has no bit: the next day
                continue
            return dt.datetime(y, mo, d, h, minute)
        return None

    def prev_match(self, wall: dt.datetime) -> dt.datetime | None:
        """The last matching wall-clock minute at or before ``wall`` (naive), or None."""
        y, mo, d, h, mi = wall.year, wall.month, wall.day, wall.hour, wall.minute
        limit = max(y - _SEARCH_YEARS, MIN_YEAR)
        while y >= limit:
            month = _prev_bit(self.months & 0x1FFE, mo)
            if month is None:
                y, mo, d, h, mi = y - 1, 12, 31, 23, 59
                continue
            if month != mo:
                mo, d, h, mi = month, 31, 23, 59
            day = _prev_bit(self.day_mask(y, mo), d)
            if day is None:
                y, mo, d, h, mi = (y - 1, 12, 31, 23, 59) if mo == 1 else (y, mo - 1, 31, 23, 59)
                continue
            if day != d:
                d, h, mi = day, 23, 59
            hour = _prev_bit(self.hours, h)
            if hour is None:
                d, h, mi = d - 1, 23, 59  # day 0 has no bit: the previous month
                continue
            if hour != h:
                h, mi = hour, 59
            minute = _prev_bit(self.minutes, mi)
            if minute is None:
                h, mi = h - 1, 59
                continue
            return dt.datetime(y, mo, d, h, minute)
        return None
