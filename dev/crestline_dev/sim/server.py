"""The simulator in real time: a queueing model behind a real Prometheus endpoint.

:class:`SimulatedService` advances the model once per ``tick`` seconds of wall clock.
Capacity follows the target Deployment: each tick reads ``spec.replicas`` through a
replica source (the API server's scale subresource in :func:`kube_replica_source`) and
new replicas start serving after the configured start-up delay. Offered load comes from
a :class:`~crestline_dev.sim.trace.LoadTrace` (replaceable at run time, for tests that step
the load).

It exports what a real service and its cluster would give Prometheus:

* ``http_request_duration_seconds`` histogram and ``http_requests_total{code}``;
* per-pod ``container_cpu_usage_seconds_total`` and ``kube_pod_container_resource_requests``
  (1 core per pod), so the CPU-utilization preset works unchanged;
* ``crestline_sim_*`` gauges (offered load, ready/desired replicas, p95) for humans.

Bucket counts are the model's expected counts (fractional), not samples: the signal is
what the queueing model says, without sampling noise, which keeps tests deterministic.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from kubernetes import client
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import start_http_server

from crestline_dev.sim.model import (
    LATENCY_BUCKETS,
    Fleet,
    Interval,
    Replicas,
    ServiceModel,
    erlang_c,
)
from crestline_dev.sim.trace import LoadTrace

log = logging.getLogger(__name__)

ReplicaSource = Callable[[], int]
TICK_SECONDS = 1.0  # the model advances once a second of wall clock


@dataclass(frozen=True)
class ClusterHooks:
    """How the simulated service meets the cluster: where it reads its replica count,
    and who hears when its ready count changes (pods marked Ready, sim.pods)."""

    replicas: ReplicaSource
    # Returns whether the count is in effect (False: try again at the next tick, e.g.
    # the ReplicaSet has not created the pods to mark yet).
    on_ready: Callable[[int], bool] | None = None


@dataclass
class _Counters:
    buckets: list[float] = field(default_factory=lambda: [0.0] * len(LATENCY_BUCKETS))
    count: float = 0.0
    latency_sum: float = 0.0
    ok: float = 0.0
    errors: float = 0.0
    cpu_seconds: dict[int, float] = field(default_factory=dict)


class SimulatedService:
    """One simulated workload; ``start()`` runs it in a thread and serves ``/metrics``."""

    def __init__(
        self,
        name: str,
        namespace: str,
        trace: LoadTrace,
        cluster: ClusterHooks,
        *,
        model: ServiceModel | None = None,
        startup_seconds: float = 5.0,
    ) -> None:
        self.name = name
        self.namespace = namespace
        self.model = model or ServiceModel()
        self._trace = trace
        self._source = cluster.replicas
        self._on_ready = cluster.on_ready  # told the ready count when it changes
        self._reported: int | None = None
        self._tick = TICK_SECONDS
        self._fleet = Fleet(self.model)
        self._replicas = Replicas(startup_seconds, ready=0)
        self._counters = _Counters()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: object | None = None
        self._t0 = 0.0
        self.last: Interval | None = None
        self.desired = 0
        self.port = 0

    # -- control ---------------------------------------------------------------------
    def set_trace(self, trace: LoadTrace, restart_clock: bool = True) -> None:
        """Switch the offered load (e.g. a step); trace time restarts at 0 by default."""
        with self._lock:
            self._trace = trace
            if restart_clock:
                self._t0 = time.monotonic()

    def start(self, port: int, addr: str = "127.0.0.1") -> None:
        """Serve ``/metrics`` and start the clock. The replicas that exist now are taken
        as already serving: the simulated service was running before we looked at it."""
        self.desired = self._source()
        self._replicas = Replicas(self._replicas.startup_seconds, ready=self.desired)
        registry = CollectorRegistry()
        registry.register(self)
        self._server, _ = start_http_server(port, addr=addr, registry=registry)
        self.port = port
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        server = self._server
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self._tick):
            now = time.monotonic()
            try:
                desired = self._source()
            except Exception as exc:  # keep serving with the last known count
                log.warning("simulator could not read replicas: %s", exc)
                desired = self.desired
            self.step(now, now - last, desired)
            last = now
            self._report_ready()

    def _report_ready(self) -> None:
        ready = self._replicas.ready
        if self._on_ready is None or ready == self._reported:
            return
        try:
            if self._on_ready(ready):
                self._reported = ready
        except Exception as exc:  # tried again at the next tick
            log.warning("simulator could not report ready pods: %s", exc)

    def step(self, now: float, dt: float, desired: int) -> Interval:
        """Advance the model by ``dt`` seconds with ``desired`` replicas requested."""
        with self._lock:
            self.desired = desired
            self._replicas.set_desired(desired, now)
            ready = self._replicas.advance(now)
            offered = self._trace.rps(now - self._t0)
            iv = self._fleet.step(offered, ready, dt)
            self._account(iv, ready, dt)
            self.last = iv
            return iv

    def _account(self, iv: Interval, ready: int, dt: float) -> None:
        c = self._counters
        m = self.model
        if math.isinf(iv.delay):
            c.errors += iv.requests
            c.count += iv.requests
            c.latency_sum += iv.requests * m.timeout
            return
        for i, bound in enumerate(LATENCY_BUCKETS):
            c.buckets[i] += iv.requests * m.sojourn_cdf(bound, iv.per_replica_rps, iv.delay)
        c.count += iv.requests
        c.latency_sum += iv.requests * self._mean_latency(iv)
        c.ok += iv.requests - iv.errors
        c.errors += iv.errors
        for pod in range(ready):
            c.cpu_seconds[pod] = c.cpu_seconds.get(pod, 0.0) + iv.utilization * dt

    def _mean_latency(self, iv: Interval) -> float:
        m = self.model
        lam = min(iv.per_replica_rps, m.replica_capacity * 0.999999)
        wait = erlang_c(m.workers, lam / m.service_rate) / (m.replica_capacity - lam)
        return 1 / m.service_rate + wait + iv.delay

    # -- prometheus_client collector protocol ------------------------------------------
    def collect(self) -> Iterator[Metric]:
        with self._lock:
            c = self._counters
            ready = self._replicas.ready
            labels = {"service": self.name, "namespace": self.namespace}
            hist = HistogramMetricFamily(
                "http_request_duration_seconds",
                "Request latency (simulated).",
                labels=list(labels),
            )
            cumulative = [(str(b), v) for b, v in zip(LATENCY_BUCKETS, c.buckets, strict=True)]
            hist.add_metric(list(labels.values()), [*cumulative, ("+Inf", c.count)], c.latency_sum)
            yield hist
            req = CounterMetricFamily(
                "http_requests", "Requests by status code (simulated).", labels=[*labels, "code"]
            )
            req.add_metric([*labels.values(), "200"], c.ok)
            req.add_metric([*labels.values(), "503"], c.errors)
            yield req
            cpu = CounterMetricFamily(
                "container_cpu_usage_seconds",
                "CPU used (simulated).",
                labels=["namespace", "pod", "container"],
            )
            requests = GaugeMetricFamily(
                "kube_pod_container_resource_requests",
                "Resource requests (simulated).",
                labels=["namespace", "pod", "container", "resource", "unit"],
            )
            for pod, seconds in sorted(c.cpu_seconds.items()):
                pod_name = f"{self.name}-sim-{pod}"
                cpu.add_metric([self.namespace, pod_name, "app"], seconds)
                if pod < ready:
                    requests.add_metric([self.namespace, pod_name, "app", "cpu", "core"], 1.0)
            yield cpu
            yield requests
            iv = self.last
            gauges = {
                "crestline_sim_offered_rps": iv.requests / self._tick if iv else 0.0,
                "crestline_sim_ready_replicas": float(ready),
                "crestline_sim_desired_replicas": float(self.desired),
                "crestline_sim_utilization": iv.utilization if iv else 0.0,
                "crestline_sim_p95_seconds": iv.p95(self.model) if iv else 0.0,
            }
            for metric, value in gauges.items():
                g = GaugeMetricFamily(metric, "Simulator state.", labels=list(labels))
                g.add_metric(list(labels.values()), value)
                yield g


def kube_replica_source(
    api_client: object, namespace: str, name: str, kind: str = "Deployment"
) -> ReplicaSource:
    """Read ``spec.replicas`` of the target's scale subresource from the API server."""
    apps = client.AppsV1Api(api_client)
    read = (
        apps.read_namespaced_deployment_scale
        if kind == "Deployment"
        else apps.read_namespaced_stateful_set_scale
    )

    def replicas() -> int:
        spec = read(name, namespace).spec
        return int(spec.replicas or 0) if spec else 0

    return replicas
