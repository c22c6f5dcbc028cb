"""Readings with a clear meaning: +Inf breaches, NaN is missing, negative is invalid, and no
value - however large - makes any arithmetic path raise."""

from __future__ import annotations

import math
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crestline.api import Objective, ScalingSpec
from crestline.api.slo import Direction as ObjDirection
from crestline.api.slo import ObjectiveKind
from crestline.policy.behavior import Timed
from crestline.policy.decide import Reading, ScaleState, decide
from crestline.policy.demand import Growth, GrowthSketch, need, with_headroom
from crestline.policy.demand import headroom as growth_headroom

P95 = Objective(name="p95", query="q", target=0.25, kind=ObjectiveKind.SLO)
CPU = Objective(name="cpu", query="q", target=0.7, kind=ObjectiveKind.PROPORTIONAL)
HIT = Objective(
    name="hit", query="q", target=0.9, direction=ObjDirection.ABOVE, kind=ObjectiveKind.SLO
)
RPS = Objective(
    name="rps",
    query="q",
    target=100.0,
    direction=ObjDirection.ABOVE,
    kind=ObjectiveKind.PROPORTIONAL,
)
INF, NAN, HUGE = math.inf, math.nan, sys.float_info.max


def spec(**kw: Any) -> ScalingSpec:
    return ScalingSpec.model_validate({"minReplicas": 2, "maxReplicas": 40} | kw)


def state(current: int = 10) -> ScaleState:
    return ScaleState(current, (Timed(-10_000, current),))  # decided before, long ago


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (0.3, True),
        (0.0, True),
        (INF, True),  # a number: the top bucket
        (HUGE, True),
        (NAN, False),  # no data
        (None, False),
        (-0.1, False),  # not a reading of anything crestline scales on
        (-INF, False),
    ],
)
def test_reading_ok(value: float | None, ok: bool) -> None:
    assert Reading(value).ok is ok
    assert not Reading(value, error="timeout").ok


@pytest.mark.parametrize("objective", [P95, CPU])
def test_plus_inf_is_a_breach_not_missing_data(objective: Objective) -> None:
    d = decide(spec(), [objective], {objective.name: Reading(INF)}, state(), now=0)
    assert d.metrics_available
    assert d.metrics_complete
    assert d.desired == 20  # up as fast as the default policies allow
    assert d.worst is not None
    assert d.worst.ratio == INF


def test_plus_inf_breaches_even_with_another_objective_missing() -> None:
    d = decide(spec(), [P95, CPU], {"p95": Reading(INF)}, state(), now=0)
    assert d.desired > 10
    assert not d.metrics_complete


@pytest.mark.parametrize("objective", [HIT, RPS])
def test_plus_inf_for_an_above_objective_is_not_acted_on(objective: Objective) -> None:
    d = decide(spec(), [objective], {objective.name: Reading(INF)}, state(), now=0)
    assert d.desired == 10
    assert not d.metrics_available
    assert "+Inf" in d.reason


@pytest.mark.parametrize("bad", [NAN, None])
def test_nan_is_missing_data(bad: float | None) -> None:
    d = decide(spec(), [P95, CPU], {"p95": Reading(bad), "cpu": Reading(0.01)}, state(), now=0)
    assert d.desired == 10  # the CPU reading alone may not scale down
    assert not d.metrics_complete
    assert "no scale-down" in d.reason


@pytest.mark.parametrize("negative", [-0.5, -INF, -HUGE])
@pytest.mark.parametrize("objective", [P95, CPU, HIT, RPS])
def test_a_negative_value_is_an_error_never_a_scale_down(
    negative: float, objective: Objective
) -> None:
    d = decide(spec(), [objective], {objective.name: Reading(negative)}, state(), now=0)
    assert d.desired == 10
    outcome = d.objectives[0]
    assert outcome.error is not None
    assert "negative" in outcome.error
    assert outcome.proposal is None


@pytest.mark.parametrize("value", [1e308, HUGE, 1e300, 5e-324])
@pytest.mark.parametrize("objective", [P95, CPU, HIT, RPS])
def test_extreme_values_do_not_overflow(value: float, objective: Objective) -> None:
    d = decide(spec(), [objective], {objective.name: Reading(value)}, state(), now=0)
    assert 2 <= d.desired <= 40


def test_a_huge_reading_through_the_demand_headroom_path() -> None:
    growth = Growth(GrowthSketch(horizon=2.0))
    readings: dict[str, Reading] = {}
    for t, v in enumerate([0.5, 1e308, 0.6, HUGE, 0.7, 1e300] * 40):
        readings = {"cpu": Reading(v)}
        demand = need([CPU], readings, 50)
        if demand is not None:
            growth.record(float(t), demand, 3600)
    assert growth.sketch.samples() > 0
    demand = need([CPU], readings, 50)
    assert demand is not None
    room = growth_headroom(growth, demand, 0.9)
    sized = with_headroom(readings, [CPU], room)
    d = decide(spec(), [CPU], sized, state(), now=10)
    assert d.desired == 20  # 1e300 per replica is far above target; rate-limited to 2x
    assert need([CPU], {"cpu": Reading(HUGE)}, 50) is None  # HUGE * 50 overflows: not demand


def test_infinite_and_nan_readings_are_not_demand() -> None:
    assert need([CPU], {"cpu": Reading(INF)}, 4) is None
    assert need([CPU], {"cpu": Reading(NAN)}, 4) is None
    assert need([CPU], {"cpu": Reading(0.35)}, 4) == pytest.approx(2.0)


values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, HUGE, -HUGE, INF, -INF, NAN, 0.0, -0.0]),
)


@settings(max_examples=500, deadline=None)
@given(
    p95=values,
    cpu=values,
    hit=values,
    rps=values,
    headroom=values,
    current=st.integers(0, 80),
    target=st.sampled_from([1e-300, 1e-9, 0.7, 1e15]),
)
def test_no_value_raises_and_bad_values_never_scale_down(
    p95: float | None,
    cpu: float | None,
    hit: float | None,
    rps: float | None,
    headroom: float | None,
    current: int,
    target: float,
) -> None:
    objectives = [
        P95,
        CPU.model_copy(update={"target": target}),
        HIT,
        RPS.model_copy(update={"target": target}),
    ]
    raw = {"p95": p95, "cpu": cpu, "hit": hit, "rps": rps}
    readings = {
        name: Reading(v, headroom_value=headroom if name == "cpu" else None)
        for name, v in raw.items()
    }
    d = decide(spec(), objectives, readings, state(current), now=0)
    if current:
        assert 2 <= d.desired <= 40
    unusable = [o for o in d.objectives if o.proposal is None]
    if unusable:
        assert d.desired >= min(current, 40)  # missing, NaN, negative: never down
    plain = {name: Reading(v) for name, v in raw.items()}
    growth = Growth(GrowthSketch(horizon=1.0))
    for t in range(200):  # enough recorded growth for a quantile
        growth.sketch.add(float(t), 1.0, 3600)
    demand = need(objectives, plain, max(current, 1))
    room = None if demand is None else growth_headroom(growth, demand, 0.75)
    out = with_headroom(plain, objectives, room)
    for name, reading in out.items():
        if reading.headroom_value is not None:  # filled in: a number at least the value
            assert reading.value is not None
            assert math.isfinite(reading.headroom_value)
            assert reading.headroom_value >= reading.value
        else:
            assert reading == plain[name]
