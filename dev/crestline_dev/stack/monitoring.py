"""Prometheus, Alertmanager and Redis as local processes.

Prometheus runs with ``--web.enable-lifecycle`` so tests can change what it scrapes
(:meth:`Prometheus.set_scrape_configs`) and reload it without a restart. Its global
scrape interval defaults to 1 s so a test sees a metric change within a second or two.
:meth:`Prometheus.add_kubernetes_pods` discovers scrape targets the way Prometheus does in
a cluster: Kubernetes service discovery (role ``pod``) against the API server, keeping
pods annotated ``prometheus.io/scrape: "true"``.
With ``tls`` and/or ``basic_auth`` it serves through Prometheus' own ``--web.config.file``
(as a secured production Prometheus does), so clients must present what a real one asks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bcrypt
import redis
import requests
import yaml

from crestline_dev.stack.pki import ServingPKI
from crestline_dev.stack.ports import free_port
from crestline_dev.stack.process import ManagedProcess


@dataclass(frozen=True)
class KubernetesAccess:
    """How Prometheus reaches the API server for service discovery: URL and client TLS files."""

    api_server: str
    ca_file: Path
    cert_file: Path
    key_file: Path


def kubernetes_pods_job(
    job: str, access: KubernetesAccess, namespaces: list[str], interval: str | None = None
) -> dict[str, Any]:
    """A scrape job for annotated pods, found through the API server (``role: pod``).

    The relabelling is the conventional one: keep pods with ``prometheus.io/scrape:
    "true"``, scrape ``<pod IP>:<prometheus.io/port>``, and label each series with its
    ``namespace``, ``pod`` and ``service`` (the pod's ``app`` label, the name the
    operator's presets and the simulator use).
    """
    meta = "__meta_kubernetes_pod_"
    config: dict[str, Any] = {
        "job_name": job,
        "kubernetes_sd_configs": [
            {
                "role": "pod",
                "api_server": access.api_server,
                "tls_config": {
                    "ca_file": str(access.ca_file),
                    "cert_file": str(access.cert_file),
                    "key_file": str(access.key_file),
                },
                "namespaces": {"names": namespaces},
            }
        ],
        "relabel_configs": [
            {
                "source_labels": [f"{meta}annotation_prometheus_io_scrape"],
                "action": "keep",
                "regex": "true",
            },
            {
                "source_labels": ["__address__", f"{meta}annotation_prometheus_io_port"],
                "action": "replace",
                "regex": r"([^:]+)(?::\d+)?;(\d+)",
                "replacement": "$1:$2",
                "target_label": "__address__",
            },
            {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
            {"source_labels": [f"{meta}name"], "target_label": "pod"},
            {"source_labels": [f"{meta}label_app"], "target_label": "service"},
        ],
    }
    if interval:
        config["scrape_interval"] = interval
    return config


@dataclass
class Prometheus:
    """A Prometheus server whose scrape configuration the caller controls."""

    binary: Path
    workdir: Path
    scrape_interval: str = "1s"
    alertmanager_url: str | None = None
    port: int = 0
    scrape_configs: list[dict[str, Any]] = field(default_factory=list)
    tls: ServingPKI | None = None
    basic_auth: tuple[str, str] | None = None  # (user, plain password); hashed on disk
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _http(self) -> requests.Session:
        """A client that gets past this server's own TLS and basic auth."""
        session = requests.Session()
        # Loopback only: no proxies, and REQUESTS_CA_BUNDLE must not override our CA
        # (requests lets the environment win over ``session.verify``).
        session.trust_env = False
        if self.tls:
            session.verify = str(self.tls.ca.cert)
        if self.basic_auth:
            session.auth = self.basic_auth
        return session

    def _web_config_args(self) -> list[str]:
        if not (self.tls or self.basic_auth):
            return []
        web: dict[str, Any] = {}
        if self.tls:
            web["tls_server_config"] = {
                "cert_file": str(self.tls.serving.cert),
                "key_file": str(self.tls.serving.key),
            }
        if self.basic_auth:
            user, password = self.basic_auth
            # Cost 4, bcrypt's minimum: every request is checked, and this is a test.
            hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
            web["basic_auth_users"] = {user: hashed}
        path = self.workdir / "web.yml"
        path.write_text(yaml.safe_dump(web, sort_keys=False))
        return [f"--web.config.file={path}"]

    @property
    def config_path(self) -> Path:
        return self.workdir / "prometheus.yml"

    def _write_config(self) -> None:
        config: dict[str, Any] = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": "1s"},
            "scrape_configs": self.scrape_configs,
        }
        if self.alertmanager_url:
            host = self.alertmanager_url.removeprefix("http://")
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [host]}]}]}
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def start(self, timeout: float = 60.0) -> None:
        """Start on a new free port (or the previous one, after :meth:`stop`)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        self._write_config()
        self.process = ManagedProcess(
            "prometheus",
            [
                str(self.binary),
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
                "--web.enable-admin-api",
                "--log.level=warn",
                *self._web_config_args(),
            ],
            self.workdir / "prometheus.log",
        )
        self.process.start()
        http = self._http()
        self.process.wait_ready(
            lambda: http.get(f"{self.url}/-/ready", timeout=2).status_code == 200, timeout
        )

    def stop(self) -> None:
        """Stop the server; a later :meth:`start` brings it back on the same port and data."""
        if self.process:
            self.process.stop()

    def set_scrape_configs(self, configs: list[dict[str, Any]]) -> None:
        """Replace every scrape job and reload Prometheus (config errors raise here)."""
        self.scrape_configs = list(configs)
        self._write_config()
        resp = self._http().post(f"{self.url}/-/reload", timeout=10)
        if resp.status_code != 200:
            raise RuntimeError(f"Prometheus rejected its new config: {resp.text.strip()}")

    def add_target(
        self, job: str, address: str, *, interval: str | None = None, metrics_path: str = "/metrics"
    ) -> None:
        """Add (or replace) a static scrape job for one ``host:port`` target."""
        job_config: dict[str, Any] = {
            "job_name": job,
            "metrics_path": metrics_path,
            "static_configs": [{"targets": [address]}],
        }
        if interval:
            job_config["scrape_interval"] = interval
        others = [c for c in self.scrape_configs if c.get("job_name") != job]
        self.set_scrape_configs([*others, job_config])

    def add_kubernetes_pods(
        self, job: str, access: KubernetesAccess, namespaces: list[str], interval: str | None = None
    ) -> None:
        """Add (or replace) a job scraping annotated pods found by Kubernetes SD."""
        job_config = kubernetes_pods_job(job, access, namespaces, interval)
        others = [c for c in self.scrape_configs if c.get("job_name") != job]
        self.set_scrape_configs([*others, job_config])

    def targets(self, job: str) -> list[dict[str, Any]]:
        """The active targets of ``job`` as Prometheus reports them (labels, health)."""
        resp = self._http().get(
            f"{self.url}/api/v1/targets", params={"state": "active"}, timeout=10
        )
        active: list[dict[str, Any]] = resp.json()["data"]["activeTargets"]
        return [t for t in active if t.get("labels", {}).get("job") == job]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Run an instant query and return the raw result vector."""
        resp = self._http().get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        body = resp.json()
        if body.get("status") != "success":
            raise RuntimeError(f"query {promql!r} failed: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for_value(self, promql: str, timeout: float = 30.0) -> float:
        """Poll an instant query until it returns a sample; return its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return float(result[0]["value"][1])
            time.sleep(0.5)
        raise TimeoutError(f"no sample for {promql!r} within {timeout}s")


@dataclass
class Alertmanager:
    """An Alertmanager with a no-op receiver: the operator only manages its silences."""

    binary: Path
    workdir: Path
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.workdir / "alertmanager.yml"
        config.write_text(
            yaml.safe_dump(
                {
                    "route": {"receiver": "null"},
                    "receivers": [{"name": "null"}],
                }
            )
        )
        self.process = ManagedProcess(
            "alertmanager",
            [
                str(self.binary),
                f"--config.file={config}",
                f"--storage.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
                "--log.level=warn",
            ],
            self.workdir / "alertmanager.log",
        )
        self.process.start()
        self.process.wait_ready(
            lambda: requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200, timeout
        )

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@dataclass
class Redis:
    """A memory-only redis-server on loopback."""

    binary: Path
    workdir: Path
    port: int = 0
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = ManagedProcess(
            "redis",
            [
                str(self.binary),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--daemonize",
                "no",
            ],
            self.workdir / "redis.log",
        )
        self.process.start()

        def pong() -> bool:
            with self.client() as conn:
                return bool(conn.ping())

        self.process.wait_ready(pong, timeout)

    def stop(self) -> None:
        if self.process:
            self.process.stop()
