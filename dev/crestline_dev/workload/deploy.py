"""The workload as a Deployment on the local node, and how to wait for its pods.

:func:`workload_deployment` makes the manifest: the workload image (built here, never
pulled: ``imagePullPolicy: Never``), a readiness probe on ``/readyz``, and the
``prometheus.io/*`` annotations that Kubernetes service discovery keeps. Variants for
the failure cases the operator must survive: pods that crash at start
(CrashLoopBackOff) and pods that never become Ready.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from crestline_dev.stack import Stack
from crestline_dev.stack.monitoring import KubernetesAccess
from crestline_dev.stack.node import WORKLOAD_IMAGE

PORT = 8080


@dataclass(frozen=True)
class WorkloadSpec:
    """One pod's behaviour: ``workers`` at a time, ``service_ms`` each (capacity = ratio)."""

    workers: int = 4
    service_ms: float = 50.0
    max_queue: int = 200
    never_ready: bool = False
    crash: bool = False  # exit 1 at once: the kubelet backs off restarting it

    @property
    def capacity_rps(self) -> float:
        return self.workers * 1000.0 / self.service_ms


def workload_deployment(
    name: str, replicas: int, spec: WorkloadSpec | None = None
) -> dict[str, Any]:
    """A Deployment manifest of the workload image; pods labelled ``app=<name>``."""
    spec = spec or WorkloadSpec()
    args = [
        f"--port={PORT}",
        f"--workers={spec.workers}",
        f"--service-ms={spec.service_ms}",
        f"--max-queue={spec.max_queue}",
    ]
    if spec.never_ready:
        args.append("--never-ready")
    container: dict[str, Any] = {
        "name": "web",
        "image": WORKLOAD_IMAGE,
        "imagePullPolicy": "Never",
        "args": args,
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": PORT},
            "periodSeconds": 1,
            "failureThreshold": 1,
        },
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
    }
    if spec.crash:
        container["command"] = ["python3", "-c", "raise SystemExit('crashing on purpose')"]
        container.pop("args")
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {
                    "labels": {"app": name},
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": str(PORT),
                    },
                },
                "spec": {
                    "containers": [container],
                    "terminationGracePeriodSeconds": 2,
                    "enableServiceLinks": False,
                },
            },
        },
    }


def service_manifest(name: str) -> dict[str, Any]:
    """A ClusterIP Service on port 80 for the workload's pods (kube-proxy's job)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": PORT}]},
    }


def ready_replicas(kube: client.ApiClient, namespace: str, name: str) -> int:
    dep = client.AppsV1Api(kube).read_namespaced_deployment_status(name, namespace)
    return int(dep.status.ready_replicas or 0) if dep.status else 0


def wait_ready_replicas(
    kube: client.ApiClient, namespace: str, name: str, count: int, *, timeout: float = 60.0
) -> float:
    """Wait until ``count`` replicas are Ready; return the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if ready_replicas(kube, namespace, name) >= count:
            return time.monotonic() - start
        time.sleep(0.2)
    have = ready_replicas(kube, namespace, name)
    raise TimeoutError(f"{namespace}/{name}: {have} of {count} Ready after {timeout}s")


def pod_ips(
    kube: client.ApiClient, namespace: str, name: str, *, ready_only: bool = True
) -> list[str]:
    """The IPs of the workload's pods (only Ready ones unless told otherwise)."""
    pods = client.CoreV1Api(kube).list_namespaced_pod(namespace, label_selector=f"app={name}").items
    ips = []
    for pod in pods:
        status = pod.status
        if status is None or not status.pod_ip:
            continue
        ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or [])
        if ready or not ready_only:
            ips.append(status.pod_ip)
    return ips


def kubernetes_access(stack: Stack) -> KubernetesAccess:
    """What Prometheus needs to discover pods through the stack's API server."""
    plane = stack.control_plane
    if plane is None or plane.pki is None:
        raise RuntimeError("Kubernetes service discovery needs the stack's own control plane")
    return KubernetesAccess(
        api_server=plane.api_url,
        ca_file=plane.pki.ca.cert,
        cert_file=plane.pki.admin.cert,
        key_file=plane.pki.admin.key,
    )
