"""End-to-end fixtures: the operator as a real process, namespaces, simulated workloads."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client

from crestline.api.base import GROUP, VERSION
from crestline_dev.scenario import (
    OperatorProcess,
    Shape,
    Workload,
    create_slo,
    deploy_workload,
    get_slo,
    replicas,
    slo_body,
    start_operator,
    wait_for,
)
from crestline_dev.stack import Stack

__all__ = [
    "OperatorProcess",
    "Workload",
    "condition",
    "create_slo",
    "events_for",
    "get_slo",
    "replicas",
    "slo_body",
    "wait_condition",
    "wait_for",
]


@pytest.fixture(scope="session")
def operator(
    stack: Stack, crds: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    op = start_operator(stack, log)
    yield op
    op.stop()


@pytest.fixture
def namespace(kube: client.ApiClient) -> Iterator[str]:
    core: Any = client.CoreV1Api(kube)  # dict bodies, not the client's model classes
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    # The SLOs go first, at once: the namespace controller takes its time, and a fleet
    # left behind would keep the next test's operator busy (and posting Events into a
    # namespace that refuses them).
    client.CustomObjectsApi(kube).delete_collection_namespaced_custom_object(
        GROUP, VERSION, name, "performanceslos"
    )
    core.delete_namespace(name)


@pytest.fixture
def workload(
    stack: Stack, kube: client.ApiClient, namespace: str
) -> Iterator[Callable[..., Workload]]:
    """Factory: a Deployment plus a simulator serving its metrics, scraped by Prometheus."""
    made: list[Workload] = []

    def make(name: str = "web", replicas: int = 2, rps: float = 40.0) -> Workload:
        w = deploy_workload(stack, kube, namespace, name, shape=Shape(replicas, rps))
        made.append(w)
        return w

    yield make
    for w in made:
        w.remove(stack)


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == type_:
            return dict(c)
    return None


def wait_condition(
    kube: client.ApiClient,
    namespace: str,
    name: str,
    type_: str,
    status: str,
    reason: str | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    """Wait until the SLO's condition ``type_`` has ``status`` (and ``reason``); return it."""

    def check() -> dict[str, Any] | None:
        c = condition(get_slo(kube, namespace, name), type_)
        if c and c["status"] == status and (reason is None or c["reason"] == reason):
            return c
        return None

    found: dict[str, Any] = wait_for(check, timeout, f"{type_}={status} {reason or ''}")
    return found


def events_for(kube: client.ApiClient, namespace: str, name: str) -> list[Any]:
    items = client.CoreV1Api(kube).list_namespaced_event(namespace).items
    return [e for e in items if e.involved_object and e.involved_object.name == name]
