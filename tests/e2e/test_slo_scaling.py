"""PerformanceSLO end to end: the operator process, the real stack, a simulated workload.

Time is compressed (2 s evaluations, a 15 s scale-down window, replicas that start in
2 s) but every hop is real: the simulator serves metrics, Prometheus scrapes them, the
operator queries Prometheus and writes the Deployment's scale subresource, and the
simulator reads the new replica count back from the API server.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline_dev.scenario import deployment_manifest, p95_query
from crestline_dev.stack import Stack
from tests.e2e.conftest import (
    OperatorProcess,
    Workload,
    create_slo,
    events_for,
    get_slo,
    replicas,
    slo_body,
    wait_condition,
    wait_for,
)

pytestmark = pytest.mark.stack


def deployment_fields(deployment: Any) -> list[Any]:
    """The managed-fields entries of a Deployment read through the typed client."""
    return list(deployment.metadata.managed_fields or [])


def _p95(stack: Stack, w: Workload) -> float:
    assert stack.prometheus is not None
    result = stack.prometheus.query(p95_query(w))
    return float(result[0]["value"][1]) if result else float("nan")


def test_load_step_scales_up_recovers_and_scales_down_gradually(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    w = workload(replicas=2, rps=40)  # 50% utilization, p95 ~ 0.32 s
    create_slo(kube, namespace, slo_body("web", "web", namespace, cpu=0.7))
    wait_for(
        lambda: get_slo(kube, namespace, "web").get("status", {}).get("lastEvaluationTime"),
        30,
        "a first evaluation",
    )
    assert replicas(kube, namespace, "web") == 2

    w.set_load(100)  # 125% of two replicas' capacity
    wait_for(lambda: _p95(stack, w) > 0.5, 30, "the breach to show in Prometheus")
    breach_seen = time.monotonic()
    # How fast is measured by benchmarks/reaction_time.py; here only that it happens.
    wait_for(lambda: replicas(kube, namespace, "web") > 2, 30, "a scale-up")
    reaction = time.monotonic() - breach_seen

    t_rec = time.monotonic()
    wait_for(lambda: _p95(stack, w) < 0.5, 60, "latency to recover")
    print(f"reaction {reaction:.1f}s, recovery {time.monotonic() - t_rec:.1f}s")
    peak = replicas(kube, namespace, "web")
    slo = get_slo(kube, namespace, "web")
    assert slo["status"]["lastDecision"]["reason"]
    reasons = {e.reason for e in events_for(kube, namespace, "web")}
    assert "ScaledUp" in reasons
    exported = requests.get(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5).text
    assert (
        f'crestline_scaling_decisions_total{{applied="true",direction="up",'
        f'namespace="{namespace}",slo="web"}}' in exported
    )
    assert "crestline_prometheus_query_duration_seconds_count" in exported

    w.set_load(20)
    dropped = time.monotonic()
    seen = [peak]
    while time.monotonic() - dropped < 90 and len(seen) < 3 and seen[-1] > 2:
        now = replicas(kube, namespace, "web")
        if now != seen[-1]:
            seen.append(now)
            if len(seen) == 2:
                first_down = time.monotonic() - dropped
        time.sleep(0.2)
    print(f"scale-down sequence {seen}, first step after {first_down:.1f}s")
    assert seen[-1] < peak, f"never scaled down from {peak}: {seen}"
    assert peak <= 6, f"overshoot: {peak} replicas for 2.5 replicas' worth of load"
    assert first_down >= 10, f"scaled down {first_down:.1f}s after the drop, inside the window"
    steps = [a - b for a, b in itertools.pairwise(seen)]
    assert all(s == 1 for s in steps), f"scale-down not gradual: {seen}"
    assert operator.alive()


def test_dry_run_reports_but_changes_nothing(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=100)  # breaching from the start
    create_slo(kube, namespace, slo_body("web", "web", namespace, mode="dryRun"))

    def recommended() -> bool:
        status = get_slo(kube, namespace, "web").get("status", {})
        return (status.get("desiredReplicas") or 0) > 2

    wait_for(recommended, 40, "a dryRun recommendation above 2")
    status = get_slo(kube, namespace, "web")["status"]
    assert status["mode"] == "dryRun"
    assert status["lastDecision"]["applied"] is False
    assert replicas(kube, namespace, "web") == 2
    wait_for(
        lambda: "Recommendation" in {e.reason for e in events_for(kube, namespace, "web")},
        10,
        "a Recommendation event",
    )
    time.sleep(3)
    assert replicas(kube, namespace, "web") == 2


def _hpa(kube: client.ApiClient, namespace: str, target: str) -> None:
    """An HPA named ``<target>-hpa`` on the Deployment ``target`` (2-5 replicas)."""
    autoscaling: Any = client.AutoscalingV2Api(kube)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace,
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": f"{target}-hpa"},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "minReplicas": 2,
                "maxReplicas": 5,
            },
        },
    )


def _stands_back(kube: client.ApiClient, namespace: str, reason: str, owner: str) -> None:
    """Create the SLO on a breaching ``web`` another controller owns: Conflict=True naming
    ``owner``, a recommendation in the status, and no write."""
    create_slo(kube, namespace, slo_body("web", "web", namespace))
    c = wait_condition(kube, namespace, "web", "Conflict", "True")
    assert c["reason"] == reason
    assert owner in c["message"]
    wait_for(
        lambda: get_slo(kube, namespace, "web")["status"].get("desiredReplicas", 0) > 2,
        30,
        "a recommendation above 2 while in conflict",
    )
    assert replicas(kube, namespace, "web") == 2


def test_hpa_on_the_same_target_is_a_conflict_and_stops_writes(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=100)
    _hpa(kube, namespace, "web")
    _stands_back(kube, namespace, "HorizontalPodAutoscaler", "web-hpa")
    assert "HorizontalPodAutoscaler" in {e.reason for e in events_for(kube, namespace, "web")}


def test_keda_scaledobject_is_a_conflict_until_it_goes(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    """KEDA's own CRD (from its Go module): teams migrating from KEDA meet this first."""
    workload(replicas=2, rps=100)  # breaching from the start
    custom = client.CustomObjectsApi(kube)
    custom.create_namespaced_custom_object(
        "keda.sh",
        "v1alpha1",
        namespace,
        "scaledobjects",
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ScaledObject",
            "metadata": {"name": "web-keda"},
            "spec": {
                "scaleTargetRef": {"name": "web"},  # kind defaults to Deployment
                "triggers": [
                    {
                        "type": "prometheus",
                        "metadata": {
                            "serverAddress": "http://prometheus.monitoring:9090",
                            "query": "sum(rate(http_requests_total[1m]))",
                            "threshold": "50",
                        },
                    }
                ],
            },
        },
    )
    _stands_back(kube, namespace, "ScaledObject", "web-keda")

    # Once KEDA lets go, crestline takes over on its own.
    custom.delete_namespaced_custom_object(
        "keda.sh", "v1alpha1", namespace, "scaledobjects", "web-keda"
    )
    wait_condition(kube, namespace, "web", "Conflict", "False")
    wait_for(lambda: replicas(kube, namespace, "web") > 2, 30, "scaling after the conflict")


def test_gitops_applier_owning_replicas_is_a_conflict_until_git_drops_the_field(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    """An Argo CD-style server-side apply that includes spec.replicas owns that field."""
    workload(replicas=2, rps=100)  # breaching from the start
    apps = client.AppsV1Api(kube)

    def gitops_apply(replicas: int | None) -> None:
        apps.patch_namespaced_deployment(
            "web",
            namespace,
            deployment_manifest("web", replicas),
            field_manager="argocd-controller",
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    gitops_apply(2)
    _stands_back(kube, namespace, "FieldManager", "argocd-controller")

    # The README's handover: crestline takes the field with a replicas-only apply, then
    # git drops it. No reset to 1 in between, and crestline, now the only owner, scales.
    apps.patch_namespaced_deployment(
        "web",
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": 2},
        },
        field_manager="crestline",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    gitops_apply(None)
    seen = [replicas(kube, namespace, "web")]
    deadline = time.monotonic() + 30
    while seen[-1] <= 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        seen.append(replicas(kube, namespace, "web"))
    assert min(seen) == 2, f"replicas dipped during the handover: {seen}"
    assert seen[-1] > 2, "no scaling once git let go"
    wait_condition(kube, namespace, "web", "Conflict", "False")
    managers = {
        m.manager
        for m in deployment_fields(apps.read_namespaced_deployment("web", namespace))
        if "f:replicas" in (m.fields_v1 or {}).get("f:spec", {})
    }
    assert "argocd-controller" not in managers


def test_promql_syntax_error_is_a_condition_and_an_event_not_a_crash(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=40)
    body = slo_body("web", "web", namespace)
    body["spec"]["objectives"] = [{"name": "broken", "query": "sum(rate(foo[1m]", "target": 1}]
    create_slo(kube, namespace, body)

    c = wait_condition(kube, namespace, "web", "MetricsAvailable", "False", "QueryError")
    assert "not valid PromQL" in c["message"]
    wait_for(
        lambda: "QueryError" in {e.reason for e in events_for(kube, namespace, "web")},
        10,
        "a QueryError event",
    )
    assert operator.alive()
    assert replicas(kube, namespace, "web") == 2

    # Fixing the query heals it, no restart needed.
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        "crestline.dev",
        "v1alpha1",
        namespace,
        "performanceslos",
        "web",
        {"spec": {"objectives": [{"name": "broken", "query": "vector(0.5)", "target": 1}]}},
        _content_type="application/merge-patch+json",
    )

    wait_condition(kube, namespace, "web", "MetricsAvailable", "True")


def test_missing_target_is_reported(
    kube: client.ApiClient, operator: OperatorProcess, namespace: str
) -> None:
    create_slo(kube, namespace, slo_body("ghost", "does-not-exist", namespace))

    wait_condition(kube, namespace, "ghost", "TargetFound", "False")
    assert "TargetNotFound" in {e.reason for e in events_for(kube, namespace, "ghost")}
    assert operator.alive()


def test_prometheus_outage_holds_replicas_and_recovers_on_its_own(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    assert stack.prometheus is not None
    workload(replicas=3, rps=20)  # idle enough that a working loop would scale down later
    create_slo(kube, namespace, slo_body("web", "web", namespace))

    wait_condition(kube, namespace, "web", "MetricsAvailable", "True")
    stack.prometheus.stop()
    try:
        wait_condition(kube, namespace, "web", "MetricsAvailable", "False", "SourceUnavailable")
        time.sleep(20)  # longer than the scale-down window: still no change
        assert replicas(kube, namespace, "web") == 3
        status = get_slo(kube, namespace, "web")["status"]
        assert "holding" in status["lastDecision"]["reason"]
        assert operator.alive()
    finally:
        stack.prometheus.start()
    wait_condition(kube, namespace, "web", "MetricsAvailable", "True", timeout=60)


def test_restart_mid_window_keeps_stabilization_and_loses_nothing(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    w = workload(replicas=2, rps=100)
    create_slo(kube, namespace, slo_body("web", "web", namespace, cpu=0.7))
    wait_for(lambda: replicas(kube, namespace, "web") > 2, 40, "a scale-up")
    wait_for(lambda: _p95(stack, w) < 0.5, 60, "latency to recover")
    peak = replicas(kube, namespace, "web")
    w.set_load(20)
    dropped = time.monotonic()
    operator.kill()  # no graceful shutdown: all it knew must come back from the status
    time.sleep(2)
    operator.restart()
    # The restarted operator starts the 15 s scale-down window afresh (as the HPA does
    # after a restart): it can only scale down later than without the restart.
    while time.monotonic() - dropped < 10:
        assert replicas(kube, namespace, "web") == peak, "scaled down inside the window"
        time.sleep(0.2)
    wait_for(lambda: replicas(kube, namespace, "web") < peak, 60, "the delayed scale-down")
    status = get_slo(kube, namespace, "web")["status"]
    assert [d["direction"] for d in status["decisions"]].count("up") >= 1  # history survived
    assert operator.alive()


def test_pool_budget_sizes_the_configmap_and_limits_scaling(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    w = workload(replicas=2, rps=40)
    # 50 connections, 10% reserve: 45 usable. 2 replicas + 1 surge pod -> 15 per pod.
    pool = {
        "name": "db",
        "budget": 50,
        "reservePercent": 10,
        "minPerPod": 5,
        "maxPerPod": 20,
        "configMap": {"name": "web-pools", "key": "db-pool-size"},
    }
    create_slo(kube, namespace, slo_body("web", "web", namespace, pools=[pool]))
    core = client.CoreV1Api(kube)

    def pool_size() -> str | None:
        try:
            data = core.read_namespaced_config_map("web-pools", namespace).data or {}
        except client.ApiException:
            return None
        return data.get("db-pool-size")

    wait_for(lambda: pool_size() == "15", 30, "the pool size for 2 replicas")
    # Heavy load wants ~12 replicas; at 5 per pod the budget serves 7 (+2 surge = 9 pods).
    w.set_load(400)
    c = wait_condition(kube, namespace, "web", "ScalingLimited", "True", "PoolBudget", timeout=60)
    assert "pool db" in c["message"]
    wait_for(lambda: replicas(kube, namespace, "web") == 7, 60, "scaling up to the budget")
    time.sleep(4)
    assert replicas(kube, namespace, "web") == 7  # and no further
    wait_for(lambda: pool_size() == "5", 10, "the pool size for 7 replicas")
    wait_for(
        lambda: (
            get_slo(kube, namespace, "web")["status"]["pools"]
            == [{"name": "db", "perPod": 5, "maxReplicas": 7, "usable": 45}]
        ),
        10,
        "the pool budget in the status",
    )


def test_a_paused_or_conflicting_slo_writes_nothing_not_even_its_pool_configmap(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    """One gate for every write: the pool ConfigMap obeys pause and Conflict like the
    replicas do (it used to be written whenever the mode was enforce)."""
    for name in ("web", "api"):
        workload(name=name, replicas=2, rps=100)  # a breach: both would scale and size
    _hpa(kube, namespace, "api")
    for name in ("web", "api"):
        pool = {
            "name": "db",
            "budget": 100,
            "maxPerPod": 20,
            "configMap": {"name": f"{name}-pools", "key": "size"},
        }
        body = slo_body(name, name, namespace, pools=[pool])
        if name == "web":
            body["metadata"]["annotations"] = {"crestline.dev/paused-until": "forever"}
        create_slo(kube, namespace, body)
    wait_condition(kube, namespace, "api", "Conflict", "True")

    def recommended(name: str) -> bool:
        status = get_slo(kube, namespace, name).get("status", {})  # written off the loop
        return bool(status.get("desiredReplicas", 0) > 2)

    wait_for(lambda: recommended("web") and recommended("api"), 30, "recommendations above 2")
    time.sleep(3)  # more evaluations at the 2 s interval
    core = client.CoreV1Api(kube)
    for name in ("web", "api"):
        assert replicas(kube, namespace, name) == 2
        with pytest.raises(client.ApiException) as missing:
            core.read_namespaced_config_map(f"{name}-pools", namespace)
        assert missing.value.status == 404


def test_redis_hit_ratio_is_an_objective_source(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    assert stack.redis is not None
    workload(replicas=2, rps=20)
    body = slo_body("web", "web", namespace, cache={"redisUrl": stack.redis.url})
    body["spec"]["objectives"] = [{"name": "hits", "preset": {"cacheHitRatio": {}}, "target": 0.9}]
    create_slo(kube, namespace, body)
    stop = threading.Event()

    def traffic() -> None:  # half the lookups miss: a cold cache
        assert stack.redis is not None
        with stack.redis.client() as r:
            r.set(f"{namespace}:hot", "x")
            while not stop.is_set():
                r.get(f"{namespace}:hot")
                r.get(f"{namespace}:cold")
                time.sleep(0.005)

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    try:
        wait_for(lambda: replicas(kube, namespace, "web") > 2, 30, "a scale-up on a cold cache")

        def scaled_status() -> dict[str, Any] | None:
            # The status is written after the scale, off the evaluation path.
            status = get_slo(kube, namespace, "web").get("status", {})
            hits = (status.get("objectives") or [{}])[0]
            return hits if status.get("desiredReplicas", 0) > 2 and "value" in hits else None

        hits = wait_for(scaled_status, 30, "the status of the evaluation that scaled")
        assert hits["direction"] == "above"
        assert 0.4 < hits["value"] < 0.6
    finally:
        stop.set()
        thread.join(5)
