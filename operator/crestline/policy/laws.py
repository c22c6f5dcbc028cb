"""Per-objective control laws: from one reading to a replica proposal.

Two laws, because objectives respond to replicas in two different ways.

**Proportional** (the HPA ratio law). A per-pod utilization ``u`` scales as
``1/replicas`` for a fixed load, so the replica count that brings it to its target is
``ceil(current * u / target)``. Within ``tolerance`` of the target nothing changes, which
keeps noise from causing flapping.

**SLO** (latency, error ratio). These are *not* proportional: a queueing system's latency
is nearly flat while utilization is low and explodes near saturation. Scaling by the
latency ratio would be far too timid in the flat region and wildly excessive near
saturation, so the law is built from three regions of the badness ratio ``r``
(``value/target`` for ``below`` objectives; > 1 means violating):

* ``r > 1`` - breach (any: the target is a limit, so ``tolerance`` does not apply):
  grow by ``min(sqrt(r), maxUpFactor)`` and by at least one pod. The step grows with
  the breach, so the law reacts within one evaluation; the square root damps it
  because near saturation latency overstates the missing capacity (at 2x the target
  p95 the simulated M/M/4 fleet needs ~12% more replicas, not 100%), and the cap keeps a latency
  spike caused by something other than load (a slow dependency) from multiplying the
  fleet. Replicas still starting are not counted (``warmupSeconds`` in decide), so a
  breach that persists while they start is not answered twice.
* ``r < scaleDownBelow`` (default 0.8) - comfortably good: shrink by a small fixed step
  (10%). Latency says little about *how much* capacity is spare, so the law only
  probes gently; any proportional objective and the scale-down stabilization window
  (the max of recent recommendations) further slow the descent.
* otherwise - hold. The dead band ``[scaleDownBelow, 1]`` is the hysteresis that
  prevents oscillation: a 10% shrink raises per-pod load by ~11%, which moves a system
  sitting below 0.8 of its latency target to at most about the target unless it was
  already near saturation (then it would not have been below 0.8); and a scale-up that
  overshoots lands in the band and stays. The replay benchmark (benchmarks/) is where
  these constants were chosen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from crestline.api.slo import Direction, ObjectiveKind


@dataclass(frozen=True)
class SloLawParams:
    """Tuning of the SLO law; defaults are what the benchmark validates."""

    scale_down_below: float = 0.8
    max_up_factor: float = 2.0
    down_step: float = 0.1
    up_gain: float = 0.5


DEFAULT_SLO_LAW = SloLawParams()


def badness(value: float, target: float, direction: Direction) -> float:
    """How far a reading is from good: 1 at target, > 1 violating, < 1 with headroom."""
    if direction is Direction.BELOW:
        return value / target
    if value <= 0:
        return math.inf
    return target / value


def _ceil(x: float) -> int:
    # Guard against float noise such as 3.0000000000000004 -> 4.
    return math.ceil(round(x, 9))


def proportional_proposal(current: int, ratio: float, tolerance: float) -> int:
    """HPA ratio law: hold within tolerance, else ``ceil(current * ratio)``."""
    if abs(ratio - 1.0) <= tolerance:
        return current
    if current == 0:
        return 1 if ratio > 1 else 0
    return _ceil(current * ratio)


def slo_proposal(
    current: int, ratio: float, tolerance: float, params: SloLawParams = DEFAULT_SLO_LAW
) -> int:
    """Breach-driven law with a hysteresis band (see the module docstring).

    ``tolerance`` is deliberately unused: it exists to keep noisy *utilization* from
    causing flapping, while an SLO target is a limit, so any breach is acted on.
    """
    del tolerance
    if ratio > 1.0:
        factor = min(ratio**params.up_gain, params.max_up_factor)
        return max(current + 1, _ceil(current * factor))
    if ratio < params.scale_down_below:
        return max(0, min(current - 1, math.floor(current * (1.0 - params.down_step))))
    return current


def propose(
    kind: ObjectiveKind,
    current: int,
    ratio: float,
    tolerance: float,
    params: SloLawParams = DEFAULT_SLO_LAW,
) -> int:
    """The proposal of one objective of ``kind`` with badness ``ratio``."""
    if math.isinf(ratio):
        return max(current + 1, _ceil(current * params.max_up_factor))
    if kind is ObjectiveKind.PROPORTIONAL:
        return proportional_proposal(current, ratio, tolerance)
    return slo_proposal(current, ratio, tolerance, params)
