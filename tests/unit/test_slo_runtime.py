"""SLO evaluation through fakes of its ports: observe -> plan -> act -> report.

What the plan decides is tested in test_plan; here, that the runtime does what the plan
says and nothing more: a paused or conflicting SLO causes no write at all (the fake API
server would record one), writes stop when the shard is lost, and an unchanged status is
not written again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from crestline.adapters.objects import ScalerRecord, WorkloadRecord
from crestline.api.config import OperatorConfig
from crestline.api.slo import PerformanceSLOSpec
from crestline.policy.readings import Sample, Sampled, SourceResult
from crestline.runtime.cache import ClusterCache, Key, ObjectRecord
from crestline.runtime.errors import Fenced
from crestline.runtime.eventdays import EventDayView
from crestline.runtime.slos import SloRunner
from crestline.runtime.writes import StatusQueue
from tests.unit.fakes import FakeWriter

NS = "team-a"


class Readings:
    """CPU per pod of a fixed demand (in cores) spread over the target's replicas."""

    def __init__(self, cache: ClusterCache, demand: float) -> None:
        self.cache, self.demand = cache, demand
        self.asked = 0

    def read(
        self, namespace: str, spec: PerformanceSLOSpec, *, deadline: float
    ) -> Mapping[str, SourceResult]:
        self.asked += 1
        workload = self.cache.workload(namespace, "Deployment", "web")
        replicas = workload.replicas if workload else 1
        return {"cpu": Sampled((Sample({}, self.demand / max(replicas, 1)),))}


class World:
    def __init__(self, **slo: Any) -> None:
        self.t = 1_800_000_000.0
        self.writer = FakeWriter()
        self.cache = ClusterCache()
        self.readings = Readings(self.cache, demand=4.0)  # 4 pods at 1.0 CPU
        self.owned = True
        spec: dict[str, Any] = {
            "targetRef": {"name": "web"},
            "objectives": [{"name": "cpu", "query": "cpu", "target": 0.5}],
            "scaling": {"maxReplicas": 20},
            "pools": [
                {
                    "name": "db",
                    "budget": 100,
                    "maxPerPod": 10,
                    "configMap": {"name": "db-pool", "key": "size"},
                }
            ],
        }
        spec.update(slo.pop("spec", {}))
        meta = {"namespace": NS, "name": "web", "uid": "u1", "generation": 1, **slo}
        self.writer.put("performanceslos", {"metadata": meta, "spec": spec})
        self.cache.put_workload(NS, "Deployment", "web", WorkloadRecord(4, 4, 0, ()))
        self.refresh()
        self.queue = StatusQueue(self.writer, fence=self.fence)
        self.runner = SloRunner(
            view=EventDayView(self.cache, self.clock),
            readings=self.readings,
            queue=self.queue,
            config=OperatorConfig(),
            fence=self.fence,
        )

    def clock(self) -> float:
        return self.t

    def fence(self, key: Key) -> None:
        if not self.owned:
            raise Fenced("lost the shard")

    def refresh(self) -> None:
        body = self.writer.get_custom("performanceslos", NS, "web")
        assert body is not None
        self.cache.put_slo(ObjectRecord.from_body(body))

    def evaluate(self) -> float:
        delay = self.runner.evaluate((NS, "web"))
        self.queue.run_pending()  # what the writer threads would do
        self.refresh()
        scaled = self.writer.replicas.get((NS, "Deployment", "web"))
        if scaled is not None:  # what the Deployment watch would show
            self.cache.put_workload(NS, "Deployment", "web", WorkloadRecord(scaled, scaled, 0, ()))
        self.t += delay
        return delay

    def status(self) -> dict[str, Any]:
        body = self.writer.get_custom("performanceslos", NS, "web")
        assert body is not None
        return dict(body.get("status") or {})


def test_enforce_scales_and_sizes_the_pool_before() -> None:
    world = World()
    world.evaluate()
    assert world.writer.replicas == {(NS, "Deployment", "web"): 8}
    assert world.writer.config == {(NS, "db-pool", "size"): "10"}
    assert world.status()["currentReplicas"] == 8
    assert "ScaledUp" in world.writer.reasons()


@pytest.mark.parametrize(
    "setup",
    [
        {"annotations": {"crestline.dev/paused-until": "forever"}},
        {"spec": {"mode": "dryRun"}},
        "hpa",
        "gitops",
    ],
)
def test_a_paused_dry_run_or_conflicting_slo_writes_nothing_outside_its_status(
    setup: dict[str, Any] | str,
) -> None:
    world = World(**setup) if isinstance(setup, dict) else World()
    if setup == "hpa":
        world.cache.put_scaler(
            NS, ScalerRecord("HorizontalPodAutoscaler", "h", "Deployment", "web")
        )
    if setup == "gitops":
        world.cache.put_workload(NS, "Deployment", "web", WorkloadRecord(4, 4, 0, ("argocd",)))
    for _ in range(3):
        world.evaluate()
    assert world.writer.replicas == {}
    assert world.writer.config == {}
    assert world.status()["desiredReplicas"] == 8  # what it would do, reported


def test_an_unchanged_status_is_not_written_again() -> None:
    world = World(spec={"pools": [], "scaling": {"maxReplicas": 20, "warmupSeconds": 0}})
    world.evaluate()  # 4 -> 8: on target
    world.evaluate()
    writes = world.writer.status_writes
    for _ in range(5):
        world.evaluate()
    assert world.writer.replicas == {(NS, "Deployment", "web"): 8}
    assert world.writer.status_writes == writes
    assert world.readings.asked == 7  # still evaluated every time


def test_a_lost_shard_stops_writes_before_they_happen() -> None:
    world = World()
    world.owned = False
    world.evaluate()
    assert world.writer.replicas == {}
    assert world.writer.config == {}
    assert world.writer.status_writes == 0


def test_a_forbidden_scale_write_becomes_a_condition_and_an_event() -> None:
    world = World(spec={"pools": []})
    world.writer.fail_scale = 403
    world.evaluate()
    ready = next(c for c in world.status()["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ScaleFailed"
    assert "403" in ready["message"]
    assert "ScaleFailed" in world.writer.reasons()


def test_a_missing_target_and_an_invalid_spec_are_reported_not_raised() -> None:
    world = World()
    world.cache.drop_workload(NS, "Deployment", "web")
    world.evaluate()
    found = next(c for c in world.status()["conditions"] if c["type"] == "TargetFound")
    assert found["status"] == "False"
    body = world.writer.objects[("performanceslos", NS, "web")]
    body["spec"]["scaling"]["minReplicas"] = 50  # > maxReplicas: slipped past an old CRD
    body["metadata"]["generation"] = 2
    world.refresh()
    world.evaluate()
    ready = next(c for c in world.status()["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "InvalidSpec"
    assert "minReplicas" in ready["message"]


def test_status_written_by_the_previous_operator_still_loads() -> None:
    world = World()
    body = world.writer.objects[("performanceslos", NS, "web")]
    body["status"] = {
        "scaleEvents": [{"t": world.t - 10, "replicas": 2}],  # old name, a delta
        "recommendations": [{"t": world.t - 10, "replicas": 6}],  # no longer kept
        "currentReplicas": 4,
    }
    world.refresh()
    world.evaluate()
    changes = world.status()["scaleChanges"]
    assert changes[0]["delta"] == 2
    assert world.status()["scaleEvents"] == []
