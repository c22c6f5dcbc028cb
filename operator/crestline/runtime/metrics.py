"""The operator's own Prometheus metrics.

Per-object series are kept to what an SRE reads per SLO (desired replicas, objective
ratios, decisions); latencies are histograms without per-object labels, so a cluster of
thousands of SLOs costs thousands of gauges, not hundreds of thousands of buckets.
One registry for the process (as in production: one operator, one registry).
"""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry()

DECISIONS = Counter(
    "crestline_scaling_decisions_total",
    "Scaling decisions by direction and whether they were applied (dryRun, Conflict: not).",
    ["namespace", "slo", "direction", "applied"],
    registry=REGISTRY,
)
EVALUATION_SECONDS = Histogram(
    "crestline_evaluation_duration_seconds",
    "Wall time of one evaluation (reads, plan, writes), by kind of object.",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EVALUATIONS = Counter(
    "crestline_evaluations_total",
    "Evaluations run by this replica, by kind of object.",
    ["kind"],
    registry=REGISTRY,
)
EVALUATION_LAG = Histogram(
    "crestline_evaluation_lag_seconds",
    "How long after its due time an evaluation started (the operator falling behind).",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)
EVALUATION_ERRORS = Counter(
    "crestline_evaluation_errors_total",
    "Evaluations that could not decide or failed (invalid spec, missing target, API errors).",
    ["kind", "reason"],
    registry=REGISTRY,
)
QUERY_SECONDS = Histogram(
    "crestline_prometheus_query_duration_seconds",
    "Latency of Prometheus instant queries.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
QUERY_ERRORS = Counter(
    "crestline_prometheus_query_errors_total",
    "Failed Prometheus queries by reason.",
    ["reason"],
    registry=REGISTRY,
)
STATUS_WRITES = Counter(
    "crestline_status_writes_total",
    "Status writes by kind of object; skipped ones did not change anything a user reads.",
    ["kind", "outcome"],
    registry=REGISTRY,
)
STATUS_QUEUE = Gauge(
    "crestline_status_writes_pending",
    "Objects whose status (or Events) wait to be written, at most one entry each.",
    registry=REGISTRY,
)
DESIRED_REPLICAS = Gauge(
    "crestline_desired_replicas",
    "Replicas the latest decision wants for the SLO's target.",
    ["namespace", "slo"],
    registry=REGISTRY,
)
OBJECTIVE_RATIO = Gauge(
    "crestline_objective_ratio",
    "Objective value relative to target, oriented so that > 1 violates.",
    ["namespace", "slo", "objective"],
    registry=REGISTRY,
)
OBJECTS = Gauge(
    "crestline_objects",
    "Objects this replica evaluates (its shards), by kind.",
    ["kind"],
    registry=REGISTRY,
)
SHARDS_OWNED = Gauge(
    "crestline_shards_owned",
    "Shards whose lease this replica holds.",
    registry=REGISTRY,
)
ACTIVE_EVENTS = Gauge(
    "crestline_active_eventdays",
    "EventDays in force (warming, active or cooling) among those this replica evaluates.",
    registry=REGISTRY,
)


def observe_query(seconds: float, failure: object | None) -> None:
    QUERY_SECONDS.observe(seconds)
    if failure is not None:
        QUERY_ERRORS.labels(reason=str(failure)).inc()


def forget_slo(namespace: str, name: str, objectives: list[str]) -> None:
    """Drop a deleted (or handed-over) SLO's series, so they do not linger forever."""
    for metric, labels in (
        (DESIRED_REPLICAS, (namespace, name)),
        *((OBJECTIVE_RATIO, (namespace, name, o)) for o in objectives),
    ):
        with contextlib.suppress(KeyError):
            metric.remove(*labels)


def serve(port: int, addr: str = "0.0.0.0") -> None:
    start_http_server(port, addr=addr, registry=REGISTRY)
