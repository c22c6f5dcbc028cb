"""EventDay end to end, in compressed time: pre-scaling, the overlay, phases, restore."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from crestline.stack import Stack
from tests.e2e.conftest import (
    OperatorProcess,
    Workload,
    create_slo,
    events_for,
    get_slo,
    replicas,
    slo_body,
    wait_for,
)

pytestmark = pytest.mark.stack


def _local(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def _eventday(name: str, start: dt.datetime, end: dt.datetime, **overrides: Any) -> dict[str, Any]:
    return {
        "apiVersion": "crestline.dev/v1alpha1",
        "kind": "EventDay",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"tier": "shop"}},
            "schedule": {
                "timezone": "UTC",
                "windows": [{"start": _local(start), "end": _local(end)}],
                "leadTime": "10s",
                "trailTime": "5s",
            },
            "overrides": overrides,
        },
    }


def _phase(kube: client.ApiClient, namespace: str, name: str) -> str | None:
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "crestline.dev", "v1alpha1", namespace, "eventdays", name
    )
    phase: str | None = obj.get("status", {}).get("phase")
    return phase


def test_eventday_prescales_before_the_window_and_restores_after(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=20)  # quiet: nothing but the event would add replicas
    slo = slo_body("web", "web", namespace)
    slo["metadata"]["labels"] = {"tier": "shop"}
    create_slo(kube, namespace, slo)
    wait_for(
        lambda: get_slo(kube, namespace, "web").get("status", {}).get("lastEvaluationTime"),
        30,
        "a first evaluation",
    )

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start, end = now + dt.timedelta(seconds=25), now + dt.timedelta(seconds=40)
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        "crestline.dev",
        "v1alpha1",
        namespace,
        "eventdays",
        _eventday("sale", start, end, evaluationIntervalSeconds=1, capacity={"minReplicas": 6}),
    )
    wait_for(lambda: _phase(kube, namespace, "sale") == "Scheduled", 15, "phase Scheduled")
    assert replicas(kube, namespace, "web") == 2

    # Warm-up begins at start - leadTime: replicas reach the floor before the window opens.
    wait_for(lambda: replicas(kube, namespace, "web") >= 6, 30, "pre-scaling to 6")
    assert dt.datetime.now(dt.UTC) < start, "pre-scaling came after the window opened"
    assert _phase(kube, namespace, "sale") == "Warming"
    status = get_slo(kube, namespace, "web")["status"]
    assert status["mode"].startswith("EventDay sale")
    assert status["activeEvents"] == ["sale"]
    assert status["eventBaseline"] == 2

    wait_for(lambda: _phase(kube, namespace, "sale") == "Active", 30, "phase Active")
    # The faster evaluation interval is in force: evaluations a second apart.
    seen = set()
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        seen.add(get_slo(kube, namespace, "web")["status"]["lastEvaluationTime"])
        time.sleep(0.2)
    assert len(seen) >= 3, f"evaluations during the event: {sorted(seen)}"

    wait_for(lambda: _phase(kube, namespace, "sale") == "Cooling", 30, "phase Cooling")
    assert replicas(kube, namespace, "web") >= 6  # no scale-down until window + trail end
    wait_for(lambda: _phase(kube, namespace, "sale") == "Completed", 20, "phase Completed")

    # Afterwards the SLO is back to its own spec and the extra replicas go, gradually.
    wait_for(lambda: replicas(kube, namespace, "web") < 6, 60, "scale-down after the event")
    status = get_slo(kube, namespace, "web")["status"]
    assert status["mode"] == "enforce"
    assert "eventBaseline" not in status
    reasons = {e.reason for e in events_for(kube, namespace, "sale")}
    assert {"PhaseWarming", "PhaseActive", "PhaseCooling", "PhaseCompleted"} <= reasons
