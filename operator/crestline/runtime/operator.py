"""The running operator: watch caches, shard ownership, one scheduler, bounded workers.

kopf delivers watch events (:mod:`crestline.handlers` forwards them to the ``*_event``
methods here, on its event loop). Objects go into the cache; the ones in shards this
replica owns go into the scheduler, which runs each due evaluation on a bounded thread
pool (the Kubernetes client, requests and redis block). Shard Leases are renewed by a
loop with a thread of its own, so a busy worker pool can never delay a renewal and cost
the replica its shards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from crestline.adapters.objects import ScalerRecord, WorkloadRecord
from crestline.runtime import metrics
from crestline.runtime.cache import Key, ObjectRecord
from crestline.runtime.errors import Fenced
from crestline.runtime.eventdays import EventDayRunner
from crestline.runtime.scheduler import Scheduler
from crestline.runtime.shards import ShardLeases, shard_of
from crestline.runtime.slos import SloRunner
from crestline.runtime.writes import StatusQueue

log = logging.getLogger("crestline.runtime")

SLO, EVENTDAY = "slo", "eventday"
DEFAULT_INTERVAL = {SLO: 30.0, EVENTDAY: 5.0}
NEW_SPREAD = 2.0  # objects created (or taken over) while running start within this


@dataclass(frozen=True)
class Sizing:
    workers: int = 8
    shards: int = 4
    lease_seconds: int = 10


class Runtime:
    def __init__(
        self,
        *,
        slos: SloRunner,
        eventdays: EventDayRunner,
        leases: ShardLeases,
        sizing: Sizing,
        queue: StatusQueue,
    ) -> None:
        self.cache = slos.cache
        self.view = slos.view
        self.slos = slos
        self.eventdays = eventdays
        self.leases = leases
        self.sizing = sizing
        self.queue = queue
        self.scheduler = Scheduler(self._run, workers=sizing.workers)
        self._pool = ThreadPoolExecutor(sizing.workers, thread_name_prefix="crestline-eval")
        self._lease_pool = ThreadPoolExecutor(1, thread_name_prefix="crestline-lease")
        self._owned: frozenset[int] = frozenset()
        self._loop: asyncio.AbstractEventLoop | None = None
        leases.on_change = self._owned_changed

    # -- shard ownership ------------------------------------------------------------------------
    def shard(self, key: Key) -> int:
        return shard_of(key[0], key[1], self.sizing.shards)

    def owns(self, key: Key) -> bool:
        return self.shard(key) in self._owned

    def fence(self, key: Key) -> None:
        """Raise :class:`Fenced` unless this replica holds ``key``'s shard right now."""
        if not self.leases.owns(self.shard(key)):
            raise Fenced(f"shard {self.shard(key)} of {key[0]}/{key[1]} is not held")

    def _owned_changed(self, owned: frozenset[int]) -> None:
        """Called from the lease thread: hop onto the loop to change the schedule."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._apply_ownership, owned)

    def _apply_ownership(self, owned: frozenset[int]) -> None:
        gained, lost = owned - self._owned, self._owned - owned
        self._owned = owned
        metrics.SHARDS_OWNED.set(len(owned))
        for kind, keys in ((SLO, self.cache.slo_keys()), (EVENTDAY, self.cache.eventday_keys())):
            for key in keys:
                shard = self.shard(key)
                if shard in gained:
                    self.scheduler.add((kind, *key), self._interval(kind, key), spread=NEW_SPREAD)
                elif shard in lost:
                    self._drop(kind, key)
        self._count()

    def _drop(self, kind: str, key: Key) -> None:
        self.scheduler.remove((kind, *key))
        (self.slos if kind == SLO else self.eventdays).forget(key)

    def _count(self) -> None:
        kinds = [k[0] for k in self.scheduler.scheduled() if isinstance(k, tuple)]
        for kind in (SLO, EVENTDAY):
            metrics.OBJECTS.labels(kind).set(kinds.count(kind))

    # -- watch events (on the loop) -------------------------------------------------------------
    def slo_event(self, body: Mapping[str, Any], *, kind: str | None) -> None:
        """A PerformanceSLO watch event (``kind``: ADDED, MODIFIED, DELETED, or None while
        kopf lists what exists at start-up)."""
        record = ObjectRecord.from_body(body)
        if kind == "DELETED":
            self.cache.drop_slo(record.key)
            self._drop(SLO, record.key)
        else:
            old = self.cache.slo(record.key)
            self.cache.put_slo(record)
            self._track(SLO, record.key, changed=_spec_changed(old, record), listed=kind is None)
        self._count()

    def eventday_event(self, body: Mapping[str, Any], *, kind: str | None) -> None:
        record = ObjectRecord.from_body(body)
        self.view.forget(record.key)
        if kind == "DELETED":
            self.cache.drop_eventday(record.key)
            self._drop(EVENTDAY, record.key)
            self._wake_selected(record)
        else:
            old = self.cache.eventday(record.key)
            self.cache.put_eventday(record)
            changed = _spec_changed(old, record) or record.deleting
            self._track(EVENTDAY, record.key, changed=changed, listed=kind is None)
            if changed:
                self._wake_selected(record)
        self._count()

    def _interval(self, kind: str, key: Key) -> float:
        if kind == SLO:
            record = self.cache.slo(key)
            evaluation = (record.spec.get("evaluation") or {}) if record else {}
            value = evaluation.get("intervalSeconds")
            if isinstance(value, int | float) and value > 0:
                return float(value)
        return DEFAULT_INTERVAL[kind]

    def _track(self, kind: str, key: Key, *, changed: bool, listed: bool) -> None:
        """Schedule an owned object: what existed at start-up is spread over its interval
        (no thundering herd after a restart); what is created later starts within seconds."""
        if not self.owns(key):
            return
        full = (kind, *key)
        if full not in self.scheduler:
            interval = self._interval(kind, key)
            self.scheduler.add(full, interval, spread=None if listed else NEW_SPREAD)
        elif changed:
            self.scheduler.wake(full)

    def _wake_selected(self, record: ObjectRecord) -> None:
        """An EventDay changed: the SLOs it selects see it at once, not at their next tick."""
        selector = (record.spec.get("selector") or {}).get("matchLabels") or {}
        for slo in self.cache.slos_in(record.namespace):
            if all(slo.labels.get(k) == v for k, v in selector.items()):
                self.scheduler.wake((SLO, *slo.key))

    def workload_event(
        self, namespace: str, kind: str, name: str, rec: WorkloadRecord | None
    ) -> None:
        if rec is None:
            self.cache.drop_workload(namespace, kind, name)
        else:
            self.cache.put_workload(namespace, kind, name, rec)

    def scaler_event(self, namespace: str, rec: ScalerRecord, *, deleted: bool) -> None:
        if deleted:
            self.cache.drop_scaler(namespace, rec.kind, rec.name)
        else:
            self.cache.put_scaler(namespace, rec)

    def secret_event(self, key: Key, data: Mapping[str, str] | None) -> None:
        if data is None:
            self.cache.drop_secret(key)
        else:
            self.cache.put_secret(key, data)

    # -- running --------------------------------------------------------------------------------
    async def _run(self, full: Hashable, lag: float) -> float:
        assert isinstance(full, tuple)
        kind, namespace, name = str(full[0]), str(full[1]), str(full[2])
        key = (namespace, name)
        runner: Callable[[Key, float], float] = (
            self.slos.evaluate if kind == SLO else self.eventdays.evaluate
        )
        metrics.EVALUATION_LAG.labels(kind).observe(lag)
        metrics.EVALUATIONS.labels(kind).inc()
        start = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, runner, key, lag)
        finally:
            metrics.EVALUATION_SECONDS.labels(kind).observe(time.monotonic() - start)

    async def _lease_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                await loop.run_in_executor(self._lease_pool, self.leases.step)
            except Exception:
                log.exception("shard lease pass failed")
            await asyncio.sleep(self.leases.renew_every)

    async def serve(self) -> None:
        """Run until cancelled; on the way out give the shards up for a fast handover."""
        self._loop = asyncio.get_running_loop()
        self.queue.start()
        tasks = [
            asyncio.create_task(self.scheduler.serve(), name="crestline-scheduler"),
            asyncio.create_task(self._lease_loop(), name="crestline-leases"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            self.queue.stop()
            with contextlib.suppress(Exception):
                await asyncio.get_running_loop().run_in_executor(
                    self._lease_pool, self.leases.release_all
                )
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._lease_pool.shutdown(wait=False, cancel_futures=True)


def _spec_changed(old: ObjectRecord | None, new: ObjectRecord) -> bool:
    """A change a user made (spec, labels, on-call annotations), not our own status write."""
    if old is None:
        return False
    return (old.generation, old.labels, old.annotations, old.deleting) != (
        new.generation,
        new.labels,
        new.annotations,
        new.deleting,
    )
