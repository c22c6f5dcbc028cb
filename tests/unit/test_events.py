"""EventDay state and the overlay on an SLO's spec."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crestline.api import PerformanceSLOSpec
from crestline.api.eventday import EventDaySpec, Overrides
from crestline.api.slo import PoolSpec
from crestline.policy.decide import Reading, ScaleState, decide
from crestline.policy.events import event_state, manual_control, selects
from crestline.policy.overlay import InForce, effective
from crestline.policy.windows import UTC, Phase

SLO = PerformanceSLOSpec.model_validate(
    {
        "targetRef": {"name": "web"},
        "objectives": [
            {"name": "p95", "query": "q", "target": 0.5, "kind": "slo"},
            {"name": "hit", "query": "h", "target": 0.8, "direction": "above", "kind": "slo"},
        ],
        "scaling": {"minReplicas": 2, "maxReplicas": 20},
        "evaluation": {"intervalSeconds": 30},
    }
)


def ev(name: str, **overrides: Any) -> InForce:
    return InForce(name, "Active", Overrides.model_validate(overrides))


def test_strictest_value_wins_whatever_the_order() -> None:
    a = ev(
        "a",
        evaluationIntervalSeconds=10,
        objectives=[{"name": "p95", "target": 0.3}],
        capacity={"minReplicas": 6, "headroomPercent": 10, "noScaleDown": False},
    )
    b = ev(
        "b",
        evaluationIntervalSeconds=15,
        objectives=[{"name": "p95", "target": 0.4}, {"name": "hit", "target": 0.95}],
        capacity={"minReplicas": 8, "headroomPercent": 30, "noScaleDown": False},
    )
    for order in ([a, b], [b, a]):
        spec, overlay = effective(SLO, order)
        assert spec.evaluation.interval_seconds == 10
        assert [o.target for o in spec.objectives] == [0.3, 0.95]
        assert spec.scaling.min_replicas == 8
        assert overlay.headroom_percent == 30
        assert not overlay.no_scale_down
        assert overlay.events == ("a", "b")


def test_floor_never_exceeds_max_and_no_events_changes_nothing() -> None:
    spec, _ = effective(SLO, [ev("big", capacity={"minReplicas": 500})])
    assert spec.scaling.min_replicas == 20
    assert effective(SLO, []) == (SLO, effective(SLO, [])[1])
    assert not effective(SLO, [])[1].active


def test_overlay_prescales_and_blocks_scale_down() -> None:
    spec, overlay = effective(SLO, [ev("sale", capacity={"minReplicas": 10})])
    quiet = {"p95": Reading(0.1), "hit": Reading(2.0)}  # both would shrink the fleet
    d = decide(spec.scaling, spec.objectives, quiet, ScaleState(3), now=0, overlay=overlay)
    assert d.desired >= 10  # the floor pre-scales before any load arrives
    held = decide(spec.scaling, spec.objectives, quiet, ScaleState(15), now=0, overlay=overlay)
    assert held.desired == 15  # no scale-down during the event
    assert "no scale-down" in held.reason


@given(st.integers(2, 20), st.integers(0, 100))
def test_headroom_is_applied_once_to_the_baseline(baseline: int, pct: int) -> None:
    spec, _ = effective(SLO, [ev("e", capacity={"headroomPercent": pct})], baseline=baseline)
    boosted = -(-baseline * (100 + pct) // 100)  # ceil
    expected = min(max(2, boosted), 20) if pct else 2
    assert spec.scaling.min_replicas == expected
    # The floor depends on the baseline only: re-evaluating at any count does not compound.
    again, _ = effective(SLO, [ev("e", capacity={"headroomPercent": pct})], baseline=baseline)
    assert again.scaling.min_replicas == expected


def test_event_state_and_manual_control() -> None:
    spec = EventDaySpec.model_validate(
        {
            "schedule": {
                "timezone": "UTC",
                "windows": [{"start": "2026-11-27T09:00:00", "end": "2026-11-27T21:00:00"}],
                "leadTime": "2h",
            }
        }
    )
    before = dt.datetime(2026, 11, 27, 6, tzinfo=UTC)
    assert event_state(spec, before).phase is Phase.SCHEDULED
    assert event_state(spec, before.replace(hour=8)).phase is Phase.WARMING
    windows, stopped, problems = manual_control(
        {"crestline.dev/manual-window": "2026-11-27T05:00:00Z/2026-11-27T07:00:00Z"}
    )
    assert not problems
    assert event_state(spec, before, windows).phase is Phase.ACTIVE
    _, stopped, _ = manual_control({"crestline.dev/stopped-at": "2026-11-27T10:00:00Z"})
    stopped_state = event_state(spec, before.replace(hour=12), stopped_at=stopped)
    assert stopped_state.phase is Phase.COMPLETED
    _, _, bad = manual_control(
        {
            "crestline.dev/manual-window": "soon/later",
            "crestline.dev/stopped-at": "2026-11-27T10:00:00",
        }
    )
    assert len(bad) == 2


def test_recurring_event_finds_its_next_activation() -> None:
    spec = EventDaySpec.model_validate(
        {
            "schedule": {
                "timezone": "Europe/Berlin",
                "recurring": [{"cron": "0 0 1 1 *", "duration": "1d"}],
            }
        }
    )
    state = event_state(spec, dt.datetime(2026, 3, 1, tzinfo=UTC))
    assert state.phase is Phase.SCHEDULED
    assert state.next_activation == dt.datetime(2026, 12, 31, 23, tzinfo=UTC)


def test_selector() -> None:
    assert selects({}, {"a": "1"})
    assert selects({"a": "1"}, {"a": "1", "b": "2"})
    assert not selects({"a": "1"}, {"a": "2"})


def test_event_pool_limits_replace_the_slos_and_combine_strictly() -> None:
    slo = SLO.model_copy(
        update={
            "pools": [
                PoolSpec.model_validate(
                    {
                        "name": "db",
                        "budget": 100,
                        "maxPerPod": 20,
                        "configMap": {"name": "c", "key": "k"},
                    }
                )
            ]
        }
    )
    bigger = ev("sale", pools=[{"name": "db", "budget": 400, "maxPerPod": 30}])
    spec, _ = effective(slo, [bigger])
    assert (spec.pools[0].budget, spec.pools[0].max_per_pod) == (400, 30)  # events may grant more
    other = ev("match", pools=[{"name": "db", "budget": 300, "minPerPod": 40}])
    spec, _ = effective(slo, [bigger, other])
    pool = spec.pools[0]
    assert pool.budget == 300  # strictest of the events' values
    assert pool.max_per_pod == 30
    assert pool.min_per_pod == 30  # never above maxPerPod
