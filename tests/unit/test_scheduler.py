"""The scheduler: spread, anchored ticks, bounded concurrency, backoff, wake-ups, lag.

These run on the real event loop with short intervals (tens of milliseconds); they
assert orderings and bounds, not speeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import defaultdict
from collections.abc import Hashable

from hypothesis import given
from hypothesis import strategies as st

from crestline.runtime.scheduler import Scheduler, next_tick


class Recorder:
    def __init__(self, *, interval: float = 0.05, work: float = 0.0) -> None:
        self.interval, self.work = interval, work
        self.runs: dict[Hashable, list[float]] = defaultdict(list)
        self.lags: list[float] = []
        self.running = 0
        self.most = 0
        self.fail: set[Hashable] = set()

    async def __call__(self, key: Hashable, lag: float) -> float:
        self.runs[key].append(asyncio.get_running_loop().time())
        self.lags.append(lag)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            if self.work:
                await asyncio.sleep(self.work)
            if key in self.fail:
                raise RuntimeError("this object is broken")
        finally:
            self.running -= 1
        return self.interval


async def serve(s: Scheduler, seconds: float) -> None:
    task = asyncio.create_task(s.serve())
    await asyncio.sleep(seconds)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_every_object_runs_on_its_interval_and_first_within_it() -> None:
    async def main() -> Recorder:
        rec = Recorder(interval=0.05)
        s = Scheduler(rec, workers=4, rng=random.Random(1))
        for i in range(20):
            s.add(i, 0.05)
        await serve(s, 0.5)
        return rec

    rec = asyncio.run(main())
    assert set(rec.runs) == set(range(20))
    firsts = sorted(r[0] for r in rec.runs.values())
    assert firsts[-1] - firsts[0] < 0.06  # spread over one interval, not all at once
    for runs in rec.runs.values():
        assert 6 <= len(runs) <= 11


def test_concurrency_never_exceeds_the_workers_and_lag_shows_it() -> None:
    async def main() -> Recorder:
        rec = Recorder(interval=0.02, work=0.02)
        s = Scheduler(rec, workers=2)
        for i in range(10):
            s.add(i, 0.02, spread=0.0)
        await serve(s, 0.4)
        return rec

    rec = asyncio.run(main())
    assert rec.most == 2
    assert max(rec.lags) > 0.02  # more work than workers: evaluations start late


def test_a_failing_object_backs_off_and_never_stops_the_others() -> None:
    async def main() -> Recorder:
        rec = Recorder(interval=0.03)
        rec.fail = {"bad"}
        s = Scheduler(rec, workers=2)
        s.add("bad", 0.03, spread=0.0)
        s.add("good", 0.03, spread=0.0)
        await serve(s, 0.6)
        return rec

    rec = asyncio.run(main())
    good, bad = rec.runs["good"], rec.runs["bad"]
    assert len(good) >= 15
    assert 5 <= len(bad) < len(good)  # retried, at most twice the interval apart
    gaps = [b - a for a, b in itertools.pairwise(bad)]
    # Backoff is at most twice the interval; what the machine adds to every run (a busy
    # CI machine delays the event loop) shows in the healthy object's gaps too.
    jitter = max(b - a for a, b in itertools.pairwise(good)) - 0.03
    assert max(gaps) <= 0.03 * 2 + max(jitter, 0.03)


def test_wake_runs_now_and_again_after_a_run_in_progress() -> None:
    async def main() -> Recorder:
        rec = Recorder(interval=10.0, work=0.05)
        s = Scheduler(rec, workers=1)
        s.add("k", 10.0, spread=0.0)
        task = asyncio.create_task(s.serve())
        await asyncio.sleep(0.01)  # the first run is in progress
        s.wake("k")  # a spec change during it: run again right after
        await asyncio.sleep(0.2)
        s.wake("k")
        await asyncio.sleep(0.1)
        task.cancel()
        return rec

    rec = asyncio.run(main())
    assert len(rec.runs["k"]) == 3


def test_removed_objects_stop_running() -> None:
    async def main() -> Recorder:
        rec = Recorder(interval=0.02)
        s = Scheduler(rec, workers=2)
        s.add("k", 0.02, spread=0.0)
        task = asyncio.create_task(s.serve())
        await asyncio.sleep(0.1)
        s.remove("k")
        seen = len(rec.runs["k"])
        await asyncio.sleep(0.1)
        task.cancel()
        assert len(rec.runs["k"]) <= seen + 1  # at most the run in progress
        return rec

    asyncio.run(main())


@given(st.floats(0, 1e6), st.floats(0.1, 600), st.floats(0, 5000))
def test_ticks_are_anchored_and_in_the_future(prev: float, interval: float, lag: float) -> None:
    now = prev + lag
    nxt = next_tick(prev, interval, now)
    assert nxt > now
    assert nxt - now <= interval + 1e-6  # never waits more than one interval
    k = (nxt - prev) / interval
    assert abs(k - round(k)) < 1e-6  # on the anchored grid: no drift
