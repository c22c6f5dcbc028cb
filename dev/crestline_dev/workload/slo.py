"""PerformanceSLOs for the workload's real pods, as a service team would write them.

Two objectives, the combination the README recommends:

* ``p95``: the latency preset on the pods' own histogram (an SLO signal, breach-driven);
* ``busy``: the workers' utilization, ``rate(workload_busy_seconds_total) /
  workload_workers`` (proportional, like CPU seconds per core: it falls as 1/replicas).

Both name the namespace in their selector, as every query the operator sends is confined
to the SLO's namespace: the series carry the ``namespace`` label that Kubernetes
service discovery gives them (see :func:`crestline_dev.stack.monitoring.kubernetes_pods_job`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crestline.api.base import GROUP, VERSION


@dataclass(frozen=True)
class Tuning:
    """What a team sets for its service; defaults suit the compressed-time scenarios."""

    latency_target: float = 0.3  # seconds, p95
    busy_target: float = 0.6  # utilization of the workers
    window: str = "10s"  # rate window: a few scrapes at the stack's 1 s interval
    min_replicas: int = 2
    max_replicas: int = 10
    warmup_seconds: int = 15  # pod start + readiness + the query window
    interval_seconds: int = 2
    # Headroom for growth within the dead time (the product's default); 0 is the plain
    # ratio law.
    headroom_quantile: float = 0.75


def selector(namespace: str, service: str) -> str:
    return f'namespace="{namespace}",service="{service}"'


def p95_query(namespace: str, service: str, window: str = "10s") -> str:
    """The same p95 the latency preset computes, for a test to read from Prometheus."""
    return (
        "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket"
        f"{{{selector(namespace, service)}}}[{window}])))"
    )


def busy_query(namespace: str, service: str, window: str = "10s") -> str:
    sel = selector(namespace, service)
    return (
        f"sum(rate(workload_busy_seconds_total{{{sel}}}[{window}])) / "
        f"sum(workload_workers{{{sel}}})"
    )


def pod_slo_body(
    name: str, target: str, namespace: str, tuning: Tuning | None = None
) -> dict[str, Any]:
    """A PerformanceSLO on Deployment ``target`` (whose pods are labelled ``app=target``)."""
    t = tuning or Tuning()
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PerformanceSLO",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"name": target},
            "objectives": [
                {
                    "name": "p95",
                    "preset": {
                        "latency": {
                            "metric": "http_request_duration_seconds",
                            "selector": selector(namespace, target),
                            "window": t.window,
                        }
                    },
                    "target": t.latency_target,
                },
                {
                    "name": "busy",
                    "query": busy_query(namespace, target, t.window),
                    "target": t.busy_target,
                    "kind": "proportional",
                },
            ],
            "scaling": {
                "minReplicas": t.min_replicas,
                "maxReplicas": t.max_replicas,
                "warmupSeconds": t.warmup_seconds,
                "demandHeadroom": {"quantile": t.headroom_quantile},
                "behavior": {
                    # Fast enough that nothing but the readings and the readiness of the
                    # pods holds a scale-up back: doubling is allowed every interval.
                    "scaleUp": {
                        "stabilizationWindowSeconds": 0,
                        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 2}],
                    },
                    "scaleDown": {
                        "stabilizationWindowSeconds": 20,
                        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 5}],
                    },
                },
            },
            "evaluation": {"intervalSeconds": t.interval_seconds, "timeoutSeconds": 2},
        },
    }
