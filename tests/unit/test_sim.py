"""The queueing model, replica start-up, traces and the replay loop."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crestline.api import ScalingSpec
from crestline_dev.sim.controllers import (
    HpaController,
    StaticController,
    max_utilization_for,
    oracle_replica_hours,
)
from crestline_dev.sim.model import Fleet, Replicas, ServiceModel, erlang_c
from crestline_dev.sim.replay import Harness
from crestline_dev.sim.trace import EventDaySpike, PerMinuteTrace, StepTrace, TimeScaled

MODEL = ServiceModel()


def test_erlang_c_known_values() -> None:
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(4, 0.0) == 0.0
    assert erlang_c(4, 4.0) == 1.0


@given(st.floats(0.0, 0.97), st.floats(0.0, 0.97))
def test_latency_rises_with_utilization(a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    cap = MODEL.replica_capacity
    assert MODEL.quantile(0.95, lo * cap) <= MODEL.quantile(0.95, hi * cap) + 1e-6


def test_quantile_matches_the_cdf() -> None:
    q = MODEL.quantile(0.95, 30.0)
    assert MODEL.sojourn_cdf(q, 30.0) == pytest.approx(0.95, abs=1e-6)
    assert MODEL.p95_fast(30.0 / MODEL.replica_capacity) == pytest.approx(q, rel=1e-3)


def test_overload_builds_backlog_and_errors() -> None:
    fleet = Fleet(MODEL)
    iv = fleet.step(offered_rps=2 * MODEL.replica_capacity, ready=1, dt=10)
    assert fleet.backlog > 0
    assert iv.utilization == 1.0
    later = fleet.step(offered_rps=2 * MODEL.replica_capacity, ready=1, dt=10)
    assert later.errors > 0
    assert later.p95(MODEL) > MODEL.timeout / 2


def test_replicas_start_after_the_delay_and_stop_at_once() -> None:
    r = Replicas(startup_seconds=30, ready=2)
    r.set_desired(5, now=0)
    assert r.advance(10) == 2
    assert r.total == 5
    assert r.advance(30) == 5
    r.set_desired(3, now=31)
    assert r.advance(31) == 3
    r.set_desired(6, now=40)
    r.set_desired(4, now=41)  # cancels pending starts first
    assert r.advance(100) == 4


def test_traces() -> None:
    step = StepTrace.parse("0:50,30:200")
    assert step.rps(10) == 50
    assert step.rps(30) == 200
    with pytest.raises(ValueError, match="second:rps"):
        StepTrace.parse("fast")
    per_min = PerMinuteTrace([60, 120, 60])
    assert per_min.rps(30) == pytest.approx(1.5)
    spike = EventDaySpike(StepTrace([(0, 10)]), start=100, end=200, factor=3, ramp=50)
    assert spike.rps(50) == 10
    assert spike.rps(125) == pytest.approx(20)
    assert spike.rps(150) == 30
    assert TimeScaled(per_min, 60).rps(0.5) == pytest.approx(1.5)


def test_nasa_trace_loads() -> None:
    path = Path(__file__).parents[2].parent / "shared" / "traces"
    csv = path / "nasa-1995-requests-per-minute.csv"
    if not csv.exists():
        pytest.skip("shared traces not present")
    trace = PerMinuteTrace.from_csv(csv, minutes=1440)
    assert trace.duration == 86400
    assert trace.peak_rps > 0


def test_replay_scores_baselines_sensibly() -> None:
    trace = StepTrace([(0, 100), (600, 400), (1200, 100)], length=2400)
    target = 0.5
    spec = ScalingSpec.model_validate({"minReplicas": 2, "maxReplicas": 100})
    harness = Harness(MODEL, latency_target=target)
    static = harness.replay("static", trace, StaticController(20), initial_replicas=20)
    hpa = harness.replay("hpa", trace, HpaController(0.7, spec), initial_replicas=4)
    assert static.violation_minutes == 0
    assert static.replica_hours == pytest.approx(20 * 2400 / 3600)
    assert hpa.violation_minutes > 0  # the step outruns a reactive controller
    assert hpa.replica_hours < static.replica_hours
    oracle = oracle_replica_hours(trace, MODEL, target, minimum=2)
    assert oracle < hpa.replica_hours
    u = max_utilization_for(MODEL, target)
    assert MODEL.p95_fast(u) <= target < MODEL.p95_fast(u + 0.01)
    assert not math.isnan(hpa.error_ratio)


def test_a_ready_count_the_pods_could_not_take_yet_is_reported_again() -> None:
    """The kubelet stand-in marks pods Ready only once the ReplicaSet has made them: a
    count reported into an empty pod list must be retried, not remembered as done."""
    from crestline_dev.sim.server import ClusterHooks, SimulatedService
    from crestline_dev.sim.trace import StepTrace

    pods: list[int] = []  # how many pods exist; the controller makes them later
    calls: list[int] = []

    def mark(ready: int) -> bool:
        calls.append(ready)
        return len(pods) >= ready

    sim = SimulatedService(
        "web", "ns", StepTrace([(0, 10.0)], length=60), ClusterHooks(lambda: 2, mark)
    )
    sim._replicas = Replicas(5.0, ready=2)
    sim._report_ready()
    sim._report_ready()
    pods.extend([1, 2])
    sim._report_ready()
    sim._report_ready()
    assert calls == [2, 2, 2]
