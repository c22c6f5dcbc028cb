"""The decision core: laws, behaviour, and the invariants of ``decide`` under hypothesis."""

from __future__ import annotations

import statistics
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crestline.api import Objective, ScalingSpec
from crestline.api.slo import Direction as ObjDirection
from crestline.api.slo import ObjectiveKind
from crestline.policy.behavior import Timed, scale_down_limit, scale_up_limit, stabilize
from crestline.policy.decide import (
    Decision,
    Reading,
    ScaleState,
    decide,
    record_scale,
)
from crestline.policy.demand import ReadingMemory, headroom_value
from crestline.policy.laws import badness, proportional_proposal, slo_proposal

P95 = Objective(name="p95", query="q1", target=0.25, kind=ObjectiveKind.SLO)
CPU = Objective(name="cpu", query="q2", target=0.7, kind=ObjectiveKind.PROPORTIONAL)
HIT = Objective(
    name="hit", query="q3", target=0.9, direction=ObjDirection.ABOVE, kind=ObjectiveKind.SLO
)


def scaling(**kw: Any) -> ScalingSpec:
    base: dict[str, Any] = {"minReplicas": 2, "maxReplicas": 40}
    base.update(kw)
    return ScalingSpec.model_validate(base)


# -- laws -----------------------------------------------------------------------------


def test_badness_is_oriented() -> None:
    assert badness(0.5, 0.25, ObjDirection.BELOW) == 2.0
    assert badness(0.45, 0.9, ObjDirection.ABOVE) == 2.0
    assert badness(0.0, 0.9, ObjDirection.ABOVE) == float("inf")


def test_proportional_law_is_the_hpa_ratio_law() -> None:
    assert proportional_proposal(10, 1.05, 0.1) == 10  # inside tolerance
    assert proportional_proposal(10, 1.5, 0.1) == 15
    assert proportional_proposal(10, 0.5, 0.1) == 5
    assert proportional_proposal(3, 1.0000000001 * 4 / 3, 0.1) == 4  # no float-noise ceil


def test_slo_law_regions() -> None:
    assert slo_proposal(10, 1.0, 0.1) == 10  # at target: hold
    assert slo_proposal(10, 1.05, 0.1) == 11  # any breach acts, tolerance or not
    assert slo_proposal(10, 1.5, 0.1) == 13  # grows with sqrt of the breach
    assert slo_proposal(10, 9.0, 0.1) == 20  # capped at 2x
    assert slo_proposal(1, 1.2, 0.1) == 2  # at least one pod
    assert slo_proposal(10, 0.85, 0.1) == 10  # dead band
    assert slo_proposal(10, 0.3, 0.1) == 9  # gentle probe down
    assert slo_proposal(3, 0.3, 0.1) == 2


# -- behaviour --------------------------------------------------------------------------


def test_stabilization_takes_the_max_within_the_down_window() -> None:
    history = [Timed(100, 10), Timed(200, 8), Timed(350, 6)]
    assert stabilize(10, 4, history, 400, up_window=0, down_window=300) == 8
    assert stabilize(10, 4, history, 600, up_window=0, down_window=300) == 6


def test_up_rate_limit_counts_changes_in_the_period() -> None:
    rules = scaling().behavior.scale_up  # max(100 %, 4 pods) per 15 s
    assert scale_up_limit(10, rules, [], 0) == 20
    # 10 added in the last 15 s: the period started at 10, so 20 is the cap.
    assert scale_up_limit(20, rules, [Timed(-5, 10)], 0) == 20
    assert scale_up_limit(2, rules, [], 0) == 6


def test_down_rate_limit_and_disabled() -> None:
    rules = scaling(
        behavior={
            "scaleDown": {
                "stabilizationWindowSeconds": 0,
                "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
            }
        }
    ).behavior.scale_down
    assert scale_down_limit(10, rules, [], 0) == 8
    assert scale_down_limit(8, rules, [Timed(-30, -2)], 0) == 8
    off = scaling(
        behavior={
            "scaleDown": {
                "stabilizationWindowSeconds": 0,
                "selectPolicy": "Disabled",
                "policies": [],
            }
        }
    )
    assert scale_down_limit(10, off.behavior.scale_down, [], 0) == 10


# -- decide -----------------------------------------------------------------------------


def test_breach_scales_up_and_explains() -> None:
    d = decide(
        scaling(), [P95, CPU], {"p95": Reading(0.5), "cpu": Reading(0.7)}, ScaleState(10), now=1000
    )
    assert d.desired == 15  # ceil(10 * sqrt(2))
    assert d.direction.value == "up"
    assert "p95=0.5" in d.reason
    assert d.worst is not None
    assert d.worst.name == "p95"


def test_missing_metric_holds_and_fallback_never_scales_down() -> None:
    hold = decide(scaling(), [P95], {}, ScaleState(10), now=0)
    assert hold.desired == 10
    assert not hold.metrics_available
    fb = scaling(onMetricsUnavailable={"action": "fallback", "fallbackReplicas": 6})
    assert decide(fb, [P95], {}, ScaleState(10), now=0).desired == 10
    assert decide(fb, [P95], {}, ScaleState(3), now=0).desired == 6


def test_partial_metrics_allow_up_but_not_down() -> None:
    up = decide(scaling(), [P95, CPU], {"cpu": Reading(1.4)}, ScaleState(10), now=0)
    assert up.desired == 20
    assert not up.metrics_complete
    down = decide(scaling(), [P95, CPU], {"cpu": Reading(0.1)}, ScaleState(10), now=0)
    assert down.desired == 10


def test_max_replicas_sets_limited() -> None:
    d = decide(scaling(maxReplicas=12), [P95], {"p95": Reading(1.0)}, ScaleState(10), now=0)
    assert d.desired == 12
    assert d.limited is not None


def test_scale_down_waits_for_the_stabilization_window() -> None:
    spec = scaling()
    state = ScaleState(20)
    t = 0.0
    seen = []
    for _ in range(40):  # 20 minutes of quiet at 30 s intervals
        d = decide(spec, [CPU], {"cpu": Reading(0.7 * 10 / state.current)}, state, now=t)
        seen.append(d.desired)
        state = ScaleState(
            d.desired,
            d.recommendations,
            record_scale(state.scale_events, t, d.desired - state.current, spec),
        )
        t += 30
    assert seen[:10] == [20] * 10  # nothing before the 300 s window has passed
    assert seen[-1] == 10


# -- invariants under hypothesis --------------------------------------------------------

values = st.one_of(st.none(), st.just(float("nan")), st.floats(min_value=0, max_value=50))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[ScalingSpec, dict[str, Reading], ScaleState, float]:
    lo = draw(st.integers(1, 20))
    hi = draw(st.integers(lo, 60))
    spec = scaling(
        minReplicas=lo,
        maxReplicas=hi,
        tolerance=draw(st.sampled_from([0.0, 0.05, 0.1, 0.3])),
        behavior={
            "scaleUp": {
                "stabilizationWindowSeconds": draw(st.integers(0, 120)),
                "policies": [
                    {
                        "type": draw(st.sampled_from(["Pods", "Percent"])),
                        "value": draw(st.integers(1, 200)),
                        "periodSeconds": draw(st.integers(1, 120)),
                    }
                ],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": draw(st.integers(0, 600)),
                "policies": [
                    {
                        "type": draw(st.sampled_from(["Pods", "Percent"])),
                        "value": draw(st.integers(1, 100)),
                        "periodSeconds": draw(st.integers(1, 120)),
                    }
                ],
            },
        },
    )
    readings = {}
    for name in ("p95", "cpu", "hit"):
        v = draw(values)
        if v is not None:
            readings[name] = Reading(v)
    now = 10_000.0
    history = tuple(
        Timed(now - draw(st.integers(1, 900)), draw(st.integers(0, 80)))
        for _ in range(draw(st.integers(0, 6)))
    )
    events = tuple(
        Timed(now - draw(st.integers(1, 200)), draw(st.integers(-20, 20)))
        for _ in range(draw(st.integers(0, 4)))
    )
    current = draw(st.integers(0, 80))
    return spec, readings, ScaleState(current, history, events), now


def _run(s: tuple[ScalingSpec, dict[str, Reading], ScaleState, float]) -> Decision:
    spec, readings, state, now = s
    return decide(spec, [P95, CPU, HIT], readings, state, now)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_bounds_always_hold(s: Any) -> None:
    spec = s[0]
    assert spec.min_replicas <= _run(s).desired <= spec.max_replicas


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_rate_limits_always_hold(s: Any) -> None:
    spec, _, state, now = s
    d = _run(s)
    lo, hi = spec.min_replicas, spec.max_replicas
    up = scale_up_limit(state.current, spec.behavior.scale_up, state.scale_events, now)
    down = scale_down_limit(state.current, spec.behavior.scale_down, state.scale_events, now)
    # Within the rate window, unless the bounds themselves force the move.
    assert d.desired <= max(up, lo)
    assert d.desired >= min(down, hi)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_no_scale_down_without_complete_data(s: Any) -> None:
    spec, readings, state, _ = s
    d = _run(s)
    complete = all(name in readings and readings[name].ok for name in ("p95", "cpu", "hit"))
    if not complete:
        # Only an explicit bound (maxReplicas below the current count) may lower it.
        assert d.desired >= min(state.current, spec.max_replicas)
        assert not d.metrics_complete


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_identical_input_gives_identical_decision(s: Any) -> None:
    assert _run(s) == _run(s)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 60), st.floats(0.0, 0.3), st.floats(-0.99, 0.99))
def test_in_tolerance_readings_at_desired_change_nothing(
    current: int, tolerance: float, offset: float
) -> None:
    spec = scaling(minReplicas=1, maxReplicas=60, tolerance=tolerance)
    cpu_value = 0.7 * (1 + offset * tolerance)
    d = decide(spec, [CPU], {"cpu": Reading(cpu_value)}, ScaleState(current), now=0)
    assert d.desired == current


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), None])
def test_non_numbers_count_as_missing(bad: float | None) -> None:
    d = decide(scaling(), [CPU], {"cpu": Reading(bad)}, ScaleState(10), now=0)
    assert d.desired == 10
    assert not d.metrics_available


def test_warming_replicas_are_not_counted_as_serving() -> None:
    spec = scaling(warmupSeconds=60)
    # 10 replicas, 5 of them added 20 s ago: the breach reading reflects 5 serving.
    state = ScaleState(10, (), (Timed(-20, 5),))
    d = decide(spec, [CPU], {"cpu": Reading(0.7 * 1.6)}, state, now=0)
    assert d.desired == 10  # ceil(5 * 1.6) = 8 is already covered
    assert "warming up" in d.reason
    # A quiet reading during warm-up does not scale down either.
    quiet = decide(spec, [CPU], {"cpu": Reading(0.1)}, state, now=0)
    assert quiet.desired == 10


def test_headroom_adds_but_never_removes() -> None:
    spec = scaling()
    bursty = decide(spec, [CPU], {"cpu": Reading(0.7, headroom_value=1.05)}, ScaleState(10), now=0)
    assert bursty.desired == 15  # sized for 1.05 / 0.7 = 1.5x
    calm = decide(spec, [CPU], {"cpu": Reading(0.7, headroom_value=0.2)}, ScaleState(10), now=0)
    assert calm.desired == 10
    # SLO objectives are not linear in replicas: headroom does not apply to them.
    slo = decide(spec, [P95], {"p95": Reading(0.2, headroom_value=5.0)}, ScaleState(10), now=0)
    assert slo.desired == 10


def test_headroom_value_is_mean_plus_deviations_of_demand() -> None:
    samples = [(0.0, 0.5, 10), (1.0, 0.7, 10), (2.0, 0.6, 10)]  # demand 5, 7, 6
    value = headroom_value(samples, 0.6, 10, deviations=1.0)
    assert value == pytest.approx((6 + statistics.pstdev([5, 7, 6])) / 10)
    assert headroom_value(samples, 0.6, 10, deviations=0) == 0.6
    assert headroom_value(samples[:2], 0.6, 10, deviations=1.0) == 0.6  # too few samples
    assert headroom_value(samples, 0.9, 10, deviations=1.0) == 0.9  # never below now


@given(
    st.lists(
        st.tuples(st.floats(0, 1e4), st.floats(0, 5), st.integers(1, 50)), min_size=0, max_size=30
    ),
    st.floats(0, 5),
    st.integers(1, 50),
    st.floats(0, 5),
)
def test_headroom_value_never_below_the_reading(
    samples: list[tuple[float, float, int]], value: float, serving: int, k: float
) -> None:
    assert headroom_value(samples, value, serving, k) >= value - 1e-9


def test_reading_memory_trims_to_its_window() -> None:
    memory = ReadingMemory(window_seconds=100)
    for t in range(0, 300, 10):
        out = memory.with_headroom({"cpu": Reading(0.5)}, float(t), 4, 1.0)
    assert len(memory.samples["cpu"]) == 10
    assert out["cpu"].headroom_value == pytest.approx(0.5)
    missing = memory.with_headroom({"cpu": Reading(None, "down")}, 300.0, 4, 1.0)
    assert missing["cpu"].headroom_value is None
