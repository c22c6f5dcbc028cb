"""The decision core: laws, behaviour, and the invariants of ``decide`` under hypothesis."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crestline.api import Objective, ScalingSpec
from crestline.api.slo import Direction as ObjDirection
from crestline.api.slo import ObjectiveKind
from crestline.policy.behavior import (
    LimitReason,
    Stabilized,
    Timed,
    scale_down_limit,
    scale_up_limit,
    stabilize,
)
from crestline.policy.decide import (
    Decision,
    Reading,
    ScaleState,
    decide,
    record_scale,
)
from crestline.policy.laws import Fleet, Knee, badness, proportional_proposal, slo_proposal

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
    def law(current: int, ratio: float, serving: int | None = None) -> int:
        return proportional_proposal(Fleet(current, current if serving is None else serving), ratio)

    assert law(10, 1.05) == 10  # inside tolerance
    assert law(10, 1.5) == 15
    assert law(10, 0.5) == 5
    assert law(3, 1.0000000001 * 4 / 3) == 4  # no float-noise ceil


def test_both_edges_of_the_tolerance_band_are_inside() -> None:
    """The HPA's isWithin: 1 - tolerance <= ratio <= 1 + tolerance holds (10 stays 10)."""
    fleet = Fleet(10, 10)
    assert proportional_proposal(fleet, 1.1) == 10
    assert proportional_proposal(fleet, 0.9) == 10
    assert proportional_proposal(fleet, 0.77 / 0.7) == 10  # 1.1 with float noise
    assert proportional_proposal(fleet, 0.63 / 0.7) == 10  # 0.9 with float noise
    assert proportional_proposal(fleet, 1.1 + 1e-6) == 12  # just outside: ceil(11.00001)
    assert proportional_proposal(fleet, 0.9 - 1e-6) == 9
    spec = scaling(minReplicas=1)
    edge = decide(spec, [CPU], {"cpu": Reading(0.7 * 1.1)}, ScaleState(10), now=0)
    assert edge.desired == 10


def test_per_direction_tolerance_falls_back_to_the_global_one() -> None:
    spec = scaling(
        tolerance=0.05,
        behavior={"scaleDown": {"tolerance": 0.5}},
    )
    assert spec.tolerances() == (0.5, 0.05)
    fleet = Fleet(10, 10, spec.tolerances())
    assert proportional_proposal(fleet, 1.06) == 11  # up: 5 %
    assert proportional_proposal(fleet, 0.55) == 10  # down: 50 %
    assert proportional_proposal(fleet, 0.45) == 5


def test_tolerance_of_one_or_more_is_accepted_as_the_hpa_does() -> None:
    spec = scaling(tolerance=10, behavior={"scaleUp": {"tolerance": 2.5}})
    assert spec.tolerances() == (10, 2.5)
    fleet = Fleet(10, 10, spec.tolerances())
    assert proportional_proposal(fleet, 0.01) == 10  # never down
    assert proportional_proposal(fleet, 3.4) == 10
    assert proportional_proposal(fleet, 3.6) == 36
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        scaling(tolerance=-0.1)
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        scaling(behavior={"scaleDown": {"tolerance": -0.001}})


def test_unready_replicas_count_as_idle_up_and_as_needed_down() -> None:
    # 3 asked for, 2 serving at 2x the target: the idle one dilutes to 1.33x -> 4.
    assert proportional_proposal(Fleet(3, 2), 2.0) == 4
    # 1 serving at 1.33x: diluted over 3 it is 0.44x, a change of direction -> hold.
    assert proportional_proposal(Fleet(3, 1), 4 / 3) == 3
    # 10 asked for, 6 serving at half the target: the 4 not serving count at the target,
    # so only the spare capacity of the 6 goes: ceil(3) + 4 = 7, not the HPA's 3.
    assert proportional_proposal(Fleet(10, 6), 0.5) == 7
    # ...and if that is inside the tolerance, nothing changes.
    assert proportional_proposal(Fleet(10, 9), 0.9) == 10


def test_slo_law_regions() -> None:
    def law(current: int, ratio: float, knee: Knee | None = None) -> int:
        return slo_proposal(Fleet(current, current), ratio, knee)

    assert law(10, 1.0) == 10  # at target: hold
    assert law(10, 1.05) == 11  # any breach acts, tolerance or not
    assert law(10, 1.5) == 13  # grows with sqrt of the breach
    assert law(10, 9.0) == 20  # capped at 2x
    assert law(10, float("inf")) == 20  # the top bucket: the largest breach
    assert law(1, 1.2) == 2  # at least one pod
    assert law(10, 0.85) == 10  # dead band
    assert law(10, 0.3) == 8  # probe: per-replica load up by at most 1/0.8
    assert law(15, 0.3) == 12  # 0.8 * 15 is 12, whatever the float says
    assert law(5, 0.1) == 4
    # Below five replicas one replica is a bigger step than that; it goes only when the
    # reading leaves room even if latency grew with the load per replica.
    assert law(4, 0.5) == 3  # 0.5 * 4/3 = 0.67 stays under 0.8
    assert law(4, 0.7) == 4  # 0.7 * 4/3 = 0.93 would not
    assert law(2, 0.5) == 2  # the 50 % step of the old law: 0.5 * 2 = 1.0
    assert law(2, 0.3) == 1  # 0.3 * 2 = 0.6: room even for that


def test_slo_knee_memory_blocks_the_probe_and_lifts_a_breach() -> None:
    knee = Knee("p95", floor=7, since=0.0)
    assert slo_proposal(Fleet(20, 20), 0.3, knee) == 16  # far from the knee: the probe
    assert slo_proposal(Fleet(10, 10), 0.3, knee) == 9  # at most half way to the floor
    assert slo_proposal(Fleet(9, 9), 0.3, knee) == 8
    assert slo_proposal(Fleet(8, 8), 0.3, knee) == 8  # would be 7: the floor breached
    assert slo_proposal(Fleet(6, 6), 1.05, knee) == 8  # straight to floor + 1


def test_a_failed_probe_is_undone() -> None:
    # 12 -> 9 within the probe horizon, and now a breach: back to 12, whatever the size.
    assert slo_proposal(Fleet(9, 9, removed=3), float("inf")) == 12
    assert slo_proposal(Fleet(9, 9, removed=3), 1.01) == 12
    spec = scaling(warmupSeconds=60)
    state = ScaleState(9, ((Timed(-400, 12)),), (Timed(-120, -3),))
    d = decide(spec, [P95], {"p95": Reading(0.5)}, state, now=0)
    assert d.desired == 12
    assert d.knees == (Knee("p95", 9, 0),)  # learned: 9 is too small at this demand
    # A breach no scale-down preceded is demand rising: growth, and nothing learned.
    rising = decide(spec, [P95], {"p95": Reading(0.5)}, ScaleState(9, ((Timed(-400, 9)),)), now=0)
    assert (rising.desired, rising.knees) == (13, ())


def test_slo_knee_is_learned_and_forgotten_only_on_evidence() -> None:
    from crestline.policy.laws import learn

    probe = Fleet(7, 7, removed=2)
    assert learn(None, "p95", fleet=Fleet(7, 7), ratio=1.4, now=10) is None  # no probe
    knee = learn(None, "p95", fleet=probe, ratio=1.4, now=10)
    assert knee == Knee("p95", 7, 10)
    # Warming replicas: not a reference; a settled reading above the floor is.
    knee = learn(knee, "p95", fleet=Fleet(10, 7), ratio=0.5, now=20)
    assert knee == Knee("p95", 7, 10)
    knee = learn(knee, "p95", fleet=Fleet(10, 10), ratio=0.5, now=30)
    assert knee == Knee("p95", 7, 10, (10, 0.5))
    # Same demand, fewer replicas: the reading cannot be lower; nothing forgotten.
    assert learn(knee, "p95", fleet=Fleet(8, 8), ratio=0.7, now=40) == knee
    # Within the tolerance (0.1) of the reference: noise, not evidence.
    assert learn(knee, "p95", fleet=Fleet(8, 8), ratio=0.46, now=40) == knee
    # More replicas than the reference: lower readings prove nothing.
    assert learn(knee, "p95", fleet=Fleet(20, 20), ratio=0.1, now=40) == knee
    # Fewer-or-equal replicas reading lower than the reference beyond tolerance: demand
    # fell, the floor is stale.
    assert learn(knee, "p95", fleet=Fleet(8, 8), ratio=0.44, now=40) is None
    # A failed probe above the floor raises it (demand rose) and drops the reference.
    assert learn(knee, "p95", fleet=Fleet(9, 9, removed=1), ratio=1.2, now=50) == Knee("p95", 9, 50)
    assert learn(knee, "p95", fleet=Fleet(7, 7, removed=1), ratio=1.2, now=50) == knee


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
    off = scaling(behavior={"scaleDown": {"selectPolicy": "Disabled"}})
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


def test_max_replicas_sets_the_limit() -> None:
    d = decide(scaling(maxReplicas=12), [P95], {"p95": Reading(1.0)}, ScaleState(10), now=0)
    assert d.desired == 12
    assert d.limit is not None
    assert d.limit.reason is LimitReason.TOO_MANY_REPLICAS
    assert "maxReplicas is 12" in d.limit.message
    assert "20 recommended" in d.limit.message


def _history(value: int, t: float = -10_000.0) -> tuple[Timed, ...]:
    """A recommendation that expired long ago: the SLO has been decided on before."""
    return (Timed(t, value),)


@pytest.mark.parametrize(
    ("spec", "current", "cpu", "desired", "reason", "numbers"),
    [
        ({}, 10, 7.0, 20, LimitReason.SCALE_UP_LIMIT, ("allow 20", "100 recommended")),
        ({"maxReplicas": 15}, 10, 7.0, 15, LimitReason.TOO_MANY_REPLICAS, ("15",)),
        (
            {
                "behavior": {
                    "scaleDown": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}
                }
            },
            10,
            0.07,
            8,
            LimitReason.SCALE_DOWN_LIMIT,
            ("allow 8", "1 recommended"),
        ),
        ({"minReplicas": 4}, 10, 0.07, 4, LimitReason.TOO_FEW_REPLICAS, ("minReplicas is 4",)),
        ({"minReplicas": 4, "maxReplicas": 6}, 9, 0.7, 6, LimitReason.TOO_MANY_REPLICAS, ("9",)),
        ({"minReplicas": 4}, 2, 0.7, 4, LimitReason.TOO_FEW_REPLICAS, ("2", "4")),
    ],
)
def test_every_limit_has_a_reason_and_the_numbers(
    spec: dict[str, Any],
    current: int,
    cpu: float,
    desired: int,
    reason: LimitReason,
    numbers: tuple[str, ...],
) -> None:
    s = scaling(**({"minReplicas": 1} | spec))
    state = ScaleState(current, _history(current))
    d = decide(s, [CPU], {"cpu": Reading(cpu)}, state, now=0)
    assert d.desired == desired
    assert d.limit is not None
    assert d.limit.reason is reason
    for n in numbers:
        assert n in d.limit.message
    assert d.limit.reason.value in d.reason


def test_no_limit_when_nothing_bites() -> None:
    d = decide(scaling(), [CPU], {"cpu": Reading(1.4)}, ScaleState(10, _history(10)), now=0)
    assert (d.desired, d.limit, d.stabilized) == (20, None, None)


def test_stabilization_says_why() -> None:
    state = ScaleState(10, (Timed(-60, 10),))
    d = decide(scaling(), [CPU], {"cpu": Reading(0.35)}, state, now=0)
    assert d.desired == 10
    assert d.stabilized is Stabilized.SCALE_DOWN_STABILIZED
    assert "ScaleDownStabilized" in d.reason
    up = scaling(behavior={"scaleUp": {"stabilizationWindowSeconds": 120}})
    d = decide(up, [CPU], {"cpu": Reading(1.4)}, state, now=0)
    assert (d.desired, d.stabilized) == (10, Stabilized.SCALE_UP_STABILIZED)


def test_a_new_slo_seeds_its_history_once() -> None:
    """HPA: only an autoscaler without history is seeded with the current count."""
    quiet = {"cpu": Reading(0.35)}  # wants 5 of 10
    new = decide(scaling(), [CPU], quiet, ScaleState(10), now=0)
    assert new.desired == 10  # the first scale-down waits a window
    assert new.stabilized is Stabilized.SCALE_DOWN_STABILIZED
    # Every recommendation expired after a quiet spell: scale down at once.
    expired = decide(scaling(), [CPU], quiet, ScaleState(10, _history(10)), now=0)
    assert expired.desired == 5
    # The caller may say so instead of passing the expired entries.
    flagged = decide(scaling(), [CPU], quiet, ScaleState(10, had_history=True), now=0)
    assert flagged.desired == 5
    # And decide never hands back an empty history once it has decided.
    outage = decide(scaling(), [CPU], {}, ScaleState(10, _history(10)), now=0)
    assert outage.recommendations == _history(10)


def test_the_seed_holds_a_first_scale_up_only_with_an_up_window() -> None:
    burst = {"cpu": Reading(1.4)}
    assert decide(scaling(), [CPU], burst, ScaleState(10), now=0).desired == 20
    windowed = scaling(behavior={"scaleUp": {"stabilizationWindowSeconds": 60}})
    state = ScaleState(10)
    d = decide(windowed, [CPU], burst, state, now=0)
    assert d.desired == 10  # the HPA holds a new autoscaler's scale-up for the window
    state = ScaleState(10, d.recommendations)
    assert decide(windowed, [CPU], burst, state, now=59).desired == 10
    assert decide(windowed, [CPU], burst, state, now=60).desired == 20


def test_a_target_at_zero_is_left_alone() -> None:
    d = decide(scaling(), [CPU], {"cpu": Reading(3.0)}, ScaleState(0), now=0)
    assert (d.desired, d.direction.value) == (0, "none")
    assert "scaling is off" in d.reason


def test_unready_pods_are_not_serving_capacity() -> None:
    # 10 asked for, 6 Ready at 2x the target: sized from the 6 -> 12.
    d = decide(
        scaling(), [CPU], {"cpu": Reading(1.4)}, ScaleState(10, _history(10), ready=6), now=0
    )
    assert d.desired == 12
    assert "4 replica(s) not Ready" in d.reason
    # The 6 Ready at half the target: only their spare goes (ceil(3) + 4 = 7).
    d = decide(
        scaling(), [CPU], {"cpu": Reading(0.35)}, ScaleState(10, _history(10), ready=6), now=0
    )
    assert d.desired == 7
    # More Ready than asked for (a rolling update's surge) changes nothing.
    d = decide(scaling(), [CPU], {"cpu": Reading(0.7)}, ScaleState(4, _history(4), ready=5), now=0)
    assert d.desired == 4


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
            knees=d.knees,
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
    ready = draw(st.one_of(st.none(), st.integers(0, current + 5)))
    knees = tuple(
        Knee(name, draw(st.integers(1, 80)), now - draw(st.integers(0, 900)))
        for name in ("p95", "hit")
        if draw(st.booleans())
    )
    return spec, readings, ScaleState(current, history, events, ready, knees), now


def _run(s: tuple[ScalingSpec, dict[str, Reading], ScaleState, float]) -> Decision:
    spec, readings, state, now = s
    return decide(spec, [P95, CPU, HIT], readings, state, now)


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_bounds_always_hold(s: Any) -> None:
    spec, _, state, _ = s
    desired = _run(s).desired
    if state.current == 0:
        assert desired == 0  # scaling is off at 0, as in the HPA
    else:
        assert spec.min_replicas <= desired <= spec.max_replicas


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


@pytest.mark.parametrize("bad", [float("nan"), None])
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
