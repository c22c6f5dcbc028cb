"""Status writes and their Events, off the evaluation path.

An evaluation that must write its status (something a user reads changed) hands the
write here and goes on; writer threads drain the queue through the client-side rate
limit. Two properties make this safe and bounded:

* **One pending write per object.** A newer status replaces one not yet written (the
  API server only ever needs the latest), and the Events owed meanwhile are kept, in
  order, up to a bound. So the queue never holds more than one entry per object, and
  a burst of changes costs one write, not many.
* **Events before the status.** An object's Events are posted before its status, so a
  kill loses at most the unwritten status; the next evaluation then computes the same
  transitions from the old status and posts them again (at least once, never lost).

Without this, every worker waiting for a rate-limit token also held up the evaluations
that had nothing to write: at 2,000 SLOs the first pass's writes made every evaluation
late, and lateness is itself a status change.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from crestline.adapters.kube import ObjectRef
from crestline.policy.conditions import Event
from crestline.runtime import metrics
from crestline.runtime.errors import Fenced
from crestline.runtime.ports import Writer

log = logging.getLogger("crestline.writes")
MAX_PENDING_EVENTS = 20
#: A write mostly waits for the API server's round trip (100-200 ms on a busy control
#: plane), and the client-side rate limit (--kube-qps), not the thread count, bounds the
#: load on it. With 2 threads a replica taking over 250 SLOs needed ~20 s to write their
#: statuses (benchmarks/scale.py failover); threads are cheap next to that.
WRITER_THREADS = 8


@dataclass
class _Pending:
    plural: str
    ref: ObjectRef
    events: list[Event] = field(default_factory=list)
    status: Mapping[str, Any] | None = None
    on_written: Callable[[], None] | None = None


class StatusQueue:
    def __init__(
        self,
        writer: Writer,
        *,
        fence: Callable[[tuple[str, str]], None],
        threads: int = WRITER_THREADS,
    ) -> None:
        self.writer = writer
        self.fence = fence
        self._pending: OrderedDict[Hashable, _Pending] = OrderedDict()
        self._ready = threading.Condition()
        self._stopped = False
        self._threads = [
            threading.Thread(target=self._drain, name=f"crestline-writer-{i}", daemon=True)
            for i in range(threads)
        ]
        self._busy: set[Hashable] = set()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        with self._ready:
            self._stopped = True
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return len(self._pending)

    def submit(
        self,
        plural: str,
        ref: ObjectRef,
        *,
        events: tuple[Event, ...] = (),
        status: Mapping[str, Any] | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        """Queue ``events`` and (if given) ``status`` for ``ref``; a pending status for the
        same object is replaced, its pending Events are kept."""
        if not events and status is None:
            return
        key = (plural, ref.namespace, ref.name)
        with self._ready:
            pending = self._pending.get(key)
            if pending is None:
                pending = _Pending(plural, ref)
                self._pending[key] = pending
            pending.events = [*pending.events, *events][-MAX_PENDING_EVENTS:]
            if status is not None:
                pending.status = status
                pending.on_written = on_written
            metrics.STATUS_QUEUE.set(len(self._pending))
            self._ready.notify()

    def _take(self) -> tuple[Hashable, _Pending] | None:
        with self._ready:
            while not self._stopped:
                key = next((k for k in self._pending if k not in self._busy), None)
                if key is not None:
                    self._busy.add(key)
                    pending = self._pending.pop(key)
                    metrics.STATUS_QUEUE.set(len(self._pending))
                    return key, pending
                self._ready.wait()
            return None

    def _drain(self) -> None:
        while (taken := self._take()) is not None:
            key, pending = taken
            try:
                self._write(pending)
            except Exception:
                log.exception("writing %s/%s failed", pending.ref.namespace, pending.ref.name)
            finally:
                with self._ready:
                    self._busy.discard(key)
                    self._ready.notify()

    def _write(self, pending: _Pending) -> None:
        ref = pending.ref
        try:
            self.fence((ref.namespace, ref.name))
        except Fenced:
            return  # another replica owns it now: its own evaluation writes
        for event in pending.events:
            try:
                self.writer.post_event(ref, event)
            except ApiException as exc:
                log.warning(
                    "posting an Event on %s/%s failed: %s", ref.namespace, ref.name, exc.status
                )
        if pending.status is None:
            return
        try:
            self.writer.patch_status(pending.plural, ref.namespace, ref.name, pending.status)
        except ApiException as exc:
            if exc.status == 404:
                return  # deleted meanwhile
            raise
        metrics.STATUS_WRITES.labels(pending.plural, "written").inc()
        if pending.on_written is not None:
            pending.on_written()

    def run_pending(self) -> None:
        """Write everything pending in the calling thread (tests; a clean shutdown)."""
        while True:
            with self._ready:
                key = next((k for k in self._pending if k not in self._busy), None)
                if key is None:
                    return
                pending = self._pending.pop(key)
            self._write(pending)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending or being written (for tests and shutdown)."""
        with self._ready:
            return self._ready.wait_for(lambda: not self._pending and not self._busy, timeout)
