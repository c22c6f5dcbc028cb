"""The operator as a cluster runs it: its image, installed with Helm, as pods on a real node.

Two operator pods share four shards. They reach the stack's Prometheus, Alertmanager and
Redis through the node (``config.endpoints``), the API server through the ``kubernetes``
Service, and act on real pods of the workload image, which Prometheus finds through
Kubernetes service discovery. The load comes from the load generator, through the
workload's Service (kube-proxy spreads it over the Ready pods).

Timings are printed (the pod benchmark measures them), never asserted.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline.runtime.shards import shard_of
from crestline_dev.scenario import create_eventday, eventday_body, eventday_phase, wait_for
from crestline_dev.stack import Stack
from crestline_dev.stack.node_operator import (
    NAMESPACE,
    OperatorRelease,
    operator_pid,
    pod_usage,
)
from crestline_dev.workload.slo import pod_slo_body
from tests.node.conftest import WARMUP_SERVICE_IP, PodNamespace
from tests.node.operator_scenes import CALM, Scene, apps, core, scene, wait_all

pytestmark = [pytest.mark.node, pytest.mark.timeout(1800)]


def _status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"/proc/{pid}/status has no {name}")


def test_the_image_runs_as_locked_down_pods_that_share_the_shards(
    operator_pods: OperatorRelease,
) -> None:
    """What the chart asks for is what the node really applied to the process."""
    pods = operator_pods.ready_pods()
    assert len(pods) == 2
    for pod in pods:
        container = pod.spec.containers[0]
        assert container.image.startswith("crestline:")
        assert container.image_pull_policy == "Never"
        assert pod.spec.security_context.seccomp_profile.type == "RuntimeDefault"
        pid = operator_pid(pod.metadata.uid)
        assert _status_field(pid, "Uid").split() == ["65532"] * 4
        assert _status_field(pid, "Seccomp") == "2"  # a filter is in force
        assert _status_field(pid, "NoNewPrivs") == "1"
        assert _status_field(pid, "CapEff") == "0000000000000000"
        root = next(
            line.split()
            for line in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
            if line.split()[4] == "/"
        )
        assert "ro" in root[5].split(",")
    # Every shard is held, by one of the two pods; each pod's metrics agree.
    holders = wait_for(
        lambda: h if len(h := operator_pods.shard_holders()) == 4 else None, 60, "4 shards held"
    )
    names = {p.metadata.name for p in pods}
    assert set(holders.values()) <= names
    # (A handover between the two may be under way: released by one, not yet taken.)
    wait_for(
        lambda: sum(operator_pods.metrics(p)["crestline_shards_owned"] for p in pods) == 4,
        30,
        "the pods' metrics to count 4 shards",
    )
    usage = [pod_usage(p.metadata.uid) for p in pods]
    print(
        "\noperator pods: "
        + "; ".join(
            f"{p.metadata.name}: cpu {u.cpu_seconds:.1f}s, rss {u.rss_bytes / 2**20:.0f} MiB"
            for p, u in zip(pods, usage, strict=True)
        )
    )


def _writers(operator_pods: OperatorRelease, namespace: str, name: str) -> list[Any]:
    return [
        r
        for r in operator_pods.audit()
        if r.resource == "deployments/scale" and r.namespace == namespace and r.name == name
    ]


def test_an_slo_scales_a_real_deployment_under_real_load(
    node_stack: Stack,
    node_kube: client.ApiClient,
    operator_pods: OperatorRelease,
    pod_namespace: PodNamespace,
) -> None:
    """p95 latency and worker utilization, read from the pods' own metrics; a load step
    breaches the latency objective; the operator pods add pods until it is met again,
    and remove them gradually when the load goes."""
    ns = pod_namespace.name
    with scene(node_stack, node_kube, ns) as s:
        s.wait_evaluated()
        time.sleep(8)  # calm: two pods at a third of their capacity
        assert s.replicas() == 2
        status = s.status()
        assert {o["name"] for o in status["objectives"]} == {"p95", "busy"}
        assert all(o.get("value") is not None for o in status["objectives"]), status

        step = time.monotonic()
        s.rate.set(90.0)  # 4.5 pods of capacity; breached at once on two
        # Met again: enough pods, and p95 under the target in Prometheus.
        wait_for(
            lambda: s.replicas() >= 5 and (p := s.p95()) is not None and p < 0.3,
            180,
            "the objective met again with more pods",
            interval=1.0,
        )
        met = time.monotonic() - step
        peak = max(x.replicas for x in s.recorder.samples)
        first_up = next((x.t for x in s.recorder.samples if x.replicas > 2), step) - step
        print(
            f"\nload step 15 -> 90 rps: first scale-up after {first_up:.1f}s, objective met "
            f"after {met:.0f}s with {s.replicas()} pods (peak {peak}); client p95 since "
            f"then {s.load.report.quantile(0.95, since=time.monotonic() - 5) * 1000:.0f} ms"
        )
        ups = s.events("ScaledUp")
        assert any("p95=" in e.message for e in ups), "no ScaledUp event naming the p95"

        # The replicas were written with server-side apply as field manager crestline,
        # by the operator's pods (their ServiceAccount tokens are bound to the pods).
        dep = apps(node_kube).read_namespaced_deployment("web", ns)
        managers = {
            m.manager for m in dep.metadata.managed_fields if "f:replicas" in str(m.fields_v1)
        }
        assert "crestline" in managers
        writers = {r.pod for r in _writers(operator_pods, ns, "web")}
        assert writers
        assert writers <= {p.metadata.name for p in operator_pods.pods()}

        s.rate.set(CALM)
        before = s.replicas()
        wait_for(lambda: s.replicas() < before, 120, "a scale-down after the load went")
        assert s.replicas() >= 2


def _silences(stack: Stack, namespace: str, eventday: str) -> list[dict[str, Any]]:
    """Every silence crestline made for the EventDay, expired ones included."""
    assert stack.alertmanager is not None
    every = requests.get(f"{stack.alertmanager.url}/api/v2/silences", timeout=5).json()
    marker = f"eventday={namespace}/{eventday}"
    return [s for s in every if s["createdBy"] == "crestline" and marker in s["comment"]]


def _monitor(kube: client.ApiClient, namespace: str, interval: str) -> None:
    custom: Any = client.CustomObjectsApi(kube)
    custom.create_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        namespace,
        "servicemonitors",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "endpoints": [{"port": "http", "interval": interval}],
            },
        },
    )


def _monitor_interval(kube: client.ApiClient, namespace: str) -> str | None:
    custom: Any = client.CustomObjectsApi(kube)
    obj = custom.get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "servicemonitors", "web"
    )
    interval: str | None = obj["spec"]["endpoints"][0].get("interval")
    return interval


def _on_shards(namespace: str, prefix: str, shards: set[int]) -> str:
    """A name whose shard is one of ``shards`` (the operator hashes namespace/name)."""
    return next(
        f"{prefix}-{i}" for i in range(1000) if shard_of(namespace, f"{prefix}-{i}", 4) in shards
    )


def _runs(pods: list[str]) -> list[str]:
    """The writers in order, consecutive repeats collapsed: A A B B -> A B."""
    return [p for i, p in enumerate(pods) if i == 0 or pods[i - 1] != p]


def _event(name: str, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    return eventday_body(
        name,
        start,
        end,
        lead="20s",
        trail="5s",
        capacity={"minReplicas": 4},
        monitoring={"interval": "1s", "monitors": [{"name": "web"}]},
        alerts={},
        cache={
            "extendTtl": {"pattern": "product:*", "ttlSeconds": 3600},
            "httpWarmup": {"url": f"http://{WARMUP_SERVICE_IP}/warmup"},
        },
    )


def _warmups(stack: Stack, namespace: str) -> float:
    """Calls of the workload's /warmup, summed over its pods, gone ones included."""
    assert stack.prometheus is not None
    series = f'workload_warmups_total{{namespace="{namespace}"}}'
    result = stack.prometheus.query(f"sum(max_over_time({series}[10m]))")
    return float(result[0]["value"][1]) if result else 0.0


def _evd(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    custom: Any = client.CustomObjectsApi(kube)
    obj: dict[str, Any] = custom.get_namespaced_custom_object(
        "crestline.dev", "v1alpha1", namespace, "eventdays", name
    )
    return obj


def _fail_over(operator_pods: OperatorRelease, shard: int, s: Scene) -> tuple[str, float, float]:
    """Delete the pod holding ``shard`` while the load rises (the SLO's status changes,
    so its next evaluation shows as a status write). Returns that pod, the seconds until
    its shards were held by other pods, and until another pod wrote the SLO's status."""
    held = operator_pods.shard_holders()
    victim = held[shard]
    theirs = {k for k, pod in held.items() if pod == victim}
    deleted_at = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    s.rate.set(60.0)
    core(s.kube).delete_namespaced_pod(victim, NAMESPACE)

    def moved() -> bool:
        now = operator_pods.shard_holders()
        return all(now.get(k) not in {None, victim} for k in theirs)

    def evaluated_elsewhere() -> bool:
        return any(
            r.resource == "performanceslos/status"
            and r.name == s.slo_name
            and r.pod != victim
            and r.code == 200
            for r in operator_pods.audit(since=deleted_at)
        )

    wait_for(moved, 60, "the deleted pod's shards held by another pod", interval=0.1)
    shards_moved = time.monotonic() - t0
    wait_for(evaluated_elsewhere, 90, "the SLO evaluated by another pod", interval=0.2)
    return victim, shards_moved, time.monotonic() - t0


def test_an_eventday_runs_through_a_failover_of_the_pod_that_holds_it(
    node_stack: Stack,
    node_kube: client.ApiClient,
    operator_pods: OperatorRelease,
    pod_namespace: PodNamespace,
) -> None:
    """An EventDay pre-scales the workload, switches its ServiceMonitor to a faster
    interval, silences alerts and warms the cache (Redis TTLs under the namespace's
    prefix, an HTTP warm-up of the Service); mid-event the operator pod holding the SLO
    and the EventDay is deleted. Another pod carries on, nothing is done twice, and
    everything is put back at the end."""
    ns = pod_namespace.name
    assert node_stack.redis is not None
    redis = node_stack.redis.client()
    ours = [f"{ns}:product:{i}" for i in range(30)]
    for key in [*ours, f"{ns}:session:1", "other-team:product:1"]:
        redis.set(key, "x", ex=300)

    # The SLO and the EventDay on one shard: one pod holds both, and the failover moves both.
    slo_name, evd = _on_shards(ns, "web", {0}), _on_shards(ns, "sale", {0})
    slo = pod_slo_body(slo_name, "web", ns)
    slo["metadata"]["labels"] = {"tier": "shop"}

    with scene(node_stack, node_kube, ns, service_ip=WARMUP_SERVICE_IP, slo=slo) as s:
        _monitor(node_kube, ns, "2s")
        s.wait_evaluated()
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        start, end = now + dt.timedelta(seconds=30), now + dt.timedelta(seconds=75)
        create_eventday(node_kube, ns, _event(evd, start, end))

        # Warming (start - leadTime): everything is in place before the window opens.
        def prepared() -> dict[str, bool]:
            return {
                "warming": eventday_phase(node_kube, ns, evd) == "Warming",
                "pre-scaled": s.replicas() >= 4,
                "monitor": _monitor_interval(node_kube, ns) == "1s",
                "silence": len(_silences(node_stack, ns, evd)) == 1,
                "ttl": all(redis.ttl(k) > 300 for k in ours),
                "warm-up": _warmups(node_stack, ns) >= 1,
            }

        wait_all(
            prepared,
            45,
            lambda: f"EventDay status: {_evd(node_kube, ns, evd).get('status')}",
        )
        assert dt.datetime.now(dt.UTC) < start, "the event's preparations came too late"
        assert 0 < redis.ttl(f"{ns}:session:1") <= 300  # not matching the pattern
        assert 0 < redis.ttl("other-team:product:1") <= 300  # another namespace's key
        (silence,) = _silences(node_stack, ns, evd)
        assert silence["status"]["state"] == "active"
        mine = {"name": "namespace", "value": ns, "isRegex": False, "isEqual": True}
        assert mine in silence["matchers"]

        wait_for(lambda: eventday_phase(node_kube, ns, evd) == "Active", 40, "Active")
        victim, shards_moved, failover = _fail_over(operator_pods, 0, s)
        print(
            f"\nfailover (graceful delete of {victim}): shards re-held after "
            f"{shards_moved:.1f}s, SLO evaluated by another pod after {failover:.1f}s"
        )
        for pod in operator_pods.pods():
            log = operator_pods.logs(pod.metadata.name, tail=2000)
            moves = [line for line in log.splitlines() if "shards owned" in line]
            print(f"{pod.metadata.name}: {moves[-6:]}")

        wait_for(lambda: eventday_phase(node_kube, ns, evd) == "Completed", 120, "Completed")
        wait_for(lambda: _monitor_interval(node_kube, ns) == "2s", 30, "the monitor restored")
        wait_for(
            lambda: [x["status"]["state"] for x in _silences(node_stack, ns, evd)] == ["expired"],
            30,
            "the silence expired",
        )
        ledger = _evd(node_kube, ns, evd)["status"]["actions"]
        assert {r["key"] for r in ledger} >= {
            "silence",
            "monitor/ServiceMonitor/web",
            "cache/ttl",
            "cache/http",
        }
        assert _warmups(node_stack, ns) == 1  # once, though two pods held the event

    # Nothing twice: every scale write changed the count (a write repeated by a second
    # pod would not), and the writers never interleave (one pod at a time).
    writes = [r for r in _writers(operator_pods, ns, "web") if r.verb == "patch"]
    dep = apps(node_kube).read_namespaced_deployment("web", ns)
    assert len([w for w in writes if w.code == 200]) == dep.metadata.generation - 1
    writers = _runs([w.pod for w in writes])
    assert len(writers) == len(set(writers)), f"interleaved scale writers: {writers}"
    assert len(_silences(node_stack, ns, evd)) == 1
