"""Controllers for the simulated clock: crestline's core, and the baselines it must beat.

* :class:`CrestlineController` is the operator's own plan step
  (:mod:`crestline_dev.sim.operator`) on the readings a PerformanceSLO would get.
* :class:`HpaController` is the HPA's CPU-utilization algorithm: ratio law with
  tolerance, unready (starting) pods counted as 0% usage when scaling up (as the HPA's
  replica calculator does), 300 s scale-down stabilization and the default rate
  policies, synced every 15 s.
* :class:`StaticController` is a fleet provisioned for the peak.
* :func:`oracle_replica_hours` is a lower bound: per minute, the fewest replicas that
  keep steady-state p95 within target, as if capacity arrived instantly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from crestline.api.eventday import Overrides
from crestline.api.scaling import ScalingSpec
from crestline.policy.behavior import Timed
from crestline.policy.decide import (
    ScaleState,
    apply_behavior,
    record_scale,
)
from crestline.policy.overlay import InForce
from crestline_dev.sim.model import ServiceModel
from crestline_dev.sim.operator import CrestlineController, ReadingsFn, standard_readings
from crestline_dev.sim.replay import Observation
from crestline_dev.sim.trace import LoadTrace

# crestline's controller is the operator's plan step itself (crestline_dev.sim.operator).
__all__ = ["CrestlineController", "ReadingsFn", "standard_readings"]


def event_window(
    start: float,
    end: float,
    *,
    lead: float,
    trail: float,
    overrides: Overrides,
    name: str = "event",
) -> Callable[[float], list[InForce]]:
    """An EventDay in simulated time: in force from start - lead to end + trail."""

    def in_force(t: float) -> list[InForce]:
        return [InForce(name, "Active", overrides)] if start - lead <= t < end + trail else []

    return in_force


@dataclass
class KedaCronController:
    """KEDA's cron scaler next to CPU scaling: a fixed floor inside the window only."""

    hpa: HpaController
    start: float
    end: float
    replicas: int
    interval: float = 15.0

    def evaluate(self, obs: Observation) -> int:
        cpu = self.hpa.evaluate(obs)
        floor = self.replicas if self.start <= obs.t < self.end else 0
        return min(max(cpu, floor), self.hpa.scaling.max_replicas)


@dataclass
class HpaController:
    target_utilization: float
    scaling: ScalingSpec
    interval: float = 15.0
    recommendations: tuple[Timed, ...] = ()
    events: tuple[Timed, ...] = ()

    def _proposal(self, obs: Observation) -> int:
        tol = self.scaling.tolerance
        ratio = obs.utilization / self.target_utilization
        if abs(ratio - 1) <= tol:
            return obs.total
        unready = obs.total - obs.ready
        if ratio > 1 and unready > 0:
            # Scale-up with starting pods: count them at 0% usage, then re-check.
            ratio = obs.utilization * obs.ready / obs.total / self.target_utilization
            if ratio <= 1 + tol:
                return obs.total
        base = obs.ready if ratio < 1 else obs.total
        return math.ceil(round(ratio * max(base, 1), 9))

    def evaluate(self, obs: Observation) -> int:
        # The HPA's behaviour step (stabilization, rate limits, bounds) is the one
        # crestline's decide() uses: same semantics, one implementation.
        b = self.scaling.behavior
        current = obs.total
        proposal = min(
            max(self._proposal(obs), self.scaling.min_replicas), self.scaling.max_replicas
        )
        horizon = max(
            b.scale_up.stabilization_window_seconds, b.scale_down.stabilization_window_seconds
        )
        history = tuple(r for r in self.recommendations if r.t > obs.t - horizon)
        state = ScaleState(current, history, self.events)
        desired = apply_behavior(self.scaling, state, proposal, history=history, now=obs.t).desired
        self.recommendations = (*history, Timed(obs.t, proposal))
        self.events = record_scale(self.events, obs.t, desired - current, self.scaling)
        return desired


@dataclass
class StaticController:
    replicas: int
    interval: float = 3600.0

    def evaluate(self, obs: Observation) -> int:
        return self.replicas


def max_utilization_for(model: ServiceModel, latency_target: float) -> float:
    """The highest per-replica utilization at which steady-state p95 meets the target."""
    lo, hi = 0.0, 0.9995
    for _ in range(40):
        mid = (lo + hi) / 2
        if model.p95_fast(mid) <= latency_target:
            lo = mid
        else:
            hi = mid
    return lo


def replicas_needed(
    model: ServiceModel, rps: float, latency_target: float, minimum: int = 1
) -> int:
    u = max_utilization_for(model, latency_target)
    return max(minimum, math.ceil(rps / (u * model.replica_capacity)))


def oracle_replica_hours(
    trace: LoadTrace, model: ServiceModel, latency_target: float, minimum: int = 1
) -> float:
    """Sum over minutes of the fewest replicas meeting the target at that minute's peak load."""
    u = max_utilization_for(model, latency_target)
    total = 0.0
    for m in range(int(trace.duration // 60)):
        peak = max(trace.rps(m * 60 + s) for s in (0, 15, 30, 45, 59.999))
        total += max(minimum, math.ceil(peak / (u * model.replica_capacity))) / 60.0
    return total
