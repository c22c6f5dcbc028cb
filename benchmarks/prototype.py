"""PROTOTYPE, benchmark-only: a policy idea measured on the suite, NOT the operator's policy.

Nothing here runs in crestline; ``crestline.policy`` is unchanged by it. It exists to
put a number on a proposal before anyone builds it properly (in ``crestline.policy``,
behind PerformanceSLO fields), and it is labelled ``prototype-*`` in every result.
Run it with ``python -m benchmarks.decision_quality --prototypes``.

The idea, in three parts, each from a principle rather than from one trace:

1. **Size for the growth that can happen within the dead time.** A replica asked for
   now serves after start-up, shows in the query window later, and the next chance to
   correct comes one interval after that: ``H = warmupSeconds + interval``. Only
   growth within ``H`` can hurt a reactive scaler. Every evaluation records the worst
   growth that followed an earlier one within ``H`` (a moving-window recommender, in
   the spirit of Google Autopilot's percentile recommenders, on growth instead of
   usage), and the fleet is sized for ``demand + g_q``, ``g_q`` the ``q`` quantile
   over the last 24 h. Growth is measured in units of ``sqrt(demand)``: arrivals
   from many independent users fluctuate like a Poisson count, so a small fleet
   needs relatively more spare capacity than a large one. (Measured as a plain
   ratio instead, the headroom is a fixed percentage and the policy lands exactly on
   the HPA's frontier: it is just another fixed target.)
2. **Hold recent peaks for as long as bursts cluster.** Web traffic is self-similar:
   bursts come in clusters. Holding the highest recent recommendation for
   ``hold_seconds`` (the HPA's scale-down stabilization window, 300 s by default)
   keeps the capacity the last burst needed while the next one is likely.
3. **When saturated, read demand from the arrival rate.** Utilization caps at 100%,
   so at saturation the ratio law sees at most ``1/target`` of growth per dead time -
   a 10x crowd then takes many start-up times to catch up. The request rate does not
   saturate: the CPU cost of a request is learned while unsaturated (busy replicas
   per req/s, an EWMA), and at saturation demand is ``arrival rate x that cost``.
   Without a rate, a saturated fleet asks for twice its *ready* replicas (counted
   against ready, not total, so a breach persisting while replicas start is not
   answered twice).

Stabilization and rate limits are the HPA's behaviour step (``apply_behavior``), as
the baselines use it.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field

from benchmarks.scenarios import EVAL_INTERVAL, PolicyCase, scaling
from crestline.api.scaling import ScalingSpec
from crestline.policy.behavior import Timed
from crestline.policy.decide import ScaleState, apply_behavior, record_scale
from crestline_dev.sim.replay import Controller, Observation
from crestline_dev.sim.trace import LoadTrace

SATURATED = 0.98
DAY = 86400.0


@dataclass
class RollingQuantile:
    """Quantiles of the values added within the last ``window`` seconds (a sorted list)."""

    window: float
    times: deque[tuple[float, float]] = field(default_factory=deque)
    ordered: list[float] = field(default_factory=list)

    def add(self, t: float, value: float) -> None:
        self.times.append((t, value))
        bisect.insort(self.ordered, value)
        while self.times and self.times[0][0] <= t - self.window:
            _, old = self.times.popleft()
            del self.ordered[bisect.bisect_left(self.ordered, old)]

    def quantile(self, q: float, default: float) -> float:
        if not self.ordered:
            return default
        return self.ordered[min(len(self.ordered) - 1, math.floor(q * len(self.ordered)))]


@dataclass(frozen=True)
class Params:
    target: float  # the CPU objective's target utilization
    quantile: float = 0.75  # of the dead-time growth
    hold_seconds: int = 600  # scale-down stabilization window
    rate_demand: bool = True

    @property
    def name(self) -> str:
        rate = "" if self.rate_demand else "-norate"
        return (
            f"prototype-q{round(self.quantile * 100)}-hold{self.hold_seconds}"
            f"-cpu{round(self.target * 100)}{rate}"
        )


@dataclass
class DeadTimeController:
    """PROTOTYPE: see the module docstring."""

    scaling: ScalingSpec
    params: Params
    interval: float = EVAL_INTERVAL
    demand: deque[float] = field(default_factory=deque)
    growth: RollingQuantile = field(default_factory=lambda: RollingQuantile(DAY))
    cost_per_request: float | None = None  # busy replicas per req/s, learned unsaturated
    recommendations: tuple[Timed, ...] = ()
    events: tuple[Timed, ...] = ()

    @property
    def horizon_steps(self) -> int:
        return math.ceil((self.scaling.warmup_seconds + self.interval) / self.interval)

    def _demand(self, obs: Observation) -> float:
        """Busy replicas now: utilization x ready, or from the arrival rate if saturated."""
        busy = obs.utilization * obs.ready
        if not self.params.rate_demand or obs.offered_rps <= 0:
            return busy
        if obs.utilization < SATURATED and obs.ready:
            k, prev = busy / obs.offered_rps, self.cost_per_request
            self.cost_per_request = k if prev is None else prev + 0.05 * (k - prev)
            return busy
        if self.cost_per_request is None:
            return busy
        return max(busy, obs.offered_rps * self.cost_per_request)

    def _headroom(self, t: float, demand: float) -> float:
        """Record the growth that followed the oldest sample; the quantile's headroom now."""
        self.demand.append(demand)
        if len(self.demand) > self.horizon_steps + 1:
            self.demand.popleft()
        if len(self.demand) == self.horizon_steps + 1 and self.demand[0] > 0:
            base, later = self.demand[0], max(list(self.demand)[1:])
            self.growth.add(t, (later - base) / math.sqrt(base))
        g = max(0.0, self.growth.quantile(self.params.quantile, 0.0))
        return g * math.sqrt(demand)

    def evaluate(self, obs: Observation) -> int:
        current = obs.total
        demand = self._demand(obs)
        sized = demand + self._headroom(obs.t, demand)
        proposal = math.ceil(round(sized / self.params.target, 9)) if obs.ready else current
        blind = not self.params.rate_demand or self.cost_per_request is None
        if obs.utilization >= SATURATED and blind:
            proposal = max(proposal, 2 * obs.ready)
        proposal = min(max(proposal, self.scaling.min_replicas), self.scaling.max_replicas)
        history = tuple(r for r in self.recommendations if r.t > obs.t - self.params.hold_seconds)
        state = ScaleState(current, history, self.events)
        desired = apply_behavior(self.scaling, state, proposal, history=history, now=obs.t).desired
        self.recommendations = (*history, Timed(obs.t, proposal))
        self.events = record_scale(self.events, obs.t, desired - current, self.scaling)
        return desired


def _case(params: Params) -> PolicyCase:
    def build(trace: LoadTrace) -> Controller:
        spec = scaling(
            behavior={
                "scaleDown": {
                    "stabilizationWindowSeconds": params.hold_seconds,
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
                }
            }
        )
        return DeadTimeController(spec, params)

    return PolicyCase(params.name, "prototype", build, target=round(params.target * 100))


PROTOTYPES = (
    Params(0.75),
    Params(0.80),
    Params(0.80, hold_seconds=300),  # ablation: the HPA's default hold
    Params(0.80, rate_demand=False),  # ablation: blind at saturation
)


def prototype_cases() -> list[PolicyCase]:
    return [_case(p) for p in PROTOTYPES]
