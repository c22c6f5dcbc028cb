"""The event-day overlay: an SLO's effective spec while EventDays are in force.

Rule for several EventDays on one SLO: **the strictest value wins**, field by field -
the shortest evaluation interval, the tightest target per objective (lowest for
``below`` objectives, highest for ``above``), the highest replica floor (never above
``maxReplicas``), the largest headroom (over the count when the events came into
force), and no scale-down if any event asks for it. Pool limits are the exception
(see :func:`_pool_in_force`): an event's value replaces the SLO's. The
result does not depend on the order the events are listed in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crestline.api.eventday import Overrides
from crestline.api.slo import Direction, PerformanceSLOSpec, PoolSpec


@dataclass(frozen=True)
class InForce:
    """An EventDay currently warming, active or cooling for this SLO."""

    name: str
    phase: str
    overrides: Overrides
    activation: str = ""  # which activation (policy.windows.Activation.id); "" if unknown


@dataclass(frozen=True)
class Floor:
    """A replica count learned from history that the recommendation may not go below."""

    replicas: int
    why: str


@dataclass(frozen=True)
class Overlay:
    """What decide() must do beyond the (already adjusted) spec."""

    events: tuple[str, ...] = ()
    headroom_percent: int = 0
    no_scale_down: bool = False
    floors: tuple[Floor, ...] = ()  # from history: a forecast, an EventDay's last peak

    @property
    def active(self) -> bool:
        return bool(self.events)


def _pool_in_force(pool: PoolSpec, events: Sequence[InForce]) -> PoolSpec:
    """The pool's limits while events are in force.

    An event's value *replaces* the SLO's (events may grant more, e.g. a larger budget
    for the sale); when several events set the same field, the strictest of their values
    wins: least budget and maxPerPod, most reserve and minPerPod.
    """
    overrides = [o for e in events for o in e.overrides.pools if o.name == pool.name]
    if not overrides:
        return pool

    def pick(values: list[int | None], strictest: Callable[[list[int]], int], base: int) -> int:
        given = [v for v in values if v is not None]
        return strictest(given) if given else base

    max_pp = pick([o.max_per_pod for o in overrides], min, pool.max_per_pod)
    min_pp = pick([o.min_per_pod for o in overrides], max, pool.min_per_pod)
    return pool.model_copy(
        update={
            "budget": pick([o.budget for o in overrides], min, pool.budget),
            "reserve_percent": pick(
                [o.reserve_percent for o in overrides], max, pool.reserve_percent
            ),
            "max_per_pod": max_pp,
            "min_per_pod": min(min_pp, max_pp),
        }
    )


def effective(
    spec: PerformanceSLOSpec, events: Sequence[InForce], baseline: int | None = None
) -> tuple[PerformanceSLOSpec, Overlay]:
    """The spec in force and the overlay, given the events in force (may be none).

    Headroom is applied once, to ``baseline`` - the replica count when the events came
    into force (recorded by the caller) - and becomes part of the floor. Applying it to
    each evaluation's count instead would compound: +20% on every tick.
    """
    if not events:
        return spec, Overlay()
    ordered = sorted(events, key=lambda e: e.name)
    interval = min(
        [spec.evaluation.interval_seconds]
        + [
            e.overrides.evaluation_interval_seconds
            for e in ordered
            if e.overrides.evaluation_interval_seconds
        ]
    )
    objectives = []
    for base in spec.objectives:
        targets = [o.target for e in ordered for o in e.overrides.objectives if o.name == base.name]
        if targets:
            pick = min if base.effective_direction is Direction.BELOW else max
            objectives.append(base.model_copy(update={"target": pick([base.target, *targets])}))
        else:
            objectives.append(base)
    floors = [
        e.overrides.capacity.min_replicas for e in ordered if e.overrides.capacity.min_replicas
    ]
    headroom = max(e.overrides.capacity.headroom_percent for e in ordered)
    if baseline and headroom:
        floors.append(math.ceil(round(baseline * (1 + headroom / 100), 9)))
    scaling = spec.scaling
    if floors:
        floor = min(max([scaling.min_replicas, *floors]), scaling.max_replicas)
        scaling = scaling.model_copy(update={"min_replicas": floor})
    pools = [_pool_in_force(pool, ordered) for pool in spec.pools]
    adjusted = spec.model_copy(
        update={
            "evaluation": spec.evaluation.model_copy(update={"interval_seconds": interval}),
            "objectives": objectives,
            "scaling": scaling,
            "pools": pools,
        }
    )
    overlay = Overlay(
        events=tuple(e.name for e in ordered),
        headroom_percent=headroom,
        no_scale_down=any(e.overrides.capacity.no_scale_down for e in ordered),
    )
    return adjusted, overlay
