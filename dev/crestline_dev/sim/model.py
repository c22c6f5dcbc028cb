"""A fleet of identical replicas, each an M/M/c queue, with a fluid backlog for overload.

Why this model: it has the two properties the controllers must cope with. Latency is
flat at low utilization and explodes near saturation (Erlang C), so latency is *not*
proportional to replicas; and an overloaded fleet builds a backlog that keeps latency
high for a while after capacity arrives, so reacting late costs more than the overload
itself. New replicas become ready only after a start-up delay.

Each replica has ``workers`` servers of rate ``service_rate`` (requests/s); load is
spread evenly. In steady state (per-replica load ``lam < c*mu``) a request's sojourn is
its service time ``S ~ Exp(mu)`` plus, with probability ``C`` (Erlang C), a wait
``W ~ Exp(c*mu - lam)``. Load beyond capacity accumulates in a backlog drained at the
spare rate; every request then also waits ``backlog / capacity``. Requests whose
latency would exceed ``timeout`` fail (counted as errors), and the backlog is capped at
``timeout * capacity`` (what cannot be served in time is dropped).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from functools import cached_property

LATENCY_BUCKETS: tuple[float, ...] = (
    0.025,
    0.05,
    0.1,
    0.15,
    0.2,
    0.25,
    0.3,
    0.4,
    0.5,
    0.6,
    0.75,
    1.0,
    1.5,
    2.0,
    3.0,
    5.0,
    10.0,
)


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arriving request waits in an M/M/c queue (offered = lam/mu)."""
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    # Erlang B by the stable recurrence, then convert to C.
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1 - rho + rho * b)


@dataclass(frozen=True)
class ServiceModel:
    service_rate: float = 10.0
    workers: int = 4
    timeout: float = 5.0

    @property
    def replica_capacity(self) -> float:
        """Requests per second one replica serves at 100% utilization."""
        return self.service_rate * self.workers

    def sojourn_cdf(self, t: float, per_replica_rps: float, delay: float = 0.0) -> float:
        """P(latency <= t) for one request, given per-replica load and a backlog delay."""
        t -= delay
        if t <= 0:
            return 0.0
        mu, c = self.service_rate, self.workers
        lam = min(per_replica_rps, c * mu * 0.999999)
        p_wait = erlang_c(c, lam / mu)
        service = 1 - math.exp(-mu * t)
        theta = c * mu - lam
        if abs(theta - mu) < 1e-9:
            waited = 1 - math.exp(-mu * t) * (1 + mu * t)
        else:
            waited = 1 - (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
        return (1 - p_wait) * service + p_wait * waited

    def quantile(self, q: float, per_replica_rps: float, delay: float = 0.0) -> float:
        """The ``q`` latency quantile (seconds), by bisection on the CDF."""
        lo, hi = delay, delay + 1.0
        while self.sojourn_cdf(hi, per_replica_rps, delay) < q:
            hi = delay + (hi - delay) * 2
            if hi > 1e4:
                return math.inf
        for _ in range(50):
            mid = (lo + hi) / 2
            if self.sojourn_cdf(mid, per_replica_rps, delay) < q:
                lo = mid
            else:
                hi = mid
        return hi

    @cached_property
    def _p95_table(self) -> tuple[list[float], list[float]]:
        """p95 without backlog on a utilization grid, for fast simulated-clock runs."""
        grid = [i / 2000 for i in range(0, 2000)]
        return grid, [self.quantile(0.95, u * self.replica_capacity) for u in grid]

    def p95_fast(self, utilization: float, delay: float = 0.0) -> float:
        """Interpolated p95 at per-replica ``utilization`` (< 1) plus a backlog delay."""
        grid, values = self._p95_table
        if utilization >= grid[-1]:
            return values[-1] + delay
        i = bisect.bisect_right(grid, utilization) - 1
        frac = (utilization - grid[i]) / (grid[i + 1] - grid[i])
        return values[i] + frac * (values[i + 1] - values[i]) + delay


@dataclass(frozen=True)
class Interval:
    """What happened during one step of the fleet."""

    requests: float
    errors: float
    utilization: float
    per_replica_rps: float
    delay: float

    def p95(self, model: ServiceModel) -> float:
        """The interval's p95 latency (seconds); infinite with no capacity."""
        if math.isinf(self.delay):
            return math.inf
        return model.p95_fast(self.per_replica_rps / model.replica_capacity, self.delay)


@dataclass
class Fleet:
    """The mutable state of the simulated service: its backlog of queued requests."""

    model: ServiceModel
    backlog: float = 0.0

    def step(self, offered_rps: float, ready: int, dt: float) -> Interval:
        """Advance ``dt`` seconds at ``offered_rps`` with ``ready`` replicas serving."""
        m = self.model
        total = offered_rps * dt
        cap = ready * m.replica_capacity
        if cap <= 0:
            self.backlog = 0.0
            return Interval(total, total, 1.0, 0.0, math.inf)
        self.backlog = max(0.0, self.backlog + (offered_rps - cap) * dt)
        dropped = 0.0
        limit = m.timeout * cap
        if self.backlog > limit:
            dropped, self.backlog = self.backlog - limit, limit
        delay = self.backlog / cap
        per_replica = min(offered_rps, cap) / ready
        utilization = 1.0 if self.backlog > 0 else min(1.0, offered_rps / cap)
        late = total * (1 - m.sojourn_cdf(m.timeout, per_replica, delay))
        return Interval(total, min(total, dropped + late), utilization, per_replica, delay)


@dataclass
class Replicas:
    """Replica count over time: new replicas become ready after ``startup_seconds``.

    Scale-down takes effect at once (pending starts are cancelled first); scale-up adds
    replicas that start serving later, like pods that must pull, boot and pass readiness.
    """

    startup_seconds: float
    ready: int = 1
    pending: list[float] | None = None  # ready-at times of starting replicas

    def set_desired(self, desired: int, now: float) -> None:
        pending = sorted(self.pending or [])
        total = self.ready + len(pending)
        if desired > total:
            pending += [now + self.startup_seconds] * (desired - total)
        elif desired < total:
            cut = total - desired
            drop_pending = min(cut, len(pending))
            pending = pending[: len(pending) - drop_pending]
            self.ready -= cut - drop_pending
        self.pending = pending

    def advance(self, now: float) -> int:
        """Promote replicas whose start-up finished by ``now``; return the ready count."""
        pending = self.pending or []
        done = [t for t in pending if t <= now]
        if done:
            self.ready += len(done)
            self.pending = [t for t in pending if t > now]
        return self.ready

    @property
    def total(self) -> int:
        return self.ready + len(self.pending or [])
