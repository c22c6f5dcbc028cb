"""Compose the local stack and own its lifetime.

:class:`Stack` is a context manager. It creates one private temp dir, starts the
selected components on free loopback ports, and on exit stops them and removes the
dir. Exit includes an exception, Ctrl-C, SIGTERM (turned into ``SystemExit`` while
the stack runs) and interpreter shutdown (``atexit``). If the process is SIGKILLed,
the children die with it (see :mod:`crestline_dev.stack.process`) and the orphaned temp
dir is swept by the next stack that starts.

Set ``CRESTLINE_USE_EXISTING_CLUSTER=1`` (or ``StackConfig.use_existing_cluster``) to
run against the cluster ``KUBECONFIG`` points at instead of starting a control plane;
Prometheus, Alertmanager and Redis still run locally.

``StackConfig(node=True)`` adds a real node (:mod:`crestline_dev.stack.node`):
kube-scheduler, kube-proxy and a kubelet on its own containerd, so pods really run.
It is off by default: it needs root, Docker and a few more seconds to start.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from crestline_dev.stack.binaries import ControlPlaneBinaries, control_plane_binaries, debian_binary
from crestline_dev.stack.controlplane import ControlPlane
from crestline_dev.stack.monitoring import Alertmanager, Prometheus, Redis
from crestline_dev.stack.node import Node, prepare_node

_TMP_PREFIX = "crestline-stack-"
_OWNER_RE = re.compile(rf"^{_TMP_PREFIX}(\d+)-")
USE_EXISTING_ENV = "CRESTLINE_USE_EXISTING_CLUSTER"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class StackConfig:
    """Which components to start, and how."""

    kubernetes: bool = True
    prometheus: bool = True
    alertmanager: bool = True
    redis: bool = True
    node: bool = False  # a real node (kubelet, containerd, scheduler, kube-proxy): pods run
    scrape_interval: str = "1s"
    use_existing_cluster: bool = field(default_factory=lambda: _env_flag(USE_EXISTING_ENV))


def sweep_orphans(tmp_root: Path | None = None) -> list[Path]:
    """Remove stack temp dirs whose owning process no longer exists; return what was removed."""
    root = tmp_root or Path(tempfile.gettempdir())
    removed = []
    for entry in root.glob(f"{_TMP_PREFIX}*"):
        match = _OWNER_RE.match(entry.name)
        if not match or not entry.is_dir():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        except PermissionError:
            pass  # alive, owned by someone else
    return removed


class Stack:
    """The running local stack. Use ``with Stack() as stack:``."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.workdir: Path | None = None
        self.control_plane: ControlPlane | None = None
        self.prometheus: Prometheus | None = None
        self.alertmanager: Alertmanager | None = None
        self.redis: Redis | None = None
        self.node: Node | None = None
        self._kubeconfig: Path | None = None
        self._bins: ControlPlaneBinaries | None = None
        self._stopped = True
        self._old_sigterm: Any = None

    # -- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start every selected component; on any failure, stop what already started."""
        sweep_orphans()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-"))
        self._stopped = False
        self._install_exit_hooks()
        try:
            self._start_components()
        except BaseException:
            self.stop()
            raise
        (self.workdir / "stack.json").write_text(json.dumps(self.endpoints(), indent=2))

    def _start_components(self) -> None:
        assert self.workdir is not None
        cfg = self.config
        if cfg.node and (not cfg.kubernetes or cfg.use_existing_cluster):
            raise ValueError("a local node needs the local control plane (kubernetes=True)")
        with ThreadPoolExecutor(1) as pool:
            # The node's binaries and images build while the control plane starts.
            node_setup = pool.submit(prepare_node) if cfg.node else None
            if cfg.kubernetes:
                if cfg.use_existing_cluster:
                    self._kubeconfig = self._existing_kubeconfig()
                else:
                    self._bins = control_plane_binaries()
                    self.control_plane = ControlPlane(self.workdir / "kube", self._bins)
                    self.control_plane.start()
                    self._kubeconfig = self.control_plane.kubeconfig
            if node_setup is not None:
                assert self.control_plane is not None
                assert self.control_plane.pki is not None
                assert self._kubeconfig is not None
                self.node = Node(
                    self.workdir / "node",
                    self._kubeconfig,
                    self.control_plane.pki,
                    node_setup.result(),
                )
                self.node.start()
        if cfg.alertmanager:
            self.alertmanager = Alertmanager(debian_binary("alertmanager"), self.workdir / "am")
            self.alertmanager.start()
        if cfg.prometheus:
            # A node's pods are found by Kubernetes SD, which Debian's build lacks.
            binary = self.node.setup.prometheus if self.node else debian_binary("prometheus")
            self.prometheus = Prometheus(
                binary,
                self.workdir / "prometheus",
                scrape_interval=cfg.scrape_interval,
                alertmanager_url=self.alertmanager.url if self.alertmanager else None,
            )
            self.prometheus.start()
        if cfg.redis:
            self.redis = Redis(debian_binary("redis-server"), self.workdir / "redis")
            self.redis.start()

    @staticmethod
    def _existing_kubeconfig() -> Path:
        raw = os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        path = Path(raw.split(os.pathsep)[0]).expanduser()
        if not path.is_file():
            raise RuntimeError(
                f"{USE_EXISTING_ENV} is set but no kubeconfig exists at {path}; "
                "point KUBECONFIG at the cluster to use"
            )
        return path

    def stop(self) -> None:
        """Stop everything this stack started and remove its temp dir. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        errors: list[BaseException] = []
        components = (self.redis, self.prometheus, self.alertmanager, self.node, self.control_plane)
        for component in components:
            if component is None:
                continue
            try:
                component.stop()
            except BaseException as exc:  # keep stopping the rest
                errors.append(exc)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
        self._remove_exit_hooks()
        if errors:
            raise errors[0]

    # -- exit hooks ----------------------------------------------------------------
    def _install_exit_hooks(self) -> None:
        atexit.register(self.stop)
        if threading.current_thread() is threading.main_thread():
            self._old_sigterm = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def _remove_exit_hooks(self) -> None:
        atexit.unregister(self.stop)
        if self._old_sigterm is not None and threading.current_thread() is threading.main_thread():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signal.SIGTERM, self._old_sigterm)
            self._old_sigterm = None

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        # Unwind the caller's stack so its finally blocks and context managers run.
        raise SystemExit(128 + signum)

    # -- what clients need -----------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        if self._kubeconfig is None:
            raise RuntimeError("this stack has no Kubernetes cluster")
        return self._kubeconfig

    @property
    def kubectl(self) -> str:
        """The kubectl built with the control plane, else the one on PATH."""
        if self._bins is not None:
            return str(self._bins.kubectl)
        return shutil.which("kubectl") or "kubectl"

    def endpoints(self) -> dict[str, str]:
        """Where each component listens, for printing and for child processes."""
        out: dict[str, str] = {}
        if self._kubeconfig:
            out["kubeconfig"] = str(self._kubeconfig)
        if self.control_plane:
            out["kube-apiserver"] = self.control_plane.api_url
        if self.node:
            out.update(self.node.endpoints())
        if self.prometheus:
            out["prometheus"] = self.prometheus.url
        if self.alertmanager:
            out["alertmanager"] = self.alertmanager.url
        if self.redis:
            out["redis"] = self.redis.url
        return out

    def env(self) -> dict[str, str]:
        """Environment variables that point a child process (operator, kubectl) at this stack."""
        names = {
            "kubeconfig": "KUBECONFIG",
            "prometheus": "CRESTLINE_PROMETHEUS_URL",
            "alertmanager": "CRESTLINE_ALERTMANAGER_URL",
            "redis": "CRESTLINE_REDIS_URL",
        }
        return {names[k]: v for k, v in self.endpoints().items() if k in names}
