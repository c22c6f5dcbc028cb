"""A secured Prometheus: TLS with its own CA and basic auth, credentials from a Secret.

This is the production shape most SLOs will meet (a Prometheus behind its web config,
not an open port), so it runs against a real second Prometheus started with
``--web.config.file``, scraping the same simulated workload as the stack's one.

Prometheus itself has no bearer tokens; those are checked by a gateway in front of it
(kube-rbac-proxy, an OAuth proxy, a Thanos/Mimir gateway). A small reverse proxy here
plays that gateway, in front of the stack's real Prometheus.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline_dev.stack import Stack
from crestline_dev.stack.binaries import debian_binary
from crestline_dev.stack.monitoring import Prometheus
from crestline_dev.stack.pki import make_serving_pki
from tests.e2e.conftest import (
    OperatorProcess,
    Workload,
    create_slo,
    events_for,
    replicas,
    slo_body,
    wait_condition,
    wait_for,
)

USER, PASSWORD = "crestline", "s3cret-for-the-test"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Prometheus]:
    prom = Prometheus(
        debian_binary("prometheus"),
        tmp_path / "prometheus",
        tls=make_serving_pki(tmp_path / "pki", "prometheus"),
        basic_auth=(USER, PASSWORD),
    )
    prom.start()
    yield prom
    prom.stop()


# A team's Secret is used only when it is marked for the operator (see README, tenancy).
USABLE = {"crestline.dev/usable-by-operator": "true"}
TOKEN = "a-bearer-token-for-the-test"


@pytest.fixture
def token_gateway(stack: Stack) -> Iterator[str]:
    """URL of a gateway that forwards to the stack's Prometheus only with our token."""
    assert stack.prometheus is not None
    upstream = stack.prometheus.url

    class Gateway(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self.send_response(401)
                self.end_headers()
                self.wfile.write(b"Unauthorized")
                return
            length = int(self.headers.get("Content-Length") or 0)
            resp = requests.request(
                self.command,
                upstream + self.path,
                data=self.rfile.read(length) if length else None,
                headers={"Content-Type": self.headers.get("Content-Type", "")},
                timeout=10,
            )
            self.send_response(resp.status_code)
            self.send_header("Content-Type", resp.headers.get("Content-Type", ""))
            self.send_header("Content-Length", str(len(resp.content)))
            self.end_headers()
            self.wfile.write(resp.content)

        do_GET = do_POST = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _secret_data(password: str, ca: bytes) -> dict[str, str]:
    raw = {"username": USER.encode(), "password": password.encode(), "ca.crt": ca}
    return {k: base64.b64encode(v).decode() for k, v in raw.items()}


def test_credentials_and_ca_from_a_secret_and_rotation_without_restart(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
    secured: Prometheus,
) -> None:
    w = workload(replicas=2, rps=100)  # breaching from the start
    secured.add_target(w.job, f"127.0.0.1:{w.sim.port}")
    assert secured.tls is not None
    ca = secured.tls.ca.cert.read_bytes()
    core = client.CoreV1Api(kube)
    _core(kube).create_namespaced_secret(
        namespace,
        {
            "metadata": {"name": "prom", "labels": USABLE},
            "data": _secret_data("not-the-password", ca),
        },
    )
    ref = {"name": "prom"}
    prometheus = {
        "url": secured.url,
        "auth": {"username": {**ref, "key": "username"}, "password": {**ref, "key": "password"}},
        "ca": {**ref, "key": "ca.crt"},
    }
    create_slo(kube, namespace, slo_body("web", "web", namespace, prometheus=prometheus))

    # A wrong password is a condition that says so, and no data means no scaling.
    c = wait_condition(kube, namespace, "web", "MetricsAvailable", "False")
    assert "(HTTP 401)" in c["message"], c
    assert replicas(kube, namespace, "web") == 2
    assert operator.alive()

    # Rotating the Secret heals it on the next evaluation: no restart, no re-apply.
    core.patch_namespaced_secret("prom", namespace, {"data": _secret_data(PASSWORD, ca)})
    wait_condition(kube, namespace, "web", "MetricsAvailable", "True")

    # And the numbers read through TLS + auth drive scaling like any other.
    wait_for(lambda: replicas(kube, namespace, "web") > 2, 40, "a scale-up via it")
    wait_for(
        lambda: "ScaledUp" in {e.reason for e in events_for(kube, namespace, "web")},
        10,
        "a ScaledUp event",
    )


def test_a_missing_secret_key_is_reported_not_a_crash(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
    secured: Prometheus,
) -> None:
    w = workload(replicas=2, rps=100)
    secured.add_target(w.job, f"127.0.0.1:{w.sim.port}")
    prometheus = {
        "url": secured.url,
        "auth": {
            "username": {"name": "absent", "key": "username"},
            "password": {"name": "absent", "key": "password"},
        },
    }
    create_slo(kube, namespace, slo_body("web", "web", namespace, prometheus=prometheus))
    c = wait_condition(kube, namespace, "web", "MetricsAvailable", "False")
    assert "Secret absent not found" in c["message"], c
    assert operator.alive()
    assert replicas(kube, namespace, "web") == 2


def test_bearer_token_from_a_secret_and_rotation(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
    token_gateway: str,
) -> None:
    workload(replicas=2, rps=100)
    core = client.CoreV1Api(kube)
    _core(kube).create_namespaced_secret(
        namespace,
        {"metadata": {"name": "prom", "labels": USABLE}, "stringData": {"token": "stale"}},
    )
    prometheus = {"url": token_gateway, "auth": {"bearerToken": {"name": "prom", "key": "token"}}}
    create_slo(kube, namespace, slo_body("web", "web", namespace, prometheus=prometheus))
    c = wait_condition(kube, namespace, "web", "MetricsAvailable", "False")
    assert "(HTTP 401)" in c["message"], c
    assert replicas(kube, namespace, "web") == 2

    core.patch_namespaced_secret("prom", namespace, {"stringData": {"token": TOKEN}})
    wait_condition(kube, namespace, "web", "MetricsAvailable", "True")
    wait_for(lambda: replicas(kube, namespace, "web") > 2, 40, "a scale-up via the gateway")


def _core(kube: client.ApiClient) -> Any:
    """The core API taking plain dict bodies (the client's stubs want model classes)."""
    return client.CoreV1Api(kube)
