"""Fixtures for tests that need pods to really run: a stack with a real node.

``node_stack`` is a session fixture of its own (the fast tests keep the node-less
``stack`` of ``tests/conftest.py``): control plane, Prometheus, Alertmanager, Redis and a
node (kubelet on containerd, kube-scheduler, kube-proxy). A test asks for a node by using
``node_stack`` (or ``node_kube`` / ``node_namespace``). It needs root and Docker
(installed and started by the project's scripts on first use).

``operator_pods`` is the operator as a cluster runs it: the image built by ``make
image``'s script, loaded into the node, and installed with Helm with two replicas sharing
four shards (see :mod:`crestline_dev.stack.node_operator`). ``pod_namespace`` is a
namespace whose pods Prometheus scrapes through Kubernetes service discovery.

Markers (declared in pyproject.toml): ``node`` (needs the node), ``long`` (a scenario of
minutes beyond what the default selection needs to prove the point; left out unless
``-m long`` or ``CRESTLINE_LONG_TESTS=1`` asks for it, see the hook below).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client, config

from crestline_dev.manifests import helm_binary
from crestline_dev.stack import Stack, StackConfig
from crestline_dev.stack.binaries import repo_root
from crestline_dev.stack.node_operator import (
    OperatorRelease,
    build_operator_image,
    expose_stack,
    operator_values,
)
from crestline_dev.workload.deploy import kubernetes_access

LONG_ENV = "CRESTLINE_LONG_TESTS"
# A Service address the operator's configuration allows as an HTTP warm-up target (an
# allow-list names hosts; the node has no DNS, so a fixed cluster IP is the host).
WARMUP_SERVICE_IP = "10.0.0.240"
POD_NAMESPACES = "node-*"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Leave ``long`` tests out unless asked for (by marker expression or environment)."""
    asked = "long" in (config.getoption("markexpr", "") or "")
    if asked or os.environ.get(LONG_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return
    skip = pytest.mark.skip(reason=f"long scenario: run with -m long or {LONG_ENV}=1")
    for item in items:
        if item.get_closest_marker("long") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def node_stack() -> Iterator[Stack]:
    with Stack(StackConfig(node=True)) as running:
        assert running.node is not None
        print(f"\nnode: kubelet start to Ready in {running.node.ready_seconds:.1f}s")
        yield running


@pytest.fixture(scope="session")
def node_kube(node_stack: Stack) -> client.ApiClient:
    api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(node_stack.kubeconfig)
    )
    return api


@pytest.fixture
def node_namespace(node_kube: client.ApiClient) -> Iterator[str]:
    core: Any = client.CoreV1Api(node_kube)
    name = f"node-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


@dataclass(frozen=True)
class PodNamespace:
    """A namespace for a test's pods, scraped by Prometheus through Kubernetes SD."""

    name: str
    job: str


@pytest.fixture
def pod_namespace(node_stack: Stack, node_namespace: str) -> Iterator[PodNamespace]:
    prometheus = node_stack.prometheus
    assert prometheus is not None
    job = f"pods-{node_namespace}"
    prometheus.add_kubernetes_pods(job, kubernetes_access(node_stack), [node_namespace])
    yield PodNamespace(node_namespace, job)
    prometheus.set_scrape_configs([c for c in prometheus.scrape_configs if c["job_name"] != job])


def _install_monitoring_crds(stack: Stack) -> None:
    """ServiceMonitor and PodMonitor, from the Prometheus Operator's Go module."""
    import subprocess

    from tests.kubectl import kubectl, wait_established

    root = repo_root()
    assert root is not None
    directory = subprocess.run(
        ["bash", str(root / "controlplane" / "third-party-crds.sh"), "monitoring"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout.strip()
    for plural in ("servicemonitors", "podmonitors"):
        kubectl(
            stack,
            "apply",
            "--server-side",
            "-f",
            f"{directory}/monitoring.coreos.com_{plural}.yaml",
        )
        wait_established(stack, f"{plural}.monitoring.coreos.com")


@pytest.fixture(scope="session")
def operator_pods(node_stack: Stack, node_kube: client.ApiClient) -> Iterator[OperatorRelease]:
    """The operator image, helm-installed: two pods sharing four shards (the chart's CRDs)."""
    node = node_stack.node
    assert node is not None
    image = build_operator_image()
    node.load_image(image)
    _install_monitoring_crds(node_stack)
    root = repo_root()
    assert root is not None
    release = OperatorRelease(node_stack, node_kube, helm_binary(root))
    tenants = [
        {
            "namespaces": [POD_NAMESPACES],
            "allowUrls": [f"http://{WARMUP_SERVICE_IP}/warmup"],
        }
    ]
    values = operator_values(image, expose_stack(node_stack), replicas=2, shards=4, tenants=tenants)
    release.install(values)
    release.wait_ready(2)
    yield release
    release.uninstall()
