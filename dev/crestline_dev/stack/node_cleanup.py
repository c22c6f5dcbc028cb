"""Leave nothing of a real node behind, even when the harness is SIGKILLed.

A node's processes do not all die with the harness. ``PR_SET_PDEATHSIG`` (see
:mod:`crestline_dev.stack.process`) stops the kubelet, containerd and kube-proxy, but
containerd starts one shim per pod that detaches from it on purpose (pods survive a
containerd restart), and the containers are the shims' children. The node also leaves
host state: mounts (container root filesystems, pod volumes, network namespaces), the
bridge, cgroups, kube-proxy's iptables rules and the node's own forwarding rule.

:func:`cleanup` removes all of that; it is idempotent. It runs twice over:

* from :meth:`Node.stop <crestline_dev.stack.node.Node.stop>` on a normal stop;
* from a *reaper*: a small process started with the node in a session of its own and
  without the parent-death signal, blocked reading a pipe from the harness. When the
  harness dies, however it dies, the pipe closes and the reaper cleans up. A normal
  stop writes one byte first, which tells the reaper there is nothing left to do.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from crestline_dev.stack.node_config import BRIDGE, CGROUP_ROOT

_MNT_DETACH = 2
_CGROUP_FS = Path("/sys/fs/cgroup")
DISARM = b"x"


def _cgroup_dirs() -> list[Path]:
    """Our cgroup in every hierarchy (cgroup v1: one per controller; v2: one)."""
    if (_CGROUP_FS / "cgroup.controllers").exists():
        return [_CGROUP_FS / CGROUP_ROOT]
    return [d / CGROUP_ROOT for d in _CGROUP_FS.iterdir() if d.is_dir() and not d.is_symlink()]


def make_cgroups() -> None:
    """Create the node's cgroup in every hierarchy (the kubelet requires it to exist)."""
    for path in _cgroup_dirs():
        path.mkdir(exist_ok=True)
        if path.parent.name == "cpuset" or (path.parent / "cpuset.cpus").exists():
            # cgroup v1 cpuset children start empty and accept no task until filled in.
            for name in ("cpuset.cpus", "cpuset.mems"):
                mine = path / name
                if mine.exists() and not mine.read_text().strip():
                    mine.write_text((path.parent / name).read_text())


def _dirs_under(top: Path) -> list[Path]:
    """``top`` and every directory below it. Cgroups come and go while we look (the
    runtime removes a container's as it exits): one that vanished is skipped."""
    return [Path(root) for root, _, _ in os.walk(top, onerror=lambda _: None)]


def _cgroup_pids() -> set[int]:
    pids: set[int] = set()
    for top in _cgroup_dirs():
        for directory in _dirs_under(top):
            with contextlib.suppress(OSError):
                pids.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
    return pids


def kill_pods(timeout: float = 10.0) -> None:
    """SIGKILL every process in the node's cgroup (all containers), then remove the cgroups."""
    deadline = time.monotonic() + timeout
    while (pids := _cgroup_pids()) and time.monotonic() < deadline:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)
    for top in _cgroup_dirs():
        if not top.is_dir():
            continue
        # Deepest first: a cgroup can only be removed once its children are gone.
        for path in sorted(_dirs_under(top), key=lambda p: -len(p.parts)):
            with contextlib.suppress(OSError):
                path.rmdir()


def kill_shims(containerd_socket: Path) -> None:
    """SIGKILL the containerd shims that belong to the containerd on ``containerd_socket``."""
    needle = str(containerd_socket).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if args and b"containerd-shim" in args[0] and needle in args:
                os.kill(int(cmdline.parent.name), signal.SIGKILL)


def unmount_under(directory: Path) -> None:
    """Lazily unmount every mount point below ``directory``, deepest first."""
    libc = ctypes.CDLL(None, use_errno=True)
    prefix = str(directory.resolve()).rstrip("/") + "/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces and the like octal-escaped.
        point = line.split()[4].encode().decode("unicode_escape")
        if point.startswith(prefix):
            points.append(point)
    for point in sorted(points, key=len, reverse=True):
        libc.umount2(point.encode(), _MNT_DETACH)


# Chains the kubelet makes (it has no --cleanup of its own), in every table it uses.
_KUBELET_CHAINS = {
    "filter": ["KUBE-FIREWALL", "KUBE-KUBELET-CANARY"],
    "nat": ["KUBE-KUBELET-CANARY"],
    "mangle": ["KUBE-KUBELET-CANARY", "KUBE-IPTABLES-HINT"],
}


def remove_kubelet_chains() -> None:
    """Delete the kubelet's iptables chains and the jumps to them (IPv4 and IPv6)."""
    for tool in ("iptables", "ip6tables"):
        for table, chains in _KUBELET_CHAINS.items():
            for builtin in ("INPUT", "OUTPUT"):
                for chain in chains:
                    _run([tool, "-w", "5", "-t", table, "-D", builtin, "-j", chain], timeout=10)
            for chain in chains:
                _run([tool, "-w", "5", "-t", table, "-F", chain], timeout=10)
                _run([tool, "-w", "5", "-t", table, "-X", chain], timeout=10)


# Pod-to-pod traffic is forwarded by the host (a pod's packet to a cluster IP is DNATed
# and routed back onto the bridge) and, with br_netfilter, even bridged frames go
# through iptables' FORWARD chain - whose policy Docker sets to DROP. So the node lets
# through what stays on its own bridge, from a chain of its own: nothing that leaves it.
FORWARD_CHAIN = "CRESTLINE-FORWARD"


def allow_bridge_forwarding() -> None:
    """Accept forwarding from the node's bridge back onto it (pods to pods, via Services)."""
    iptables = ["iptables", "-w", "5", "-t", "filter"]
    remove_bridge_forwarding()
    for args in (
        ["-N", FORWARD_CHAIN],
        ["-A", FORWARD_CHAIN, "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"],
        ["-I", "FORWARD", "1", "-j", FORWARD_CHAIN],
    ):
        subprocess.run([*iptables, *args], check=True, capture_output=True, timeout=10)


def remove_bridge_forwarding() -> None:
    iptables = ["iptables", "-w", "5", "-t", "filter"]
    for _ in range(3):  # every jump, should one have been added twice
        _run([*iptables, "-D", "FORWARD", "-j", FORWARD_CHAIN], timeout=10)
    _run([*iptables, "-F", FORWARD_CHAIN], timeout=10)
    _run([*iptables, "-X", FORWARD_CHAIN], timeout=10)


def _run(argv: list[str], timeout: float) -> None:
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(argv, check=False, capture_output=True, timeout=timeout)


@dataclass(frozen=True)
class NodeLeftovers:
    """What :func:`cleanup` needs to know about one node."""

    workdir: Path
    containerd_socket: Path
    kube_proxy: Path | None


def cleanup(left: NodeLeftovers, *, remove_workdir: bool = False) -> None:
    """Remove every trace of a node. Safe to call again, and on a node that never started."""
    kill_pods()
    kill_shims(left.containerd_socket)
    if left.workdir.exists():
        unmount_under(left.workdir)
    _run(["ip", "link", "delete", BRIDGE], timeout=10)
    if left.kube_proxy is not None:
        # Removes every chain and rule kube-proxy made, in whichever iptables backend.
        _run([str(left.kube_proxy), "--cleanup"], timeout=30)
    remove_kubelet_chains()
    remove_bridge_forwarding()
    if remove_workdir:
        shutil.rmtree(left.workdir, ignore_errors=True)


class Reaper:
    """The watchdog process that runs :func:`cleanup` if the harness dies first."""

    def __init__(self, left: NodeLeftovers, lock_fd: int) -> None:
        """Start the reaper; it inherits ``lock_fd`` so the node lock outlives the harness.

        A flock belongs to the open file, shared by every process holding it: until the
        reaper has cleaned up (or was disarmed), no other node can start here.
        """
        argv = [
            sys.executable,
            "-m",
            "crestline_dev.stack.node_reaper",
            str(left.workdir),
            str(left.containerd_socket),
            str(left.kube_proxy or ""),
        ]
        # Own session and no parent-death signal: it must outlive the harness.
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(lock_fd,),
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def disarm(self, timeout: float = 10.0) -> None:
        """The harness cleaned up itself: let the reaper exit without doing anything."""
        stdin = self._proc.stdin
        if stdin is not None:
            with contextlib.suppress(BrokenPipeError, ValueError):
                stdin.write(DISARM)
                stdin.close()
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(timeout=5)
