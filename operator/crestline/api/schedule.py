"""When an EventDay is in force: one-off windows and cron-driven recurring windows in an
IANA timezone, with lead and trail time.

Validation at the door. Every rule below exists twice, once as a CEL rule in the CRD
(checked by the API server at ``kubectl apply``) and once in pydantic (checked by the
operator, for objects stored under an older CRD), with the same message; the Python
side of each rule is :mod:`crestline.calendar`, the single source of truth. The CEL is
generated here from small building blocks, so each rule reads as what it checks:

- cron: CronJob syntax (robfig/cron v3 ``ParseStandard``, no ``TZ=``), field by field
  (values, steps, names, ASCII digits), ranges in order, and a schedule that can fire
  at all (no ``0 0 30 2 *``); ``@every`` is refused (see crestline.calendar.cron);
- one-off start/end: a date and time that exists (no 2026-02-30, no 29 February of a
  common year), years 1970-9998;
- durations: ``1h30m`` style, at most 366d; a recurring window's longer than 0s.

What only run time can tell (a cron whose every fire falls in DST gaps for years) is a
``ScheduleError`` from :func:`crestline.policy.events.event_state`.

CEL cost: the API server estimates a rule from the largest values the schema allows
and refuses a CRD over budget. Strings carry a ``maxLength``; cron rules are anchored
regular expressions only (estimated at string length times regex length), never
comprehensions over split fields (estimated as 128 items of 128 characters, nested);
durations and dates use ``find``/``substring`` on short strings. The e2e test installs
the CRD into a real API server, which is what proves the budget holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any, Self

from pydantic import Field, field_validator, model_validator

from crestline.api.base import ApiModel, cel
from crestline.calendar import cron as c
from crestline.calendar.instants import (
    DURATION_FORMAT_MESSAGE,
    DURATION_TOO_LONG_MESSAGE,
    DURATION_ZERO_MESSAGE,
    LONGEST_SPEC_DURATION,
    SPEC_DURATION_PATTERN,
    parse_spec_duration,
)
from crestline.calendar.wallclock import (
    FIRST_YEAR,
    LAST_YEAR,
    LOCAL_TIME_MESSAGE,
    LOCAL_TIME_PATTERN,
    parse_local_time,
)

CRON_MAX_LENGTH = 128
DURATION_MAX_LENGTH = 32


@functools.cache
def iana_zones() -> tuple[str, ...]:
    """Every IANA zone name of the pinned tzdata release, sorted."""
    return tuple(sorted(resources.files("tzdata").joinpath("zones").read_text().split()))


def _zone_rule() -> tuple[str, str]:
    names = ", ".join(f"'{z}'" for z in iana_zones())
    return (f"self in [{names}]", "unknown IANA timezone (e.g. Europe/Berlin, America/New_York)")


# -- CEL for cron: anchored regular expressions only ---------------------------------------
# The API server estimates a rule's cost from the sizes it cannot know (a split of a
# 128-character string is 128 items of 128 characters), so comprehensions over fields
# blow its budget; ``matches`` costs about (string length) x (regex length). Each cron
# rule is therefore a boolean of whole-string regular expressions, one per fact ("field
# 3 has a star item"), written as a small expression tree that renders to CEL and can
# be evaluated in Python (tests/unit/test_schedule_validation.py does, against
# crestline.calendar.cron on thousands of schedules).
class Expr:
    """A boolean CEL expression over ``self`` (the cron string)."""

    def cel(self) -> str:
        raise NotImplementedError

    def __or__(self, other: Expr) -> Expr:
        return AnyOf((self, other))

    def __and__(self, other: Expr) -> Expr:
        return AllOf((self, other))

    def __invert__(self) -> Expr:
        return Not(self)


@dataclass(frozen=True)
class Matches(Expr):
    regex: str  # RE2

    def cel(self) -> str:
        assert "'" not in self.regex
        return f"self.matches(r'{self.regex}')"


@dataclass(frozen=True)
class Call(Expr):
    """``self.<method>('<arg>')`` for startsWith and contains."""

    method: str
    arg: str

    def cel(self) -> str:
        return f"self.{self.method}('{self.arg}')"


@dataclass(frozen=True)
class OneOf(Expr):
    values: tuple[str, ...]

    def cel(self) -> str:
        return "self in [" + ", ".join(f"'{v}'" for v in self.values) + "]"


@dataclass(frozen=True)
class Not(Expr):
    inner: Expr

    def cel(self) -> str:
        return f"!({self.inner.cel()})"


@dataclass(frozen=True)
class AnyOf(Expr):
    parts: tuple[Expr, ...]

    def cel(self) -> str:
        return "(" + " || ".join(p.cel() for p in self.parts) + ")"


@dataclass(frozen=True)
class AllOf(Expr):
    parts: tuple[Expr, ...]

    def cel(self) -> str:
        return "(" + " && ".join(p.cel() for p in self.parts) + ")"


def _le_int64(limit: str = str(2**63 - 1)) -> str:
    """RE2 for a decimal without leading zeros whose value is 1 to ``limit``."""
    alternatives = [f"[1-9][0-9]{{0,{len(limit) - 2}}}"]
    for i, digit in enumerate(limit):
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = len(limit) - i - 1
            alternatives.append(f"{limit[:i]}[{low}-{int(digit) - 1}][0-9]{{{rest}}}")
    alternatives.append(limit)
    return "(" + "|".join(alternatives) + ")"


_SPACE = (  # Go's unicode.IsSpace (crestline.calendar.cron.GO_SPACE), in RE2 syntax
    r"\t\n\v\f\r \x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}"
)
_SEP, _TOKEN = f"[{_SPACE}]", f"[^{_SPACE}]"
_ITEM_CHAR, _HEAD_CHAR = f"[^,{_SPACE}]", f"[^/,{_SPACE}]"
_STEP = rf"\+?0*{_le_int64()}"
_STAR = rf"[*?](-{_HEAD_CHAR}*)?"
_STAR_ONE = rf"{_STAR}(/\+?0*1)?"  # robfig keeps the star bit: *, ?, */1
_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_BOUNDS = {"minute": (0, 59), "hour": (0, 23), "day-of-month": (1, 31), "month": (1, 12)}
_BOUNDS["day-of-week"] = (0, 6)
_NAMES = {"month": c.MONTH_NAMES, "day-of-week": c.DAY_NAMES}


def _name(value: str) -> str:
    """A name, case-insensitive as Go's strings.ToLower makes it: ASCII letters either
    case, and U+0130 for i (Go lowers it to i). Not RE2's (?i), which would also take
    U+017F for s, which Go does not lower to s."""
    extra = {"i": "\u0130"}
    return "".join(f"[{ch}{ch.upper()}{extra.get(ch, '')}]" for ch in value)


def _values(field: str, low: int, high: int) -> str:
    """RE2 for one value token of ``field`` from ``low`` to ``high`` (names included)."""
    numbers = "|".join(str(n) for n in range(low, high + 1))
    alternatives = [rf"\+?0*({numbers})"]
    first = _BOUNDS[field][0]
    names = _NAMES.get(field, ())
    alternatives += [_name(n) for i, n in enumerate(names) if low <= first + i <= high]
    return "(" + "|".join(alternatives) + ")"


def _all_values(field: str) -> str:
    return _values(field, *_BOUNDS[field])


def _item(field: str) -> str:
    value = _all_values(field)
    return f"({_STAR}|{value}(-{value})?)(/{_STEP})?"


def _field_syntax(field: str) -> str:
    item = _item(field)
    return f"({item})?(,({item})?)*"


def _at(i: int, field_regex: str) -> Matches:
    """The schedule has five fields and field ``i`` matches ``field_regex``."""
    before, after = f"({_TOKEN}+{_SEP}+){{{i}}}", f"({_SEP}+{_TOKEN}+){{{4 - i}}}"
    return Matches(f"^{_SEP}*{before}({field_regex}){after}{_SEP}*$")


def _has_item(item_regex: str) -> str:
    """A field with one comma-separated item matching ``item_regex`` exactly."""
    return f"({_TOKEN}*,)?({item_regex})(,{_TOKEN}*)?"


def _descending(field: str) -> str:
    low, high = _BOUNDS[field]
    pairs = [
        f"{_values(field, a, a)}-{_values(field, low, a - 1)}" for a in range(low + 1, high + 1)
    ]
    return "(" + "|".join(pairs) + f")(/{_ITEM_CHAR}*)?"


def _divisors(n: int) -> str:
    return "|".join(str(d) for d in range(1, n + 1) if n % d == 0)


def _selects_a_month(months: set[int]) -> str:
    """A month item (valid) that selects at least one of ``months`` (which holds 1)."""
    assert 1 in months
    alternatives = [f"{_STAR}(/{_STEP})?"]  # starts at January
    for first in range(1, 13):
        start = _values("month", first, first)
        for m in sorted(x for x in months if x >= first):
            if m == first:
                alternatives.append(f"{start}(-{_values('month', m, 12)})?(/{_STEP})?")
            else:
                steps = rf"\+?0*({_divisors(m - first)})"
                alternatives.append(f"{start}-{_values('month', m, 12)}(/{steps})?")
                alternatives.append(f"{start}/{steps}")
    return "(" + "|".join(dict.fromkeys(alternatives)) + ")"


def cron_rules() -> list[tuple[Expr, str]]:
    """(rule, message) pairs; a schedule is valid when every rule holds."""
    at_sign = Call("startsWith", "@")
    five = Matches(f"^{_SEP}*({_TOKEN}+{_SEP}+){{4}}{_TOKEN}+{_SEP}*$")
    skip = at_sign | ~five  # field rules say nothing of descriptors or a wrong count
    rules: list[tuple[Expr, str]] = [
        (~Call("contains", "TZ"), c.TZ_MESSAGE),
        (~Call("startsWith", "@every "), c.EVERY_MESSAGE),
        (
            ~at_sign | Call("startsWith", "@every ") | OneOf(tuple(c.DESCRIPTORS)),
            c.DESCRIPTOR_MESSAGE,
        ),
        (at_sign | five, c.FIELDS_MESSAGE),
    ]
    for i, field in enumerate(_FIELD_NAMES):
        rules.append((skip | _at(i, _field_syntax(field)), c.syntax_message(field)))
    for i, field in enumerate(_FIELD_NAMES):
        rules.append((skip | ~_at(i, _has_item(_descending(field))), c.order_message(field)))
    for i in (0, 1, 3):
        rules.append((skip | ~_at(i, ",+"), c.empty_message(_FIELD_NAMES[i])))
    dom_star, dow_star = _at(2, _has_item(_STAR_ONE)), _at(4, _has_item(_STAR_ONE))
    dom_empty, dow_empty = _at(2, ",+"), _at(4, ",+")
    valid = _at(2, _field_syntax("day-of-month")) & _at(3, _field_syntax("month"))
    start = _ITEM_CHAR + "*"
    low_day = _at(2, _has_item(rf"([*?]|\+?0*([1-9]|[12][0-9]))([-/]{start})?"))
    day_30 = _at(2, _has_item(rf"\+?0*30([-/]{start})?"))
    long_month = _at(3, _has_item(_selects_a_month({1, 3, 5, 7, 8, 10, 12})))
    not_february = _at(3, _has_item(_selects_a_month({1, *range(3, 13)})))
    fits = low_day | long_month | (day_30 & not_february)
    rules += [
        (skip | ~dow_star | ~dom_empty, c.empty_message("day-of-month")),
        (skip | ~dom_star | ~dow_empty, c.empty_message("day-of-week")),
        (skip | ~dow_star | dom_star | dom_empty | ~valid | fits, c.IMPOSSIBLE_DAY_MESSAGE),
        (
            skip | dom_star | dow_star | ~dow_empty | (~dom_empty & (~valid | fits)),
            c.NO_DAY_MESSAGE,
        ),
    ]
    return rules


def _raw(regex: str) -> str:
    """A CEL raw string literal (no escaping inside; these regexes contain no quote)."""
    assert "'" not in regex
    return f"r'{regex}'"


def _duration_seconds() -> str:
    parts = []
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        found = f"self.find('[0-9]+{unit}')"
        parts.append(f"({found} == '' ? 0 : int({found}.split('{unit}')[0])) * {seconds}")
    return " + ".join(parts)


def _duration_rules(*, positive: bool) -> list[tuple[str, str]]:
    shape = f"size(self) > 0 && self.matches({_raw(SPEC_DURATION_PATTERN)})"
    longest = int(LONGEST_SPEC_DURATION.total_seconds())
    rules = [
        (shape, DURATION_FORMAT_MESSAGE),
        (f"!({shape}) || {_duration_seconds()} <= {longest}", DURATION_TOO_LONG_MESSAGE),
    ]
    if positive:
        rules.append((f"!({shape}) || {_duration_seconds()} > 0", DURATION_ZERO_MESSAGE))
    return rules


def _local_time_rules() -> list[tuple[str, str]]:
    year, month, day = "int(self.substring(0, 4))", "self.substring(5, 7)", "self.substring(8, 10)"
    leap = f"({year} % 4 == 0 && ({year} % 100 != 0 || {year} % 400 == 0))"
    days_in = (
        f"({month} == '02' ? ({leap} ? 29 : 28) : ({month} in ['04', '06', '09', '11'] ? 30 : 31))"
    )
    shape = _raw(
        r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$"
    )
    exists = (
        f"self.matches({shape}) && {year} >= {FIRST_YEAR} && {year} <= {LAST_YEAR} && "
        f"int({day}) <= {days_in}"
    )
    assert LOCAL_TIME_PATTERN.startswith("^[0-9]{4}-")
    return [(exists, LOCAL_TIME_MESSAGE)]


# -- models ------------------------------------------------------------------------------
def _local_time_field(description: str) -> Any:
    return Field(
        max_length=19,
        description=description,
        json_schema_extra=cel(*_local_time_rules()),
    )


class OneOffWindow(ApiModel):
    """A window in the schedule's timezone, as local wall-clock times."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(("self.end > self.start", "end must be after start"))
    }

    start: Annotated[
        str,
        _local_time_field(
            "Wall-clock time in schedule.timezone, e.g. 2026-11-27T09:00:00. A time the "
            "clocks skip (spring forward) means the instant they jump; a time that occurs "
            "twice (autumn) means its first occurrence."
        ),
    ]
    end: Annotated[str, _local_time_field("Wall-clock end, after start.")]

    @field_validator("start", "end")
    @classmethod
    def _exists(cls, value: str) -> str:
        parse_local_time(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class RecurringWindow(ApiModel):
    """A window opening at each cron match (local time), lasting ``duration`` (elapsed)."""

    cron: Annotated[
        str,
        Field(
            max_length=CRON_MAX_LENGTH,
            description=(
                "A Kubernetes CronJob schedule, with its meaning (robfig/cron v3): five "
                "fields 'minute hour day-of-month month day-of-week' (e.g. '0 18 * * SAT') "
                "or @yearly, @monthly, @weekly, @daily, @hourly, in schedule.timezone. "
                "When both day fields are restricted a day matches if either does; '*', "
                "'?' and '*/1' are unrestricted. Across DST changes the fire times are "
                "wall-clock times: a time the clocks skip does not fire that day, a time "
                "that occurs twice fires at both instants. See docs/schedules.md."
            ),
            json_schema_extra=cel(*((r.cel(), m) for r, m in cron_rules())),
        ),
    ]
    duration: Annotated[
        str,
        Field(
            max_length=DURATION_MAX_LENGTH,
            pattern=SPEC_DURATION_PATTERN,
            description="How long each window lasts, elapsed time, e.g. 6h (at most 366d).",
            json_schema_extra=cel(*_duration_rules(positive=True)),
        ),
    ]

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        c.Cron.parse(value)
        return value

    @field_validator("duration")
    @classmethod
    def _valid_duration(cls, value: str) -> str:
        parse_spec_duration(value, positive=True)
        return value


def _lead_trail(description: str) -> Any:
    return Field(
        max_length=DURATION_MAX_LENGTH,
        pattern=SPEC_DURATION_PATTERN,
        description=description,
        json_schema_extra=cel(*_duration_rules(positive=False)),
    )


class Schedule(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            (
                "(has(self.windows) ? size(self.windows) : 0)"
                " + (has(self.recurring) ? size(self.recurring) : 0) >= 1",
                "the schedule needs at least one window (windows or recurring)",
            ),
        )
    }

    timezone: Annotated[str, Field(max_length=64, json_schema_extra=cel(_zone_rule()))] = "UTC"
    windows: Annotated[list[OneOffWindow], Field(max_length=100)] = Field(default_factory=list)
    recurring: Annotated[list[RecurringWindow], Field(max_length=20)] = Field(default_factory=list)
    lead_time: Annotated[
        str,
        _lead_trail("Activate this early to pre-scale and warm, e.g. 2h (at most 366d)."),
    ] = "0s"
    trail_time: Annotated[
        str,
        _lead_trail("Stay in event mode this long after a window ends (at most 366d)."),
    ] = "0s"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in iana_zones():
            raise ValueError(f"unknown IANA timezone {value!r}")
        return value

    @field_validator("lead_time", "trail_time")
    @classmethod
    def _valid_duration(cls, value: str) -> str:
        parse_spec_duration(value, positive=False)
        return value

    @model_validator(mode="after")
    def _some_window(self) -> Self:
        if not self.windows and not self.recurring:
            raise ValueError("the schedule needs at least one window (windows or recurring)")
        return self
