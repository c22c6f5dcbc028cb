"""A real Kubernetes control plane as local processes: etcd, apiserver, controller-manager.

The flags follow what controller-runtime's envtest uses, plus a controller-manager so
Deployments get ReplicaSets and Pods like in a real cluster. There is no kubelet and
no scheduler: pods stay Pending, which is all the operator ever needs (it acts on the
scale subresource, never on pods).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import requests
import urllib3
import yaml

from crestline_dev.stack.binaries import ControlPlaneBinaries
from crestline_dev.stack.pki import ClusterPKI, make_cluster_pki
from crestline_dev.stack.ports import free_port
from crestline_dev.stack.process import ManagedProcess

SERVICE_CIDR = "10.0.0.0/24"
SERVICE_IP = "10.0.0.1"
# Requests by service accounts of this namespace (where tests and the demo install the
# chart) go to the audit log: that is how a test sees which permissions the operator
# really uses. Everyone else is not audited, to keep the log small.
AUDITED_NAMESPACE = "crestline-system"
_AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "userGroups": [f"system:serviceaccounts:{AUDITED_NAMESPACE}"]},
        {"level": "None"},
    ],
}


def write_kubeconfig(
    path: Path,
    server: str,
    pki: ClusterPKI,
    *,
    user: str = "admin",
    context: str = "crestline-local",
) -> Path:
    """Write a kubeconfig for ``server`` authenticating with the admin client certificate."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": context,
                "cluster": {"server": server, "certificate-authority": str(pki.ca.cert)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate": str(pki.admin.cert),
                    "client-key": str(pki.admin.key),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


@dataclass
class ControlPlane:
    """etcd + kube-apiserver + kube-controller-manager under ``workdir``."""

    workdir: Path
    bins: ControlPlaneBinaries
    processes: list[ManagedProcess] = field(default_factory=list)
    pki: ClusterPKI | None = None
    api_port: int = 0
    etcd_port: int = 0
    kubeconfig: Path | None = None

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def audit_log(self) -> Path:
        """JSON lines, one per request of a service account in AUDITED_NAMESPACE."""
        return self.workdir / "logs" / "audit.log"

    def start(self, timeout: float = 120.0) -> None:
        """Start the three processes in dependency order, each awaited until ready."""
        self.pki = make_cluster_pki(self.workdir / "pki", SERVICE_IP)
        self._start_etcd(timeout)
        self._start_apiserver(timeout)
        self.kubeconfig = write_kubeconfig(self.workdir / "kubeconfig", self.api_url, self.pki)
        self._start_controller_manager(timeout)

    def stop(self) -> None:
        """Stop in reverse order, so the API server never outlives etcd's clients' needs."""
        while self.processes:
            self.processes.pop().stop()

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.workdir / "logs" / f"{name}.log")
        self.processes.append(proc)
        proc.start()
        return proc

    def _start_etcd(self, timeout: float) -> None:
        self.etcd_port = free_port()
        peer_port = free_port()
        client = f"http://127.0.0.1:{self.etcd_port}"
        proc = self._spawn(
            "etcd",
            [
                str(self.bins.etcd),
                "--name=crestline",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                f"--initial-cluster=crestline=http://127.0.0.1:{peer_port}",
                "--unsafe-no-fsync=true",
                "--quota-backend-bytes=2147483648",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            resp = requests.get(f"{client}/health", timeout=2)
            return resp.status_code == 200 and resp.json().get("health") == "true"

        proc.wait_ready(healthy, timeout)

    def _start_apiserver(self, timeout: float) -> None:
        assert self.pki is not None
        pki = self.pki
        self.api_port = free_port()
        policy = self.workdir / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(_AUDIT_POLICY, sort_keys=False))
        proc = self._spawn(
            "kube-apiserver",
            [
                str(self.bins.kube_apiserver),
                f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.api_port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.serving.cert}",
                f"--tls-private-key-file={pki.serving.key}",
                f"--client-ca-file={pki.ca.cert}",
                "--authorization-mode=RBAC",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--v=1",
            ],
        )
        cert = (str(pki.admin.cert), str(pki.admin.key))
        ca = str(pki.ca.cert)

        def ready() -> bool:
            readyz = requests.get(f"{self.api_url}/readyz", cert=cert, verify=ca, timeout=2)
            if readyz.status_code != 200:
                return False
            resp = requests.get(
                f"{self.api_url}/api/v1/namespaces/default", cert=cert, verify=ca, timeout=2
            )
            return resp.status_code == 200

        proc.wait_ready(ready, timeout)

    def _start_controller_manager(self, timeout: float) -> None:
        assert self.pki is not None
        assert self.kubeconfig is not None
        pki = self.pki
        port = free_port()
        proc = self._spawn(
            "kube-controller-manager",
            [
                str(self.bins.kube_controller_manager),
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={self.workdir / 'kcm-certs'}",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca.cert}",
                f"--cluster-signing-cert-file={pki.ca.cert}",
                f"--cluster-signing-key-file={pki.ca.key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--leader-elect=false",
                "--use-service-account-credentials=false",
                "--v=1",
            ],
        )

        def healthy() -> bool:
            # The controller-manager serves a self-signed certificate of its own.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                resp = requests.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=2)
            return resp.status_code == 200

        proc.wait_ready(healthy, timeout)
