"""Validation of EventDay schedules: the CRD's CEL rules, pydantic, and run time agree.

- The cron CEL rules are evaluated here in Python (their regular expressions are RE2;
  the few RE2-only escapes are translated) on thousands of schedules, and must accept
  exactly what crestline.calendar.cron accepts, with the same message. The e2e test
  sends the same kinds of schedules through a real API server.
- Every spec that pydantic accepts can be evaluated: event_state returns, or raises
  ScheduleError naming the field, and nothing else (hypothesis over random specs).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crestline.api.eventday import EventDaySpec
from crestline.api.schedule import AllOf, AnyOf, Call, Expr, Matches, Not, OneOf, cron_rules
from crestline.calendar.cron import Cron, CronError
from crestline.policy.events import ScheduleError, event_state
from crestline.policy.windows import UTC

RULES = cron_rules()


def _python_regex(re2: str) -> re.Pattern[str]:
    """RE2 as Python ``re``: \\x{HHHH} escapes, and ``$`` only at the very end."""
    text = re.sub(r"\\x\{([0-9A-Fa-f]+)\}", lambda m: chr(int(m.group(1), 16)), re2)
    if text.endswith("$"):
        text = text[:-1] + r"\Z"
    return re.compile(text)


_COMPILED: dict[str, re.Pattern[str]] = {}


def holds(expr: Expr, value: str) -> bool:
    """Evaluate a rule as the API server would (CEL ``matches`` is an RE2 search)."""
    if isinstance(expr, Matches):
        pattern = _COMPILED.setdefault(expr.regex, _python_regex(expr.regex))
        return pattern.search(value) is not None
    if isinstance(expr, Call):
        return value.startswith(expr.arg) if expr.method == "startsWith" else expr.arg in value
    if isinstance(expr, OneOf):
        return value in expr.values
    if isinstance(expr, Not):
        return not holds(expr.inner, value)
    if isinstance(expr, AnyOf):
        return any(holds(p, value) for p in expr.parts)
    if isinstance(expr, AllOf):
        return all(holds(p, value) for p in expr.parts)
    raise TypeError(expr)


def cel_messages(value: str) -> list[str]:
    return [message for rule, message in RULES if not holds(rule, value)]


def python_message(value: str) -> str | None:
    try:
        Cron.parse(value)
    except CronError as exc:
        return str(exc)
    return None


ATOMS = [
    "*", "?", "0", "1", "2", "5", "7", "12", "13", "23", "24", "29", "30", "31", "32", "59",
    "60", "+5", "007", "-", "/", ",", "jan", "DEC", "Mon", "sun", "SAT", "FRI", "Fr\u0130",
    "\u017fun", "x", "99999999999999999999", "9223372036854775807", "\u0663", "\uff15", "*-5",
    "L", "#", "TZ", "/1", "/2", "/11",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\t", "\u00a0", "\u3000", "\x1c", "\n"]


BOUNDS = [(0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, ("jan", "Feb", "MAR", "dec")),
          (0, 6, ("sun", "Mon", "FRI", "sat"))]  # fmt: skip


def _grammar_field(rng: random.Random, lo: int, hi: int, names: tuple[str, ...]) -> str:
    """A field from the cron grammar, now and then just outside it."""

    def value(n: int) -> str:
        if rng.random() < 0.03:
            n = rng.choice([lo - 1, hi + 1, 7, 30, 31])
        elif names and rng.random() < 0.2:
            return names[min(n - lo, len(names) - 1)]
        return rng.choice(["", "", "", "+", "0"]) + str(max(n, 0))

    items = []
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        a, b = sorted([rng.randint(lo, hi), rng.randint(lo, hi)])
        if rng.random() < 0.05:
            a, b = b, a
        if kind < 0.25:
            item = rng.choice(["*", "?", "*-x"])
        elif kind < 0.55:
            item = value(a)
        else:
            item = f"{value(a)}-{value(b)}"
        if rng.random() < 0.35:
            item += "/" + rng.choice(
                ["1", "2", "3", "11", "+5", "100", "0" if rng.random() < 0.1 else "7"]
            )
        items.append(item)
    if rng.random() < 0.05:
        items.append("")
    return ",".join(items)


def fuzz_schedules(seed: int, n: int) -> list[str]:
    """Strings near the cron grammar: half built from it, half soup of its pieces."""
    rng = random.Random(seed)
    out = ["@daily", "@every 5m", "@yearly ", " @hourly", "@Daily", "@reboot", ""]
    while len(out) < n:
        sep = rng.choice(SEPARATORS)
        if rng.random() < 0.5:
            fields = [_grammar_field(rng, *b) for b in BOUNDS]
            if rng.random() < 0.05:
                fields.pop()
        else:
            count = rng.choice([4, 5, 5, 5, 6])
            fields = [
                "".join(rng.choice(ATOMS) for _ in range(rng.randint(1, 3))) for _ in range(count)
            ]
        out.append(rng.choice(["", sep]) + sep.join(fields) + rng.choice(["", sep]))
    return out


def test_cel_rules_accept_exactly_what_cron_parse_accepts() -> None:
    schedules = fuzz_schedules(20261127, 3000)
    accepted = 0
    for value in schedules:
        expected, got = python_message(value), cel_messages(value)
        if expected is None:
            assert got == [], f"CEL rejects {value!r}: {got}"
            accepted += 1
        else:
            assert expected in got, f"{value!r}: Python says {expected!r}, CEL says {got}"
    assert accepted > 300  # the fuzz reaches valid schedules too, not only errors


@pytest.mark.parametrize(
    "value",
    ["0 0 31 */2 *", "0 0 31 2-12/2 *", "0 0 30 feb,apr *", "0 0 31 Jan/11 *", "0 0 30 2/10 *",
     "0 0 31 2/5 *", "0 0 31 *-x/2 *", "0 0 1 * ,", "0 0 , * */2", "0 0 +31 +012 *"],
)  # fmt: skip
def test_day_rules_on_the_edges(value: str) -> None:
    assert cel_messages(value) == ([] if python_message(value) is None else [python_message(value)])


# -- pydantic ---------------------------------------------------------------------------------
def _spec(schedule: dict[str, Any]) -> dict[str, Any]:
    return {"schedule": {"timezone": "Europe/Berlin", **schedule}}


RECURRING = {"recurring": [{"cron": "0 18 * * SAT", "duration": "6h"}]}


@pytest.mark.parametrize(
    ("schedule", "where", "message"),
    [
        ({"recurring": [{"cron": "0 0 31 2 *", "duration": "1h"}]}, "recurring.0.cron", "never"),
        ({"recurring": [{"cron": "61 25 * * 9", "duration": "1h"}]}, "recurring.0.cron", "minute"),
        ({"recurring": [{"cron": "@every 1h", "duration": "1h"}]}, "recurring.0.cron", "@every"),
        ({"recurring": [{"cron": "0 * * * *", "duration": "0s"}]}, "recurring.0.duration", "0s"),
        ({"recurring": [{"cron": "0 * * * *", "duration": ""}]}, "recurring.0.duration", "such as"),
        ({"recurring": [{"cron": "0 * * * *", "duration": "367d"}]}, "recurring.0.duration",
         "366d"),
        ({**RECURRING, "leadTime": ""}, "leadTime", "such as"),
        ({**RECURRING, "trailTime": "366d1s"}, "trailTime", "366d"),
        ({**RECURRING, "leadTime": "9" * 30 + "d"}, "leadTime", "pattern"),
        ({"windows": [{"start": "2026-02-30T09:00:00", "end": "2026-03-01T00:00:00"}]},
         "windows.0.start", "exists"),
        ({"windows": [{"start": "2026-02-01T09:00:00", "end": "2027-02-29T00:00:00"}]},
         "windows.0.end", "exists"),
    ],
)  # fmt: skip
def test_pydantic_names_the_field(schedule: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        EventDaySpec.model_validate(_spec(schedule))
    errors = {".".join(str(p) for p in e["loc"]): e["msg"] for e in err.value.errors()}
    assert message in errors[f"schedule.{where}"], errors


# -- containment --------------------------------------------------------------------------------
DURATIONS = st.one_of(
    st.sampled_from(["0s", "1s", "59s", "1m", "1h", "23h", "1d", "365d", "366d", "1d1h1m1s"]),
    st.builds(lambda d, h: f"{d}d{h}h", st.integers(0, 365), st.integers(0, 23)),
)
CRONS = st.one_of(
    st.sampled_from(
        ["* * * * *", "0 0 29 2 *", "30 2 * * *", "0 */2 * * *", "@hourly", "@yearly",
         "*/7 1-3 31 */2 1-5", "0 0 13 * */1", "59 23 31 12 *", "0,30 1 * 3,11 SUN"]
    ),
    st.sampled_from(fuzz_schedules(7, 400)).filter(lambda v: python_message(v) is None),
)  # fmt: skip
ZONES = ["UTC", "America/New_York", "Australia/Lord_Howe", "Pacific/Kiritimati", "America/Havana",
         "Asia/Kolkata"]  # fmt: skip
LOCAL = st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9998, 12, 31))


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    windows = []
    for start, hours in draw(st.lists(st.tuples(LOCAL, st.integers(1, 10_000)), max_size=3)):
        end = min(start + dt.timedelta(hours=hours), dt.datetime(9998, 12, 31, 23, 59, 59))
        if end > start:
            windows.append(
                {
                    "start": start.strftime("%Y-%m-%dT%H:%M:%S"),
                    "end": end.strftime("%Y-%m-%dT%H:%M:%S"),
                }
            )
    recurring = draw(
        st.lists(st.fixed_dictionaries({"cron": CRONS, "duration": DURATIONS}), max_size=3)
    )
    return _spec(
        {
            "timezone": draw(st.sampled_from(ZONES)),
            "windows": windows,
            "recurring": recurring,
            "leadTime": draw(DURATIONS),
            "trailTime": draw(DURATIONS),
        }
    )  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    valid_specs(),
    st.datetimes(min_value=dt.datetime(1971, 1, 1), max_value=dt.datetime(9990, 1, 1)),
    st.none() | st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9999, 1, 1)),
)
def test_event_state_returns_or_raises_schedule_error(
    body: dict[str, Any], now: dt.datetime, stopped: dt.datetime | None
) -> None:
    try:
        spec = EventDaySpec.model_validate(body)
    except ValidationError:
        return  # e.g. a spec with no window at all
    at, stop = now.replace(tzinfo=UTC), stopped and stopped.replace(tzinfo=UTC)
    try:
        state = event_state(spec, at, stopped_at=stop)
    except ScheduleError as exc:
        problem: str | None = str(exc)
    else:
        problem = None
        assert state.next_change is None or state.next_change > at
    assert problem is None or problem.startswith("schedule"), problem


def test_schedule_error_names_the_field() -> None:
    # Valid at the door, but its trail time reaches past the supported years.
    spec = EventDaySpec.model_validate(
        _spec({"windows": [{"start": "9998-12-31T00:00:00", "end": "9998-12-31T23:00:00"}],
               "trailTime": "366d"})
    )  # fmt: skip
    with pytest.raises(ScheduleError, match=r"^schedule\.windows\[0\]: with leadTime and trail"):
        event_state(spec, dt.datetime(2026, 1, 1, tzinfo=UTC))
