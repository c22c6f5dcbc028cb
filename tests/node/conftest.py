"""Fixtures for tests that need pods to really run: a stack with a real node.

``node_stack`` is a session fixture of its own (the fast tests keep the node-less
``stack`` of ``tests/conftest.py``): control plane, Prometheus and a node (kubelet on
containerd, kube-scheduler, kube-proxy). A test asks for a node by using
``node_stack`` (or ``node_kube`` / ``node_namespace``). It needs root and Docker
(installed and started by the project's scripts on first use).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from crestline_dev.stack import Stack, StackConfig


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "node: needs the local stack with a real node (root, Docker)"
    )


@pytest.fixture(scope="session")
def node_stack() -> Iterator[Stack]:
    with Stack(StackConfig(node=True, alertmanager=False, redis=False)) as running:
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
