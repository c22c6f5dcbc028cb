"""Per-objective control laws: from one reading to a replica proposal.

Two laws, because objectives respond to replicas in two different ways. Both size from
the replicas that *serve* (the readings reflect them; see ``serving_replicas`` in
:mod:`.decide`), and both treat replicas that do not serve yet the way the HPA treats
unready pods: on the way up they count as idle, on the way down they count as needed,
so they are never the reason for removing capacity.

**Proportional** (the HPA ratio law). A per-pod utilization ``u`` scales as
``1/replicas`` for a fixed load, so the replica count that brings it to its target is
``ceil(serving * u / target)``. Inside the tolerance band
``[1 - tolerance_down, 1 + tolerance_up]`` (both edges inside, as the HPA's
``isWithin``) nothing changes, which keeps noise from causing flapping. The HPA compares
exact ratios of integer milli-values, so a reading that is the target times 1.1 is *on*
the edge; crestline's readings are floats from PromQL, so a ratio within a relative
1e-9 of an edge counts as on it, and a ceiling within 1e-9 of an integer is that integer.

**SLO** (latency, error ratio). These are not proportional: a queue's latency is nearly
flat while utilization is low and explodes near saturation, and an error ratio is zero
until it is not. Such a signal says clearly when capacity is *missing*, but almost
nothing about how much is *spare*: a p95 at a third of its target may be a fleet at 10 %
utilization or one at 90 % whose service is fast. A law that shrinks the fleet whenever
latency looks low therefore walks it into saturation, gets a breach, grows, and does it
again (a limit cycle). This law is built from three facts instead:

* **Breach** (``r > 1``, ``r`` the badness ``value/target``, or ``target/value`` for
  ``above`` objectives). The target is a limit, so any breach acts, tolerance or not:
  grow the serving fleet by ``min(sqrt(r), maxUpFactor)`` and by at least one pod. The
  square root is the size of the missing capacity for a queue whose unloaded latency is
  about half its target (M/M/1: a breach of ``r`` needs ``(1 - a/r)/(1 - a)`` more
  capacity at unloaded/target ratio ``a``; ``a = 1/2`` gives nearly ``sqrt(r)``); a
  larger miss is corrected at the next evaluation, a smaller one by the probe below.
  ``maxUpFactor`` 2 is the HPA's own default rate (+100 % per period), so a latency spike
  from something other than load (a slow dependency) cannot multiply the fleet faster
  than an HPA would. An unreadable top bucket (``+Inf``) is the largest breach.
* **Knee memory.** A breach soon after the fleet was made smaller (within the longer of
  the warm-up time and the scale-down window: a failed probe) proves that the smaller
  size is too small for the demand of the moment. So does a breach at any later time
  while the fleet's last change is still that scale-down: the size never got bigger, and
  a reading that crossed the target there (a slow drift, noise on a fleet that sits near
  its knee) says it is too small; without this, noisy readings near the target made a
  slow limit cycle of one replica (probe, noise breach, grow, probe again). The law then
  restores what the probe removed, and remembers the largest size that failed this way
  (the *floor*): it never probes down to it again; a breach at or below it asks for at
  least ``floor + 1``; and a probe goes at most half way from the current count to the
  floor, so each failed probe halves the gap and a sharp knee is found in a few steps. A
  breach that no scale-down preceded is demand rising (a burst, a ramp); it is answered
  by growth, and teaches nothing about where the fleet may settle once the burst is
  over. The floor is forgotten when demand has evidently fallen: the first settled
  reading after the failed probe, at ``N > floor`` serving replicas, is the *reference*;
  a later reading with at most ``N`` replicas that is lower than the reference by more
  than the scale-down ``tolerance`` (the band the user allows readings for noise) can
  only come from less demand (or a faster service), because fewer replicas under the
  same demand never read lower. Steady demand never produces that evidence, so the fleet
  settles at ``floor + 1`` and stays (no limit cycle); falling demand does, and the
  probe resumes. (Noise beyond the tolerance can fake the evidence; one more probe
  follows.)
* **Probe down** (``r < scaleDownBelow``, default 0.8). Latency cannot say how much
  capacity is spare, so the law only probes: to ``ceil(scaleDownBelow * n)`` replicas,
  which raises the load per replica by at most ``1/scaleDownBelow`` (25 %). A reading
  below 0.8 of the target then stays below it wherever latency grows no faster than the
  load per replica (an M/M/1 replica below 44 % utilization; multi-worker replicas much
  further); beyond that a probe may breach once, and the knee memory makes it the last
  time at that demand. In a fleet of fewer than ``1/(1 - scaleDownBelow)`` = 5 replicas
  one replica is more than that bound; it is removed only when the reading leaves room
  for it even then (``r * n / (n - 1) <= scaleDownBelow``). The scale-down
  stabilization window paces the probes, so a probe's effect is measured before the
  next one.
* otherwise (``scaleDownBelow <= r <= 1``) - hold: the hysteresis band that a probe
  lands in.

These constants come from the objective (``r``), from queueing (the probe's bound, the
square root) and from the HPA's defaults (the growth cap); none was fitted to a trace.
``tests/unit/test_slo_law_closed_loop.py`` closes the loop over a grid of loads,
targets and fleet sizes against M/M/1 and M/M/c replicas with a start-up delay.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from crestline.api.slo import Direction, ObjectiveKind

#: The most replicas a proposal may ask for (the HPA clamps to int32 the same way); a
#: reading of 1e308 proposes this rather than overflowing.
MAX_PROPOSAL = 2**31 - 1

#: A ratio within this relative distance of a tolerance edge is on the edge.
EDGE = 1e-9


@dataclass(frozen=True)
class SloLawParams:
    """The SLO law's two constants (see the module docstring for where they come from)."""

    scale_down_below: float = 0.8
    max_up_factor: float = 2.0


DEFAULT_SLO_LAW = SloLawParams()


@dataclass(frozen=True)
class Knee:
    """What the SLO law learned about one objective (see "Knee memory" above).

    ``floor``: the largest serving count at which a probe failed; ``since``: when the
    floor was last raised; ``reference``: (serving count, badness) of the first settled
    reading above the floor after that, the baseline for "demand has fallen".
    """

    objective: str
    floor: int
    since: float
    reference: tuple[int, float] | None = None


def badness(value: float, target: float, direction: Direction) -> float:
    """How far a reading is from good: 1 at target, > 1 violating, < 1 with headroom.

    ``value`` is non-negative (see ``decide``); an ``above`` objective at 0 is infinitely
    bad. Never raises: huge values give ``inf``.
    """
    if direction is Direction.BELOW:
        return value / target
    if value <= 0:
        return math.inf
    return target / value


def ceil_replicas(x: float) -> int:
    """``ceil`` for replica counts: float noise ignored, capped at :data:`MAX_PROPOSAL`."""
    if math.isnan(x):
        raise ValueError("replica count is NaN")
    if x >= MAX_PROPOSAL:
        return MAX_PROPOSAL
    return max(0, math.ceil(round(x, 9)))


def within(ratio: float, tolerances: tuple[float, float]) -> bool:
    """The HPA's ``isWithin``: ``1 - down <= ratio <= 1 + up``, both edges inside."""
    down, up = tolerances
    return (1.0 - down) * (1.0 - EDGE) <= ratio <= (1.0 + up) * (1.0 + EDGE)


@dataclass(frozen=True)
class Fleet:
    """The fleet as the laws see it: replicas asked for, replicas serving, the settings."""

    current: int
    serving: int
    tolerances: tuple[float, float] = (0.1, 0.1)  # (scale-down, scale-up)
    law: SloLawParams = DEFAULT_SLO_LAW
    removed: int = 0  # replicas removed within the warm-up time: a probe in progress
    shrunk_last: bool = False  # the fleet's last change, however long ago, was a scale-down

    @property
    def settled(self) -> bool:
        """Every replica serves: a reading is the whole fleet's own."""
        return self.serving >= self.current


def proportional_proposal(fleet: Fleet, ratio: float) -> int:
    """HPA ratio law over the serving replicas (see the module docstring).

    With every replica serving: hold inside the tolerance band, else
    ``ceil(serving * ratio)``. With some not serving, as the HPA's replica calculator
    does for unready pods on the way up: count them as idle, and hold unless the ratio
    recomputed that way still says "up" beyond the tolerance. On the way down crestline
    counts them at the target instead (the HPA's rule for pods without metrics), so only
    spare capacity the serving replicas show is removed.
    """
    current, serving, tolerances = fleet.current, fleet.serving, fleet.tolerances
    if current <= 0:
        return 0
    if serving >= current:
        return current if within(ratio, tolerances) else ceil_replicas(ratio * serving)
    idle = current - serving
    if ratio > 1.0:
        diluted = ratio * serving / current
        if diluted < 1.0 or within(diluted, tolerances):
            return current
        return ceil_replicas(ratio * serving)
    at_target = (ratio * serving + idle) / current
    if within(at_target, tolerances):
        return current
    return min(current, ceil_replicas(ratio * serving) + idle)


def slo_proposal(fleet: Fleet, ratio: float, knee: Knee | None = None) -> int:
    """Breach-driven law with knee memory and a bounded probe (see the module docstring)."""
    current, serving, params = fleet.current, fleet.serving, fleet.law
    if ratio > 1.0:
        growth = params.max_up_factor if math.isinf(ratio) else math.sqrt(ratio)
        up = max(serving + 1, ceil_replicas(serving * min(growth, params.max_up_factor)))
        if fleet.removed > 0:
            up = serving + fleet.removed  # a failed probe: undo it
        if knee is not None and knee.floor >= serving:
            up = max(up, knee.floor + 1)
        return max(current, up)
    if ratio < params.scale_down_below:
        probe = ceil_replicas(params.scale_down_below * serving)
        if probe >= serving > 1 and ratio * serving / (serving - 1) <= params.scale_down_below:
            # One replica is more than the bounded step, but the reading leaves room for
            # it even if latency grew in proportion to the load per replica.
            probe = serving - 1
        if knee is not None:
            # At most half way to a known knee: a failed probe halves the gap.
            probe = max(probe, knee.floor + 1, ceil_replicas((knee.floor + serving) / 2))
        if probe >= serving:
            return current
        return min(current, probe + (current - serving))
    return current


def learn(
    knee: Knee | None, objective: str, *, fleet: Fleet, ratio: float, now: float
) -> Knee | None:
    """The knee memory after one reading of ``objective`` (see the module docstring).

    Only a breach that follows a scale-down (``fleet.removed``, or ``fleet.shrunk_last``)
    teaches a floor; only a settled fleet's readings (every replica serving) become or
    test the reference.
    """
    serving = fleet.serving
    if ratio > 1.0:
        shrunk = fleet.removed > 0 or fleet.shrunk_last
        if shrunk and serving > 0 and (knee is None or serving > knee.floor):
            return Knee(objective, serving, now)
        return knee
    if knee is None or not fleet.settled or serving <= knee.floor:
        return knee
    if knee.reference is None:
        return replace(knee, reference=(serving, ratio))
    ref_serving, ref_ratio = knee.reference
    if serving <= ref_serving and ratio < (1.0 - fleet.tolerances[0]) * ref_ratio:
        return None
    return knee


def total_badness(value: float, per_replica: float, current: int) -> float:
    """A ``total`` objective's badness: the total over what ``current`` replicas carry at
    ``per_replica`` each (the HPA's usage ratio for an AverageValue target). With no
    replicas any demand is infinitely bad, none is good."""
    if current <= 0:
        return math.inf if value > 0 else 0.0
    return value / per_replica / current


def total_proposal(fleet: Fleet, ratio: float) -> int:
    """The HPA's External/AverageValue law: hold inside the tolerance band, else
    ``ceil(total / per_replica)`` (= ``ceil(ratio * current)``). A total (requests per
    second at the ingress, a queue's length) does not depend on which replicas serve, so
    unlike a utilization it needs no correction for replicas still starting; and it does
    not saturate, so it sees demand a utilization capped at 100 % cannot."""
    current = fleet.current
    if current <= 0 or math.isinf(ratio):
        return max(current, 1) if ratio > 0 else current
    if within(ratio, fleet.tolerances):
        return current
    return ceil_replicas(ratio * current)


#: Kinds whose value measures demand linearly (policy.demand sizes them with headroom).
DEMAND_KINDS = frozenset({ObjectiveKind.PROPORTIONAL, ObjectiveKind.TOTAL})


def propose(kind: ObjectiveKind, fleet: Fleet, ratio: float, knee: Knee | None = None) -> int:
    """The proposal of one objective of ``kind`` with badness ``ratio``."""
    if kind is ObjectiveKind.PROPORTIONAL:
        return proportional_proposal(fleet, ratio)
    if kind is ObjectiveKind.TOTAL:
        return total_proposal(fleet, ratio)
    return slo_proposal(fleet, ratio, knee)
