"""A SIGKILLed harness leaves nothing of its node behind: no pod, shim, mount, bridge, rule.

The harness runs as a separate process with a running pod; the test kills it with
SIGKILL (no Python clean-up can run) and checks that the node's reaper removed
everything. It starts a node of its own, so it cannot run while this session already
holds one (one node per machine); then it skips and says how to run it alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from crestline_dev.stack.node_config import BRIDGE, CGROUP_ROOT

# Generous: the first test pays for a cold build of the node (binaries, images, Prometheus).
pytestmark = [pytest.mark.node, pytest.mark.timeout(1800)]

_HARNESS = textwrap.dedent(
    """
    import sys, time
    from crestline_dev.stack import Stack, StackConfig
    from crestline_dev.workload.deploy import workload_deployment
    from kubernetes import client, config
    cfg = StackConfig(node=True, prometheus=False, alertmanager=False, redis=False)
    with Stack(cfg) as stack:
        kube = config.new_client_from_config(config_file=str(stack.kubeconfig))
        client.AppsV1Api(kube).create_namespaced_deployment("default", workload_deployment("w", 1))
        while not (client.AppsV1Api(kube).read_namespaced_deployment("w", "default")
                   .status.ready_replicas):
            time.sleep(0.2)
        print("READY", stack.workdir, flush=True)
        time.sleep(600)
    """
)


def _node_processes(workdir: Path) -> list[int]:
    needle = str(workdir).encode()
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def _workload_processes() -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if b"/app/workload_server.py" in cmdline.read_bytes():
                pids.append(int(cmdline.parent.name))
        except OSError:
            continue
    return pids


def _gone(timeout: float, check: Callable[[], list[int]]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not check():
            return True
        time.sleep(0.5)
    return False


def test_sigkill_of_the_harness_removes_the_whole_node(request: pytest.FixtureRequest) -> None:
    if any("node_stack" in getattr(item, "fixturenames", ()) for item in request.session.items):
        pytest.skip(
            "this session also runs a node (one per machine); "
            "run alone: pytest tests/node/test_node_lifecycle.py"
        )
    proc = subprocess.Popen(
        [sys.executable, "-c", _HARNESS],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ},
    )
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY"), f"harness did not come up: {line!r}"
        workdir = Path(line.split()[1]) / "node"
        assert _workload_processes()
        assert _node_processes(workdir)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    assert _gone(60, lambda: _node_processes(workdir)), "node processes left"
    assert _gone(10, _workload_processes), "pod processes left"
    assert not Path(f"/sys/class/net/{BRIDGE}").exists()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(workdir) not in mounts
    assert not any(Path("/sys/fs/cgroup").glob(f"*/{CGROUP_ROOT}"))
    rules = subprocess.run(
        ["iptables-save"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert "KUBE-" not in rules
