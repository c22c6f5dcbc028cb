"""The operator as a cluster runs it: its image, installed with Helm, as pods on the node.

What a platform team does, done here against the local stack with a real node:

1. :func:`build_operator_image` runs ``make image``'s script (``scripts/build-image.sh``,
   cached: seconds when nothing changed) and :meth:`Node.load_image` hands the image to
   the node's containerd (there is no registry: ``image.pullPolicy: Never``).
2. :func:`expose_stack` makes the stack's Prometheus, Alertmanager and Redis, which
   listen on loopback, reachable from pods at ``<node IP>:<port>``.
3. :class:`OperatorRelease` installs the chart with Helm with :func:`operator_values`: the
   image, the replicas and shards, and the operator configuration naming those
   endpoints (``config.endpoints``), the tenants and the limits.

Then it answers what the tests and the pod benchmark ask of the running operator:
its pods, their metrics (scraped from the pod IP), their CPU and memory (read from the
pods' cgroups, as the kubelet's cAdvisor does), who holds which shard Lease, and - from
the API server's audit log, which records every request of the operator's
ServiceAccount with the *pod* that made it - which pod wrote what, and when.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from crestline.runtime.shards import SHARD_PREFIX
from crestline_dev.stack.binaries import MissingBinary, repo_root
from crestline_dev.stack.node_config import CGROUP_ROOT
from crestline_dev.stack.stack import Stack

RELEASE = "crestline"
NAMESPACE = "crestline-system"  # the stack audits this namespace's ServiceAccounts
SELECTOR = "app.kubernetes.io/name=crestline"
METRICS_PORT = 9300
_POD_NAME = "authentication.kubernetes.io/pod-name"


def build_operator_image(timeout: float = 1800, root: Path | None = None) -> str:
    """``make image`` (scripts/build-image.sh): build or reuse the image; return its name.

    ``root``: the source tree to build (default: this checkout, as it is)."""
    root = root or repo_root()
    if root is None:
        raise MissingBinary("the operator image is built from a crestline checkout")
    out = subprocess.run(
        ["bash", str(root / "scripts" / "build-image.sh")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
    ).stdout
    return out.split()[-1]


@dataclass(frozen=True)
class PodEndpoints:
    """The stack's services as a pod reaches them (through the node's forwarders)."""

    prometheus: str
    alertmanager: str | None
    redis: str | None


def expose_stack(stack: Stack) -> PodEndpoints:
    """Forward the stack's Prometheus, Alertmanager and Redis to the node IP, once each."""
    node = stack.node
    if node is None or stack.prometheus is None:
        raise RuntimeError("the operator as a pod needs a stack with a node and Prometheus")
    prometheus = f"http://{node.expose(stack.prometheus.port)}"
    alertmanager = f"http://{node.expose(stack.alertmanager.port)}" if stack.alertmanager else None
    redis = f"redis://{node.expose(stack.redis.port)}/0" if stack.redis else None
    return PodEndpoints(prometheus, alertmanager, redis)


def operator_values(
    image: str,
    endpoints: PodEndpoints,
    *,
    replicas: int = 1,
    shards: int = 4,
    tenants: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Helm values: the local image, never pulled, and the operator configuration.

    The lease duration is the chart's default (10 s), as a user gets it; the minimum
    evaluation interval is lowered to 1 s because the scenarios run in compressed time.
    """
    repository, _, tag = image.rpartition(":")
    endpoint_map: dict[str, Any] = {"prometheus": [{"url": endpoints.prometheus}]}
    if endpoints.alertmanager:
        endpoint_map["alertmanager"] = [{"url": endpoints.alertmanager}]
    if endpoints.redis:
        endpoint_map["redis"] = [{"url": endpoints.redis}]
    return {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "replicas": replicas,
        "sharding": {"shards": shards},
        "prometheusUrl": "",
        "config": {
            "endpoints": endpoint_map,
            "tenants": tenants or [],
            "limits": {"minIntervalSeconds": 1},
        },
        "logFormat": "text",
    }


@dataclass(frozen=True)
class PodUsage:
    """A pod's resource use from its cgroup (the pause container included: negligible)."""

    cpu_seconds: float  # cumulative CPU time
    memory_bytes: int  # memory in use now (cgroup usage, page cache included)
    rss_bytes: int  # anonymous memory: what the processes really hold
    peak_bytes: int  # the most memory in use since the pod started


@dataclass(frozen=True)
class AuditRecord:
    """One request of the operator's ServiceAccount, and the pod whose token made it."""

    at: dt.datetime
    pod: str
    verb: str
    resource: str  # with "/subresource" when there is one
    namespace: str
    name: str
    code: int


@dataclass
class OperatorRelease:
    """The chart installed into the stack, with the operator running as pods."""

    stack: Stack
    kube: client.ApiClient
    helm: str
    release: str = RELEASE
    namespace: str = NAMESPACE
    chart: Path | None = None  # default: this checkout's helm/crestline

    # -- helm ------------------------------------------------------------------------
    def _helm(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [self.helm, "--kubeconfig", str(self.stack.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"helm {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def _values_file(self, values: dict[str, Any]) -> Path:
        assert self.stack.workdir is not None
        path = self.stack.workdir / f"{self.release}-values.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return path

    def install(self, values: dict[str, Any], timeout: float = 180) -> None:
        """``helm install --wait``: the pods are Ready (their liveness endpoint answers)."""
        self._apply("install", values, timeout, "--create-namespace")

    def upgrade(self, values: dict[str, Any], timeout: float = 180) -> None:
        """``helm upgrade --wait`` with new values (a new configuration rolls the pods)."""
        self._apply("upgrade", values, timeout)

    def _apply(self, verb: str, values: dict[str, Any], timeout: float, *extra: str) -> None:
        chart = self.chart
        if chart is None:
            root = repo_root()
            assert root is not None
            chart = root / "helm" / "crestline"
        self._helm(
            verb,
            self.release,
            str(chart),
            "-n",
            self.namespace,
            *extra,
            "-f",
            str(self._values_file(values)),
            "--wait",
            "--timeout",
            f"{int(timeout)}s",
            timeout=timeout + 30,
        )

    def uninstall(self) -> None:
        self._helm("uninstall", self.release, "-n", self.namespace, "--wait", timeout=120)

    # -- pods ------------------------------------------------------------------------
    def pods(self) -> list[Any]:
        """The operator's pods that are not being deleted, oldest first."""
        core: Any = client.CoreV1Api(self.kube)
        pods = core.list_namespaced_pod(self.namespace, label_selector=SELECTOR).items
        live = [p for p in pods if p.metadata.deletion_timestamp is None]
        return sorted(live, key=lambda p: p.metadata.creation_timestamp)

    def ready_pods(self) -> list[Any]:
        return [
            p
            for p in self.pods()
            if any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
        ]

    def wait_ready(self, count: int, timeout: float = 120) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self.ready_pods()
            if len(ready) >= count and len(self.pods()) == count:
                return ready
            time.sleep(0.5)
        names = [p.metadata.name for p in self.pods()]
        raise TimeoutError(f"{count} operator pods not Ready after {timeout}s (have {names})")

    def logs(self, pod: str, tail: int = 200) -> str:
        core: Any = client.CoreV1Api(self.kube)
        try:
            out: str = core.read_namespaced_pod_log(pod, self.namespace, tail_lines=tail)
        except client.ApiException as exc:
            return f"(no log of {pod}: {exc.status})"
        return out

    # -- what a pod reports ------------------------------------------------------------
    def metrics(self, pod: Any) -> dict[str, float]:
        """The pod's own metrics, scraped from its IP: ``name{labels}`` -> value."""
        resp = requests.get(f"http://{pod.status.pod_ip}:{METRICS_PORT}/metrics", timeout=5)
        resp.raise_for_status()
        out = {}
        for family in text_string_to_metric_families(resp.text):
            for sample in family.samples:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
        return out

    def shard_holders(self) -> dict[int, str]:
        """Shard -> the pod holding its Lease now (free shards are left out)."""
        leases: Any = client.CoordinationV1Api(self.kube)
        held = {}
        for lease in leases.list_namespaced_lease(self.namespace).items:
            name = lease.metadata.name
            if name.startswith(SHARD_PREFIX) and lease.spec.holder_identity:
                held[int(name.removeprefix(SHARD_PREFIX))] = lease.spec.holder_identity
        return held

    def audit(self, since: dt.datetime | None = None) -> list[AuditRecord]:
        """Every request the operator's pods made (from the stack's audit log)."""
        plane = self.stack.control_plane
        if plane is None:
            raise RuntimeError("the audit log belongs to the stack's own control plane")
        return read_audit(plane.audit_log.read_text().splitlines(), self.namespace, since)


def read_audit(
    lines: Iterable[str], namespace: str, since: dt.datetime | None = None
) -> list[AuditRecord]:
    """Requests of ServiceAccount tokens bound to pods of ``namespace``, in order."""
    records = []
    for line in lines:
        if not line.strip():
            continue
        event = json.loads(line)
        user = event.get("user", {})
        pod = (user.get("extra", {}).get(_POD_NAME) or [None])[0]
        ref = event.get("objectRef")
        if pod is None or ref is None:
            continue
        if not user.get("username", "").startswith(f"system:serviceaccount:{namespace}:"):
            continue
        at = dt.datetime.fromisoformat(event["requestReceivedTimestamp"].replace("Z", "+00:00"))
        if since is not None and at < since:
            continue
        sub = ref.get("subresource")
        records.append(
            AuditRecord(
                at=at,
                pod=pod,
                verb=event["verb"],
                resource=ref["resource"] + (f"/{sub}" if sub else ""),
                namespace=ref.get("namespace", ""),
                name=ref.get("name", ""),
                code=int(event.get("responseStatus", {}).get("code", 0)),
            )
        )
    return records


def pod_usage(pod_uid: str, cgroup_fs: Path = Path("/sys/fs/cgroup")) -> PodUsage:
    """CPU and memory of the pod from its cgroup (v1: cpuacct and memory; v2: unified)."""
    v1 = cgroup_fs / "cpuacct" / CGROUP_ROOT
    if v1.is_dir():
        cpu_dir = _pod_dir(v1, pod_uid)
        mem_dir = _pod_dir(cgroup_fs / "memory" / CGROUP_ROOT, pod_uid)
        stat = _kv((mem_dir / "memory.stat").read_text())
        return PodUsage(
            cpu_seconds=int((cpu_dir / "cpuacct.usage").read_text()) / 1e9,
            memory_bytes=int((mem_dir / "memory.usage_in_bytes").read_text()),
            rss_bytes=stat.get("total_rss", stat.get("rss", 0)),
            peak_bytes=int((mem_dir / "memory.max_usage_in_bytes").read_text()),
        )
    pod_dir = _pod_dir(cgroup_fs / CGROUP_ROOT, pod_uid)
    cpu = _kv((pod_dir / "cpu.stat").read_text())
    stat = _kv((pod_dir / "memory.stat").read_text())
    peak = pod_dir / "memory.peak"
    current = int((pod_dir / "memory.current").read_text())
    return PodUsage(
        cpu_seconds=cpu["usage_usec"] / 1e6,
        memory_bytes=current,
        rss_bytes=stat.get("anon", 0),
        peak_bytes=int(peak.read_text()) if peak.exists() else current,
    )


def operator_pid(pod_uid: str, cgroup_fs: Path = Path("/sys/fs/cgroup")) -> int:
    """The operator's process in pod ``pod_uid``, as the host sees it (not the pause)."""
    v1 = cgroup_fs / "pids" / CGROUP_ROOT
    pod_dir = _pod_dir(v1 if v1.is_dir() else cgroup_fs / CGROUP_ROOT, pod_uid)
    for procs in pod_dir.glob("*/cgroup.procs"):
        for pid in procs.read_text().split():
            try:
                if b"crestline" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(pid)
            except OSError:
                continue
    raise LookupError(f"no crestline process in the cgroup of pod {pod_uid}")


def _pod_dir(root: Path, pod_uid: str) -> Path:
    # The kubelet's cgroupfs layout: kubepods/[burstable|besteffort/]pod<uid>.
    for candidate in root.glob(f"kubepods*/**/pod{pod_uid}"):
        if candidate.is_dir():
            return candidate
    direct = root / "kubepods" / f"pod{pod_uid}"
    if direct.is_dir():
        return direct
    raise FileNotFoundError(f"no cgroup for pod {pod_uid} under {root}")


def _kv(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out
