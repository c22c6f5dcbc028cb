"""Where the stack's executables come from.

Control-plane binaries are built from the Go module proxy by ``controlplane/build.sh``
(cached per pinned version; a warm call only prints the directory). Set
``CRESTLINE_BIN_DIR`` to use binaries from elsewhere. Prometheus, Alertmanager and
Redis come from Debian packages; a missing one is reported with the package to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_DEBIAN = {
    "prometheus": (("prometheus",), "prometheus"),
    "alertmanager": (("prometheus-alertmanager", "alertmanager"), "prometheus-alertmanager"),
    "redis-server": (("redis-server",), "redis-server"),
}


class MissingBinary(RuntimeError):
    """An executable the stack needs is not installed; the message says how to get it."""


@dataclass(frozen=True)
class ControlPlaneBinaries:
    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path


def repo_root() -> Path | None:
    """The source checkout this package runs from, if any (found by ``controlplane/``)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "controlplane" / "build.sh").is_file():
            return parent
    return None


def control_plane_binaries() -> ControlPlaneBinaries:
    """Locate (building once if needed) etcd, kube-apiserver, kube-controller-manager, kubectl."""
    override = os.environ.get("CRESTLINE_BIN_DIR")
    if override:
        bin_dir = Path(override)
    else:
        root = repo_root()
        if root is None:
            raise MissingBinary(
                "control-plane binaries not found: set CRESTLINE_BIN_DIR to a directory with "
                "etcd, kube-apiserver, kube-controller-manager and kubectl, or run from a "
                "crestline checkout (controlplane/build.sh builds them)"
            )
        result = subprocess.run(
            ["bash", str(root / "controlplane" / "build.sh")],
            check=False,
            stdout=subprocess.PIPE,
            text=True,
        )
        if result.returncode != 0:
            raise MissingBinary("controlplane/build.sh failed; see its output above")
        bin_dir = Path(result.stdout.strip().splitlines()[-1])
    bins = ControlPlaneBinaries(
        etcd=bin_dir / "etcd",
        kube_apiserver=bin_dir / "kube-apiserver",
        kube_controller_manager=bin_dir / "kube-controller-manager",
        kubectl=bin_dir / "kubectl",
    )
    for path in (bins.etcd, bins.kube_apiserver, bins.kube_controller_manager, bins.kubectl):
        if not os.access(path, os.X_OK):
            raise MissingBinary(f"{path} is missing or not executable")
    return bins


def debian_binary(tool: str) -> Path:
    """Find a Debian-packaged tool (prometheus, alertmanager, redis-server) on PATH."""
    names, package = _DEBIAN[tool]
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise MissingBinary(f"{tool} not found on PATH: install it with `apt-get install {package}`")
