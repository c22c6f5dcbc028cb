"""Pods that are not Ready are not capacity: the operator, as pods, on real pods that
start slowly, crash, or never become Ready.

The decision core counts a replica as serving only once it is past ``warmupSeconds``
and the workload reports it Ready. Here the warm-up is set *shorter* than the pods'
real start, so readiness alone must keep the fleet from growing on readings that the
new pods cannot have changed yet. A naive controller (replicas asked for = capacity)
doubles the fleet at every evaluation while the objective stays breached; these tests
fail if crestline does.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
from kubernetes import client

from crestline.runtime.shards import shard_of
from crestline_dev.scenario import wait_for
from crestline_dev.stack import Stack
from crestline_dev.stack.node_operator import NAMESPACE, OperatorRelease
from crestline_dev.workload.deploy import mode_config_map
from crestline_dev.workload.slo import Tuning
from tests.node.conftest import PodNamespace
from tests.node.operator_scenes import POD, Scene, core, scene

pytestmark = [pytest.mark.node, pytest.mark.timeout(1800)]

NOT_SERVING = "not Ready, counted as not serving"


def _ready_message(s: Scene) -> str:
    ready = s.condition("Ready") or {}
    return str(ready.get("message", ""))


def test_pods_still_starting_are_not_counted_as_serving(
    node_stack: Stack,
    node_kube: client.ApiClient,
    operator_pods: OperatorRelease,
    pod_namespace: PodNamespace,
) -> None:
    """Pods Ready 20 s after they start (a slow start); warm-up 4 s. Under a load step the
    fleet grows once, to at most twice what serves, and holds there until the new pods
    are Ready - though the latency objective stays breached all that time."""
    slow = dataclasses.replace(POD, ready_after_seconds=20)
    # Headroom off: the bound below is then the control laws' own (at most 2x serving).
    tuning = Tuning(max_replicas=20, warmup_seconds=4, headroom_quantile=0)
    with scene(node_stack, node_kube, pod_namespace.name, pod=slow, tuning=tuning) as s:
        s.wait_evaluated()
        time.sleep(6)
        assert s.replicas() == 2
        s.rate.set(90.0)  # 4.5 pods of capacity
        # The recorder's samples, not a read of our own: the window starts at its sample.
        up = wait_for(
            lambda: next((x.t for x in s.recorder.samples if x.replicas > 2), None),
            60,
            "a scale-up",
        )

        notes = []
        deadline = time.monotonic() + 90
        while not any(x.ready > 2 for x in s.recorder.between(up)):
            assert time.monotonic() < deadline, "the new pods never became Ready"
            notes.append(_ready_message(s))
            time.sleep(0.5)
        first_ready = next(x.t for x in s.recorder.between(up) if x.ready > 2)
        starting = s.recorder.between(up, first_ready)
        peak = max(x.replicas for x in starting)
        print(
            f"\nnew pods started for {first_ready - up:.0f}s; replicas while none was Ready: "
            f"{sorted({x.replicas for x in starting})}"
        )
        # Long enough past the warm-up for several evaluations to have seen warm,
        # unready replicas under a breached objective...
        assert first_ready - up > tuning.warmup_seconds + 5 * tuning.interval_seconds
        # ...and none of them counted them: the fleet stayed within twice the two
        # serving pods, where counting them would have doubled it again (8, 16, 20).
        assert peak <= 4
        assert any(NOT_SERVING in n for n in notes), notes[-3:]
        p95 = next(o for o in s.status()["objectives"] if o["name"] == "p95")
        assert p95["ratio"] > 1  # still breached: only readiness held the fleet back


def _new_pods_failing(kube: client.ApiClient, namespace: str, mode: str) -> bool:
    """The pods started after the bad configuration really fail as ``mode`` says."""
    pods: list[Any] = core(kube).list_namespaced_pod(namespace, label_selector="app=web").items
    unready = [
        p
        for p in pods
        if not any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
    ]
    if not unready:
        return False
    statuses = [s for p in unready for s in p.status.container_statuses or []]
    if mode == "crash":
        return bool(statuses) and all(s.restart_count >= 1 for s in statuses)
    return all(p.status.phase == "Running" for p in unready)


@pytest.mark.parametrize("mode", ["crash", pytest.param("never-ready", marks=pytest.mark.long)])
def test_pods_that_never_become_ready_stop_further_scale_ups(
    node_stack: Stack,
    node_kube: client.ApiClient,
    operator_pods: OperatorRelease,
    pod_namespace: PodNamespace,
    mode: str,
) -> None:
    """A bad configuration that bites at the next pod start (a ConfigMap read at start):
    the pods serving keep serving, every pod added crashes (CrashLoopBackOff) or never
    becomes Ready. Under a load the two pods cannot carry, crestline adds pods once,
    then reports PodsReady=False (reason PodsNotReady) with a Warning Event, and adds no
    more while the objective stays breached."""
    ns = pod_namespace.name
    core(node_kube).create_namespaced_config_map(ns, mode_config_map("web-mode", "ok"))
    pod = dataclasses.replace(POD, mode_config_map="web-mode")
    tuning = Tuning(max_replicas=10, warmup_seconds=5, headroom_quantile=0)
    with scene(node_stack, node_kube, ns, pod=pod, tuning=tuning) as s:
        s.wait_evaluated()
        core(node_kube).patch_namespaced_config_map("web-mode", ns, {"data": {"mode": mode}})
        s.rate.set(60.0)  # three pods' worth, on two
        wait_for(lambda: s.replicas() > 2, 60, "a scale-up")
        up = time.monotonic()
        wait_for(lambda: _new_pods_failing(node_kube, ns, mode), 60, f"the new pods: {mode}")
        stuck = wait_for(
            lambda: (c := s.condition("PodsReady")) and c["status"] == "False" and c,
            tuning.warmup_seconds + 60 + 90,
            "PodsReady=False",
            interval=1.0,
        )
        held_from = time.monotonic()
        print(f"\nPodsReady=False {held_from - up:.0f}s after the scale-up: {stuck['message']}")
        assert stuck["reason"] == "PodsNotReady"
        warnings = [e for e in s.events("PodsNotReady") if e.type == "Warning"]
        assert warnings, "no Warning Event"
        held = s.replicas()
        assert 2 < held <= 4  # one step, bounded by the two pods that serve

        time.sleep(24)  # 12 evaluations at 2 s, the objective breached all along
        assert {x.replicas for x in s.recorder.between(held_from)} == {held}
        assert max(x.replicas for x in s.recorder.samples) <= 4
        status = s.status()
        p95 = next(o for o in status["objectives"] if o["name"] == "p95")
        assert p95["ratio"] > 1
        pods_ready = next(c for c in status["conditions"] if c["type"] == "PodsReady")
        assert pods_ready["status"] == "False"


@pytest.mark.long
def test_pods_ready_stays_false_when_another_operator_pod_takes_over(
    node_stack: Stack,
    node_kube: client.ApiClient,
    operator_pods: OperatorRelease,
    pod_namespace: PodNamespace,
) -> None:
    """Crash-looping new pods, PodsReady=False; then the operator pod evaluating the SLO
    is deleted. The pod that takes over must not report the pods Ready again."""
    ns = pod_namespace.name
    core(node_kube).create_namespaced_config_map(ns, mode_config_map("web-mode", "ok"))
    pod = dataclasses.replace(POD, mode_config_map="web-mode")
    tuning = Tuning(max_replicas=10, warmup_seconds=5, headroom_quantile=0)
    with scene(node_stack, node_kube, ns, pod=pod, tuning=tuning) as s:
        s.wait_evaluated()
        core(node_kube).patch_namespaced_config_map("web-mode", ns, {"data": {"mode": "crash"}})
        s.rate.set(60.0)
        wait_for(
            lambda: (c := s.condition("PodsReady")) and c["status"] == "False",
            tuning.warmup_seconds + 60 + 120,
            "PodsReady=False",
            interval=1.0,
        )
        holder = operator_pods.shard_holders()[shard_of(ns, s.slo_name, 4)]
        core(node_kube).delete_namespaced_pod(holder, NAMESPACE)
        seen = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            c = s.condition("PodsReady") or {}
            seen.append((c.get("status"), c.get("reason")))
            time.sleep(0.5)
        recovered = [e for e in s.events("PodsReady") if e.type == "Normal"]
        assert set(seen) == {("False", "PodsNotReady")}, sorted(set(seen), key=str)
        assert not recovered, [e.message for e in recovered]
