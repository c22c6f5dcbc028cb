"""Building blocks for scenarios on the local stack: the operator as a process, workloads.

Shared by the end-to-end tests, the reaction-time benchmark and the demo, so all three
exercise the operator the same way a user runs it (``crestline run``) against the same
simulated workloads.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from crestline.api.base import GROUP, VERSION
from crestline.api.crdgen import ALL_CRDS, render
from crestline_dev.sim.model import ServiceModel
from crestline_dev.sim.pods import kube_pod_readiness
from crestline_dev.sim.server import ClusterHooks, SimulatedService, kube_replica_source
from crestline_dev.sim.trace import StepTrace
from crestline_dev.stack.ports import free_port
from crestline_dev.stack.stack import Stack

PLURAL = "performanceslos"


@dataclass
class OperatorProcess:
    """``crestline run`` as a child process, logging to a file."""

    proc: subprocess.Popen[bytes]
    log: Path
    metrics_port: int
    argv: list[str]
    env: dict[str, str]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 60) -> str:
        return "".join(self.log.read_text(errors="replace").splitlines(True)[-lines:])

    def kill(self) -> None:
        """SIGKILL: no chance to clean up, like a crashed or evicted pod."""
        self.proc.kill()
        self.proc.wait(10)

    def restart(self) -> None:
        if self.alive():
            self.stop()
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                self.argv, stdout=fh, stderr=subprocess.STDOUT, env=self.env
            )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


E2E_TENANTS = "e2e-*"  # the namespaces the end-to-end tests create


def operator_config(stack: Stack, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The operator configuration the tests run with: the stack's Prometheus, Alertmanager
    and Redis as the default endpoints, and the test namespaces allowed to name loopback
    URLs and their own Secrets (the tenancy tests use namespaces that are not)."""
    assert stack.prometheus is not None
    endpoints: dict[str, Any] = {"prometheus": [{"url": stack.prometheus.url}]}
    if stack.alertmanager:
        endpoints["alertmanager"] = [{"url": stack.alertmanager.url}]
    if stack.redis:
        endpoints["redis"] = [{"url": stack.redis.url}]
    config: dict[str, Any] = {
        "endpoints": endpoints,
        "tenants": [
            {
                "namespaces": [E2E_TENANTS],
                "allowUrls": [
                    "http://127.0.0.1:*/",
                    "https://127.0.0.1:*/",
                    "redis://127.0.0.1:*/",
                ],
                "allowSecrets": True,
                "jobServiceAccounts": ["warmer"],
            }
        ],
        "limits": {"minIntervalSeconds": 1},
    }
    for key, value in (extra or {}).items():
        config[key] = value
    return config


def start_operator(
    stack: Stack,
    log: Path,
    *extra: str,
    env_override: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
    namespaces: Sequence[str] | None = None,
) -> OperatorProcess:
    """``crestline run`` against the stack; ``env_override`` e.g. swaps the kubeconfig,
    ``config`` replaces top-level keys of :func:`operator_config`, ``namespaces`` watches
    only those (as the chart's watchNamespaces does) instead of all of them."""
    port = free_port()
    env = {**os.environ, **stack.env(), **(env_override or {})}
    config_file = log.with_suffix(".config.yaml")
    config_file.write_text(yaml.safe_dump(operator_config(stack, config)))
    scope = [f"--namespace={ns}" for ns in namespaces] if namespaces else ["--all-namespaces"]
    argv = [
        sys.executable,
        "-m",
        "crestline",
        "run",
        *scope,
        "--config",
        str(config_file),
        "--lease-namespace",
        "default",
        "--metrics-port",
        str(port),
        *extra,
    ]
    with log.open("ab") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, env=env)
    return OperatorProcess(proc, log, port, argv, env)


def install_crds(kube: client.ApiClient, timeout: float = 30.0) -> None:
    """Create the crestline CRDs (if absent) and wait until the API server serves them."""
    ext = client.ApiextensionsV1Api(kube)
    for crd in ALL_CRDS:
        body: Any = render(crd)
        try:
            ext.create_custom_resource_definition(body)
        except client.ApiException as exc:
            if exc.status != 409:
                raise

        def established(name: str = f"{crd.plural}.{GROUP}") -> bool:
            status = ext.read_custom_resource_definition(name).status
            return any(
                c.type == "Established" and c.status == "True"
                for c in (status.conditions if status else None) or []
            )

        wait_for(established, timeout, f"CRD {crd.plural} established")


def deployment_manifest(name: str, replicas: int | None) -> dict[str, Any]:
    """A Deployment whose pods never run (no kubelet): only its scale matters here.
    ``replicas=None`` leaves the field out, as a GitOps repo for a scaled workload should."""
    labels = {"app": name}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "app", "image": "example.invalid/a"}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def create_deployment(kube: client.ApiClient, namespace: str, name: str, replicas: int) -> None:
    body: Any = deployment_manifest(name, replicas)  # the client's stubs want V1Deployment
    client.AppsV1Api(kube).create_namespaced_deployment(namespace, body)


@dataclass
class Workload:
    """A Deployment and the simulator that plays its traffic, scraped by the stack."""

    namespace: str
    name: str
    sim: SimulatedService
    job: str

    def set_load(self, rps: float) -> None:
        self.sim.set_trace(StepTrace([(0, rps)], length=1e9))

    def remove(self, stack: Stack) -> None:
        self.sim.stop()
        if stack.prometheus is not None:
            stack.prometheus.set_scrape_configs(
                [c for c in stack.prometheus.scrape_configs if c["job_name"] != self.job]
            )


@dataclass(frozen=True)
class Shape:
    """A simulated workload's size and load: replicas at the start, requests per second,
    and how long a new replica takes to serve."""

    replicas: int = 2
    rps: float = 40.0
    startup_seconds: float = 2.0


def deploy_workload(
    stack: Stack, kube: client.ApiClient, namespace: str, name: str = "web", *, shape: Shape
) -> Workload:
    assert stack.prometheus is not None
    create_deployment(kube, namespace, name, shape.replicas)
    sim = SimulatedService(
        name,
        namespace,
        StepTrace([(0, shape.rps)], length=1e9),
        ClusterHooks(
            kube_replica_source(kube, namespace, name),
            kube_pod_readiness(kube, namespace, name),
        ),
        model=ServiceModel(service_rate=10, workers=4),
        startup_seconds=shape.startup_seconds,
    )
    sim.start(free_port())
    job = f"{namespace}-{name}"
    stack.prometheus.add_target(job, f"127.0.0.1:{sim.port}")
    return Workload(namespace, name, sim, job)


def slo_body(
    name: str, target: str, namespace: str, *, cpu: float | None = None, **spec: Any
) -> dict[str, Any]:
    """A PerformanceSLO on ``target``'s simulated p95, tuned for compressed time; with
    ``cpu``, also a CPU-utilization objective at that target (the combination a user
    writes when the fleet should also shrink: latency alone cannot tell spare capacity).

    The selector names the namespace too: every test workload is called ``web``, and a
    previous one's series linger in Prometheus for the length of the rate window.
    """
    base: dict[str, Any] = {
        "targetRef": {"name": target},
        "objectives": [
            {
                "name": "p95",
                "preset": {
                    "latency": {
                        "metric": "http_request_duration_seconds",
                        "selector": f'service="{target}",namespace="{namespace}"',
                        "window": "10s",
                    }
                },
                "target": 0.5,
            }
        ],
        "scaling": {
            # warm-up >= start-up (2 s) + query window (10 s) + scrape (1 s)
            "minReplicas": 2,
            "maxReplicas": 10,
            "warmupSeconds": 15,
            "behavior": {
                "scaleUp": {
                    "stabilizationWindowSeconds": 0,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 2}],
                },
                "scaleDown": {
                    "stabilizationWindowSeconds": 15,
                    "policies": [{"type": "Pods", "value": 1, "periodSeconds": 5}],
                },
            },
        },
        "evaluation": {"intervalSeconds": 2, "timeoutSeconds": 2},
    }
    if cpu is not None:
        base["objectives"].append(
            {"name": "cpu", "preset": {"cpuUtilization": {"window": "10s"}}, "target": cpu}
        )
    base.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PerformanceSLO",
        "metadata": {"name": name},
        "spec": base,
    }


def eventday_body(
    name: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    lead: str = "10s",
    trail: str = "5s",
    labels: dict[str, str] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """An EventDay with one UTC window, selecting SLOs labelled ``tier=shop`` by default."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "EventDay",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": labels or {"tier": "shop"}},
            "schedule": {
                "timezone": "UTC",
                "windows": [
                    {"start": f"{start:%Y-%m-%dT%H:%M:%S}", "end": f"{end:%Y-%m-%dT%H:%M:%S}"}
                ],
                "leadTime": lead,
                "trailTime": trail,
            },
            "overrides": overrides,
        },
    }


def create_eventday(kube: client.ApiClient, namespace: str, body: dict[str, Any]) -> None:
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "eventdays", body
    )


def eventday_phase(kube: client.ApiClient, namespace: str, name: str) -> str | None:
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "eventdays", name
    )
    phase: str | None = obj.get("status", {}).get("phase")
    return phase


def p95_query(w: Workload, window: str = "10s") -> str:
    return (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
        f'{{service="{w.name}",namespace="{w.namespace}"}}[{window}])))'
    )


def create_slo(kube: client.ApiClient, namespace: str, body: dict[str, Any]) -> None:
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )


def get_slo(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )
    return dict(obj)


def replicas(kube: client.ApiClient, namespace: str, name: str) -> int:
    scale = client.AppsV1Api(kube).read_namespaced_deployment_scale(name, namespace)
    return int(scale.spec.replicas or 0) if scale.spec else 0


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
