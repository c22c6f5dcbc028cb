"""The workload as a Deployment on the local node, and how to wait for its pods.

:func:`workload_deployment` makes the manifest: the workload image (built here, never
pulled: ``imagePullPolicy: Never``), a readiness probe on ``/readyz``, and the
``prometheus.io/*`` annotations that Kubernetes service discovery keeps. Variants for
the failure cases the operator must survive: pods that crash at start
(CrashLoopBackOff), pods that never become Ready, pods that are slow to become Ready,
and pods whose mode comes from a ConfigMap read at start (:func:`mode_config_map`), so a
changed ConfigMap breaks only the pods started after the change.
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
MODE_DIR = "/etc/workload"


@dataclass(frozen=True)
class WorkloadSpec:
    """One pod's behaviour: ``workers`` at a time, ``service_ms`` each (capacity = ratio)."""

    workers: int = 4
    service_ms: float = 50.0
    max_queue: int = 200
    never_ready: bool = False
    crash: bool = False  # exit 1 at once: the kubelet backs off restarting it
    ready_after_seconds: float = 0.0  # a slow start: not Ready before this
    # A ConfigMap whose key ``mode`` (crash | never-ready | ok) each pod reads at start.
    mode_config_map: str | None = None

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
    if spec.ready_after_seconds:
        args.append(f"--ready-after-seconds={spec.ready_after_seconds:g}")
    if spec.mode_config_map:
        args.append(f"--mode-file={MODE_DIR}/mode")
    container: dict[str, Any] = {
        "name": "web",
        "image": WORKLOAD_IMAGE,
        "imagePullPolicy": "Never",
        "args": args,
        "ports": [{"name": "http", "containerPort": PORT}],
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": PORT},
            "periodSeconds": 1,
            # Ready at the first success; unready after 3 s of failures, not one slow
            # answer (the probe shares a busy 2-core machine with everything else).
            "failureThreshold": 3,
            "timeoutSeconds": 2,
        },
        "securityContext": {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False},
    }
    if spec.crash:
        container["command"] = ["python3", "-c", "raise SystemExit('crashing on purpose')"]
        container.pop("args")
    pod: dict[str, Any] = {
        "containers": [container],
        "terminationGracePeriodSeconds": 2,
        "enableServiceLinks": False,
    }
    if spec.mode_config_map:
        container["volumeMounts"] = [{"name": "mode", "mountPath": MODE_DIR, "readOnly": True}]
        pod["volumes"] = [
            {"name": "mode", "configMap": {"name": spec.mode_config_map, "optional": True}}
        ]
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
                "spec": pod,
            },
        },
    }


def service_manifest(name: str, cluster_ip: str | None = None) -> dict[str, Any]:
    """A ClusterIP Service on port 80 for the workload's pods (kube-proxy's job);
    ``cluster_ip`` asks for a fixed address (one an allow-list can name)."""
    spec: dict[str, Any] = {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": PORT}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def mode_config_map(name: str, mode: str) -> dict[str, Any]:
    """The ConfigMap a :class:`WorkloadSpec` with ``mode_config_map`` reads at pod start."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"mode": mode},
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
