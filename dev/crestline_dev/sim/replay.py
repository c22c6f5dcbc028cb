"""Replay a load trace through a controller on a simulated clock.

The loop is the closed loop of the real system, with time simulated: every ``dt`` the
fleet (:mod:`.model`) serves the offered load with the replicas that are ready; every
controller interval the controller sees what Prometheus would show (request-weighted
averages over a trailing window) and sets the desired count; new replicas serve after
the start-up delay. The scorecard is what an SRE would ask: minutes in violation of the
latency objective, replica-hours paid for (starting replicas included), scaling actions.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from crestline_dev.sim.model import Fleet, Interval, Replicas, ServiceModel
from crestline_dev.sim.trace import LoadTrace


@dataclass(frozen=True)
class Observation:
    """What a controller can read at time ``t`` (trailing-window averages)."""

    t: float
    p95: float
    utilization: float
    error_ratio: float
    offered_rps: float
    ready: int
    total: int


class Controller(Protocol):
    interval: float

    def evaluate(self, obs: Observation) -> int:
        """Return the desired replica count."""
        ...


@dataclass(frozen=True)
class Scorecard:
    policy: str
    violation_minutes: int
    replica_hours: float
    scaling_actions: int
    error_ratio: float
    minutes: int
    focus_violation_minutes: int | None = None

    def as_dict(self) -> dict[str, float | int | str]:
        extra: dict[str, float | int | str] = (
            {}
            if self.focus_violation_minutes is None
            else {"focus_violation_minutes": self.focus_violation_minutes}
        )
        return extra | {
            "policy": self.policy,
            "violation_minutes": self.violation_minutes,
            "replica_hours": round(self.replica_hours, 1),
            "scaling_actions": self.scaling_actions,
            "error_ratio": round(self.error_ratio, 5),
            "minutes": self.minutes,
        }


class _Window:
    """Request-weighted aggregate of recent intervals, like rate()[window] in PromQL."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.items: deque[tuple[float, Interval, float]] = deque()

    def add(self, t: float, iv: Interval, dt: float) -> None:
        self.items.append((t, iv, dt))
        while self.items and self.items[0][0] <= t - self.seconds:
            self.items.popleft()

    def aggregate(self, model: ServiceModel) -> tuple[float, float, float, float]:
        """(p95, utilization, error ratio, offered rps) over the window."""
        reqs = sum(iv.requests for _, iv, _ in self.items)
        secs = sum(dt for _, _, dt in self.items) or 1.0
        if reqs <= 0:
            return 0.0, 0.0, 0.0, 0.0
        if any(math.isinf(iv.delay) for _, iv, _ in self.items):
            return math.inf, 1.0, 1.0, reqs / secs
        w = [(iv.requests / reqs, iv) for _, iv, _ in self.items]
        per_replica = sum(f * iv.per_replica_rps for f, iv in w)
        delay = sum(f * iv.delay for f, iv in w)
        util = sum(iv.utilization * dt for _, iv, dt in self.items) / secs
        errors = sum(iv.errors for _, iv, _ in self.items) / reqs
        p95 = model.p95_fast(per_replica / model.replica_capacity, delay)
        return p95, util, errors, reqs / secs


@dataclass(frozen=True)
class Harness:
    """The fixed conditions every policy is replayed under: the service, its objective,
    the start-up delay, the simulation step and the controllers' query window."""

    model: ServiceModel
    latency_target: float
    startup_seconds: float = 60.0
    dt: float = 5.0
    window: float = 30.0

    def replay(
        self,
        name: str,
        trace: LoadTrace,
        controller: Controller,
        *,
        initial_replicas: int,
        on_step: Callable[[float, Observation | None, int], None] | None = None,
        focus: tuple[float, float] | None = None,
    ) -> Scorecard:
        """Run ``controller`` against ``trace``; return its scorecard.

        ``focus`` (start, end seconds) also counts the violation-minutes inside that
        span, e.g. an event window.
        """
        model, dt = self.model, self.dt
        fleet = Fleet(model)
        replicas = Replicas(self.startup_seconds, ready=initial_replicas)
        observed, minute = _Window(self.window), _Window(60.0)
        violations = actions = focused = 0
        replica_seconds = requests = errors = 0.0
        next_eval = 0.0
        t = 0.0
        steps_per_minute = round(60.0 / dt)
        step = 0
        while t < trace.duration:
            ready = replicas.advance(t)
            iv = fleet.step(trace.rps(t), ready, dt)
            observed.add(t, iv, dt)
            minute.add(t, iv, dt)
            replica_seconds += replicas.total * dt
            requests += iv.requests
            errors += iv.errors
            obs = None
            if t >= next_eval:
                p95, util, err, rps = observed.aggregate(model)
                obs = Observation(t, p95, util, err, rps, ready, replicas.total)
                desired = controller.evaluate(obs)
                if desired != replicas.total:
                    actions += 1
                    replicas.set_desired(desired, t)
                next_eval += controller.interval
            step += 1
            if step % steps_per_minute == 0 and minute.aggregate(model)[0] > self.latency_target:
                violations += 1
                if focus is not None and focus[0] <= t < focus[1]:
                    focused += 1
            if on_step is not None:
                on_step(t, obs, replicas.total)
            t += dt
        return Scorecard(
            name,
            violations,
            replica_seconds / 3600.0,
            actions,
            errors / requests if requests else 0.0,
            int(trace.duration // 60),
            focused if focus is not None else None,
        )
