"""End-to-end fixtures: the operator as a real process, namespaces, simulated workloads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from crestline.sim.model import ServiceModel
from crestline.sim.server import SimulatedService, kube_replica_source
from crestline.sim.trace import StepTrace
from crestline.stack import Stack
from crestline.stack.ports import free_port

GROUP, VERSION, PLURAL = "crestline.dev", "v1alpha1", "performanceslos"


@dataclass
class OperatorProcess:
    proc: subprocess.Popen[bytes]
    log: Path
    metrics_port: int

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 60) -> str:
        return "".join(self.log.read_text(errors="replace").splitlines(True)[-lines:])


def start_operator(stack: Stack, log: Path, *extra: str) -> OperatorProcess:
    assert stack.prometheus is not None
    port = free_port()
    env = {**os.environ, **stack.env()}
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crestline",
                "run",
                "--all-namespaces",
                "--prometheus-url",
                stack.prometheus.url,
                "--metrics-port",
                str(port),
                *extra,
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return OperatorProcess(proc, log, port)


def stop_operator(op: OperatorProcess) -> None:
    op.proc.terminate()
    try:
        op.proc.wait(20)
    except subprocess.TimeoutExpired:
        op.proc.kill()
        op.proc.wait(5)


@pytest.fixture(scope="session")
def operator(
    stack: Stack, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    op = start_operator(stack, log)
    yield op
    stop_operator(op)


@pytest.fixture
def namespace(kube: client.ApiClient) -> Iterator[str]:
    core = client.CoreV1Api(kube)
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@dataclass
class Workload:
    namespace: str
    name: str
    sim: SimulatedService
    job: str

    def set_load(self, rps: float) -> None:
        self.sim.set_trace(StepTrace([(0, rps)], length=1e9))


def create_deployment(kube: client.ApiClient, namespace: str, name: str, replicas: int) -> None:
    labels = {"app": name}
    client.AppsV1Api(kube).create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "example.invalid/a"}]},
                },
            },
        },
    )


@pytest.fixture
def workload(
    stack: Stack, kube: client.ApiClient, namespace: str
) -> Iterator[Callable[..., Workload]]:
    """Factory: a Deployment plus a simulator serving its metrics, scraped by Prometheus."""
    made: list[Workload] = []

    def make(
        name: str = "web", replicas: int = 2, rps: float = 40.0, startup_seconds: float = 2.0
    ) -> Workload:
        assert stack.prometheus is not None
        create_deployment(kube, namespace, name, replicas)
        sim = SimulatedService(
            name,
            namespace,
            StepTrace([(0, rps)], length=1e9),
            kube_replica_source(kube, namespace, name),
            model=ServiceModel(service_rate=10, workers=4),
            startup_seconds=startup_seconds,
        )
        sim.start(free_port())
        job = f"{namespace}-{name}"
        stack.prometheus.add_target(job, f"127.0.0.1:{sim.port}")
        w = Workload(namespace, name, sim, job)
        made.append(w)
        return w

    yield make
    for w in made:
        w.sim.stop()
        if stack.prometheus is not None:
            stack.prometheus.set_scrape_configs(
                [c for c in stack.prometheus.scrape_configs if c["job_name"] != w.job]
            )


def slo_body(name: str, target: str, **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "targetRef": {"name": target},
        "objectives": [
            {
                "name": "p95",
                "preset": {
                    "latency": {
                        "metric": "http_request_duration_seconds",
                        "selector": f'service="{target}"',
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
    base.update(spec)
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PerformanceSLO",
        "metadata": {"name": name},
        "spec": base,
    }


def create_slo(kube: client.ApiClient, namespace: str, body: dict[str, Any]) -> None:
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )


def get_slo(kube: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )
    return obj


def replicas(kube: client.ApiClient, namespace: str, name: str) -> int:
    scale = client.AppsV1Api(kube).read_namespaced_deployment_scale(name, namespace)
    return int(scale.spec.replicas or 0) if scale.spec else 0


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == type_:
            return dict(c)
    return None


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
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def events_for(kube: client.ApiClient, namespace: str, name: str) -> list[Any]:
    items = client.CoreV1Api(kube).list_namespaced_event(namespace).items
    return [e for e in items if e.involved_object and e.involved_object.name == name]
