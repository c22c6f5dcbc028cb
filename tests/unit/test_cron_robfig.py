"""Differential test against robfig/cron v3 itself, the library a CronJob runs.

dev/cronref is a small Go program around robfig/cron v3 (built once by its build.sh
and cached under ~/.cache/crestline). One oracle process answers every question of
this module; each hypothesis example sends one batch: a random schedule in all five
zones below, from instants around their 2026-27 DST changes, 20 fire times each.

Where robfig and our rule may differ, the difference is asserted exactly, not skipped:

- robfig gives up after five years (``0 0 29 2 *`` from 2097); we find 2104-02-29.
- Lord Howe's DST moves the clocks by 30 minutes, and robfig/cron v3 gets it wrong.
  It steps hours and minutes by adding real time, so once it crosses the change it
  looks at hh:30 wall times and misses fires until its next fire (``0 3 * * *`` skips
  2026-10-04; ``@weekly`` skips 2026-04-12); and its minute loop can step across the
  spring jump into 02:30-02:59 without checking the hour again, so ``45 1 * * *``
  "fires" at 02:45 on 2026-10-04. We fire at every matching wall time and nothing
  else. The test asserts that every difference is one of these two: a fire of robfig's
  that is not ours lies in the half hour after a spring jump, and one of ours it misses
  lies after a change and before robfig's next fire after that change.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crestline.calendar.cron import (
    EVERY_MESSAGE,
    IMPOSSIBLE_DAY_MESSAGE,
    NO_DAY_MESSAGE,
    Cron,
    CronError,
    empty_message,
)
from crestline.calendar.fires import next_fire
from crestline.calendar.zones import transitions_between
from tests.unit.test_schedule_validation import fuzz_schedules

UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]
ZONES = ("America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC")
N = 20


class Oracle:
    """One robfig/cron process; ``ask`` sends a batch of JSON requests, returns answers."""

    def __init__(self, binary: str) -> None:
        self.proc = subprocess.Popen(
            [binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        self.asked = 0

    def ask(self, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        stdin = self.proc.stdin

        def write() -> None:  # in a thread, so neither pipe can fill up and block both
            stdin.write("".join(json.dumps(r) + "\n" for r in requests))
            stdin.flush()

        writer = threading.Thread(target=write)
        writer.start()
        answers = [json.loads(self.proc.stdout.readline()) for _ in requests]
        writer.join()
        self.asked += len(requests)
        return answers

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def oracle() -> Iterator[Oracle]:
    build = ROOT / "dev" / "cronref" / "build.sh"
    result = subprocess.run(["bash", str(build)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        if shutil.which("go") is None:
            pytest.skip("Go is not installed: the robfig/cron oracle cannot be built")
        raise AssertionError(f"building the oracle failed: {result.stderr}")
    running = Oracle(result.stdout.strip())
    yield running
    running.close()


# -- schedules -------------------------------------------------------------------------------
def _field(lo: int, hi: int, names: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    value = st.integers(lo, hi).map(str)
    if names:
        value = value | st.sampled_from(names)
    ordered = st.tuples(st.integers(lo, hi), st.integers(lo, hi)).map(
        lambda p: f"{min(p)}-{max(p)}"
    )
    step = st.integers(1, hi - lo + 2).map(lambda s: f"/{s}")
    item = st.one_of(
        st.just("*"),
        st.just("?"),
        value,
        ordered,
        st.tuples(st.sampled_from(["*"]) | value | ordered, step).map("".join),
    )
    return st.lists(item, min_size=1, max_size=3).map(",".join)


def _valid(text: str) -> bool:
    try:
        Cron.parse(text)
    except CronError:
        return False
    return True


SCHEDULES = st.one_of(
    st.sampled_from(
        ["0 * * * *", "*/20 * * * *", "30 1 * * *", "30 2 * * *", "0 3 * * *", "* * * * *",
         "45 1 * * *", "15,45 1-3 * * *", "0 0 29 2 *", "@hourly", "@daily", "@weekly",
         "0 0 13 * */1", "30 5/1 * * *", "0 0 1,15 * SUN"]
    ),
    st.tuples(
        _field(0, 59), _field(0, 23), _field(1, 31) | st.just("*"), _field(1, 12, ("jan", "Mar",
        "OCT", "nov")) | st.just("*"), _field(0, 6, ("sun", "Mon", "SAT")) | st.just("*"),
    ).map(" ".join),
).filter(_valid)  # fmt: skip

_2026, _2028 = dt.datetime(2026, 1, 1, tzinfo=UTC), dt.datetime(2028, 1, 1, tzinfo=UTC)
TRANSITIONS = [t for z in ZONES for t, _, _ in transitions_between(ZoneInfo(z), _2026, _2028)]
STARTS = st.tuples(st.sampled_from(TRANSITIONS), st.integers(-3 * 86400, 3 * 86400)).map(
    lambda p: p[0] + dt.timedelta(seconds=p[1])
)
LORD_HOWE_CHANGES = [
    t
    for t, _, _ in transitions_between(
        ZoneInfo("Australia/Lord_Howe"), _2026, dt.datetime(2031, 1, 1, tzinfo=UTC)
    )
]


def _ours(cron: Cron, tz: ZoneInfo, after: dt.datetime, until: dt.datetime | None) -> list[str]:
    out: list[str] = []
    t = after
    while len(out) < N * 3:
        found = next_fire(cron, tz, t)
        if (
            found is None
            or (until is not None and found > until)
            or (until is None and len(out) == N)
        ):
            break
        out.append(found.strftime("%Y-%m-%dT%H:%M:%SZ"))
        t = found
    return out


def _check(spec: str, zone: str, after: dt.datetime, theirs: list[str], exhausted: bool) -> None:
    cron, tz = Cron.parse(spec), ZoneInfo(zone)
    if zone != "Australia/Lord_Howe":
        ours = _ours(cron, tz, after, None)
        assert ours[: len(theirs)] == theirs, (spec, zone, after)
        if exhausted:  # robfig stopped searching after five years; we go on
            last = dt.datetime.fromisoformat(theirs[-1]) if theirs else after
            assert len(ours) == len(theirs) or ours[len(theirs)][:4] > str(last.year + 4)
        else:
            assert len(theirs) == N
        return
    until = dt.datetime.fromisoformat(theirs[-1]) if theirs else after
    ours = _ours(cron, tz, after, until)
    fired = [dt.datetime.fromisoformat(t) for t in theirs]
    for text in set(theirs) - set(ours):
        # robfig's minute loop stepped across the spring jump and kept going in the wall
        # hour after it (02:30-02:59) without checking the hour again.
        extra = dt.datetime.fromisoformat(text)
        assert any(
            change <= extra < change + dt.timedelta(minutes=30) for change in LORD_HOWE_CHANGES
        ), (spec, after, text)
    for text in set(ours) - set(theirs):
        # robfig crossed a change onto hh:30 wall times; it misses whole-hour fires until
        # its next fire after the change.
        missed = dt.datetime.fromisoformat(text)
        assert any(
            after - dt.timedelta(hours=1) < change <= missed
            # (a fire of robfig's at another minute, e.g. 31 in "0,31", does not end it)
            and not any(change < f < missed and f.minute == missed.minute for f in fired)
            for change in LORD_HOWE_CHANGES
        ), (spec, after, text)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(SCHEDULES, st.lists(STARTS, min_size=4, max_size=4))
def test_fire_times_agree_with_robfig(oracle: Oracle, spec: str, starts: list[dt.datetime]) -> None:
    cases = [(spec, zone, start) for zone in ZONES for start in starts]
    answers = oracle.ask(
        [{"spec": s, "tz": z, "after": a.isoformat(), "n": N} for s, z, a in cases]
    )
    for (s, z, a), answer in zip(cases, answers, strict=True):
        assert "error" not in answer, answer
        _check(s, z, a, answer["times"], answer.get("exhausted", False))


def test_the_documented_differences_happen(oracle: Oracle) -> None:
    """The two differences above are real (so the predicates are not vacuous)."""
    leap, three = oracle.ask(
        [
            {"spec": "0 0 29 2 *", "tz": "UTC", "after": "2097-01-01T00:00:00Z", "n": 1},
            {"spec": "0 3 * * *", "tz": "Australia/Lord_Howe", "after": "2026-10-03T12:00:00Z",
             "n": 1},
        ]
    )  # fmt: skip
    assert leap == {"exhausted": True}
    assert next_fire(
        Cron.parse("0 0 29 2 *"), ZoneInfo("UTC"), dt.datetime(2097, 1, 1, tzinfo=UTC)
    ) == (dt.datetime(2104, 2, 29, tzinfo=UTC))
    ours = next_fire(Cron.parse("0 3 * * *"), ZoneInfo("Australia/Lord_Howe"),
                     dt.datetime(2026, 10, 3, 12, tzinfo=UTC))  # fmt: skip
    assert ours == dt.datetime(2026, 10, 3, 16, tzinfo=UTC)  # 03:00 +11 on 4 October
    assert three["times"] == ["2026-10-04T16:00:00Z"]  # robfig: the next day


ACCEPTED_BEYOND_US = {
    EVERY_MESSAGE,  # a CronJob accepts @every; an EventDay schedule has no creation time
    IMPOSSIBLE_DAY_MESSAGE,
    NO_DAY_MESSAGE,
    *(empty_message(f) for f in ("minute", "hour", "day-of-month", "month", "day-of-week")),
}


def test_we_accept_exactly_what_the_cronjob_api_accepts(oracle: Oracle) -> None:
    """The CronJob API validation (robfig ParseStandard and the TZ rule), on fuzz: we
    accept the same strings, except those that could never fire, and @every."""
    schedules = [*fuzz_schedules(11, 4000), "@every 1h30m", "* * 30 2 *", ", * * * *"]
    answers = oracle.ask([{"validate": s} for s in schedules])
    both = 0
    for text, answer in zip(schedules, answers, strict=True):
        try:
            Cron.parse(text)
            ours = None
        except CronError as exc:
            ours = str(exc)
        if answer.get("error"):
            assert ours is not None, f"we accept {text!r}; the CronJob API says {answer['error']}"
        elif ours is not None:
            assert ours in ACCEPTED_BEYOND_US, f"we reject {text!r} ({ours}); a CronJob accepts it"
        else:
            both += 1
    assert both > 300
