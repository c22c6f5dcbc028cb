"""The HPA's own test tables, replayed as data against crestline's decision core.

Users copy ``behavior`` from a working HPA, so crestline must decide what the HPA decides
wherever the HPA's semantics apply. The rows below are transcribed (test data only, no
code) from kubernetes/kubernetes:

* ``H`` - pkg/controller/podautoscaler/horizontal_test.go
  @ 003e86297d18a8538c9da3619871393f9703bf70 (HorizontalController: whole reconciles,
  and the behaviour tables TestScalingWithRules, TestNormalizeDesiredReplicasWithBehavior,
  TestStoreScaleEvents, TestConvertDesiredReplicasWithRules, ...);
* ``R`` - pkg/controller/podautoscaler/replica_calculator_test.go
  @ 00067268967ec95a40035bd666374a1caf48dd1a (ReplicaCalculator: the pure proposal);
* ``D`` - pkg/apis/autoscaling/v2/defaults_test.go
  @ e0a566e71f693433f4bed729380e215e98a263ea (field-by-field behaviour defaults);
* ``V`` - pkg/apis/autoscaling/validation/validation_test.go,
  TestValidateHorizontalPodAutoscalerConfigurableToleranceEnabled (the stored copy the
  search index served, index id 309033154; the index did not expose its commit).

How a row maps onto crestline. A CPU row's reading is what a PromQL average of usage over
requests of the pods that report returns (the HPA's utilization, as a fraction); a Pods,
Object or External row's reading is the metric per pod (``AverageValue`` targets) or the
metric itself (``Value`` targets), and the target likewise. ``ready`` is the number of
pods the HPA counts as ready for that metric (for CPU: Ready and past the
initialization window; for other metrics the HPA ignores readiness, so it is left
unknown). ``history``: ``"new"`` for an HPA without recommendations (it seeds one),
``"expired"`` for one whose recommendations are an empty list (it has history, none
recent). Rows without ``behavior`` run crestline's defaults, which are the HPA's
defaults; where the HPA's legacy path (no ``behavior``) differs, the row says so.

Rows that do not apply are in :data:`EXCLUDED` with the reason; rows where crestline
decides differently on purpose are in :data:`DIFFERENT_BY_DESIGN`, with both answers,
and crestline's is tested.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from crestline.api import Objective, ScalingSpec
from crestline.api.scaling import ScaleDownRules, ScaleUpRules
from crestline.api.slo import ObjectiveKind
from crestline.policy.behavior import (
    Bounds,
    LimitReason,
    Stabilized,
    Timed,
    changed_in_period,
    limit_rate,
    scale_down_limit,
    scale_up_limit,
    stabilize,
)
from crestline.policy.decide import Reading, ScaleState, decide, record_scale
from crestline.policy.laws import Fleet, proportional_proposal

H = "horizontal_test.go@003e8629"
R = "replica_calculator_test.go@00067268"
D = "v2/defaults_test.go@e0a566e7"
V = "validation/validation_test.go (index id 309033154)"

UNCHECKED: Any = object()  # the HPA row does not pin this down


def cpu(levels: list[int], requests: list[int]) -> float:
    """Utilization of the pods that report: sum of usage over sum of requests (milli)."""
    return sum(levels) / sum(requests)


def generated(
    pods: int = 0, pods_period: int = 0, percent: int = 0, percent_period: int = 0, window: int = 0
) -> dict[str, Any]:
    """The behaviour the HPA tests' generateScalingRules builds (selectPolicy Max)."""
    policies = []
    if pods:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_period})
    if percent:
        policies.append({"type": "Percent", "value": percent, "periodSeconds": percent_period})
    return {"stabilizationWindowSeconds": window, "selectPolicy": "Max", "policies": policies}


def uniform_events(changes: list[int], period: float, sign: int) -> tuple[Timed, ...]:
    """The HPA tests' generateEventsUniformDistribution, as crestline's signed events at
    now = 0: ``len(changes)`` events centred in equal slices of the last ``period`` s."""
    segment = period / len(changes)
    return tuple(
        Timed(-(period - segment * (i + 1) + segment / 2), sign * change)
        for i, change in enumerate(changes)
    )


# -- whole reconciles (HorizontalController) --------------------------------------------


@dataclass(frozen=True)
class Metric:
    """One metric of a row: a reading and its target, or the error reading it gave."""

    value: float | None
    target: float = 1.0
    error: str | None = None


@dataclass(frozen=True)
class Reconcile:
    name: str
    source: str
    min: int
    max: int
    current: int
    metrics: tuple[Metric, ...]
    expected: int
    ready: int | None = None
    history: str | tuple[tuple[float, int], ...] = "new"  # or ((seconds ago, value), ...)
    up: dict[str, Any] | None = None
    down: dict[str, Any] | None = None
    limit: Any = None  # expected ScalingLimited reason (None: not limited)
    stabilized: Any = None  # expected AbleToScale stabilization reason
    note: str = ""


def failed(why: str) -> Metric:
    return Metric(None, error=why)


C3 = [1000, 1000, 1000]
C5 = [1000] * 5
HPA_RECONCILES: tuple[Reconcile, ...] = (
    Reconcile("TestScaleUp", H, 2, 6, 3, (Metric(cpu([300, 500, 700], C3), 0.3),), 5),
    Reconcile(
        "TestScaleUpContainer",
        H,
        2,
        6,
        3,
        (Metric(cpu([300, 500, 700], C3), 0.3),),
        5,
        note="a container's CPU is a different query; the same arithmetic",
    ),
    Reconcile(
        "TestScaleUpUnreadyLessScale",
        H,
        2,
        6,
        3,
        (Metric(cpu([500, 700], [1000] * 2), 0.3),),
        4,
        ready=2,
    ),
    Reconcile(
        "TestScaleUpHotCpuLessScale",
        H,
        2,
        6,
        3,
        (Metric(cpu([500, 700], [1000] * 2), 0.3),),
        4,
        ready=2,
        note="a pod in its CPU initialization window is not ready for CPU",
    ),
    Reconcile(
        "TestScaleUpUnreadyNoScale",
        H,
        2,
        6,
        3,
        (Metric(cpu([400], [1000]), 0.3),),
        3,
        ready=1,
    ),
    Reconcile(
        "TestScaleUpHotCpuNoScale", H, 2, 6, 3, (Metric(cpu([400], [1000]), 0.3),), 3, ready=1
    ),
    Reconcile(
        "TestScaleUpIgnoresFailedPods",
        H,
        2,
        6,
        2,
        (Metric(cpu([500, 700], [1000] * 2), 0.3),),
        4,
        ready=2,
    ),
    Reconcile(
        "TestScaleUpIgnoresDeletionPods",
        H,
        2,
        6,
        2,
        (Metric(cpu([500, 700], [1000] * 2), 0.3),),
        4,
        ready=2,
    ),
    Reconcile("TestScaleUpDeployment", H, 2, 6, 3, (Metric(cpu([300, 500, 700], C3), 0.3),), 5),
    Reconcile(
        "TestScaleUpReplicaSet",
        H,
        2,
        6,
        3,
        (Metric(cpu([300, 500, 700], C3), 0.3),),
        5,
        note="crestline's targetRef takes Deployments and StatefulSets; the decision is the same",
    ),
    Reconcile("TestScaleUpCM", H, 2, 6, 3, (Metric((20 + 10 + 30) / 3, 15),), 4),
    Reconcile(
        "TestScaleUpCMUnreadyAndHotCpuNoLessScale",
        H,
        2,
        6,
        3,
        (Metric((50 + 10 + 30) / 3, 15),),
        6,
        note="the HPA ignores readiness for Pods metrics",
    ),
    Reconcile(
        "TestScaleUpCMUnreadyandCpuHot",
        H,
        2,
        6,
        3,
        (Metric((50 + 15 + 30) / 3, 15),),
        6,
        limit=LimitReason.TOO_MANY_REPLICAS,
        note="readiness ignored for Pods metrics",
    ),
    Reconcile(
        "TestScaleUpHotCpuNoScaleWouldScaleDown",
        H,
        2,
        6,
        3,
        (Metric((50 + 15 + 30) / 3, 15),),
        6,
        limit=LimitReason.TOO_MANY_REPLICAS,
    ),
    Reconcile("TestScaleUpCMObject", H, 2, 6, 3, (Metric(20, 15),), 4),
    Reconcile("TestScaleUpPerPodCMObject", H, 2, 6, 3, (Metric(40 / 3, 10),), 4),
    Reconcile("TestScaleUpCMExternal", H, 2, 6, 3, (Metric(8.6, 6.666),), 4),
    Reconcile("TestScaleUpPerPodCMExternal", H, 2, 6, 3, (Metric(8.6 / 3, 2.222),), 4),
    Reconcile(
        "TestScaleDown",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5),),
        3,
        history="expired",
    ),
    Reconcile(
        "TestScaleDownContainerResource",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5),),
        3,
        history="expired",
    ),
    Reconcile(
        "TestScaleDownWithScalingRules",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5),),
        3,
        history="expired",
        up=generated(percent=100, percent_period=15, window=30),
    ),
    Reconcile(
        "TestScaleUpOneMetricInvalid",
        H,
        2,
        6,
        3,
        (Metric(cpu([300, 400, 500], C3), 0.3), failed("invalid metric source type")),
        4,
    ),
    Reconcile(
        "TestScaleUpBothMetricsEmpty", H, 2, 6, 3, (failed("invalid metric source type"),), 3
    ),
    Reconcile(
        "TestScaleDownStabilizeInitialSize",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5),),
        5,
        stabilized=Stabilized.SCALE_DOWN_STABILIZED,
    ),
    Reconcile("TestScaleDownCM", H, 2, 6, 5, (Metric(12, 20),), 3, history="expired"),
    Reconcile("TestScaleDownCMObject", H, 2, 6, 5, (Metric(12, 20),), 3, history="expired"),
    Reconcile(
        "TestScaleDownPerPodCMObject", H, 2, 6, 5, (Metric(60 / 5, 20),), 3, history="expired"
    ),
    Reconcile("TestScaleDownCMExternal", H, 2, 6, 5, (Metric(8.6, 14.4),), 3, history="expired"),
    Reconcile(
        "TestScaleDownPerPodCMExternal", H, 2, 6, 5, (Metric(8.6 / 5, 3),), 3, history="expired"
    ),
    Reconcile(
        "TestScaleDownIgnoresFailedPods",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5),),
        3,
        ready=5,
        history="expired",
    ),
    Reconcile(
        "TestScaleDownIgnoresDeletionPods",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5),),
        3,
        ready=5,
        history="expired",
    ),
    Reconcile(
        "TestTolerance", H, 1, 5, 3, (Metric(cpu([1010, 1030, 1020], [900, 1000, 1100]), 1.0),), 3
    ),
    Reconcile("TestToleranceCM", H, 1, 5, 3, (Metric((20 + 20.001 + 21) / 3, 20),), 3),
    Reconcile("TestToleranceCMObject", H, 1, 5, 3, (Metric(20.05, 20),), 3),
    Reconcile("TestToleranceCMExternal", H, 2, 6, 4, (Metric(8.6, 8.666),), 4),
    Reconcile("TestTolerancePerPodCMObject", H, 2, 6, 4, (Metric(8.6 / 4, 2.2),), 4),
    Reconcile("TestTolerancePerPodCMExternal", H, 2, 6, 4, (Metric(8.6 / 4, 2.2),), 4),
    Reconcile(
        "TestMinReplicas",
        H,
        2,
        5,
        3,
        (Metric(cpu([10, 95, 10], [900, 1000, 1100]), 0.9),),
        2,
        history="expired",
        limit=LimitReason.TOO_FEW_REPLICAS,
    ),
    Reconcile(
        "TestMinReplicasDesiredZero",
        H,
        2,
        5,
        3,
        (Metric(cpu([0, 0, 0], [900, 1000, 1100]), 0.9),),
        2,
        history="expired",
        limit=LimitReason.TOO_FEW_REPLICAS,
    ),
    Reconcile(
        "TestZeroReplicas",
        H,
        3,
        5,
        0,
        (),
        0,
        note="a target at 0 replicas: scaling is off (the HPA's ScalingDisabled)",
    ),
    Reconcile("TestTooFewReplicas", H, 3, 5, 2, (), 3, limit=UNCHECKED),
    Reconcile("TestTooManyReplicas", H, 3, 5, 10, (), 5, limit=UNCHECKED),
    Reconcile(
        "TestMaxReplicas",
        H,
        2,
        5,
        3,
        (Metric(cpu([8000, 9500, 1000], [900, 1000, 1100]), 0.9),),
        5,
        limit=LimitReason.TOO_MANY_REPLICAS,
    ),
    Reconcile(
        "TestSuperfluousMetrics",
        H,
        2,
        6,
        4,
        (Metric(cpu([4000, 9500, 3000, 7000], [1000] * 4), 1.0),),
        6,
        limit=LimitReason.TOO_MANY_REPLICAS,
        note="metrics of pods that do not exist (the other two levels) are not in the query",
    ),
    Reconcile("TestEmptyMetrics", H, 2, 6, 4, (failed("no metrics returned"),), 4),
    Reconcile("TestEmptyCPURequest", H, 1, 5, 1, (failed("missing request for cpu"),), 1),
    Reconcile("TestEventCreated", H, 1, 5, 1, (Metric(cpu([200], [200]), 0.5),), 2),
    Reconcile("TestEventNotCreated", H, 1, 5, 2, (Metric(cpu([200, 200], [400, 400]), 0.5),), 2),
    Reconcile(
        "TestUpscaleCap",
        H,
        1,
        100,
        3,
        (Metric(cpu([100, 200, 300], [100] * 3), 0.1),),
        24,
        up=generated(percent=700, percent_period=60),
        limit=LimitReason.SCALE_UP_LIMIT,
    ),
    Reconcile(
        "TestUpscaleCapGreaterThanMaxReplicas",
        H,
        1,
        20,
        3,
        (Metric(cpu([100, 200, 300], [100] * 3), 0.1),),
        20,
        up=generated(percent=700, percent_period=60),
        limit=LimitReason.TOO_MANY_REPLICAS,
    ),
    Reconcile(
        "TestMoreReplicasThanSpecNoScale",
        H,
        1,
        8,
        4,
        (Metric(cpu([500] * 5, [1000] * 5), 0.5),),
        4,
        ready=5,
        note="status.replicas 5 during a rolling update's surge, spec 4",
    ),
    *(
        Reconcile(
            f"TestConditionFailedGetMetrics/{reason}",
            H,
            1,
            100,
            3,
            (failed("something went wrong"),),
            3,
        )
        for reason in (
            "FailedGetResourceMetric",
            "FailedGetPodsMetric",
            "FailedGetObjectMetric",
            "FailedGetExternalMetric",
        )
    ),
    Reconcile(
        "TestConditionInvalidSourceType", H, 2, 6, 3, (failed("invalid metric source type"),), 3
    ),
    Reconcile("TestNoBackoffUpscaleCM", H, 1, 5, 3, (Metric((20 + 10 + 30) / 3, 15),), 4),
    Reconcile(
        "TestNoBackoffUpscaleCMNoBackoffCpu",
        H,
        1,
        5,
        3,
        (Metric(cpu([20000, 10000, 30000], C3), 0.1), Metric((20 + 10 + 30) / 3, 15)),
        5,
        limit=LimitReason.TOO_MANY_REPLICAS,
    ),
    Reconcile(
        "TestStabilizeDownscale",
        H,
        1,
        5,
        4,
        (Metric(cpu([50, 50, 50], [100] * 3), 1.0),),
        4,
        ready=3,
        history=((600, 10), (60, 4)),
        stabilized=Stabilized.SCALE_DOWN_STABILIZED,
        note="three pods exist for spec 4: the missing one counts as needed, 3 + stabilization",
    ),
    Reconcile(
        "TestComputedToleranceAlgImplementation/breach",
        H,
        1,
        1000,
        10,
        (Metric(1500 / 3000, 0.56),),
        9,
        history="expired",
        note="minReplicas 0 upstream (crestline's floor is 1; it does not bind here)",
    ),
    Reconcile(
        "TestComputedToleranceAlgImplementation/within",
        H,
        1,
        1000,
        10,
        (Metric(1500 / 3000, 0.55),),
        10,
        history="expired",
        note="minReplicas 0 upstream",
    ),
    Reconcile("TestScaleUpRCImmediately", H, 2, 6, 1, (), 2, limit=UNCHECKED),
    Reconcile(
        "TestScaleDownRCImmediately",
        H,
        2,
        5,
        6,
        (Metric(cpu([8000, 9500, 1000], [900, 1000, 1100]), 0.5),),
        5,
        limit=UNCHECKED,
    ),
    Reconcile(
        "TestScaleUpOneMetricEmpty",
        H,
        2,
        6,
        3,
        (Metric(cpu([300, 400, 500], C3), 0.3), failed("something went wrong")),
        4,
    ),
    Reconcile(
        "TestNoScaleDownOneMetricInvalid",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5), failed("invalid metric source type")),
        5,
        history="expired",
    ),
    Reconcile(
        "TestNoScaleDownOneMetricEmpty",
        H,
        2,
        6,
        5,
        (Metric(cpu([100, 300, 500, 250, 250], C5), 0.5), failed("something went wrong")),
        5,
        history="expired",
    ),
)

EXPIRED = ((10_000.0, 0),)  # a recommendation long gone: the SLO has history


def run_reconcile(row: Reconcile) -> Any:
    behavior: dict[str, Any] = {}
    if row.up is not None:
        behavior["scaleUp"] = row.up
    if row.down is not None:
        behavior["scaleDown"] = row.down
    spec = ScalingSpec.model_validate(
        {"minReplicas": row.min, "maxReplicas": row.max, "behavior": behavior}
    )
    objectives, readings = [], {}
    for i, metric in enumerate(row.metrics):
        name = f"m{i}"
        objectives.append(
            Objective(name=name, query="q", target=metric.target, kind=ObjectiveKind.PROPORTIONAL)
        )
        readings[name] = Reading(metric.value, metric.error)
    if row.history == "new":
        history: tuple[Timed, ...] = ()
    elif row.history == "expired":
        history = tuple(Timed(-ago, value) for ago, value in EXPIRED)
    else:
        assert isinstance(row.history, tuple)
        history = tuple(Timed(-ago, value) for ago, value in row.history)
    state = ScaleState(row.current, history, ready=row.ready)
    return decide(spec, objectives, readings, state, now=0)


@pytest.mark.parametrize("row", HPA_RECONCILES, ids=lambda r: r.name)
def test_hpa_reconcile(row: Reconcile) -> None:
    d = run_reconcile(row)
    assert d.desired == row.expected, d.reason
    if row.limit is not UNCHECKED:
        assert (d.limit.reason if d.limit else None) == row.limit, d.reason
    assert d.stabilized == row.stabilized, d.reason


# -- the pure proposal (ReplicaCalculator) ----------------------------------------------


@dataclass(frozen=True)
class Calc:
    name: str
    current: int
    ratio: float  # the row's usage over its target
    expected: int
    ready: int | None = None
    note: str = ""


HPA_CALCULATOR: tuple[Calc, ...] = (
    Calc("TestReplicaCalcScaleUp", 3, cpu([300, 500, 700], C3) / 0.3, 5),
    Calc("TestReplicaCalcScaleUpUnreadyLessScale", 3, cpu([500, 700], [1000] * 2) / 0.3, 4, 2),
    Calc("TestReplicaCalcScaleUpHotCpuLessScale", 3, cpu([500, 700], [1000] * 2) / 0.3, 4, 2),
    Calc("TestReplicaCalcScaleUpUnreadyNoScale", 3, cpu([400], [1000]) / 0.3, 3, 1),
    Calc("TestReplicaCalcScaleHotCpuNoScale", 3, cpu([400], [1000]) / 0.3, 3, 1),
    Calc("TestReplicaCalcScaleUpIgnoresFailedPods", 2, cpu([500, 700], [1000] * 2) / 0.3, 4, 2),
    Calc("TestReplicaCalcScaleUpIgnoresDeletionPods", 2, cpu([500, 700], [1000] * 2) / 0.3, 4, 2),
    Calc("TestReplicaCalcScaleUpCM", 3, 20 / 15, 4),
    Calc(
        "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
        3,
        30 / 15,
        6,
        note="readiness is ignored for Pods metrics",
    ),
    Calc(
        "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
        3,
        31.666 / 15,
        7,
        note="readiness is ignored for Pods metrics",
    ),
    Calc("TestReplicaCalcScaleUpCMObject", 3, 20 / 15, 4),
    Calc("TestReplicaCalcScaleUpCMPerPodObject", 3, (20 / 3) / 5, 4),
    Calc("TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", 3, 50 / 10, 5, 1),
    Calc("TestReplicaCalcScaleUpCMExternal", 1, 8.6 / 4.4, 2),
    Calc("TestReplicaCalcScaleUpCMExternalNoLabels", 1, 8.6 / 4.4, 2),
    Calc("TestReplicaCalcScaleUpPerPodCMExternal", 3, (8.6 / 3) / 2.15, 4),
    Calc("TestReplicaCalcScaleDown", 5, cpu([100, 300, 500, 250, 250], C5) / 0.5, 3),
    Calc("TestReplicaCalcScaleDownCM", 5, 12 / 20, 3),
    Calc("TestReplicaCalcScaleDownPerPodCMObject", 5, (6 / 5) / 2, 3),
    Calc("TestReplicaCalcScaleDownCMObject", 5, 12 / 20, 3),
    Calc("TestReplicaCalcScaleDownCMExternal", 5, 8.6 / 14.334, 3),
    Calc("TestReplicaCalcScaleDownPerPodCMExternal", 5, (8.6 / 5) / 2.867, 3),
    Calc(
        "TestReplicaCalcScaleDownIgnoresFailedPods",
        5,
        cpu([100, 300, 500, 250, 250], C5) / 0.5,
        3,
        5,
    ),
    Calc(
        "TestReplicaCalcScaleDownIgnoresDeletionPods",
        5,
        cpu([100, 300, 500, 250, 250], C5) / 0.5,
        3,
        5,
    ),
    Calc("TestReplicaCalcTolerance", 3, cpu([1010, 1030, 1020], [900, 1000, 1100]) / 1.0, 3),
    Calc("TestReplicaCalcToleranceCM", 3, ((20 + 21 + 21) / 3) / 20, 3),
    Calc("TestReplicaCalcToleranceCMObject", 3, 20.666 / 20, 3),
    Calc("TestReplicaCalcTolerancePerPodCMObject", 4, (20.166 / 4) / 5, 4),
    Calc("TestReplicaCalcToleranceCMExternal", 3, 8.6 / 8.888, 3),
    Calc("TestReplicaCalcTolerancePerPodCMExternal", 3, (8.6 / 3) / 2.9, 3),
    Calc("TestReplicaCalcSuperfluousMetrics", 4, cpu([4000, 9500, 3000, 7000], [1000] * 4), 24),
    Calc("TestReplicaCalcComputedToleranceAlgImplementation/breach", 10, 0.5 / 0.56, 9),
    Calc("TestReplicaCalcComputedToleranceAlgImplementation/within", 10, 0.5 / 0.55, 10),
)

HPA_CALCULATOR_ERRORS: tuple[tuple[str, str, int], ...] = (
    ("TestReplicaCalcDisjointResourcesMetrics", "no metrics returned matched known pods", 1),
    ("TestReplicaCalcEmptyMetrics", "no metrics returned from resource metrics API", 4),
    ("TestReplicaCalcEmptyCPURequest", "missing request for cpu", 1),
)


@pytest.mark.parametrize("row", HPA_CALCULATOR, ids=lambda r: r.name)
def test_hpa_replica_calculator(row: Calc) -> None:
    serving = row.current if row.ready is None else row.ready
    assert proportional_proposal(Fleet(row.current, serving), row.ratio) == row.expected


@pytest.mark.parametrize(("name", "error", "current"), HPA_CALCULATOR_ERRORS)
def test_hpa_replica_calculator_errors_hold(name: str, error: str, current: int) -> None:
    """An error from the calculator is an unreadable objective: the count holds."""
    objective = Objective(name="cpu", query="q", target=1.0)
    spec = ScalingSpec.model_validate({"minReplicas": 1, "maxReplicas": 10})
    state = ScaleState(current, (Timed(-10_000, current),))
    d = decide(spec, [objective], {"cpu": Reading(None, error)}, state, now=0)
    assert (d.desired, d.metrics_available) == (current, False), name


# -- rate limits and bounds (convertDesiredReplicasWithBehaviorRate) --------------------


@dataclass(frozen=True)
class Rate:
    name: str
    current: int
    desired: int
    min: int
    max: int
    expected: int
    reason: LimitReason | None
    up: dict[str, Any] | None = None
    down: dict[str, Any] | None = None
    up_events: tuple[Timed, ...] = ()
    down_events: tuple[Timed, ...] = ()
    note: str = ""


E159 = (1, 5, 9)
HPA_RATES: tuple[Rate, ...] = (
    Rate("prenormalized desired replicas within range", 5, 7, 3, 8, 7, None),
    Rate(
        "prenormalized desired replicas < minReplicas",
        3,
        1,
        2,
        8,
        2,
        LimitReason.TOO_FEW_REPLICAS,
    ),
    Rate(
        "maxReplicas is the limit because maxReplicas < scaleUpLimit",
        20,
        1000,
        1,
        10,
        10,
        LimitReason.TOO_MANY_REPLICAS,
    ),
    Rate(
        "desired replica count is more than the maximum replica count",
        100,
        1000,
        100,
        150,
        150,
        LimitReason.TOO_MANY_REPLICAS,
    ),
    Rate(
        "scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
        3,
        1000,
        1,
        2000,
        4,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(percent=1, percent_period=60),
    ),
    Rate(
        "scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined"
        " policies",
        1000,
        3,
        3,
        2000,
        980,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(pods=20, pods_period=60),
        note="skipped upstream (testThis); holds here",
    ),
    Rate("scaleUp with default behavior", 10, 50, 1, 1000, 20, LimitReason.SCALE_UP_LIMIT),
    Rate(
        "scaleUp with pods policy larger than percent policy",
        10,
        500,
        1,
        1000,
        110,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(100, 60, 100, 60),
    ),
    Rate(
        "scaleUp with percent policy larger than pods policy",
        10,
        500,
        1,
        1000,
        20,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(2, 60, 100, 60),
    ),
    Rate(
        "scaleUp with spec MaxReplicas limitation with large pod policy",
        10,
        50,
        1,
        1000,
        50,
        None,
        up=generated(100, 60),
    ),
    Rate(
        "scaleUp with spec MaxReplicas limitation with large percent policy",
        10,
        50,
        1,
        1000,
        50,
        None,
        up=generated(10000, 60),
    ),
    Rate(
        "scaleUp with pod policy limitation",
        10,
        50,
        1,
        1000,
        40,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(30, 60),
    ),
    Rate(
        "scaleUp with percent policy limitation",
        10,
        50,
        1,
        1000,
        30,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(percent=200, percent_period=60),
    ),
    Rate(
        "scaleDown with percent policy larger than pod policy",
        100,
        2,
        1,
        1000,
        80,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(20, 60, 1, 60, 300),
    ),
    Rate(
        "scaleDown with pod policy larger than percent policy",
        100,
        2,
        1,
        1000,
        98,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(2, 60, 1, 60, 300),
    ),
    Rate(
        "scaleDown with spec MinReplicas=nil limitation with large pod policy",
        10,
        0,
        1,
        1000,
        1,
        LimitReason.TOO_FEW_REPLICAS,
        down=generated(100, 60, 0, 0, 300),
    ),
    Rate(
        "scaleDown with spec MinReplicas limitation with large pod policy",
        10,
        0,
        1,
        1000,
        1,
        LimitReason.TOO_FEW_REPLICAS,
        down=generated(100, 60, 0, 0, 300),
    ),
    Rate(
        "scaleDown with spec MinReplicas limitation with large percent policy",
        10,
        2,
        5,
        1000,
        5,
        LimitReason.TOO_FEW_REPLICAS,
        down=generated(0, 0, 100, 60, 300),
    ),
    Rate(
        "scaleDown with pod policy limitation",
        10,
        2,
        1,
        1000,
        5,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(5, 60, 0, 0, 300),
    ),
    Rate(
        "scaleDown with percent policy limitation",
        10,
        5,
        1,
        1000,
        5,
        None,
        down=generated(0, 0, 50, 60, 300),
    ),
    Rate(
        "scaleUp with spec MaxReplicas limitation with large pod policy and events",
        100,
        500,
        1,
        200,
        200,
        LimitReason.TOO_MANY_REPLICAS,
        up=generated(300, 60),
        up_events=uniform_events(list(E159), 120, +1),
    ),
    Rate(
        "scaleUp with spec MaxReplicas limitation with large percent policy and events",
        100,
        500,
        1,
        200,
        200,
        LimitReason.TOO_MANY_REPLICAS,
        up=generated(0, 0, 10000, 60),
        up_events=uniform_events(list(E159), 120, +1),
    ),
    Rate(
        "scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent"
        " scale up events",
        100,
        500,
        1,
        1000,
        100,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(5, 120),
        up_events=uniform_events(list(E159), 120, +1),
    ),
    Rate(
        "scaleUp with pod policy and previous scale up events",
        100,
        500,
        1,
        1000,
        235,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(150, 120),
        up_events=uniform_events(list(E159), 120, +1),
    ),
    Rate(
        "scaleUp with percent policy and previous scale up events",
        100,
        500,
        1,
        1000,
        255,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(0, 0, 200, 120),
        up_events=uniform_events(list(E159), 120, +1),
    ),
    Rate(
        "scaleUp with percent policy and previous scale up and down events",
        6,
        24,
        1,
        1000,
        16,
        LimitReason.SCALE_UP_LIMIT,
        up=generated(0, 0, 300, 300),
        up_events=uniform_events([4], 120, +1),
        down_events=uniform_events([2], 120, -1),
    ),
    Rate(
        "scaleDown with default policy and previous events",
        10,
        5,
        1,
        1000,
        5,
        None,
        down_events=uniform_events(list(E159), 120, -1),
    ),
    Rate(
        "scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events",
        100,
        0,
        1,
        1000,
        1,
        LimitReason.TOO_FEW_REPLICAS,
        down=generated(115, 120, 0, 0, 300),
        down_events=uniform_events(list(E159), 120, -1),
    ),
    Rate(
        "scaleDown with spec MinReplicas limitation with large pod policy and previous events",
        100,
        0,
        5,
        1000,
        5,
        LimitReason.TOO_FEW_REPLICAS,
        down=generated(130, 120, 0, 0, 300),
        down_events=uniform_events(list(E159), 120, -1),
    ),
    Rate(
        "scaleDown with spec MinReplicas limitation with large percent policy and previous events",
        100,
        2,
        5,
        1000,
        5,
        LimitReason.TOO_FEW_REPLICAS,
        down=generated(0, 0, 100, 120, 300),
        down_events=uniform_events(list(E159), 120, -1),
    ),
    Rate(
        "scaleDown with pod policy limitation and previous events",
        100,
        2,
        1,
        1000,
        100,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(5, 120, 0, 0, 300),
        down_events=uniform_events(list(E159), 120, -1),
    ),
    Rate(
        "scaleDown with percent policy limitation and previous events",
        100,
        0,
        1,
        1000,
        56,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(0, 0, 50, 120, 300),
        down_events=uniform_events([2, 4, 6], 120, -1),
    ),
    Rate(
        "scaleDown with percent policy and previous scale up and down events",
        10,
        1,
        1,
        1000,
        6,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(0, 0, 50, 180, 0),
        up_events=uniform_events([2], 120, +1),
        down_events=uniform_events([4], 120, -1),
    ),
    Rate(
        "scaleDown with previous events preventing further scale down",
        100,
        0,
        1,
        1000,
        100,
        LimitReason.SCALE_DOWN_LIMIT,
        down=generated(0, 0, 10, 120, 300),
        down_events=uniform_events([10, 10, 10], 120, -1),
    ),
    Rate(
        "scaleDown with with previous events still allowing more scale down",
        10,
        5,
        1,
        1000,
        5,
        None,
        down=generated(0, 0, 1000, 120, 300),
        down_events=uniform_events([10, 10, 10], 120, -1),
    ),
    *(
        Rate(
            name,
            100,
            200,
            1,
            1000,
            200,
            None,
            up=up,
            up_events=uniform_events([8, 12, 9, 11], 120, +1),
        )
        for name, up in (
            ("check 'outdated' flag for events for one behavior for up", generated(1000, 60)),
            (
                "check that events were not marked 'outdated' for two different policies in the"
                " behavior for up",
                generated(1000, 120, 100, 60),
            ),
            (
                "check that events were marked 'outdated' for two different policies in the"
                " behavior for up",
                generated(1000, 30, 100, 60),
            ),
        )
    ),
    *(
        Rate(
            name,
            100,
            5,
            1,
            1000,
            5,
            None,
            down=down,
            down_events=uniform_events([8, 12, 9, 11], 120, -1),
        )
        for name, down in (
            (
                "check 'outdated' flag for events for one behavior for down",
                generated(1000, 60, 0, 0, 300),
            ),
            (
                "check that events were not marked 'outdated' for two different policies in the"
                " behavior for down",
                generated(1000, 120, 100, 60, 300),
            ),
            (
                "check that events were marked 'outdated' for two different policies in the"
                " behavior for down",
                generated(1000, 30, 100, 60, 300),
            ),
        )
    ),
    # TestConvertDesiredReplicasWithRules: the legacy (no behavior) limits; these rows come
    # out the same under the default behaviour.
    Rate("TestConvertDesiredReplicasWithRules/within range", 5, 7, 3, 8, 7, None),
    Rate(
        "TestConvertDesiredReplicasWithRules/< minReplicas",
        3,
        1,
        2,
        8,
        2,
        LimitReason.TOO_FEW_REPLICAS,
    ),
    Rate(
        "TestConvertDesiredReplicasWithRules/maxReplicas < scaleUpLimit",
        20,
        1000,
        1,
        10,
        10,
        LimitReason.TOO_MANY_REPLICAS,
    ),
)


def bounds(row: Rate) -> Bounds:
    """The rules as the API fills them in (GenerateHPAScaleUp/DownRules)."""
    up = ScaleUpRules.model_validate(row.up or {})
    down = ScaleDownRules.model_validate(row.down or {})
    return Bounds(row.min, row.max, up, down)


@pytest.mark.parametrize("row", HPA_RATES, ids=lambda r: r.name)
def test_hpa_rate_limits(row: Rate) -> None:
    events = (*row.up_events, *row.down_events)
    desired, limit = limit_rate(row.current, row.desired, bounds(row), events=events, now=0)
    assert desired == row.expected
    assert (limit.reason if limit else None) == row.reason


def test_hpa_policy_selection_min() -> None:
    """TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors."""
    rules = {
        "stabilizationWindowSeconds": 300,
        "selectPolicy": "Min",
        "policies": [
            {"type": "Pods", "value": 2, "periodSeconds": 60},
            {"type": "Percent", "value": 50, "periodSeconds": 60},
        ],
    }
    assert scale_up_limit(1, ScaleUpRules.model_validate(rules), [], 0) == 2
    assert scale_down_limit(5, ScaleDownRules.model_validate(rules), [], 0) == 3


# -- stabilization (stabilizeRecommendationWithBehaviors) -------------------------------


@dataclass(frozen=True)
class Stabilize:
    name: str
    history: tuple[tuple[float, int], ...]  # (seconds ago, recommendation)
    current: int
    desired: int
    expected: int
    up_window: float = 0
    down_window: float = 0


HPA_STABILIZE: tuple[Stabilize, ...] = (
    Stabilize("empty recommendations for scaling down", (), 100, 5, 5),
    Stabilize("simple scale down stabilization", ((120, 4), (60, 5)), 100, 3, 5, down_window=180),
    Stabilize("simple scale up stabilization", ((120, 4), (60, 5)), 1, 7, 4, up_window=300),
    Stabilize("no scale down stabilization", ((120, 1), (60, 2)), 100, 3, 3, up_window=300),
    Stabilize("no scale up stabilization", ((120, 4), (60, 5)), 1, 3, 3, down_window=300),
    Stabilize(
        "no scale down stabilization, reuse recommendation element",
        ((600, 10), (540, 9)),
        100,
        3,
        3,
    ),
    Stabilize(
        "no scale up stabilization, reuse recommendation element",
        ((600, 10), (540, 9)),
        1,
        100,
        100,
    ),
    Stabilize(
        "scale down stabilization, reuse one of obsolete recommendation element",
        ((600, 10), (60, 4), (120, 5), (540, 9)),
        100,
        3,
        5,
        down_window=180,
    ),
    Stabilize(
        "scale up stabilization, reuse one of obsolete recommendation element",
        ((6000, 10), (60, 6), (120, 5), (180, 9)),
        1,
        100,
        5,
        up_window=300,
    ),
    Stabilize(
        "scale up and down stabilization, do not scale up when prenormalized rec goes down",
        ((6000, 2), (180, 3)),
        2,
        1,
        2,
        up_window=300,
        down_window=300,
    ),
    Stabilize(
        "scale up and down stabilization, do not scale down when prenormalized rec goes up",
        ((6000, 2), (180, 1)),
        2,
        3,
        2,
        up_window=300,
        down_window=300,
    ),
)


@pytest.mark.parametrize("row", HPA_STABILIZE, ids=lambda r: r.name)
def test_hpa_stabilization(row: Stabilize) -> None:
    history = [Timed(-ago, value) for ago, value in row.history]
    got = stabilize(
        row.current, row.desired, history, 0, up_window=row.up_window, down_window=row.down_window
    )
    assert got == row.expected


# -- scale events (getReplicasChangePerPeriod in TestStoreScaleEvents) ------------------

HPA_EVENTS: tuple[tuple[str, tuple[tuple[float, int], ...], int], ...] = (
    ("empty entries with default behavior", (), 0),
    ("empty entries with two-policy-behavior", (), 0),
    ("one outdated entry to be kept untouched without behavior", ((61, 7),), 0),
    ("one outdated entry to be replaced with behavior", ((61, 7),), 0),
    ("one actual entry to be not touched with behavior", ((58, 7),), 7),
    ("two entries, one of them to be replaced", ((61, 7), (59, 6)), 6),
    (
        "replace one entry, use policies with different periods",
        ((29, 8), (59, 6), (61, 7), (61, 9)),
        14,
    ),
    ("two entries, both actual", ((58, 7), (59, 6)), 13),
)


@pytest.mark.parametrize(("name", "events", "changed"), HPA_EVENTS)
def test_hpa_replicas_changed_in_the_last_60s(
    name: str, events: tuple[tuple[float, int], ...], changed: int
) -> None:
    """Both directions: crestline keeps one signed list where the HPA keeps two."""
    for sign in (+1, -1):
        timed = [Timed(-ago, sign * change) for ago, change in events]
        assert changed_in_period(timed, 0, 60) == sign * changed, name


# -- defaults (GenerateHPAScaleUpRules / GenerateHPAScaleDownRules) ---------------------


@dataclass(frozen=True)
class Defaults:
    name: str
    given: dict[str, Any]
    policies: list[tuple[str, int, int]]
    window: int
    select: str
    note: str = ""


def _given(
    pods: int = 0, pods_p: int = 0, pct: int = 0, pct_p: int = 0, **kw: Any
) -> dict[str, Any]:
    rules = dict(kw)
    policies = []
    if pods or pods_p:
        policies.append({"type": "Pods", "value": pods, "periodSeconds": pods_p})
    if pct or pct_p:
        policies.append({"type": "Percent", "value": pct, "periodSeconds": pct_p})
    if policies:
        rules["policies"] = policies
    return rules


HPA_DOWN_DEFAULTS: tuple[Defaults, ...] = (
    Defaults(
        "Default values",
        {},
        [("Percent", 100, 15)],
        300,
        "Max",
        note="the API leaves the window unset; the controller's default, 300 s, is in force",
    ),
    Defaults(
        "All parameters are specified",
        _given(1, 2, 3, 4, stabilizationWindowSeconds=25, selectPolicy="Max"),
        [("Pods", 1, 2), ("Percent", 3, 4)],
        25,
        "Max",
    ),
    Defaults(
        "Percent policy is specified",
        _given(pct=1, pct_p=2, selectPolicy="Min"),
        [("Percent", 1, 2)],
        300,
        "Min",
        note="window: as Default values",
    ),
    Defaults("Pods policy is specified", _given(3, 4), [("Pods", 3, 4)], 300, "Max"),
)
HPA_UP_DEFAULTS: tuple[Defaults, ...] = (
    Defaults("Default values", {}, [("Pods", 4, 15), ("Percent", 100, 15)], 0, "Max"),
    Defaults(
        "All parameters are specified",
        _given(1, 2, 3, 4, stabilizationWindowSeconds=25, selectPolicy="Max"),
        [("Pods", 1, 2), ("Percent", 3, 4)],
        25,
        "Max",
    ),
    Defaults(
        "Pod policy is specified", _given(1, 2, selectPolicy="Min"), [("Pods", 1, 2)], 0, "Min"
    ),
    Defaults(
        "Percent policy is specified", _given(pct=7, pct_p=10), [("Percent", 7, 10)], 0, "Max"
    ),
    Defaults(
        "Pod policy and stabilization window are specified",
        _given(4, 2, stabilizationWindowSeconds=25),
        [("Pods", 4, 2)],
        25,
        "Max",
    ),
    Defaults(
        "Percent policy and stabilization window are specified",
        _given(pct=7, pct_p=60, stabilizationWindowSeconds=25),
        [("Percent", 7, 60)],
        25,
        "Max",
    ),
)


@pytest.mark.parametrize(
    ("direction", "row"),
    [("scaleDown", r) for r in HPA_DOWN_DEFAULTS] + [("scaleUp", r) for r in HPA_UP_DEFAULTS],
    ids=lambda x: x if isinstance(x, str) else x.name,
)
def test_hpa_behaviour_defaults_field_by_field(direction: str, row: Defaults) -> None:
    spec = ScalingSpec.model_validate({"maxReplicas": 5, "behavior": {direction: row.given}})
    rules = spec.behavior.scale_up if direction == "scaleUp" else spec.behavior.scale_down
    got = [(p.type.value, p.value, p.period_seconds) for p in rules.policies]
    assert got == row.policies
    assert rules.stabilization_window_seconds == row.window
    assert rules.select_policy.value == row.select


# -- validation of tolerance and policies -----------------------------------------------

ONE_POLICY = [{"type": "Pods", "value": 1, "periodSeconds": 1800}]
HPA_VALID_RULES: tuple[tuple[str, dict[str, Any]], ...] = (
    ("tolerance 0.1", {"policies": ONE_POLICY, "tolerance": 0.1}),
    ("tolerance 10", {"policies": ONE_POLICY, "tolerance": 10}),
    ("tolerance 0", {"policies": ONE_POLICY, "tolerance": 0}),
    ("tolerance 100m", {"policies": ONE_POLICY, "tolerance": 0.1}),
    ("tolerance 1m", {"policies": ONE_POLICY, "tolerance": 0.001}),
    ("no tolerance", {"policies": ONE_POLICY}),
)
HPA_INVALID_RULES: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("no policies", {"policies": []}, "at least one policy"),
    ("tolerance -0.001", {"policies": ONE_POLICY, "tolerance": -0.001}, "greater than or equal"),
    ("tolerance -10m", {"policies": ONE_POLICY, "tolerance": -0.01}, "greater than or equal"),
    (
        "window without policies",
        {"stabilizationWindowSeconds": 60, "policies": []},
        "at least one policy",
    ),
    (
        "tolerance and window without policies",
        {"tolerance": 0.001, "stabilizationWindowSeconds": 60, "policies": []},
        "at least one policy",
    ),
)


@pytest.mark.parametrize(("name", "rules"), HPA_VALID_RULES)
def test_hpa_valid_scaling_rules(name: str, rules: dict[str, Any]) -> None:
    ScalingSpec.model_validate({"maxReplicas": 5, "behavior": {"scaleDown": rules}})


@pytest.mark.parametrize(("name", "rules", "message"), HPA_INVALID_RULES)
def test_hpa_invalid_scaling_rules(name: str, rules: dict[str, Any], message: str) -> None:
    """Upstream validates the defaulted internal object, where "no policies" is nil; in
    a manifest the same mistake is an explicit empty list (omitted policies default)."""
    with pytest.raises(ValidationError, match=message):
        ScalingSpec.model_validate({"maxReplicas": 5, "behavior": {"scaleUp": rules}})


# -- where crestline decides differently on purpose -------------------------------------


@dataclass(frozen=True)
class Different:
    row: Reconcile | Calc
    hpa: int
    why: str


UNREADY_DOWN = (
    "crestline never removes capacity because of pods that are not ready: on the way down it"
    " counts them at the target (the HPA's rule for pods without metrics), because its"
    " readings are Prometheus aggregates that may include those pods' idle samples"
)
BREACH_NOT_DOWN = (
    "a reading above target never lowers the count in crestline; the HPA sizes from the"
    " ready pods alone and can scale down while they run at twice their target"
)
DIFFERENT_BY_DESIGN: tuple[Different, ...] = (
    Different(
        Reconcile(
            "TestScaleDownIncludeUnreadyPods",
            H,
            2,
            6,
            5,
            (Metric(cpu([100, 300, 500], [1000] * 3), 0.5),),
            4,
            ready=3,
            history="expired",
        ),
        2,
        UNREADY_DOWN,
    ),
    Different(
        Reconcile(
            "TestScaleDownIgnoreHotCpuPods",
            H,
            2,
            6,
            5,
            (Metric(cpu([100, 300, 500], [1000] * 3), 0.5),),
            4,
            ready=3,
            history="expired",
        ),
        2,
        UNREADY_DOWN,
    ),
    Different(
        Reconcile(
            "TestMissingReports",
            H,
            1,
            5,
            4,
            (Metric(cpu([200], [200]), 0.5),),
            4,
            ready=1,
            history="expired",
        ),
        2,
        BREACH_NOT_DOWN,
    ),
    Different(
        Calc("TestReplicaCalcScaleDownIncludeUnreadyPods", 5, cpu([100, 300, 500], C3) / 0.5, 4, 3),
        2,
        UNREADY_DOWN,
    ),
    Different(
        Calc("TestReplicaCalcScaleDownExcludeUnscheduledPods", 5, cpu([100], [1000]) / 0.5, 5, 1),
        1,
        UNREADY_DOWN + " (here: four Pending pods)",
    ),
    Different(
        Calc("TestReplicaCalcScaleDownIgnoreHotCpuPods", 5, cpu([100, 300, 500], C3) / 0.5, 4, 3),
        2,
        UNREADY_DOWN,
    ),
    Different(
        Calc("TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", 3, 8.6 / 4.4, 3, 1),
        2,
        BREACH_NOT_DOWN,
    ),
)


@pytest.mark.parametrize("case", DIFFERENT_BY_DESIGN, ids=lambda c: c.row.name)
def test_different_by_design(case: Different) -> None:
    row = case.row
    if isinstance(row, Reconcile):
        got = run_reconcile(row).desired
    else:
        got = proportional_proposal(Fleet(row.current, row.ready or row.current), row.ratio)
    assert got == row.expected != case.hpa


# -- what does not apply, and why -------------------------------------------------------

ZERO = "scale to zero (the HPA's alpha HPAScaleToZero): crestline's minReplicas is at least 1"
MISSING = (
    "per-pod missing metrics: crestline reads one aggregate from Prometheus and cannot see"
    " which pods lack a sample"
)
IO = "controller I/O or bookkeeping (selectors, scale subresource, status writes), not a decision"
LEGACY = (
    "the legacy path for an HPA without behavior (max of the window regardless of the"
    " current count); crestline always runs the behavior stabilizer"
)
GROUP = "per-pod classification (groupPods); crestline is given the Ready count by its caller"
EXCLUDED: dict[str, str] = {
    "H TestScaleUpFromZeroCMObject": ZERO,
    "H TestScaleUpFromZeroIgnoresToleranceCMObject": ZERO,
    "H TestScaleUpFromZeroOneMetricInvalid": ZERO,
    "H TestScaleDownToZeroCMObject": ZERO,
    "H TestScaleDownToZeroCMExternal": ZERO,
    "H TestZeroMinReplicasDesiredZero": ZERO,
    "H TestScalingWithRules/prenormalized desired replicas within range when minReplicas is 0": (
        ZERO
    ),
    "H TestConvertDesiredReplicasWithRules/prenormalized desired zeroed replicas within range": (
        ZERO
    ),
    "H TestConvertDesiredReplicasWithRules/scaleUpLimit is the limit because scaleUpLimit <"
    " maxReplicas": "legacy limit max(2x, 4) with the tests' factor of 8; crestline always"
    " applies behavior (its defaults are the HPA's behavior defaults, rows above)",
    "H TestMissingMetrics": MISSING,
    "H TestConditionInvalidSelectorMissing": IO,
    "H TestConditionInvalidSelectorUnparsable": IO,
    "H TestConditionNoAmbiguousSelectorWhenNoSelectorOverlapBetweenHPAs": IO
    + " (its decision is TestScaleUp's)",
    "H TestConditionAmbiguousSelectorWhenFullSelectorOverlapBetweenHPAs": IO,
    "H TestConditionAmbiguousSelectorWhenPartialSelectorOverlapBetweenHPAs": IO,
    "H TestConditionFailedGetScale": IO,
    "H TestConditionFailedUpdateScale": IO,
    "H TestAvoidUnnecessaryUpdates": IO,
    "H TestMultipleHPAs": IO + " (1000 HPAs through the work queue)",
    "H TestStoreScaleEvents (stored layout, outdated flags)": "how the HPA reuses outdated"
    " event slots; crestline keeps events younger than the longest period (record_scale);"
    " the replica change per period of every row is tested above",
    "H TestNormalizeDesiredReplicasWithBehavior (stored recommendations)": "slot reuse of the"
    " recommendation log; the stabilized value of every row is tested above",
    "H TestNormalizeDesiredReplicas/empty log": LEGACY,
    "H TestNormalizeDesiredReplicas/stabilize": LEGACY,
    "H TestNormalizeDesiredReplicas/no stabilize": LEGACY,
    "H TestNormalizeDesiredReplicas/no stabilize - old recommendations": LEGACY,
    "H TestNormalizeDesiredReplicas/stabilize - old recommendations": LEGACY,
    "R TestReplicaCalcMissingMetrics": MISSING,
    "R TestReplicaCalcMissingMetricsNoChangeEq": MISSING,
    "R TestReplicaCalcMissingMetricsNoChangeGt": MISSING,
    "R TestReplicaCalcMissingMetricsNoChangeLt": MISSING,
    "R TestReplicaCalcMissingMetricsUnreadyChange": MISSING,
    "R TestReplicaCalcMissingMetricsHotCpuNoChange": MISSING,
    "R TestReplicaCalcMissingMetricsUnreadyScaleUp": MISSING,
    "R TestReplicaCalcMissingMetricsHotCpuScaleUp": MISSING,
    "R TestReplicaCalcMissingMetricsUnreadyScaleDown": MISSING,
    "R TestReplicaCalcDuringRollingUpdateWithMaxSurge": MISSING + " (the surge pod has none)",
    **{
        f"R TestGroupPods/{name}": GROUP
        for name in (
            "void",
            "count in a ready pod - memory",
            "ignore a pod without ready condition - CPU",
            "count in a ready pod with fresh metrics during initialization period - CPU",
            "ignore a ready pod without fresh metrics during initialization period - CPU",
            "ignore an unready pod during initialization period - CPU",
            "count in a ready pod without fresh metrics after initialization period - CPU",
            "count in an unready pod that was ready after initialization period - CPU",
            "ignore pod that has never been ready after initialization period - CPU",
            "a missing pod",
            "several pods",
            "pending pods are ignored",
        )
    },
    "D TestHorizontalPodAutoscalerAnnotations (3 rows)": "v1 annotations round trip",
    "V TestValidateHorizontalPodAutoscalerConfigurableToleranceDisabled (3+3 rows)": "the"
    " HPAConfigurableTolerance feature gate off; crestline always has per-direction tolerance",
}


def test_every_upstream_case_is_ported_or_has_a_reason() -> None:
    """The bookkeeping: counts for the report, and no row without a name or a reason."""
    ported = (
        len(HPA_RECONCILES)
        + len(HPA_CALCULATOR)
        + len(HPA_CALCULATOR_ERRORS)
        + len(HPA_RATES)
        + 2  # the two selectPolicy Min tables
        + len(HPA_STABILIZE)
        + len(HPA_EVENTS)
        + len(HPA_DOWN_DEFAULTS)
        + len(HPA_UP_DEFAULTS)
        + len(HPA_VALID_RULES)
        + len(HPA_INVALID_RULES)
    )
    assert ported == 188
    assert len(DIFFERENT_BY_DESIGN) == 7
    # 50 entries: 55 upstream rows (two entries stand for 3 and 6 rows) and two notes on
    # bookkeeping the ported rows do not check (the HPA's storage layout).
    assert len(EXCLUDED) == 50
    assert all(reason.strip() for reason in EXCLUDED.values())
    names = [r.name for r in HPA_RECONCILES] + [c.row.name for c in DIFFERENT_BY_DESIGN]
    assert len(names) == len(set(names))


# -- a sequence: decide() over time reproduces the HPA's counts -------------------------


@dataclass
class Loop:
    """decide() called every ``interval`` s with the state it hands back, like the operator."""

    spec: ScalingSpec
    current: int
    interval: float = 15.0
    t: float = 0.0
    recommendations: tuple[Timed, ...] = ()
    events: tuple[Timed, ...] = ()
    seen: list[int] = field(default_factory=list)

    def step(self, ratio: float) -> int:
        objective = Objective(name="cpu", query="q", target=1.0)
        state = ScaleState(self.current, self.recommendations, self.events)
        d = decide(self.spec, [objective], {"cpu": Reading(ratio)}, state, now=self.t)
        self.events = record_scale(self.events, self.t, d.desired - self.current, self.spec)
        self.recommendations = d.recommendations
        self.current = d.desired
        self.seen.append(d.desired)
        self.t += self.interval
        return d.desired


def test_sequence_rate_limits_as_the_hpa() -> None:
    """Default behaviour from 3 replicas under a large breach: max(+4 pods, +100 %) per 15 s
    from the count at the start of the period (TestScalingWithRules "scaleUp with default
    behavior", applied at every sync)."""
    loop = Loop(ScalingSpec.model_validate({"minReplicas": 1, "maxReplicas": 40}), current=3)
    for _ in range(5):
        loop.step(ratio=loop.current * 100.0)  # far more load than 40 replicas serve
    assert loop.seen == [7, 14, 28, 40, 40]


def test_sequence_pods_policy_counts_changes_within_its_period() -> None:
    """Pods 4 per 60 s, synced every 15 s: +4, then held until that change leaves the
    period (strictly: a change exactly 60 s old no longer counts), as the HPA's
    getReplicasChangePerPeriod."""
    up = generated(pods=4, pods_period=60)
    spec = ScalingSpec.model_validate(
        {"minReplicas": 1, "maxReplicas": 100, "behavior": {"scaleUp": up}}
    )
    loop = Loop(spec, current=10)
    for _ in range(9):
        loop.step(ratio=10.0)
    assert loop.seen == [14, 14, 14, 14, 18, 18, 18, 18, 22]


def test_sequence_stabilization_then_scale_down_as_the_hpa() -> None:
    """A new SLO is seeded once, then the 300 s window holds the highest recommendation:
    demand halves at t=0 and the count follows once every higher recommendation left the
    window (TestNormalizeDesiredReplicasWithBehavior semantics, evaluated over time)."""
    spec = ScalingSpec.model_validate({"minReplicas": 1, "maxReplicas": 40})
    loop = Loop(spec, current=10, t=-600)
    while loop.t < 0:
        loop.step(ratio=1.0)  # at target: recommends 10 every 15 s
    for _ in range(21):
        loop.step(ratio=0.5)  # recommends 5 from t=0
    # The last recommendation of 10 was made at t=-15; at t=285 it is exactly 300 s old
    # and out of the window.
    held, dropped = loop.seen[40:59], loop.seen[59:]
    assert set(held) == {10}
    assert dropped == [5, 5]
    assert math.isclose(loop.t, 315)
