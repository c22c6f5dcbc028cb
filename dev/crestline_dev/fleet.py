"""Many PerformanceSLOs at once, for the scale tests and the scale benchmark.

A fleet is ``count`` SLOs spread over a few namespaces, each with a Deployment of its
own (zero replicas: nothing to run, but a real object the operator watches and whose
scale it reads), a query of its own (so the operator's query de-duplication cannot make
the load look smaller than it is) and, optionally, one EventDay per ``per_eventday``
SLOs selecting them by label. Objects are created concurrently, bounded, through the
real API server.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from crestline.api.base import GROUP, VERSION
from crestline_dev.scenario import deployment_manifest, eventday_body

NAMESPACES = 4


@dataclass(frozen=True)
class Fleet:
    namespaces: tuple[str, ...]
    slos: tuple[tuple[str, str], ...]  # (namespace, name)
    eventdays: tuple[tuple[str, str], ...]


def slo_manifest(name: str, index: int, *, interval: int, group: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PerformanceSLO",
        "metadata": {"name": name, "labels": {"fleet-group": group}},
        "spec": {
            "targetRef": {"name": name},
            # a query of its own: identical queries would be asked once for all
            "objectives": [{"name": "load", "query": f"vector(0.2 + {index} * 0)", "target": 0.5}],
            "scaling": {"minReplicas": 1, "maxReplicas": 5},
            "evaluation": {"intervalSeconds": interval},
            "mode": "dryRun",
        },
    }


def _run(tasks: Iterable[Callable[[], None]], workers: int = 16) -> None:
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(t) for t in tasks]:
            future.result()


def create(
    kube: client.ApiClient,
    *,
    prefix: str,
    count: int,
    interval: int = 10,
    per_eventday: int | None = 50,
    replicas: int = 0,
) -> Fleet:
    """Create the fleet; EventDays get a window far in the future (Scheduled)."""
    core, apps = client.CoreV1Api(kube), client.AppsV1Api(kube)
    custom = client.CustomObjectsApi(kube)
    namespaces = NAMESPACES
    names = tuple(f"{prefix}-{i}" for i in range(namespaces))
    for ns in names:
        core.create_namespace({"metadata": {"name": ns}})  # type: ignore[arg-type]
    slos = tuple((names[i % namespaces], f"slo-{i}") for i in range(count))

    def group(i: int) -> str:
        return f"g{i // per_eventday}" if per_eventday else "none"

    def one(i: int) -> Callable[[], None]:
        ns, name = slos[i]

        def make() -> None:
            body: Any = deployment_manifest(name, replicas)
            apps.create_namespaced_deployment(ns, body)
            custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                ns,
                "performanceslos",
                slo_manifest(name, i, interval=interval, group=group(i)),
            )

        return make

    _run(one(i) for i in range(count))
    eventdays: list[tuple[str, str]] = []
    if per_eventday:
        later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
        for g in range(0, count, per_eventday):
            ns = slos[g][0]
            name = f"event-{g // per_eventday}"
            body = eventday_body(
                name, later, later + dt.timedelta(hours=1), labels={"fleet-group": group(g)}
            )
            custom.create_namespaced_custom_object(GROUP, VERSION, ns, "eventdays", body)
            eventdays.append((ns, name))
    return Fleet(names, slos, tuple(eventdays))


def evaluated_since(kube: client.ApiClient, fleet: Fleet, since: dt.datetime) -> int:
    """How many of the fleet's SLOs have a status written at or after ``since``."""
    custom = client.CustomObjectsApi(kube)
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    done = 0
    for ns in fleet.namespaces:
        listing: Any = custom.list_namespaced_custom_object(GROUP, VERSION, ns, "performanceslos")
        for item in listing.get("items", []):
            last = (item.get("status") or {}).get("lastEvaluationTime")
            if last is not None and last >= stamp:
                done += 1
    return done


def delete(kube: client.ApiClient, fleet: Fleet) -> None:
    """Delete the fleet: its SLOs at once (whatever runs next is not kept busy by them
    while the namespace controller works), then its namespaces."""
    core = client.CoreV1Api(kube)
    custom = client.CustomObjectsApi(kube)
    for ns in fleet.namespaces:
        custom.delete_collection_namespaced_custom_object(GROUP, VERSION, ns, "performanceslos")
        core.delete_namespace(ns)
