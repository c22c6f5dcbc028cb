"""Shared fixtures: one real local stack per test session.

The stack is started lazily, only if a test asks for it, so unit tests run without
it. It is stopped by the session finalizer, which pytest runs on failure and Ctrl-C.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from kubernetes import client, config

from crestline_dev.stack import Stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    with Stack() as running:
        yield running


@pytest.fixture(scope="session")
def kube(stack: Stack) -> client.ApiClient:
    """An API client authenticated as the stack's admin user."""
    made: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(stack.kubeconfig)
    )
    return made


@pytest.fixture(scope="session")
def crds(stack: Stack) -> None:
    """The generated CRDs, installed and Established in the stack's cluster."""
    from crestline.api.crdgen import ALL_CRDS
    from crestline_dev.stack.binaries import repo_root
    from tests.kubectl import kubectl, wait_established

    root = repo_root()
    assert root is not None
    kubectl(stack, "apply", "--server-side", "-f", str(root / "crds"))
    for crd in ALL_CRDS:
        wait_established(stack, f"{crd.plural}.crestline.dev")
    # Prometheus Operator's ServiceMonitor/PodMonitor/PrometheusRule and KEDA's
    # ScaledObject, from their Go modules.
    third_party = {
        "monitoring": (
            "monitoring.coreos.com",
            ["servicemonitors", "podmonitors", "prometheusrules"],
        ),
        "keda": ("keda.sh", ["scaledobjects"]),
    }
    for project, (group, plurals) in third_party.items():
        directory = subprocess.run(
            ["bash", str(root / "controlplane" / "third-party-crds.sh"), project],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        for plural in plurals:
            kubectl(stack, "apply", "--server-side", "-f", f"{directory}/{group}_{plural}.yaml")
            wait_established(stack, f"{plural}.{group}")
