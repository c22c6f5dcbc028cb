"""Run (trace, policy) replays in parallel worker processes.

Why processes: one replay is a pure-Python loop over ~10^5-10^6 simulated steps, so
threads would share one core; every job is independent and rebuilds its trace and
controller by name in the worker (cheap next to the replay), so nothing but two
strings goes to a worker and one row of numbers comes back. The slowest jobs are
started first so the pool does not end with one long job running alone.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from benchmarks.scenarios import (
    EVENT_FOCUS,
    HARNESS,
    LATENCY_TARGET,
    MODEL,
    build_policy,
    load_trace,
    trace_case,
)
from crestline_dev.sim.controllers import replicas_needed


@dataclass(frozen=True)
class Job:
    trace: str
    policy: str
    days: float | None = None  # None: the whole trace
    prototypes: bool = False
    weight: float = 1.0  # estimated relative run time


def run_job(job: Job) -> dict[str, Any]:
    """Replay one policy on one trace; the scorecard plus what identifies the run."""
    trace = load_trace(job.trace, job.days)
    case = build_policy(job.trace, job.policy, prototypes=job.prototypes)
    start = time.process_time()
    card = HARNESS.replay(
        case.name,
        trace,
        case.build(trace),
        initial_replicas=replicas_needed(MODEL, trace.rps(0.0), LATENCY_TARGET),
        focus=EVENT_FOCUS if trace_case(job.trace).event else None,
    )
    row: dict[str, Any] = {"trace": job.trace, "family": case.family, "target": case.target}
    row |= card.as_dict()
    row["cpu_seconds"] = round(time.process_time() - start, 1)
    return row


def run_jobs(jobs: Iterable[Job], *, workers: int) -> Iterator[dict[str, Any]]:
    """Rows as jobs finish (slowest first in, any order out); progress on stderr."""
    ordered = sorted(jobs, key=lambda j: -j.weight)
    for n, row in enumerate(_rows(ordered, workers), start=1):
        print(
            f"[{n:3d}/{len(ordered)}] {row['trace']:14s} {row['policy']:28s} "
            f"violations={row['violation_minutes']:6d} replica-hours={row['replica_hours']:9.1f} "
            f"({row['cpu_seconds']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        yield row


def _rows(jobs: list[Job], workers: int) -> Iterator[dict[str, Any]]:
    if workers <= 1:
        yield from map(run_job, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for done in as_completed([pool.submit(run_job, job) for job in jobs]):
            yield done.result()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)))
