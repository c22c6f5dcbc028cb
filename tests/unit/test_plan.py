"""The pure plan step: one gate for every write, and a status written only on change."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crestline.api.eventday import Overrides
from crestline.api.slo import PerformanceSLOSpec
from crestline.api.status import IgnoredEventDay
from crestline.policy.conditions import EventType, find
from crestline.policy.overlay import InForce
from crestline.policy.plan import (
    Gate,
    Memory,
    Observation,
    Owner,
    PlanInput,
    TargetView,
    WriteFailure,
    failed_plan,
    needs_write,
    plan,
)
from crestline.policy.readings import ReadFailed, ReadFailure, Sample, Sampled

NOW = 1_800_000_000.0


def spec(**extra: Any) -> PerformanceSLOSpec:
    body: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "objectives": [{"name": "cpu", "query": "cpu", "target": 0.5}],
        "scaling": {"minReplicas": 1, "maxReplicas": 20},
        "pools": [
            {
                "name": "db",
                "budget": 100,
                "reservePercent": 0,
                "minPerPod": 2,
                "maxPerPod": 20,
                "configMap": {"name": "db-pool", "key": "size"},
            }
        ],
    }
    body.update(extra)
    return PerformanceSLOSpec.model_validate(body)


def observe(value: float = 1.0, replicas: int = 4, **extra: Any) -> Observation:
    """CPU at ``value`` against a 0.5 target: 1.0 wants twice the replicas."""
    fields: dict[str, Any] = {
        "target": TargetView(replicas=replicas, ready=replicas, surge=0),
        "results": {"cpu": Sampled((Sample({}, value),))},
    }
    fields.update(extra)
    return Observation(**fields)


def run(s: PerformanceSLOSpec | None = None, obs: Observation | None = None, **kw: Any) -> Any:
    return plan(PlanInput(s or spec(), obs or observe(), kw.pop("memory", Memory()), NOW, **kw))


def reasons(p: Any) -> list[str]:
    return [e.reason for e in p.events]


def test_enforce_writes_pool_sizes_then_replicas() -> None:
    p = run()
    assert p.gate is Gate.OPEN
    assert p.writes.replicas == 8
    # sized for the larger count (8): safe before and after the change
    assert [(w.config_map, w.key, w.value) for w in p.writes.config] == [("db-pool", "size", "12")]
    assert "ScaledUp" in reasons(p)
    assert p.status.current_replicas == 8
    assert p.status.last_decision is not None
    assert p.status.last_decision.applied
    assert [c.delta for c in p.status.scale_changes] == [4]


@pytest.mark.parametrize(
    ("case", "inp"),
    [
        ("paused", {"obs": observe(annotations={"crestline.dev/paused-until": "forever"})}),
        ("conflict", {"obs": observe(owners=(Owner("HorizontalPodAutoscaler", "web"),))}),
        ("dryRun", {"s": spec(mode="dryRun")}),
    ],
)
def test_a_closed_gate_writes_nothing_not_even_the_pool_config_map(
    case: str, inp: dict[str, Any]
) -> None:
    p = run(**inp)
    assert p.gate is not Gate.OPEN, case
    assert p.writes.empty, case
    assert p.status.current_replicas == 4
    assert p.status.desired_replicas == 8  # what it would have done is still reported
    assert not p.status.scale_changes
    assert "ScaledUp" not in reasons(p)


def test_paused_and_dry_run_report_a_recommendation_once() -> None:
    first = run(s=spec(mode="dryRun"))
    assert reasons(first).count("Recommendation") == 1
    again = run(s=spec(mode="dryRun"), memory=first.memory)
    assert "Recommendation" not in reasons(again)
    assert len(again.status.decisions) == 1


def test_conflict_names_the_other_owner_and_stands_back() -> None:
    p = run(obs=observe(owners=(Owner("ScaledObject", "web-keda"),)))
    conflict = find(p.status.conditions, "Conflict")
    assert conflict is not None
    assert conflict.status == "True"
    assert conflict.reason == "ScaledObject"
    assert "web-keda" in conflict.message
    assert "ScaleUp" not in "".join(reasons(p))


def test_a_failed_write_is_reported_and_not_remembered_as_a_change() -> None:
    inp = PlanInput(spec(), observe(), Memory(), NOW)
    failed = plan(dataclasses.replace(inp, write_failure=WriteFailure("boom", config_written=True)))
    assert failed.writes.empty
    ready = find(failed.status.conditions, "Ready")
    assert ready is not None
    assert ready.reason == "ScaleFailed"
    assert "ScaleFailed" in reasons(failed)
    assert "ScaledUp" not in reasons(failed)
    assert failed.status.current_replicas == 4
    assert not failed.status.scale_changes
    assert failed.memory.pool_sizes  # the config write went through


def test_a_pool_budget_caps_replicas_and_says_so() -> None:
    s = spec(
        pools=[
            {
                "name": "db",
                "budget": 20,
                "reservePercent": 0,
                "minPerPod": 4,
                "maxPerPod": 10,
                "configMap": {"name": "db-pool", "key": "size"},
            }
        ]
    )
    p = run(s=s, obs=observe(value=5.0, replicas=4))  # wants 40; 20 / 4 = 5 pods max
    assert p.writes.replicas == 5
    limited = find(p.status.conditions, "ScalingLimited")
    assert limited is not None
    assert limited.reason == "PoolBudget"
    assert "serves at most 5 replicas" in limited.message
    assert all(int(w.value) * 5 <= 20 for w in p.writes.config)


def test_hold_replaces_the_desired_count() -> None:
    obs = observe(annotations={"crestline.dev/hold": "6@2100-01-01T00:00:00Z"})
    p = run(obs=obs)
    assert p.writes.replicas == 6
    assert p.status.mode is not None
    assert p.status.mode.startswith("Hold 6")


def test_missing_target_decides_nothing_and_warns_once() -> None:
    obs = Observation(target=None, target_problem="Deployment ns/web not found")
    p = run(obs=obs)
    assert p.gate is Gate.NO_TARGET
    assert p.writes.empty
    found = find(p.status.conditions, "TargetFound")
    assert found is not None
    assert found.status == "False"
    assert reasons(p) == ["TargetNotFound"]
    again = run(obs=obs, memory=p.memory)
    assert reasons(again) == []


def test_invalid_spec_is_reported_once() -> None:
    first = failed_plan(
        Memory(), now=NOW, generation=3, reason=Gate.INVALID, message="bad", interval=30
    )
    assert [e.type for e in first.events] == [EventType.WARNING]
    again = failed_plan(
        first.memory, now=NOW + 30, generation=3, reason=Gate.INVALID, message="bad", interval=30
    )
    assert again.events == ()


def test_unreadable_metrics_hold_and_name_the_failure() -> None:
    obs = observe(results={"cpu": ReadFailed(ReadFailure.NOT_ALLOWED, "endpoint x refused")})
    p = run(obs=obs)
    assert p.writes.empty or p.writes.replicas is None
    metrics = find(p.status.conditions, "MetricsAvailable")
    assert metrics is not None
    assert metrics.reason == "NotAllowed"
    assert "endpoint x refused" in metrics.message


def test_several_series_are_an_error_unless_reduced() -> None:
    two = Sampled((Sample({"pod": "a"}, 0.1), Sample({"pod": "b"}, 0.9)))
    p = run(obs=observe(results={"cpu": two}))
    metrics = find(p.status.conditions, "MetricsAvailable")
    assert metrics is not None
    assert metrics.reason == "QueryError"
    assert "2 series" in metrics.message
    reduced = spec(objectives=[{"name": "cpu", "query": "cpu", "target": 0.5, "reduce": "max"}])
    p = run(s=reduced, obs=observe(results={"cpu": two}, replicas=10))
    assert p.status.objectives[0].value == 0.9


def test_event_days_in_force_and_ignored_ones_show_in_status() -> None:
    event = InForce("sale", "Active", Overrides.model_validate({"capacity": {"minReplicas": 12}}))
    bad = IgnoredEventDay(name="broken", reason="the schedule cannot be evaluated")
    p = run(obs=observe(value=0.5, events=(event,), ignored_events=(bad,)))
    assert p.status.active_events == ["sale"]
    assert p.writes.replicas == 12
    assert p.status.event_baseline == 4
    assert p.status.ignored_event_days == [bad]
    assert "EventDayIgnored" in reasons(p)
    again = run(obs=observe(value=0.5, events=(event,), ignored_events=(bad,)), memory=p.memory)
    assert "EventDayIgnored" not in reasons(again)


def test_lagging_evaluations_raise_a_condition() -> None:
    p = run(obs=observe(value=0.5, lag=95.0))
    lag = find(p.status.conditions, "Lagging")
    assert lag is not None
    assert lag.status == "True"
    assert "more than 2 interval(s) (60s) late" in lag.message  # the 30 s default interval
    same = run(obs=observe(value=0.5, lag=110.0), memory=p.memory)  # moved, in the same step
    assert not needs_write(p.status, same.status, now=NOW + 1)


def test_the_interval_floor_applies_after_event_days_shorten_it() -> None:
    event = InForce("sale", "Active", Overrides.model_validate({"evaluationIntervalSeconds": 1}))
    p = run(obs=observe(events=(event,)), min_interval=5.0)
    assert p.interval == 5.0


# -- status writes ------------------------------------------------------------------------


def test_status_is_not_rewritten_when_only_readings_wobble() -> None:
    first = run(obs=observe(value=0.5))
    wobble = run(obs=observe(value=0.5004), memory=first.memory)
    assert not needs_write(first.status, wobble.status, now=NOW + 10)
    assert needs_write(first.status, wobble.status, now=NOW + 600)  # heartbeat


def test_status_is_rewritten_when_a_user_would_see_a_difference() -> None:
    first = run(obs=observe(value=0.5))
    moved = run(obs=observe(value=0.9), memory=first.memory)
    assert needs_write(first.status, moved.status, now=NOW + 1)


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(st.floats(0, 1e308), st.sampled_from([float("nan"), float("inf"), -1.0])),
    replicas=st.integers(0, 10_000),
    paused=st.booleans(),
    owner=st.booleans(),
    dry=st.booleans(),
)
def test_the_gate_is_the_only_way_to_a_write(
    value: float, replicas: int, paused: bool, owner: bool, dry: bool
) -> None:
    annotations = {"crestline.dev/paused-until": "forever"} if paused else {}
    owners = (Owner("HorizontalPodAutoscaler", "h"),) if owner else ()
    obs = observe(value=value, replicas=replicas, annotations=annotations, owners=owners)
    p = run(s=spec(mode="dryRun" if dry else "enforce"), obs=obs)
    if paused or owner or dry:
        assert p.writes.empty
    else:
        assert p.gate is Gate.OPEN
    for write in p.writes.config:
        assert int(write.value) >= 0
    if p.writes.replicas is not None:
        assert 1 <= p.writes.replicas <= 20


def test_pods_that_never_become_ready_stop_further_scale_ups() -> None:
    obs = observe(value=2.0, replicas=8)
    stuck = dataclasses.replace(obs, target=TargetView(replicas=8, ready=3, surge=0))
    first = run(obs=stuck)  # just noticed: may still be starting
    assert first.writes.replicas is not None
    assert first.writes.replicas > 8
    later = plan(PlanInput(spec(), stuck, first.memory, NOW + 300))
    assert later.writes.replicas is None  # 5 of 8 not Ready for 300 s: adding more won't help
    pods = find(later.status.conditions, "PodsReady")
    assert pods is not None
    assert pods.status == "False"
    assert "5 of 8 pods have not been Ready" in pods.message
    assert "PodsNotReady" in reasons(later)
    healed = dataclasses.replace(obs, target=TargetView(replicas=8, ready=8, surge=0))
    back = plan(PlanInput(spec(), healed, later.memory, NOW + 330))
    assert back.writes.replicas is not None  # Ready again: scaling resumes
    ok = find(back.status.conditions, "PodsReady")
    assert ok is not None
    assert ok.status == "True"


def test_pods_not_ready_stays_false_across_a_restart_or_a_takeover() -> None:
    from crestline.api.status import PerformanceSLOStatus

    obs = observe(value=2.0, replicas=8)
    stuck = dataclasses.replace(obs, target=TargetView(replicas=8, ready=3, surge=0))
    first = run(obs=stuck)
    later = plan(PlanInput(spec(), stuck, first.memory, NOW + 300))
    status = PerformanceSLOStatus.model_validate(later.status.model_dump(by_alias=True))
    assert status.pods_unready_since == NOW
    # Another operator replica takes over (or this one restarts): only the status is left.
    again = plan(PlanInput(spec(), stuck, Memory.from_status(status), NOW + 310))
    pods = find(again.status.conditions, "PodsReady")
    assert pods is not None
    assert pods.status == "False"  # no "recovered" while the pods still do not start
    assert again.writes.replicas is None
    assert not [e for e in again.events if e.reason == "PodsReady"]


def test_what_the_slo_law_learned_survives_a_restart() -> None:
    from crestline.api.status import PerformanceSLOStatus
    from crestline.policy.laws import Knee

    memory = Memory(knees=(Knee("p95", floor=3, since=NOW - 60, reference=(4, 0.7)),))
    slo = spec(objectives=[{"name": "p95", "query": "p95", "target": 0.5, "kind": "slo"}])
    obs = observe(results={"p95": Sampled((Sample({}, 0.35),))})
    p = run(s=slo, obs=obs, memory=memory)
    assert p.status.learned
    restored = Memory.from_status(
        PerformanceSLOStatus.model_validate(p.status.model_dump(by_alias=True, mode="json"))
    )
    assert restored.knees == p.memory.knees
