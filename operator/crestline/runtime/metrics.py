"""The operator's own Prometheus metrics.

One registry for the process, so tests can start more than one operator in a process
only through separate processes (as in production: one operator, one registry).
"""

from __future__ import annotations

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
    "Wall time of one SLO evaluation (queries, decision, writes).",
    ["namespace", "slo"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
EVALUATION_ERRORS = Counter(
    "crestline_evaluation_errors_total",
    "Evaluations that failed before deciding (invalid spec, missing target, API errors).",
    ["namespace", "slo", "reason"],
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


def observe_query(seconds: float, failure: object | None) -> None:
    QUERY_SECONDS.observe(seconds)
    if failure is not None:
        QUERY_ERRORS.labels(reason=str(failure)).inc()


def serve(port: int, addr: str = "0.0.0.0") -> None:
    start_http_server(port, addr=addr, registry=REGISTRY)
