"""The harness leaves nothing behind: not after Ctrl-C, not after SIGTERM, not after SIGKILL.

Each test runs ``crestline stack up`` as a separate process with its own TMPDIR, finds
the processes it started, ends it the way a user or CI would, and checks that every
child is gone and the temp dir removed (after SIGKILL the dir can only be swept by the
next stack, which is what ``sweep_orphans`` does).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crestline_dev.stack.stack import sweep_orphans

pytestmark = pytest.mark.stack


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _wait_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.2)
    return [p for p in pids if _alive(p)]


def _start_stack(tmp_path: Path, *flags: str) -> tuple[subprocess.Popen[str], list[int], Path]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crestline", "stack", "up", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("export CRESTLINE_REDIS_URL="):
            break
    else:
        raise AssertionError(f"stack did not come up: {''.join(lines)}")
    workdirs = list(tmp_path.glob("crestline-stack-*"))
    assert len(workdirs) == 1
    kids = _children(proc.pid)
    return proc, kids, workdirs[0]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_children_and_removes_tempdir(tmp_path: Path, sig: signal.Signals) -> None:
    proc, kids, workdir = _start_stack(tmp_path, "--no-kubernetes")
    try:
        assert len(kids) == 3  # prometheus, alertmanager, redis
    finally:
        proc.send_signal(sig)
        proc.wait(timeout=30)
    assert _wait_gone(kids) == []
    assert not workdir.exists()


def test_sigkill_of_the_harness_kills_every_child(tmp_path: Path) -> None:
    proc, kids, workdir = _start_stack(tmp_path)
    try:
        names = {
            Path(Path(f"/proc/{k}/cmdline").read_bytes().split(b"\0")[0].decode()).name.split()[0]
            for k in kids
        }
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert {"etcd", "kube-apiserver", "kube-controller-manager", "redis-server"} <= names
    assert _wait_gone(kids) == []
    # The dir of a dead owner is swept by the next stack.
    assert sweep_orphans(tmp_path) == [workdir]
    assert not workdir.exists()
