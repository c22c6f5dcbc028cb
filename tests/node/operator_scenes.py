"""Helpers for the scenarios with the operator as pods: workloads, load, what happened.

A scene is what every scenario starts from: the workload's Deployment and Service on
the node, a PerformanceSLO on it, and a load generator sending requests to the
Service's cluster IP (kube-proxy spreads them over the Ready pods, as in a cluster).
:class:`Recorder` samples the Deployment in a thread, so a test can ask afterwards
what the replica count and the Ready count were at every moment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from crestline_dev.scenario import create_slo, get_slo, wait_for
from crestline_dev.stack import Stack
from crestline_dev.workload.deploy import (
    WorkloadSpec,
    service_manifest,
    wait_ready_replicas,
    workload_deployment,
)
from crestline_dev.workload.loadgen import Limits, LoadGenerator, SettableRate
from crestline_dev.workload.slo import Tuning, p95_query, pod_slo_body

# One pod serves 2 requests at a time, 100 ms each: 20 requests/s. A short queue (20)
# keeps a backlog from outliving an overload by much, as a service with a deadline does.
POD = WorkloadSpec(workers=2, service_ms=100, max_queue=20)
CALM = 15.0  # requests/s: two pods at 37 % (the SLO's minimum is two)
LOAD_LIMITS = Limits(max_in_flight=200, max_requests=200_000, max_seconds=900)


def apps(kube: client.ApiClient) -> Any:
    return client.AppsV1Api(kube)


def core(kube: client.ApiClient) -> Any:
    return client.CoreV1Api(kube)


@dataclass(frozen=True)
class Sample:
    t: float  # time.monotonic()
    replicas: int  # spec.replicas
    ready: int  # status.readyReplicas
    generation: int


@dataclass
class Recorder:
    """Samples the Deployment every ``period`` seconds until stopped."""

    kube: client.ApiClient
    namespace: str
    name: str
    period: float = 0.25
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Recorder:
        self._thread = threading.Thread(target=self._loop, name="recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                dep = apps(self.kube).read_namespaced_deployment(self.name, self.namespace)
                self.samples.append(
                    Sample(
                        time.monotonic(),
                        int(dep.spec.replicas or 0),
                        int(dep.status.ready_replicas or 0),
                        int(dep.metadata.generation or 0),
                    )
                )
            except Exception:  # a slow API server: skip one sample
                pass
            self._stop.wait(self.period)

    def between(self, start: float, end: float | None = None) -> list[Sample]:
        return [s for s in self.samples if s.t >= start and (end is None or s.t <= end)]


@dataclass
class Scene:
    stack: Stack
    kube: client.ApiClient
    namespace: str
    name: str  # the Deployment (and its pods' app label)
    slo_name: str
    service_ip: str
    rate: SettableRate
    load: LoadGenerator
    recorder: Recorder

    def slo(self) -> dict[str, Any]:
        return get_slo(self.kube, self.namespace, self.slo_name)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.slo().get("status", {})
        return status

    def condition(self, type_: str) -> dict[str, Any] | None:
        return next((c for c in self.status().get("conditions", []) if c["type"] == type_), None)

    def replicas(self) -> int:
        scale = apps(self.kube).read_namespaced_deployment_scale(self.name, self.namespace)
        return int(scale.spec.replicas)

    def p95(self) -> float | None:
        """The p95 latency Prometheus computes from the pods' histograms (None: no data)."""
        prometheus = self.stack.prometheus
        assert prometheus is not None
        result = prometheus.query(p95_query(self.namespace, self.name))
        return float(result[0]["value"][1]) if result else None

    def events(self, reason: str | None = None) -> list[Any]:
        items = core(self.kube).list_namespaced_event(self.namespace).items
        return [
            e
            for e in items
            if e.involved_object
            and e.involved_object.kind == "PerformanceSLO"
            and e.involved_object.name == self.slo_name
            and (reason is None or e.reason == reason)
        ]

    def wait_evaluated(self, timeout: float = 60) -> None:
        wait_for(lambda: self.status().get("lastEvaluationTime"), timeout, "a first evaluation")


@contextmanager
def scene(
    stack: Stack,
    kube: client.ApiClient,
    namespace: str,
    *,
    pod: WorkloadSpec = POD,
    tuning: Tuning | None = None,
    service_ip: str | None = None,
    slo: dict[str, Any] | None = None,
) -> Iterator[Scene]:
    """Deployment ``web`` (two pods), its Service, an SLO on it, calm load, a recorder."""
    name = "web"
    apps(kube).create_namespaced_deployment(namespace, workload_deployment(name, 2, pod))
    svc = core(kube).create_namespaced_service(namespace, service_manifest(name, service_ip))
    wait_ready_replicas(kube, namespace, name, 2, timeout=120 + pod.ready_after_seconds)
    body = slo or pod_slo_body(name, name, namespace, tuning)
    create_slo(kube, namespace, body)
    rate = SettableRate(CALM)
    load = LoadGenerator([f"http://{svc.spec.cluster_ip}:80/"], rate, LOAD_LIMITS, cluster_ips=True)
    recorder = Recorder(kube, namespace, name).start()
    load.start(LOAD_LIMITS.max_seconds)
    try:
        yield Scene(
            stack,
            kube,
            namespace,
            name,
            body["metadata"]["name"],
            svc.spec.cluster_ip,
            rate,
            load,
            recorder,
        )
    finally:
        load.stop()
        recorder.stop()


def wait_all(
    checks: Callable[[], dict[str, bool]],
    timeout: float,
    context: Callable[[], str] = lambda: "",
) -> None:
    """Wait until every named check holds; on timeout, say which did not (and ``context``)."""
    deadline = time.monotonic() + timeout
    while True:
        last = checks()
        if all(last.values()):
            return
        if time.monotonic() > deadline:
            missing = [name for name, ok in last.items() if not ok]
            raise AssertionError(f"after {timeout}s still missing {missing}; {context()}")
        time.sleep(1.0)
