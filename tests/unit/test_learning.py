"""Learning from history: the growth headroom, the weekly forecast, EventDay peaks, and
that all of it survives a restart through the status (policy.demand/season/peaks/history).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from crestline.api import Objective
from crestline.api.eventday import Overrides
from crestline.api.slo import ObjectiveKind, PerformanceSLOSpec
from crestline.api.status import PerformanceSLOStatus
from crestline.policy.behavior import Timed
from crestline.policy.decide import Reading, ScaleState, decide
from crestline.policy.demand import EDGES, MIN_SAMPLES, Growth, GrowthSketch, headroom, need
from crestline.policy.overlay import InForce
from crestline.policy.peaks import MAX_PEAKS, Peak, last_peak, record
from crestline.policy.plan import Memory, Observation, PlanInput, TargetView, needs_write, plan
from crestline.policy.readings import Sample, Sampled
from crestline.policy.season import RING, SLOT_SECONDS, WEEK_SLOTS, WeeklyProfile

CPU = Objective(name="cpu", query="q", target=0.5, kind=ObjectiveKind.PROPORTIONAL)
P95 = Objective(name="p95", query="q", target=0.3, kind=ObjectiveKind.SLO)
WEEK = 7 * 86400


# -- the growth sketch ------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-50, 500, allow_nan=False), min_size=MIN_SAMPLES, max_size=600),
    st.floats(0.05, 0.99),
)
def test_sketch_quantile_is_within_a_bin_of_the_exact_one(values: list[float], q: float) -> None:
    sketch = GrowthSketch(horizon=60)
    for i, g in enumerate(values):
        sketch.add(float(i), g, window=86400)
    got = sketch.quantile(q)
    assert got is not None
    ordered = sorted(values)
    exact = ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]
    if exact <= 0:
        assert got <= EDGES[1]  # the no-growth bin answers at most its neighbour's edge
    else:
        clamped = min(exact, EDGES[-1])
        assert clamped / math.sqrt(2) - 1e-9 <= got <= clamped * math.sqrt(2) + EDGES[1]


def test_sketch_needs_evidence_and_forgets_after_its_window() -> None:
    sketch = GrowthSketch(horizon=60)
    for i in range(MIN_SAMPLES - 1):
        sketch.add(float(i), 1.0, window=3600)
    assert sketch.quantile(0.5) is None  # too little recorded
    sketch.add(float(MIN_SAMPLES), 1.0, window=3600)
    assert sketch.quantile(0.5) == pytest.approx(1.0, rel=0.45)
    sketch.prune(3 * 3600.0, window=3600)
    assert sketch.samples() == 0


def test_sketch_round_trips_and_ignores_garbage() -> None:
    sketch = GrowthSketch(horizon=105)
    for i in range(500):
        sketch.add(i * 15.0, (i % 7) - 2.0, window=86400)
    again = GrowthSketch.decode(105, sketch.encode())
    assert again.hours == sketch.hours
    broken = GrowthSketch.decode(105, {7: "1:3 x:2 999:1 4:-1 2:5"})
    assert broken.hours == {7: {1: 3, 2: 5}}


# -- dead-time growth --------------------------------------------------------------------


def test_steady_demand_needs_no_headroom() -> None:
    growth = Growth(GrowthSketch(horizon=60))
    for t in range(0, 4 * 3600, 15):
        growth.record(float(t), 20.0, window=86400)
    assert headroom(growth, 20.0, 0.75) is None  # growth is zero: nothing to add


def test_growth_within_the_dead_time_is_recorded_and_scales_with_sqrt_demand() -> None:
    """Demand jumps by 4 replicas' worth every 10 minutes and falls back: the growth
    that followed most samples within 60 s is 0, before a jump it is 4/sqrt(16) = 1."""
    growth = Growth(GrowthSketch(horizon=60))
    for t in range(0, 6 * 3600, 15):
        demand = 20.0 if t % 600 == 0 else 16.0
        growth.record(float(t), demand, window=86400)
    high = headroom(growth, 16.0, 0.95)
    assert high is not None
    assert high.growth == pytest.approx(1.0, rel=0.45)
    assert high.extra == pytest.approx(high.growth * 4.0)
    bigger = headroom(growth, 64.0, 0.95)
    assert bigger is not None
    assert bigger.extra == pytest.approx(2 * high.extra)  # sqrt(64) = 2 sqrt(16)
    assert headroom(growth, 16.0, 0.5) is None  # the median sample saw no growth
    assert headroom(growth, 16.0, 0.0) is None  # quantile 0: off


def test_a_gap_records_no_growth_across_it() -> None:
    growth = Growth(GrowthSketch(horizon=60))
    growth.record(0.0, 1.0, window=86400)
    growth.record(10_000.0, 100.0, window=86400)  # the operator was down in between
    assert growth.sketch.samples() == 0


def test_need_is_the_largest_proportional_demand_in_replicas() -> None:
    mem = Objective(name="mem", query="q", target=0.8, kind=ObjectiveKind.PROPORTIONAL)
    readings = {"cpu": Reading(0.4), "mem": Reading(0.8), "p95": Reading(5.0)}
    assert need([CPU, mem, P95], readings, 10) == pytest.approx(10.0)  # mem: 0.8*10/0.8
    assert need([P95], readings, 10) is None
    assert need([CPU], readings, 0) is None


# -- the weekly profile ------------------------------------------------------------------


def daily(t: float) -> float:
    """A day: 10 replicas' worth at night, 40 at 14:00 UTC."""
    hour = (t % 86400) / 3600
    return 25 - 15 * math.cos((hour - 2) / 24 * 2 * math.pi)


def test_two_weeks_of_a_daily_cycle_forecast_the_third() -> None:
    profile = WeeklyProfile()
    for t in range(0, 2 * WEEK, 60):
        profile.add(float(t), daily(t))
    assert profile.forecast(2 * WEEK - 60 + 105) is not None
    for hour in (3, 9, 14, 20):
        at = 2 * WEEK + hour * 3600 + 105
        expected = daily(at)
        assert profile.forecast(at) == pytest.approx(expected, rel=0.04)


def test_one_week_is_not_enough_and_a_one_off_crowd_is_not_a_floor() -> None:
    profile = WeeklyProfile()
    crowd = (WEEK + 86400 + 14 * 3600, WEEK + 86400 + 14 * 3600 + 600)
    for t in range(0, 2 * WEEK, 60):
        profile.add(float(t), 200.0 if crowd[0] <= t < crowd[1] else daily(t))
        if t == WEEK - 60:
            assert profile.forecast(t + 600) is None  # one week of history: no forecast
    same_time_next_week = crowd[0] + WEEK + 60
    forecast = profile.forecast(same_time_next_week)
    assert forecast is not None
    assert forecast == pytest.approx(daily(same_time_next_week), rel=0.05)


def test_a_missed_stretch_is_not_read_as_older_data() -> None:
    profile = WeeklyProfile()
    for t in range(0, WEEK, 60):
        profile.add(float(t), 30.0)
    # Down for the whole second week: resuming, the slots of that week are unknown.
    for t in range(2 * WEEK, 2 * WEEK + 3600, 60):
        profile.add(float(t), 30.0)
    assert profile.forecast(2 * WEEK + 7200) is None
    cleared = sum(1 for level in profile.ring if level == 0)
    assert cleared >= WEEK_SLOTS  # the missed week's slots hold nothing


def test_profile_round_trips_and_a_bad_blob_starts_empty() -> None:
    profile = WeeklyProfile()
    rng = random.Random(3)
    for t in range(0, 2 * WEEK, 300):
        profile.add(float(t), daily(t) * rng.uniform(0.9, 1.1))
    again = WeeklyProfile.decode(
        profile.encode(),
        scale=profile.scale,
        slot=profile.slot,
        total=profile.total,
        count=profile.count,
    )
    assert again.ring == profile.ring
    assert again.forecast(2 * WEEK + 3600) == profile.forecast(2 * WEEK + 3600)
    assert len(profile.encode()) <= 2048
    assert WeeklyProfile.decode("not base64!", scale=1, slot=1, total=0, count=0).slot is None
    assert WeeklyProfile.decode("AAAA", scale=1, slot=1, total=0, count=0).slot is None
    assert len(profile.ring) == RING


def test_scale_growth_keeps_old_slots_proportional() -> None:
    profile = WeeklyProfile()
    profile.add(0.0, 10.0)
    profile.add(float(SLOT_SECONDS), 100.0)  # closes slot 0 at 10
    profile.add(float(2 * SLOT_SECONDS), 1.0)  # closes slot 1 at 100: a new scale
    assert profile.level(0) == pytest.approx(10.0, rel=0.05)
    assert profile.level(1) == pytest.approx(100.0, rel=0.01)


# -- EventDay peaks ----------------------------------------------------------------------


def test_the_last_activation_is_the_next_ones_floor_never_its_own() -> None:
    peaks = record((), [("sale", "a@1")], 12, now=1.0)
    peaks = record(peaks, [("sale", "a@1")], 30, now=2.0)
    peaks = record(peaks, [("sale", "a@1")], 20, now=3.0)  # lower: the peak stays
    assert last_peak(peaks, "sale", "a@1") is None  # its own activation is no floor
    found = last_peak(peaks, "sale", "a@2")
    assert found is not None
    assert found.replicas == 30
    peaks = record(peaks, [("sale", "a@2")], 25, now=10.0)
    peaks = record(peaks, [("sale", "a@3")], 5, now=20.0)
    kept = [p for p in peaks if p.event == "sale"]
    assert [p.activation for p in kept] == ["a@2", "a@3"]  # two per EventDay
    latest = last_peak(peaks, "sale", "a@4")
    assert latest is not None
    assert latest.replicas == 5


def test_peaks_are_bounded() -> None:
    peaks: tuple[Peak, ...] = ()
    for i in range(100):
        peaks = record(peaks, [(f"e{i}", "x")], i + 1, now=float(i))
    assert len(peaks) == MAX_PEAKS
    assert record(peaks, [("e", "")], 5, now=1000.0) == peaks  # no activation id: nothing


# -- through the plan, and across a restart ----------------------------------------------


def spec(**scaling: object) -> PerformanceSLOSpec:
    return PerformanceSLOSpec.model_validate(
        {
            "targetRef": {"name": "web"},
            "objectives": [{"name": "cpu", "query": "q", "target": 0.5, "kind": "proportional"}],
            "scaling": {"minReplicas": 1, "maxReplicas": 100, "warmupSeconds": 45, **scaling},
            "evaluation": {"intervalSeconds": 15},
        }
    )


def observe(
    replicas: int, cpu: float, events: tuple[InForce, ...] = (), ready: int | None = None
) -> Observation:
    return Observation(
        target=TargetView(replicas=replicas, ready=replicas if ready is None else ready),
        results={"cpu": Sampled((Sample({}, cpu),))},
        events=events,
    )


def run(
    the_spec: PerformanceSLOSpec,
    demand: Callable[[float], float],
    start: float,
    end: float,
    memory: Memory,
    replicas: int,
    events: Callable[[float], tuple[InForce, ...]] | None = None,
) -> tuple[Memory, int, list[str]]:
    """Close the loop: replicas follow the plan and serve ``warmupSeconds`` after they
    are asked for; the reading is busy replicas (``demand``) over the ready ones."""
    reasons: list[str] = []
    started: list[tuple[float, int]] = [(start - 1e9, replicas)]  # (ready at, count)
    t = start
    while t < end:
        ready = min(replicas, max(n for at, n in started if at <= t))
        in_force = events(t) if events is not None else ()
        cpu = demand(t) / max(ready, 1)
        result = plan(PlanInput(the_spec, observe(replicas, cpu, in_force, ready), memory, t))
        memory = result.memory
        if result.writes.replicas is not None:
            replicas = result.writes.replicas
            started.append((t + the_spec.scaling.warmup_seconds, replicas))
            reasons.append(result.decision.reason if result.decision else "")
        t += 15
    return memory, replicas, reasons


def bursty(t: float) -> float:
    """Demand 5 busy replicas, with a 30-second burst to 9 every 2 minutes."""
    return 9.0 if t % 120 < 30 else 5.0


def test_headroom_is_learned_in_the_plan_and_survives_a_restart() -> None:
    the_spec = spec()
    memory, replicas, _ = run(the_spec, bursty, 0, 6 * 3600, Memory(), 10)
    learned = memory.status.learned_demand
    assert learned is not None
    assert learned.horizon_seconds == 60
    assert memory.status.demand is not None
    assert memory.status.demand.headroom is not None
    assert memory.status.demand.headroom > 0
    # A restart: only the status is left. The headroom is the same at once.
    restarted = Memory.from_status(PerformanceSLOStatus.model_validate(memory.status.model_dump()))
    t = 6 * 3600 + 60.0  # between bursts
    before = plan(PlanInput(the_spec, observe(replicas, 5 / replicas), memory, t))
    after = plan(PlanInput(the_spec, observe(replicas, 5 / replicas), restarted, t))
    assert before.status.demand is not None
    assert after.status.demand is not None
    assert after.status.demand.headroom == pytest.approx(before.status.demand.headroom, rel=0.05)
    nohr = spec(demandHeadroom={"quantile": 0})
    off = plan(PlanInput(nohr, observe(replicas, 5 / replicas), restarted, t))
    assert off.status.demand is not None
    assert off.status.demand.headroom is None


def test_what_is_learned_alone_does_not_trigger_a_status_write() -> None:
    the_spec = spec()
    memory, replicas, _ = run(the_spec, lambda t: 5.0, 0, 3600, Memory(), 10)
    written = memory.status
    later = plan(PlanInput(the_spec, observe(replicas, 5.0 / replicas), memory, 3600 + 15))
    assert later.status.learned_demand != written.learned_demand
    assert not needs_write(written, later.status, now=3600 + 15)
    assert needs_write(written, later.status, now=3600 + 15 + 300)  # the heartbeat carries it


def test_a_weekly_peak_is_met_before_it_arrives() -> None:
    """A 9:00 ramp from 4 to 40 busy replicas' worth within a minute, every day: after two
    weeks the fleet is already there at 9:00; without the forecast it is not."""

    def ramp(t: float) -> float:
        return 40.0 if 9 * 3600 <= t % 86400 < 11 * 3600 else 4.0

    with_forecast = spec()
    memory, replicas, _ = run(with_forecast, ramp, 0, 2 * WEEK + 9 * 3600 - 300, Memory(), 10)
    memory, replicas, reasons = run(
        with_forecast, ramp, 2 * WEEK + 9 * 3600 - 300, 2 * WEEK + 9 * 3600, memory, replicas
    )
    # 40 busy at 0.5 is 80; the slot's mean (what the forecast keeps) includes the first
    # minutes of the ramp, when the fleet of the first two weeks was still catching up.
    assert replicas >= 70
    assert any("forecast" in r and "weeks ago" in r for r in reasons)
    blind = spec(forecast={"weekly": False})
    memory, replicas, _ = run(blind, ramp, 0, 2 * WEEK + 9 * 3600, Memory(), 10)
    assert replicas < 20


def test_an_eventday_starts_where_its_last_activation_peaked() -> None:
    the_spec = spec()
    sale = Overrides.model_validate({"capacity": {"noScaleDown": False}})

    def events(first: str) -> Callable[[float], tuple[InForce, ...]]:
        def in_force(t: float) -> tuple[InForce, ...]:
            if 3600 <= t < 7200:
                return (InForce("sale", "Active", sale, first),)
            if 90_000 <= t < 93_600:
                return (InForce("sale", "Warming", sale, "next"),)
            return ()

        return in_force

    def demand(t: float) -> float:
        return 30.0 if 3600 <= t < 7200 else 3.0

    memory, replicas, _ = run(the_spec, demand, 0, 90_000, Memory(), 6, events("first"))
    assert [(p.event_day, p.activation) for p in memory.status.event_peaks] == [("sale", "first")]
    peak = memory.status.event_peaks[0].replicas
    assert peak >= 60
    assert replicas < 20  # back down after the event
    memory, replicas, reasons = run(the_spec, demand, 90_000, 90_060, memory, replicas, events("x"))
    assert replicas == peak
    assert any("its last activation needed" in r for r in reasons)
    off = Overrides.model_validate({"capacity": {"fromLastActivation": False}})
    stay = plan(
        PlanInput(the_spec, observe(6, 0.25, (InForce("sale", "Warming", off, "y"),)), memory, 9e4)
    )
    assert stay.writes.replicas is None or stay.writes.replicas < peak


# -- total objectives (requests per second at the ingress, per replica) -------------------


RPS = Objective(name="rps", query="q", target=30.0, kind=ObjectiveKind.TOTAL)


def test_a_total_objective_follows_the_hpa_average_value_law() -> None:
    spec_ = spec().scaling
    up = decide(spec_, [RPS], {"rps": Reading(300.0)}, ScaleState(5), now=0)
    assert up.desired == 10  # ceil(300 / 30)
    within = decide(spec_, [RPS], {"rps": Reading(160.0)}, ScaleState(5), now=0)
    assert within.desired == 5  # 160 / (30 * 5) = 1.07: inside the tolerance
    assert within.objectives[0].ratio == pytest.approx(160 / 150)
    # Replicas still starting do not change what a total asks for (it is not per pod).
    warming = ScaleState(10, scale_events=(Timed(-5, 5),), ready=5)
    assert decide(spec_, [RPS], {"rps": Reading(300.0)}, warming, now=0).desired == 10


def test_a_total_sees_demand_a_saturated_utilization_cannot() -> None:
    """A 10x crowd: CPU reads 100 % (capped), arrivals read 10x."""
    spec_ = spec().scaling
    cpu = Objective(name="cpu", query="q", target=0.75, kind=ObjectiveKind.PROPORTIONAL)
    readings = {"cpu": Reading(1.0), "rps": Reading(1500.0)}
    state = ScaleState(5, ready=5)
    only_cpu = decide(spec_, [cpu], readings, state, now=0)
    both = decide(spec_, [cpu, RPS], readings, state, now=0)
    assert only_cpu.recommended == 7  # ceil(5 * 1.0 / 0.75)
    assert both.recommended == 50  # ceil(1500 / 30)
    assert need([cpu, RPS], readings, 5) == pytest.approx(50.0)


def test_a_total_objective_must_be_held_below_its_target() -> None:
    with pytest.raises(ValidationError, match="direction must be below"):
        Objective.model_validate(
            {"name": "rps", "query": "q", "target": 30, "kind": "total", "direction": "above"}
        )


def test_a_copied_sketch_and_its_original_never_write_into_each_other() -> None:
    """The plan step copies the sketch every evaluation and shares untouched hours."""
    a = GrowthSketch(60.0)
    a.add(0, 1.0, 86400)
    b = a.copy()
    b.add(20, 3.0, 86400)
    a.add(30, 0.5, 86400)
    assert a.samples() == 2
    assert b.samples() == 2
    assert a.encode() != b.encode()
    assert GrowthSketch.decode(60.0, b.encode()).encode() == b.encode()
