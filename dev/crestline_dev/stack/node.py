"""A real node for the local stack: kube-scheduler, a kubelet on its own containerd, kube-proxy.

Pods really run here: containerd (Debian's) starts them with runc, the CNI bridge
plugin gives each an address on a bridge this node creates (``crestline0``,
``10.244.0.0/24``), and kube-proxy programs iptables so a Service's cluster IP reaches
its pods. Everything is started like the rest of the stack: local processes on free
ports, files under the stack's temp dir, stopped on exit and on kill.

What is global on a host, and therefore limits a machine to **one node at a time**: the
bridge, kube-proxy's iptables chains and the node's cgroup. A machine-wide lock
(``/run/lock/crestline-node.lock``) serialises node stacks; a second one waits for the
first. Whoever holds the lock first removes any leftovers of a node whose harness was
killed (normally its reaper already did, see :mod:`crestline_dev.stack.node_cleanup`).

Traffic stays on this host: the pods' network has no masquerade (nothing routes them
off the machine), they get an empty resolv.conf (no DNS), and the Service CIDR is routed
onto the bridge, so a packet to a cluster IP that kube-proxy did not translate ends on
the bridge instead of the default route. Forwarding is accepted only from the bridge
back onto it (iptables chain ``CRESTLINE-FORWARD``): Docker sets the FORWARD policy to
DROP, which without it drops every packet from one pod to another.

Images come from Docker (built here, never pulled): :meth:`Node.load_image` hands one
to containerd with ``docker save | ctr images import``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
import urllib3
import yaml

from crestline_dev.stack.binaries import MissingBinary, repo_root
from crestline_dev.stack.controlplane import SERVICE_CIDR
from crestline_dev.stack.node_cleanup import (
    NodeLeftovers,
    Reaper,
    allow_bridge_forwarding,
    cleanup,
    make_cgroups,
)
from crestline_dev.stack.node_config import (
    BRIDGE,
    NODE_IP,
    NODE_NAME,
    POD_CIDR,
    KubeletPorts,
    NodePaths,
    cni_conflist,
    containerd_toml,
    kube_proxy_config,
    kubelet_config,
)
from crestline_dev.stack.node_expose import LoopbackForwarder, kubernetes_service_endpoints
from crestline_dev.stack.pki import ClusterPKI
from crestline_dev.stack.ports import free_port
from crestline_dev.stack.process import ManagedProcess

LOCK_PATH = Path("/run/lock/crestline-node.lock")
WORKLOAD_IMAGE = "crestline-workload:1"


@dataclass(frozen=True)
class NodeBinaries:
    """The executables a node runs: ours (built from the Go module) and Debian's."""

    kube_scheduler: Path
    kubelet: Path
    kube_proxy: Path
    containerd: Path
    ctr: Path
    runc: Path
    cni_bin_dir: Path


def _script(*parts: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run one of the repository's scripts; return the last line it printed."""
    root = repo_root()
    if root is None:
        raise MissingBinary("a real node needs a crestline checkout (its scripts build it)")
    result = subprocess.run(
        ["bash", str(root.joinpath(*parts[:1])), *parts[1:]],
        check=False,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise MissingBinary(f"{parts[0]} failed (exit {result.returncode}); see its output above")
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def node_binaries() -> NodeBinaries:
    """Install the Debian packages when missing and build the Kubernetes node binaries once."""
    _script("scripts/install-node-deps.sh", timeout=1200)
    bin_dir = Path(_script("controlplane/build.sh", "node", timeout=1800))

    def debian(name: str) -> Path:
        for directory in ("/usr/bin", "/usr/sbin", "/usr/local/bin"):
            if os.access(f"{directory}/{name}", os.X_OK):
                return Path(directory, name)
        raise MissingBinary(f"{name} not found: run scripts/install-node-deps.sh")

    return NodeBinaries(
        kube_scheduler=bin_dir / "kube-scheduler",
        kubelet=bin_dir / "kubelet",
        kube_proxy=bin_dir / "kube-proxy",
        containerd=debian("containerd"),
        ctr=debian("ctr"),
        runc=debian("runc"),
        cni_bin_dir=Path("/usr/lib/cni"),
    )


def node_images() -> tuple[str, list[str]]:
    """Start (or find) a Docker engine and build the pause and workload images.

    Returns the ``DOCKER_HOST`` to use and the images every node gets.
    """
    docker_host = _script("scripts/docker-up.sh", timeout=120)
    env = {"DOCKER_HOST": docker_host}
    with ThreadPoolExecutor(2) as pool:
        pause = pool.submit(_script, "images/pause/build.sh", timeout=300, env=env)
        workload = pool.submit(_script, "images/workload/build.sh", timeout=1800, env=env)
        return docker_host, [pause.result(), workload.result()]


@dataclass(frozen=True)
class NodeSetup:
    """What :meth:`Node.start` needs that takes time to make: binaries and images."""

    bins: NodeBinaries
    docker_host: str
    images: list[str]
    # Prometheus with Kubernetes service discovery (Debian's is built without it).
    prometheus: Path


def prepare_node() -> NodeSetup:
    """Build binaries and images in parallel (each step is cached; warm, this takes seconds)."""
    with ThreadPoolExecutor(3) as pool:
        bins = pool.submit(node_binaries)
        images = pool.submit(node_images)
        prometheus = pool.submit(_script, "controlplane/prometheus.sh", timeout=1800)
        docker_host, names = images.result()
        return NodeSetup(bins.result(), docker_host, names, Path(prometheus.result()))


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Node:
    """One node under ``workdir``, registered with the API server behind ``kubeconfig``."""

    workdir: Path
    kubeconfig: Path
    pki: ClusterPKI
    setup: NodeSetup
    processes: list[ManagedProcess] = field(default_factory=list)
    kubelet_ports: KubeletPorts | None = None
    ready_seconds: float | None = None  # start of the kubelet to node Ready
    _lock: IO[bytes] | None = None
    _reaper: Reaper | None = None
    _forwarders: list[LoopbackForwarder] = field(default_factory=list)

    @property
    def paths(self) -> NodePaths:
        return NodePaths(self.workdir)

    @property
    def name(self) -> str:
        return NODE_NAME

    @property
    def ip(self) -> str:
        return NODE_IP

    @property
    def pod_cidr(self) -> str:
        return POD_CIDR

    def _leftovers(self) -> NodeLeftovers:
        return NodeLeftovers(self.workdir, self.paths.containerd_socket, self.setup.bins.kube_proxy)

    # -- lifecycle -------------------------------------------------------------------
    def start(self, timeout: float = 120.0, lock_timeout: float = 900.0) -> None:
        """Take the machine's node lock, then start every process and wait for Ready."""
        self._take_lock(lock_timeout)
        # Anything of a node still here belongs to a harness that died: we hold the lock.
        cleanup(
            NodeLeftovers(Path("/nonexistent"), Path("/nonexistent"), self.setup.bins.kube_proxy)
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        assert self._lock is not None
        self._reaper = Reaper(self._leftovers(), self._lock.fileno())
        self._write_files()
        self._make_network()
        make_cgroups()
        self._start_containerd(timeout)
        pause, *others = self.setup.images
        self.load_image(pause)  # every pod's sandbox: needed before the first pod
        with ThreadPoolExecutor(1) as pool:
            # The other images (seconds each) load while the Kubernetes side starts.
            loaded = pool.submit(self._load_images, others)
            self._start_scheduler(timeout)
            started = time.monotonic()
            self._start_kubelet(timeout)
            self.wait_ready(timeout)
            self.ready_seconds = time.monotonic() - started
            # After the kubelet: kube-proxy waits (up to 30 s) for its Node object.
            self._start_kube_proxy(timeout)
            self._route_kubernetes_service()
            loaded.result()

    def stop(self) -> None:
        """Stop the processes (kubelet first), then remove pods, mounts, bridge and rules."""
        while self._forwarders:
            self._forwarders.pop().close()
        for name in ("kubelet", "kube-proxy", "kube-scheduler"):
            for proc in [p for p in self.processes if p.name == name]:
                proc.stop(grace=5)
        cleanup_error: BaseException | None = None
        try:
            # Containers first, while containerd still runs; then containerd and the rest.
            cleanup(self._leftovers())
        except BaseException as exc:  # still stop containerd and release the lock
            cleanup_error = exc
        while self.processes:
            self.processes.pop().stop(grace=5)
        with contextlib.suppress(Exception):
            cleanup(self._leftovers())
        if self._reaper is not None:
            self._reaper.disarm()
            self._reaper = None
        if self._lock is not None:
            self._lock.close()  # closing the file releases the flock
            self._lock = None
        if cleanup_error is not None:
            raise cleanup_error

    def _take_lock(self, timeout: float) -> None:
        LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
        lock = LOCK_PATH.open("ab")
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    lock.close()
                    raise TimeoutError(
                        f"another crestline node holds {LOCK_PATH} (one node per machine)"
                    ) from None
                time.sleep(1.0)
        self._lock = lock

    # -- set-up ----------------------------------------------------------------------
    def _write_files(self) -> None:
        paths = self.paths
        bins = self.setup.bins
        paths.logs.mkdir(parents=True, exist_ok=True)
        paths.cni_conf_dir.mkdir(parents=True, exist_ok=True)
        paths.containerd_config.write_text(containerd_toml(paths, bins.runc, bins.cni_bin_dir))
        (paths.cni_conf_dir / "10-crestline.conflist").write_text(cni_conflist(SERVICE_CIDR))
        paths.resolv_conf.write_text("")  # pods get no DNS: no name leads off this host

    def _make_network(self) -> None:
        """The bridge with the node IP, the Service CIDR routed onto it, and forwarding
        allowed from the bridge back onto it (pods reach pods, also through Services)."""
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{NODE_IP}/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        _ip("route", "add", SERVICE_CIDR, "dev", BRIDGE, "src", NODE_IP)
        allow_bridge_forwarding()

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        proc = ManagedProcess(name, argv, self.paths.logs / f"{name}.log")
        self.processes.append(proc)
        proc.start()
        return proc

    def _ctr(self, *args: str, stdin: IO[bytes] | None = None, timeout: float = 120) -> str:
        result = subprocess.run(
            [str(self.setup.bins.ctr), "--address", str(self.paths.containerd_socket), *args],
            check=True,
            stdin=stdin,
            capture_output=True,
            timeout=timeout,
        )
        return result.stdout.decode()

    def _start_containerd(self, timeout: float) -> None:
        proc = self._spawn(
            "containerd",
            [str(self.setup.bins.containerd), "--config", str(self.paths.containerd_config)],
        )

        def answers() -> bool:
            self._ctr("version", timeout=5)
            return True

        proc.wait_ready(answers, timeout)

    def _load_images(self, images: list[str]) -> None:
        for image in images:
            self.load_image(image)

    def load_image(self, image: str, timeout: float = 300) -> None:
        """Hand a Docker image to the node's containerd (``docker save | ctr import``)."""
        env = {**os.environ, "DOCKER_HOST": self.setup.docker_host}
        save = subprocess.Popen(
            ["docker", "save", image], stdout=subprocess.PIPE, env=env, stderr=subprocess.PIPE
        )
        try:
            self._ctr("-n", "k8s.io", "images", "import", "-", stdin=save.stdout, timeout=timeout)
        finally:
            if save.stdout is not None:
                save.stdout.close()
            save.wait(timeout=timeout)
        if save.returncode != 0:
            raise RuntimeError(
                f"docker save {image} failed: {save.stderr.read() if save.stderr else ''!r}"
            )

    def _start_scheduler(self, timeout: float) -> None:
        port = free_port()
        kubeconfig = str(self.kubeconfig)
        proc = self._spawn(
            "kube-scheduler",
            [
                str(self.setup.bins.kube_scheduler),
                f"--kubeconfig={kubeconfig}",
                f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={port}",
                "--leader-elect=false",
                "--v=1",
            ],
        )
        proc.wait_ready(lambda: _https_ok(f"https://127.0.0.1:{port}/healthz"), timeout)

    def _start_kube_proxy(self, timeout: float) -> None:
        healthz, metrics = free_port(), free_port()
        config = kube_proxy_config(self.kubeconfig, healthz, metrics)
        self.paths.kube_proxy_config.write_text(yaml.safe_dump(config, sort_keys=False))
        proc = self._spawn(
            "kube-proxy",
            [str(self.setup.bins.kube_proxy), f"--config={self.paths.kube_proxy_config}", "--v=1"],
        )

        def serving() -> bool:
            # /healthz: 200 once kube-proxy has synced its rules for the node.
            resp = requests.get(f"http://127.0.0.1:{healthz}/healthz", timeout=2)
            return resp.status_code == 200

        proc.wait_ready(serving, timeout)

    def _start_kubelet(self, timeout: float) -> None:
        self.kubelet_ports = KubeletPorts(serving=free_port(NODE_IP), healthz=free_port())
        config = kubelet_config(self.paths, self.kubelet_ports)
        self.paths.kubelet_config.write_text(yaml.safe_dump(config, sort_keys=False))
        proc = self._spawn(
            "kubelet",
            [
                str(self.setup.bins.kubelet),
                f"--config={self.paths.kubelet_config}",
                f"--kubeconfig={self.kubeconfig}",
                f"--root-dir={self.paths.kubelet_root}",
                f"--cert-dir={self.workdir / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={NODE_IP}",
                "--v=1",
            ],
        )
        port = self.kubelet_ports.healthz
        proc.wait_ready(
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200,
            timeout,
        )

    def expose(self, port: int) -> str:
        """Make ``127.0.0.1:<port>`` reachable from pods as ``<node IP>:<port>``; return that."""
        forwarder = LoopbackForwarder(NODE_IP, port)
        self._forwarders.append(forwarder)
        return forwarder.address

    def _route_kubernetes_service(self) -> None:
        """In-cluster clients (``https://kubernetes.default``) reach the API server."""
        server = self._server()
        self.expose(int(server.rsplit(":", 1)[1]))
        body = kubernetes_service_endpoints(NODE_IP, int(server.rsplit(":", 1)[1]))
        cert = (str(self.pki.admin.cert), str(self.pki.admin.key))
        url = f"{server}/api/v1/namespaces/default/endpoints"
        resp = requests.post(url, json=body, cert=cert, verify=str(self.pki.ca.cert), timeout=10)
        if resp.status_code == 409:
            resp = requests.put(
                f"{url}/kubernetes", json=body, cert=cert, verify=str(self.pki.ca.cert), timeout=10
            )
        resp.raise_for_status()

    def _server(self) -> str:
        config = yaml.safe_load(self.kubeconfig.read_text())
        server: str = config["clusters"][0]["cluster"]["server"]
        return server

    def wait_ready(self, timeout: float) -> None:
        """Wait until the Node object reports Ready=True; fail fast if the kubelet dies."""
        kubelet = next(p for p in self.processes if p.name == "kubelet")
        kubelet.wait_ready(self.is_ready, timeout)

    def is_ready(self) -> bool:
        node = self._api_get(f"/api/v1/nodes/{NODE_NAME}")
        if node is None:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    def _api_get(self, path: str) -> dict[str, Any] | None:
        cert = (str(self.pki.admin.cert), str(self.pki.admin.key))
        resp = requests.get(
            f"{self._server()}{path}", cert=cert, verify=str(self.pki.ca.cert), timeout=5
        )
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        return body

    def endpoints(self) -> dict[str, str]:
        return {"node": f"{NODE_NAME} {NODE_IP} (pods {POD_CIDR}, bridge {BRIDGE})"}

    def pids(self) -> Iterable[int]:
        return [p.pid for p in self.processes if p.pid is not None]


def _https_ok(url: str) -> bool:
    """GET a component's own self-signed health endpoint on loopback."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        return requests.get(url, verify=False, timeout=2).status_code == 200
