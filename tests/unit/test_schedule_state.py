"""Where an EventDay stands (crestline.policy.events.event_state), checked against a
brute-force reference: enumerate every window in a range, merge, look up ``now``.

The reference is written here, independently, the plain way (sort windows by span
start, merge while the next span starts at or before the running end); the operator
never enumerates. Also: identities stay put as time passes and windows merge in, a
stopped activation never comes back, ``next_change`` is when the phase changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from crestline.api.eventday import EventDaySpec
from crestline.calendar.cron import Cron
from crestline.calendar.fires import next_fire
from crestline.calendar.instants import format_instant, parse_duration
from crestline.calendar.wallclock import parse_time
from crestline.policy.events import event_state
from crestline.policy.windows import HORIZON, UTC, Phase, Window

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def spec(
    recurring: Sequence[tuple[str, str]] = (),
    windows: Sequence[tuple[str, str]] = (),
    **schedule: Any,
) -> EventDaySpec:
    body: dict[str, Any] = {
        "recurring": [{"cron": c, "duration": d} for c, d in recurring],
        "windows": [{"start": s, "end": e} for s, e in windows],
        **schedule,
    }
    return EventDaySpec.model_validate({"schedule": body})


# -- the reference -------------------------------------------------------------------------
@dataclass(frozen=True)
class Ref:
    source: str
    start: dt.datetime
    end: dt.datetime
    span_start: dt.datetime
    span_end: dt.datetime


def reference(
    s: EventDaySpec, lo: dt.datetime, hi: dt.datetime, manual: list[Window]
) -> list[list[Ref]]:
    """Every window whose span meets [lo, hi), merged into activations (lists of windows)."""
    sched = s.schedule
    tz = ZoneInfo(sched.timezone)
    lead, trail = parse_duration(sched.lead_time), parse_duration(sched.trail_time)
    refs = []
    for i, one_off in enumerate(sched.windows):
        a, b = parse_time(one_off.start, tz), parse_time(one_off.end, tz)
        refs.append(Ref(f"windows[{i}]", a, b, a - lead, b + trail))
    for i, rec in enumerate(sched.recurring):
        cron, d = Cron.parse(rec.cron), parse_duration(rec.duration)
        t = lo - d - trail - lead
        while (f := next_fire(cron, tz, t)) is not None and f - lead < hi:
            refs.append(Ref(f"recurring[{i}]", f, f + d, f - lead, f + d + trail))
            t = f
    for w in manual:
        refs.append(Ref("manual", w.start, w.end, w.start, w.end + trail))
    # Only what meets the range, one-off and manual windows as much as recurring ones.
    refs = sorted(
        (r for r in refs if r.span_start < hi and r.span_end > lo), key=lambda r: r.span_start
    )
    chains: list[list[Ref]] = []
    for r in refs:
        if chains and r.span_start <= max(x.span_end for x in chains[-1]):
            chains[-1].append(r)
        else:
            chains.append([r])
    return chains


def ref_id(chain: list[Ref]) -> str:
    first = min(r.span_start for r in chain)
    order = {"windows": 0, "recurring": 1, "manual": 2}
    named = min(
        (r for r in chain if r.span_start == first),
        key=lambda r: (order[r.source.split("[")[0]], int(r.source.split("[")[1][:-1])
                       if "[" in r.source else 0),
    )  # fmt: skip
    return f"{named.source}@{format_instant(named.start)}"


def ref_phase(chain: list[Ref], now: dt.datetime) -> Phase | None:
    start, end = min(r.start for r in chain), max(r.end for r in chain)
    if min(r.span_start for r in chain) <= now < start:
        return Phase.WARMING
    if start <= now < end:
        return Phase.ACTIVE
    if end <= now < max(r.span_end for r in chain):
        return Phase.COOLING
    return None


# -- property: the same answer as the reference ------------------------------------------------
CRONS = [
    "0 9 * * 1",
    "0 18 * * SAT",
    "30 */4 * * *",
    "0,20 8-10 * * 1-5",
    "15 2 * * *",
    "0 0 1 * *",
    "45 1 * 3,10,11 SUN",
    "*/30 22-23 * * *",
]
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "UTC"]
SPANS = st.sampled_from(["0s", "5m", "30m", "1h", "3h", "1d"])


@st.composite
def specs(draw: st.DrawFn) -> tuple[EventDaySpec, list[Window]]:
    recurring = draw(
        st.lists(st.tuples(st.sampled_from(CRONS), st.sampled_from(["1m", "20m", "1h", "5h"])),
                 max_size=3)
    )  # fmt: skip
    base = utc(2026, 3, 1)
    windows = []
    for start_h, length_h in draw(
        st.lists(st.tuples(st.integers(0, 24 * 300), st.integers(1, 72)), max_size=3)
    ):
        a = (base + start_h * H).replace(tzinfo=None)
        windows.append((a.isoformat(), (a + length_h * H).isoformat()))
    assume(recurring or windows)
    s = spec(
        recurring,
        windows,
        timezone=draw(st.sampled_from(ZONES)),
        leadTime=draw(SPANS),
        trailTime=draw(SPANS),
    )
    manual = []
    if draw(st.booleans()):
        start = base + draw(st.integers(0, 24 * 300)) * H
        manual.append(Window(start, start + draw(st.integers(1, 10)) * H))
    return s, manual


@settings(max_examples=150, deadline=None)
@given(specs(), st.integers(0, 300 * 24 * 60))
def test_event_state_agrees_with_merging_every_window(
    case: tuple[EventDaySpec, list[Window]], minutes: int
) -> None:
    s, manual = case
    now = utc(2026, 3, 1) + minutes * M
    chains = reference(s, now - 60 * DAY, now + 60 * DAY, manual)
    current = next((c for c in chains if ref_phase(c, now) is not None), None)
    # Chains that reach the edge of the enumerated range are not fully known here.
    assume(all(len(c) < 400 for c in chains))
    state = event_state(s, now, manual)
    if current is not None:
        assume(min(r.span_start for r in current) > now - 59 * DAY)
        assume(max(r.span_end for r in current) < now + 59 * DAY)
        act = state.activation
        assert act is not None
        assert state.phase is ref_phase(current, now)
        assert act.id == ref_id(current)
        assert (act.start, act.end) == (min(r.start for r in current), max(r.end for r in current))
        assert (act.active_from, act.active_until) == (
            min(r.span_start for r in current),
            max(r.span_end for r in current),
        )
        change = {Phase.WARMING: act.start, Phase.ACTIVE: act.end, Phase.COOLING: act.active_until}
        assert state.next_change == change[state.phase]
        later = [c for c in chains if min(r.span_start for r in c) > now]
    else:
        later = [c for c in chains if min(r.span_start for r in c) > now]
        if not later:
            return
        assert state.phase is Phase.SCHEDULED
        assert state.activation is not None
        assert state.activation.id == ref_id(later[0])
        assert state.next_change == min(r.span_start for r in later[0])
    if later and max(r.span_end for r in later[0]) < now + 59 * DAY:
        assert state.next_activation == min(r.span_start for r in later[0])


# -- identity -------------------------------------------------------------------------------------
def test_the_id_is_the_first_windows_and_stays_as_windows_merge_in() -> None:
    # Every 30 minutes for 20 minutes with a 15-minute trail: one activation per evening,
    # growing window by window; its id never changes while it lasts.
    s = spec([("*/30 18-21 * * *", "20m")], timezone="Europe/Berlin", trailTime="15m")
    ids, t = set(), utc(2026, 11, 27, 17)
    while t < utc(2026, 11, 27, 21, 5):  # 18:00-21:50 local (UTC+1), then 15m of trail
        state = event_state(s, t)
        assert state.phase is (Phase.ACTIVE if t < utc(2026, 11, 27, 20, 50) else Phase.COOLING)
        assert state.activation is not None
        ids.add(state.activation.id)
        t += 7 * M
    assert ids == {"recurring[0]@2026-11-27T17:00:00Z"}
    after = event_state(s, utc(2026, 11, 27, 21, 5))
    assert after.phase is Phase.SCHEDULED
    assert after.activation is not None
    assert after.activation.id == "recurring[0]@2026-11-28T17:00:00Z"


def test_a_recurring_and_a_one_off_window_name_the_activation_they_start() -> None:
    s = spec(
        [("0 9 * * *", "1h")], [("2026-11-27T08:00:00", "2026-11-27T09:30:00")], leadTime="30m"
    )
    state = event_state(s, utc(2026, 11, 27, 9))
    assert state.activation is not None
    assert state.activation.id == "windows[0]@2026-11-27T08:00:00Z"
    assert (state.activation.active_from, state.activation.end) == (
        utc(2026, 11, 27, 7, 30),
        utc(2026, 11, 27, 10),
    )


def test_no_start_in_the_past_around_the_repeated_hour() -> None:
    # 30 1 * * * in New York, from 01:10 EST (the second 01:10): next is 01:30 EST.
    s = spec([("30 1 * * *", "10m")], timezone="America/New_York")
    state = event_state(s, utc(2026, 11, 1, 6, 10))
    assert state.phase is Phase.SCHEDULED
    assert state.next_activation == utc(2026, 11, 1, 6, 30)


def test_a_schedule_that_never_leaves_event_mode_is_one_activation() -> None:
    s = spec([("* * * * *", "1h")], timezone="America/New_York", leadTime="365d")
    for k in range(8):
        act = event_state(s, utc(2026, 1, 1) + k * 97 * DAY).activation
        assert act is not None
        assert act.id == "recurring[0]@always"
    state = event_state(s, utc(2026, 6, 1))
    assert state.phase is Phase.ACTIVE
    assert state.next_change is None


def test_dense_sources_that_only_chain_together_get_a_weekly_horizon_id() -> None:
    # Even and odd minutes, each lasting a minute: neither source chains on its own, so
    # the walk back switches source every minute and gives up after STEPS switches.
    s = spec([("*/2 * * * *", "1m"), ("1-59/2 * * * *", "1m")])
    monday = utc(2026, 11, 23)
    state = event_state(s, monday + 5 * H)
    assert state.phase is Phase.ACTIVE
    assert state.activation is not None
    assert not state.activation.start_known
    # The Monday of the week HORIZON (7 days) before now: renamed at most once a week.
    assert HORIZON == 7 * DAY
    assert state.activation.id.endswith("@horizon-2026-11-16")
    same_week = event_state(s, monday + 6 * DAY + 23 * H)
    assert same_week.activation is not None
    assert same_week.activation.id == state.activation.id


# -- stop ---------------------------------------------------------------------------------------
def test_a_stopped_activation_never_comes_back() -> None:
    s = spec([("*/30 18-21 * * *", "20m")], trailTime="15m")
    stopped = utc(2026, 11, 27, 19, 2)
    t = stopped
    while t < utc(2026, 11, 27, 22):
        state = event_state(s, t, stopped_at=stopped)
        assert state.phase is Phase.SCHEDULED, t
        assert state.activation is not None
        assert state.activation.id == "recurring[0]@2026-11-28T18:00:00Z"
        t += 11 * M
    assert event_state(s, utc(2026, 11, 28, 18, 1), stopped_at=stopped).phase is Phase.ACTIVE


def test_a_stopped_endless_activation_is_completed() -> None:
    s = spec([("* * * * *", "1h")])
    state = event_state(s, utc(2026, 6, 1), stopped_at=utc(2026, 5, 1))
    assert state.phase is Phase.COMPLETED
    assert state.activation is None


def test_a_stop_in_the_future_covers_activations_that_begin_before_it() -> None:
    s = spec([("0 9 * * *", "1h")])
    state = event_state(s, utc(2026, 11, 27), stopped_at=utc(2026, 11, 28, 9))
    assert state.next_activation == utc(2026, 11, 29, 9)


def test_a_manual_window_has_no_lead_and_merges_with_the_schedule() -> None:
    s = spec([("0 12 * * *", "1h")], leadTime="2h", trailTime="10m")
    manual = [Window(utc(2026, 11, 27, 9), utc(2026, 11, 27, 10))]
    early = event_state(s, utc(2026, 11, 27, 8, 30), manual)
    assert early.phase is Phase.SCHEDULED  # no lead before a manual start
    merged = event_state(s, utc(2026, 11, 27, 10, 5), manual)
    assert merged.phase is Phase.ACTIVE
    assert merged.activation is not None
    assert merged.activation.id == "manual@2026-11-27T09:00:00Z"
    assert merged.activation.end == utc(2026, 11, 27, 13)


@pytest.mark.parametrize(
    ("now", "phase", "change"),
    [
        (utc(2026, 11, 27, 6), Phase.SCHEDULED, utc(2026, 11, 27, 7)),
        (utc(2026, 11, 27, 8), Phase.WARMING, utc(2026, 11, 27, 9)),
        (utc(2026, 11, 27, 12), Phase.ACTIVE, utc(2026, 11, 27, 21)),
        (utc(2026, 11, 27, 21, 30), Phase.COOLING, utc(2026, 11, 27, 22)),
        (utc(2026, 11, 27, 22), Phase.COMPLETED, None),
    ],
)
def test_phases_and_when_they_change(now: dt.datetime, phase: Phase, change: Any) -> None:
    s = spec([], [("2026-11-27T09:00:00", "2026-11-27T21:00:00")], leadTime="2h", trailTime="1h")
    state = event_state(s, now)
    assert (state.phase, state.next_change) == (phase, change)
