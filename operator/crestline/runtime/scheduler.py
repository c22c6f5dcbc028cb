"""One due-time queue for every object this replica evaluates, and a bounded worker pool.

Why not a task (or a thread) per object: a waiting object should cost a heap entry,
not a thread, so capacity is set by how much work there is, not by a thread count. The
scheduler keeps ``(due, key)`` in a heap; one loop pops what is due and hands it to at
most ``workers`` concurrent runs (blocking calls run in a thread pool of that size, never
on the event loop). A run returns the delay to its next evaluation.

* **Spread.** A new object's first evaluation is at a random point within its interval,
  so a thousand SLOs created at once do not all fire together.
* **No drift, no pile-up.** The next due time is the previous one plus the interval;
  ticks missed while the operator was busy are skipped, not run back to back.
* **Backoff.** A run that raises is retried after its interval, doubled per consecutive
  failure up to twice the interval, with jitter: a 2 s SLO retries within seconds of
  the API server coming back, and a thousand failing objects do not retry in lockstep.
* **Lag is visible.** Every run learns how late it started (``lag``): the runtime turns
  that into a metric and into the ``Lagging`` condition.
* **Wake-ups.** A spec change makes the object due now; a wake-up during a run makes it
  run again right after.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

log = logging.getLogger("crestline.scheduler")

Run = Callable[[Hashable, float], Awaitable[float]]  # (key, lag) -> seconds to the next run


@dataclass
class _Entry:
    interval: float
    due: float
    generation: int = 0  # bumped on every reschedule; stale heap items are skipped
    running: bool = False
    rerun: bool = False
    failures: int = 0


class Scheduler:
    def __init__(
        self,
        run: Run,
        *,
        workers: int,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._run = run
        self._workers = asyncio.Semaphore(workers)
        self._clock = clock
        self._rng = rng or random.Random()
        self._entries: dict[Hashable, _Entry] = {}
        self._heap: list[tuple[float, int, int, Hashable]] = []
        self._seq = 0
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- membership ---------------------------------------------------------------------
    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def scheduled(self) -> list[Hashable]:
        """Every object being evaluated (running or waiting)."""
        return list(self._entries)

    def add(self, key: Hashable, interval: float, *, spread: float | None = None) -> None:
        """Start evaluating ``key``: first at a random point within ``spread`` (default: its
        interval; an object taken over from a failed replica is spread more tightly)."""
        if key in self._entries:
            return
        window = interval if spread is None else min(spread, interval)
        entry = _Entry(interval, self._clock() + self._rng.uniform(0, window))
        self._entries[key] = entry
        self._push(key, entry)

    def remove(self, key: Hashable) -> None:
        """Stop evaluating ``key`` (a run in progress finishes; it is not rescheduled)."""
        self._entries.pop(key, None)

    def wake(self, key: Hashable) -> None:
        """Evaluate ``key`` now (or right after the run in progress)."""
        entry = self._entries.get(key)
        if entry is None:
            return
        if entry.running:
            entry.rerun = True
            return
        entry.due = self._clock()
        self._push(key, entry)

    def _push(self, key: Hashable, entry: _Entry) -> None:
        entry.generation += 1
        self._seq += 1
        heapq.heappush(self._heap, (entry.due, self._seq, entry.generation, key))
        self._changed.set()

    def next_due(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def _drop_stale(self) -> None:
        while self._heap:
            _, _, generation, key = self._heap[0]
            entry = self._entries.get(key)
            if entry is not None and entry.generation == generation and not entry.running:
                return
            heapq.heappop(self._heap)

    # -- the loop -----------------------------------------------------------------------
    async def serve(self) -> None:
        """Run due objects until cancelled."""
        try:
            while True:
                due = self.next_due()
                now = self._clock()
                if due is None or due > now:
                    self._changed.clear()
                    timeout = None if due is None else due - now
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), timeout)
                    continue
                await self._workers.acquire()  # wait for a free worker, not busy-loop
                self._start_due()
        finally:
            for task in list(self._tasks):
                task.cancel()

    def _start_due(self) -> None:
        """Start the most overdue object (a worker slot is held for it)."""
        self._drop_stale()
        if not self._heap:
            self._workers.release()
            return
        due, _, _, key = heapq.heappop(self._heap)
        entry = self._entries[key]
        entry.running = True
        lag = max(0.0, self._clock() - due)
        task = asyncio.get_running_loop().create_task(self._one(key, entry, due, lag))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _one(self, key: Hashable, entry: _Entry, due: float, lag: float) -> None:
        delay = entry.interval
        try:
            delay = await self._run(key, lag)
            entry.failures = 0
        except asyncio.CancelledError:
            raise
        except Exception:  # one object's failure never reaches another's
            entry.failures += 1
            log.exception("evaluation of %s failed (%d in a row)", key, entry.failures)
            delay = entry.interval * min(2 ** (entry.failures - 1), 2)
            delay *= self._rng.uniform(0.8, 1.0)
        finally:
            self._workers.release()
            entry.running = False
        if self._entries.get(key) is not entry:
            return  # removed while running
        entry.interval = delay if entry.failures == 0 else entry.interval
        now = self._clock()
        if entry.rerun:
            entry.rerun = False
            entry.due = now
        elif entry.failures:
            entry.due = now + delay
        else:
            entry.due = next_tick(due, delay, now)
        self._push(key, entry)


def next_tick(previous: float, interval: float, now: float) -> float:
    """The first ``previous + k * interval`` (k >= 1) strictly after ``now``.

    Ticks stay anchored to the grid (no drift), and ticks missed while busy are skipped
    rather than run back to back (no pile-up).
    """
    if interval <= 0:
        return now
    candidate = previous + interval
    if candidate > now:
        return candidate
    missed = int((now - previous) // interval)
    candidate = previous + (missed + 1) * interval
    while candidate <= now:  # float rounding
        candidate += interval
    return candidate
