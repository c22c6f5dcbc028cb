"""The event-day overlay: an SLO's effective spec while EventDays are in force.

Rule for several EventDays on one SLO: **the strictest value wins**, field by field -
the shortest evaluation interval, the tightest target per objective (lowest for
``below`` objectives, highest for ``above``), the highest replica floor (never above
``maxReplicas``), the largest headroom (over the count when the events came into
force), and no scale-down if any event asks for it. The
result does not depend on the order the events are listed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from crestline.api.eventday import Overrides
from crestline.api.slo import Direction, PerformanceSLOSpec


@dataclass(frozen=True)
class InForce:
    """An EventDay currently warming, active or cooling for this SLO."""

    name: str
    phase: str
    overrides: Overrides


@dataclass(frozen=True)
class Overlay:
    """What decide() must do beyond the (already adjusted) spec."""

    events: tuple[str, ...] = ()
    headroom_percent: int = 0
    no_scale_down: bool = False

    @property
    def active(self) -> bool:
        return bool(self.events)


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
    adjusted = spec.model_copy(
        update={
            "evaluation": spec.evaluation.model_copy(update={"interval_seconds": interval}),
            "objectives": objectives,
            "scaling": scaling,
        }
    )
    overlay = Overlay(
        events=tuple(e.name for e in ordered),
        headroom_percent=headroom,
        no_scale_down=any(e.overrides.capacity.no_scale_down for e in ordered),
    )
    return adjusted, overlay
