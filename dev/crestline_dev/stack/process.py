"""One child process of the stack: started, awaited until ready, and reliably stopped.

Why the care: a test run that fails, is interrupted, or whose runner is killed must
not leave an etcd or kube-apiserver behind. Three layers guarantee that:

1. Normal exit: :meth:`ManagedProcess.stop` sends SIGTERM, then SIGKILL after a grace
   period, to the child's whole process group.
2. Abnormal exit of Python (uncaught exception, SIGTERM): the owning :class:`Stack`
   registers ``atexit`` and signal hooks that call ``stop``.
3. The harness itself is SIGKILLed: each child is started with Linux's
   ``PR_SET_PDEATHSIG`` = SIGKILL, so the kernel kills it when its parent dies.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
# Loaded in the parent: the pre-exec hook runs between fork and exec, where loading a
# library (taking the loader's locks) could deadlock if another thread held them.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Child-side pre-exec hook: ask the kernel to SIGKILL us when the parent dies."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class ProcessFailed(RuntimeError):
    """A stack process exited early or never became ready; the message carries its log tail."""


class ManagedProcess:
    """A named child process with its own log file and a readiness probe."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = env
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> None:
        """Start the process in its own process group, output to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
                env=self.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - async-signal-safe
            )

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            with self.log_path.open("r", errors="replace") as fh:
                return "".join(collections.deque(fh, maxlen=lines))
        except FileNotFoundError:
            return "(no log)"

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
        """Poll ``probe`` until it returns True; fail fast if the process dies meanwhile."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.running():
                code = self._proc.returncode if self._proc else None
                raise ProcessFailed(
                    f"{self.name} exited with code {code} before it was ready; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                if probe():
                    return
            except Exception as exc:  # a probe failing is expected while starting
                last_error = exc
            time.sleep(interval)
        raise ProcessFailed(
            f"{self.name} not ready after {timeout:.0f}s (last probe error: {last_error}); "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def stop(self, grace: float = 10.0) -> None:
        """Terminate the process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            self._signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        # The group may hold grandchildren even after the leader exited.
        self._signal_group(proc.pid, signal.SIGKILL)
        self._proc = None

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
