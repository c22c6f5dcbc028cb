"""Pods really run on the local node: scheduling, readiness, Services, scraping, latency.

Timings (node start to Ready, scale-out to Ready) are printed for the benchmarks, not
asserted. Load goes only to the pods on the node's bridge, bounded in count and time.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline_dev.sim.trace import StepTrace
from crestline_dev.stack import Stack
from crestline_dev.stack.node_config import NODE_NAME, POD_CIDR
from crestline_dev.workload.deploy import (
    PORT,
    WorkloadSpec,
    kubernetes_access,
    pod_ips,
    service_manifest,
    wait_ready_replicas,
    workload_deployment,
)
from crestline_dev.workload.loadgen import Limits, LoadGenerator
from tests.kubectl import kubectl

# Generous: the first test pays for a cold build of the node (binaries, images, Prometheus).
pytestmark = [pytest.mark.node, pytest.mark.timeout(1800)]


def _apps(kube: client.ApiClient) -> Any:
    """The typed client wants model objects; these tests speak manifests (dicts)."""
    return client.AppsV1Api(kube)


def _core(kube: client.ApiClient) -> Any:
    return client.CoreV1Api(kube)


def _discovery(kube: client.ApiClient) -> Any:
    return client.DiscoveryV1Api(kube)


def _deploy(kube: client.ApiClient, namespace: str, body: dict[str, Any]) -> None:
    _apps(kube).create_namespaced_deployment(namespace, body)


def _scale(kube: client.ApiClient, namespace: str, name: str, replicas: int) -> None:
    _apps(kube).patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}})


def _pods(kube: client.ApiClient, namespace: str, name: str) -> list[Any]:
    pods: list[Any] = _core(kube).list_namespaced_pod(namespace, label_selector=f"app={name}").items
    return pods


def _wait(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_node_is_ready(node_stack: Stack, node_kube: client.ApiClient) -> None:
    node = _core(node_kube).read_node(NODE_NAME)
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert ready.status == "True"
    assert node.status.node_info.container_runtime_version.startswith("containerd://")


def test_deployment_scales_out_and_its_pods_serve(
    node_kube: client.ApiClient, node_namespace: str
) -> None:
    _deploy(node_kube, node_namespace, workload_deployment("web", 2))
    first = wait_ready_replicas(node_kube, node_namespace, "web", 2, timeout=90)
    _scale(node_kube, node_namespace, "web", 8)
    scale_out = wait_ready_replicas(node_kube, node_namespace, "web", 8, timeout=90)
    print(f"\nfirst 2 pods Ready in {first:.1f}s; scale-out 2 -> 8 Ready in {scale_out:.1f}s")

    ips = pod_ips(node_kube, node_namespace, "web")
    assert len(ips) == 8
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network(POD_CIDR) for ip in ips)
    for ip in ips:
        assert requests.get(f"http://{ip}:{PORT}/", timeout=5).status_code == 200


def test_cluster_ip_reaches_the_pods_through_kube_proxy(
    node_kube: client.ApiClient, node_namespace: str
) -> None:
    _deploy(node_kube, node_namespace, workload_deployment("svc", 2))
    service = _core(node_kube).create_namespaced_service(node_namespace, service_manifest("svc"))
    wait_ready_replicas(node_kube, node_namespace, "svc", 2, timeout=90)
    url = f"http://{service.spec.cluster_ip}:80/"

    # kube-proxy programs the rules shortly after the endpoints exist.
    def answered() -> bool:
        try:
            return requests.get(url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    _wait(answered, 30, f"{url} through kube-proxy")
    codes = [requests.get(url, timeout=5).status_code for _ in range(10)]
    assert codes == [200] * 10


def test_kubectl_logs_reach_the_kubelet(
    node_stack: Stack, node_kube: client.ApiClient, node_namespace: str
) -> None:
    _deploy(node_kube, node_namespace, workload_deployment("logs", 1))
    wait_ready_replicas(node_kube, node_namespace, "logs", 1, timeout=90)
    out = kubectl(node_stack, "logs", "-n", node_namespace, "deploy/logs").stdout
    assert "workload: serving on :8080" in out


def test_prometheus_finds_and_scrapes_the_pods_through_kubernetes_sd(
    node_stack: Stack, node_kube: client.ApiClient, node_namespace: str
) -> None:
    prometheus = node_stack.prometheus
    assert prometheus is not None
    _deploy(node_kube, node_namespace, workload_deployment("scraped", 3))
    wait_ready_replicas(node_kube, node_namespace, "scraped", 3, timeout=90)
    job = f"pods-{node_namespace}"
    prometheus.add_kubernetes_pods(job, kubernetes_access(node_stack), [node_namespace])

    def all_up() -> bool:
        targets = prometheus.targets(job)
        return len(targets) == 3 and all(t["health"] == "up" for t in targets)

    _wait(all_up, 30, "3 healthy pod targets")
    pods = {t["labels"]["pod"] for t in prometheus.targets(job)}
    assert pods == {p.metadata.name for p in _pods(node_kube, node_namespace, "scraped")}
    value = prometheus.wait_for_value(
        f'count(workload_workers{{namespace="{node_namespace}",service="scraped"}})'
    )
    assert value == 3


def test_load_drives_latency_up(
    node_stack: Stack, node_kube: client.ApiClient, node_namespace: str
) -> None:
    """One pod of capacity 40 req/s: p95 is the service time at 10 req/s, far above at 60."""
    prometheus = node_stack.prometheus
    assert prometheus is not None
    spec = WorkloadSpec(workers=2, service_ms=50, max_queue=400)
    _deploy(node_kube, node_namespace, workload_deployment("busy", 1, spec))
    wait_ready_replicas(node_kube, node_namespace, "busy", 1, timeout=90)
    job = f"busy-{node_namespace}"
    prometheus.add_kubernetes_pods(job, kubernetes_access(node_stack), [node_namespace])
    targets = [f"http://{ip}:{PORT}/" for ip in pod_ips(node_kube, node_namespace, "busy")]
    p95 = (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
        f'{{namespace="{node_namespace}",service="busy"}}[8s])))'
    )

    calm = LoadGenerator(targets, StepTrace([(0, 10.0)], length=12)).run(12)
    calm_p95 = prometheus.wait_for_value(p95)
    busy = LoadGenerator(targets, StepTrace([(0, 60.0)], length=12), Limits(max_in_flight=200)).run(
        12
    )
    busy_p95 = prometheus.wait_for_value(p95)
    print(
        f"\np95 (Prometheus) calm {calm_p95 * 1000:.0f} ms, busy {busy_p95 * 1000:.0f} ms; "
        f"client p95 calm {calm.quantile(0.95) * 1000:.0f} ms, "
        f"busy {busy.quantile(0.95) * 1000:.0f} ms; busy sent {busy.sent}, shed {busy.shed}"
    )
    assert calm.errors == 0
    assert calm_p95 < 0.1  # service time 50 ms, no queue to speak of
    assert busy_p95 > 2 * calm_p95
    assert busy.quantile(0.95) > 2 * calm.quantile(0.95)


def test_crashing_pods_back_off_and_never_count_as_ready(
    node_kube: client.ApiClient, node_namespace: str
) -> None:
    _deploy(node_kube, node_namespace, workload_deployment("crash", 2, WorkloadSpec(crash=True)))

    def backing_off() -> bool:
        pods = _pods(node_kube, node_namespace, "crash")
        waiting = [
            s.state.waiting.reason
            for p in pods
            for s in (p.status.container_statuses or [])
            if s.state.waiting and s.restart_count >= 1
        ]
        return len(pods) == 2 and waiting.count("CrashLoopBackOff") == 2

    _wait(backing_off, 60, "both pods in CrashLoopBackOff")
    dep = _apps(node_kube).read_namespaced_deployment_status("crash", node_namespace)
    assert not dep.status.ready_replicas
    assert dep.status.unavailable_replicas == 2


def test_pods_failing_readiness_run_but_are_never_ready_nor_served(
    node_kube: client.ApiClient, node_namespace: str
) -> None:
    spec = WorkloadSpec(never_ready=True)
    _deploy(node_kube, node_namespace, workload_deployment("unready", 2, spec))
    _core(node_kube).create_namespaced_service(node_namespace, service_manifest("unready"))

    def running() -> bool:
        pods = _pods(node_kube, node_namespace, "unready")
        return len(pods) == 2 and all(p.status.phase == "Running" for p in pods)

    _wait(running, 60, "both pods Running")
    time.sleep(3)  # several readiness probe periods (1 s each)
    assert pod_ips(node_kube, node_namespace, "unready") == []
    dep = _apps(node_kube).read_namespaced_deployment_status("unready", node_namespace)
    assert not dep.status.ready_replicas
    slices = _discovery(node_kube).list_namespaced_endpoint_slice(
        node_namespace, label_selector="kubernetes.io/service-name=unready"
    )
    ready = [e for s in slices.items for e in (s.endpoints or []) if e.conditions.ready]
    assert ready == []


_IN_CLUSTER = """
import json, ssl, urllib.request
sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
ctx = ssl.create_default_context(cafile=sa + "ca.crt")
auth = {"Authorization": "Bearer " + open(sa + "token").read()}
req = urllib.request.Request("https://10.0.0.1:443/version", headers=auth)
print("version", json.load(urllib.request.urlopen(req, context=ctx, timeout=10))["gitVersion"])
"""


def test_a_pod_reaches_the_api_server_like_in_a_cluster(
    node_stack: Stack, node_kube: client.ApiClient, node_namespace: str
) -> None:
    """Service-account token, CA and the kubernetes Service's cluster IP, via kube-proxy."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "in-cluster"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "probe",
                    "image": "crestline-workload:1",
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", _IN_CLUSTER],
                }
            ],
        },
    }
    _core(node_kube).create_namespaced_pod(node_namespace, pod)

    def finished() -> str | None:
        phase: str = _core(node_kube).read_namespaced_pod("in-cluster", node_namespace).status.phase
        return phase if phase in {"Succeeded", "Failed"} else None

    phase = _wait(finished, 60, "the in-cluster probe to finish")
    out = kubectl(node_stack, "logs", "-n", node_namespace, "in-cluster").stdout
    assert phase == "Succeeded", out
    assert "version v1.35" in out
