"""Smoke tests of the harness: each component of the local stack really works."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from crestline_dev.stack import Stack
from crestline_dev.stack.binaries import repo_root
from crestline_dev.stack.ports import free_port

pytestmark = pytest.mark.stack


def _pinned_kubernetes_version() -> str:
    root = repo_root()
    assert root is not None
    for line in (root / "controlplane" / "versions.env").read_text().splitlines():
        if line.startswith("KUBERNETES_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("KUBERNETES_VERSION not pinned in versions.env")


def test_kubectl_reports_the_pinned_server_version(stack: Stack) -> None:
    out = subprocess.run(
        [stack.kubectl, "--kubeconfig", str(stack.kubeconfig), "version", "-o", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    versions = json.loads(out)
    pinned = _pinned_kubernetes_version()
    assert versions["serverVersion"]["gitVersion"] == pinned
    assert versions["clientVersion"]["gitVersion"] == pinned


def test_controller_manager_creates_a_replicaset_for_a_deployment(kube: client.ApiClient) -> None:
    apps: Any = client.AppsV1Api(kube)  # dict bodies, not the client's model classes
    name = f"smoke-{uuid.uuid4().hex[:6]}"
    labels = {"app": name}
    apps.create_namespaced_deployment(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1"}]},
                },
            },
        },
    )
    try:
        deadline = time.monotonic() + 60
        owned: list[client.V1ReplicaSet] = []
        while time.monotonic() < deadline and not owned:
            replica_sets = apps.list_namespaced_replica_set("default").items
            owned = [
                rs
                for rs in replica_sets
                if any(ref.name == name for ref in rs.metadata.owner_references or [])
            ]
            time.sleep(0.5)
        assert owned, "the controller-manager did not create a ReplicaSet"
        assert owned[0].spec.replicas == 2
    finally:
        apps.delete_namespaced_deployment(name, "default")


def test_prometheus_scrapes_a_target_the_test_serves(stack: Stack) -> None:
    assert stack.prometheus is not None
    registry = CollectorRegistry()
    gauge = Gauge("crestline_smoke_value", "A value the smoke test serves", registry=registry)
    gauge.set(42.5)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    try:
        stack.prometheus.add_target("smoke", f"127.0.0.1:{port}")
        value = stack.prometheus.wait_for_value('crestline_smoke_value{job="smoke"}', timeout=30)
        assert value == 42.5
    finally:
        server.shutdown()
        thread.join(5)


def test_alertmanager_accepts_and_lists_a_silence(stack: Stack) -> None:
    assert stack.alertmanager is not None
    now = dt.datetime.now(dt.UTC)
    silence = {
        "matchers": [{"name": "severity", "value": "warning", "isRegex": False, "isEqual": True}],
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(minutes=10)).isoformat(),
        "createdBy": "crestline-smoke",
        "comment": "smoke test",
    }
    created = requests.post(f"{stack.alertmanager.url}/api/v2/silences", json=silence, timeout=5)
    assert created.status_code == 200, created.text
    silence_id = created.json()["silenceID"]
    listed = requests.get(f"{stack.alertmanager.url}/api/v2/silences", timeout=5).json()
    mine = [s for s in listed if s["id"] == silence_id]
    assert mine
    assert mine[0]["status"]["state"] == "active"
    assert mine[0]["createdBy"] == "crestline-smoke"


def test_redis_answers(stack: Stack) -> None:
    assert stack.redis is not None
    with stack.redis.client() as conn:
        assert conn.ping()
        conn.set("crestline:smoke", "ok", ex=60)
        assert conn.get("crestline:smoke") == b"ok"
        ttl = conn.ttl("crestline:smoke")
        assert 0 < int(ttl) <= 60


def test_stack_writes_its_endpoints(stack: Stack) -> None:
    assert stack.workdir is not None
    recorded = json.loads((stack.workdir / "stack.json").read_text())
    assert recorded == stack.endpoints()
    assert Path(recorded["kubeconfig"]).is_file()
