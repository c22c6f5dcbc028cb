"""From objective readings to one replica decision, with its reasons.

Order of operations (each step is a function the tests exercise alone):

1. every objective with a reading proposes a replica count (:mod:`.laws`);
2. the most demanding proposal wins; if any objective is unreadable the result may not
   go below the current count (never scale down on missing or partial data), and if
   none is readable the ``onMetricsUnavailable`` action decides (hold or fallback);
3. clamp to ``[minReplicas, maxReplicas]``;
4. stabilize over the recent recommendations, then apply the rate limits
   (:mod:`.behavior`);
5. clamp to the bounds again - bounds are the user's intent and win over rate limits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from crestline.api.scaling import MetricsUnavailableAction, ScalingSpec
from crestline.api.slo import Direction as ObjDirection
from crestline.api.slo import Objective, ObjectiveKind
from crestline.policy.behavior import Timed, scale_down_limit, scale_up_limit, stabilize
from crestline.policy.laws import DEFAULT_SLO_LAW, SloLawParams, badness, propose
from crestline.policy.overlay import Overlay


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    NONE = "none"


@dataclass(frozen=True)
class Reading:
    """One objective's value, or why it could not be read."""

    value: float | None
    error: str | None = None
    headroom_value: float | None = None  # value to size for (see policy.demand)

    @property
    def ok(self) -> bool:
        return self.value is not None and math.isfinite(self.value) and self.error is None


@dataclass(frozen=True)
class ObjectiveOutcome:
    name: str
    kind: str
    direction: str
    target: float
    value: float | None
    ratio: float | None
    proposal: int | None
    error: str | None


@dataclass(frozen=True)
class ScaleState:
    """What the decision needs to know besides readings: now's replicas and recent history."""

    current: int
    recommendations: tuple[Timed, ...] = ()
    scale_events: tuple[Timed, ...] = ()


@dataclass(frozen=True)
class Decision:
    current: int
    recommended: int
    desired: int
    reason: str
    objectives: tuple[ObjectiveOutcome, ...]
    metrics_complete: bool
    metrics_available: bool
    limited: str | None = None
    recommendations: tuple[Timed, ...] = field(default=())

    @property
    def direction(self) -> Direction:
        if self.desired > self.current:
            return Direction.UP
        if self.desired < self.current:
            return Direction.DOWN
        return Direction.NONE

    @property
    def worst(self) -> ObjectiveOutcome | None:
        """The objective furthest from good (highest badness ratio)."""
        rated = [o for o in self.objectives if o.ratio is not None]
        return max(rated, key=lambda o: o.ratio or 0.0) if rated else None


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _evaluate(
    objectives: Sequence[Objective],
    readings: Mapping[str, Reading],
    *,
    serving: int,
    tolerance: float,
    law: SloLawParams,
) -> list[ObjectiveOutcome]:
    outcomes = []
    for obj in objectives:
        reading = readings.get(obj.name, Reading(None, "no reading"))
        kind, direction = obj.effective_kind, obj.effective_direction
        if not reading.ok:
            error = reading.error or f"value {reading.value} is not a number"
            outcomes.append(
                ObjectiveOutcome(
                    obj.name, kind.value, direction.value, obj.target, None, None, None, error
                )
            )
            continue
        assert reading.value is not None
        ratio = badness(reading.value, obj.target, direction)
        proposal = propose(kind, serving, ratio, tolerance, law)
        if (
            kind is ObjectiveKind.PROPORTIONAL
            and direction is ObjDirection.BELOW
            and reading.headroom_value is not None
            and reading.headroom_value > reading.value
        ):
            # Size for recent bursts too (policy.demand); this only ever adds replicas.
            burst = badness(reading.headroom_value, obj.target, direction)
            proposal = max(proposal, propose(kind, serving, burst, tolerance, law))
        outcomes.append(
            ObjectiveOutcome(
                obj.name,
                kind.value,
                direction.value,
                obj.target,
                reading.value,
                ratio,
                proposal,
                None,
            )
        )
    return outcomes


def _describe(o: ObjectiveOutcome) -> str:
    if o.error is not None:
        return f"{o.name} unavailable ({o.error})"
    assert o.value is not None
    assert o.ratio is not None
    sign = "<=" if o.direction == "below" else ">="
    return (
        f"{o.name}={_fmt(o.value)} (target {sign} {_fmt(o.target)}, {o.ratio:.2f}x) -> {o.proposal}"
    )


def _on_outage(scaling: ScalingSpec, current: int) -> tuple[int, str]:
    """Nothing readable: hold, or go to the fallback - but never below the current count."""
    fallback = scaling.on_metrics_unavailable.fallback_replicas
    if scaling.on_metrics_unavailable.action is MetricsUnavailableAction.FALLBACK and (
        fallback is not None
    ):
        target, why = (
            max(current, fallback),
            f"metrics unavailable, fallback to at least {fallback}",
        )
    else:
        target, why = current, "metrics unavailable, holding"
    return min(max(target, scaling.min_replicas), scaling.max_replicas), why


def apply_behavior(
    scaling: ScalingSpec,
    state: ScaleState,
    recommended: int,
    history: tuple[Timed, ...],
    *,
    now: float,
    notes: list[str],
) -> tuple[int, str | None]:
    """Stabilize, then rate-limit, then bound ``recommended``; returns (desired, limited).

    The HPA's own behaviour step, also used as such by the HPA baseline in crestline_dev.sim.
    """
    behavior, current = scaling.behavior, state.current
    desired = stabilize(
        current,
        recommended,
        history,
        now,
        up_window=behavior.scale_up.stabilization_window_seconds,
        down_window=behavior.scale_down.stabilization_window_seconds,
    )
    if desired != recommended:
        notes.append(f"stabilization window holds at {desired}")
    limited = None
    if desired > current:
        cap = scale_up_limit(current, behavior.scale_up, state.scale_events, now)
        if desired > cap:
            limited = f"scale-up rate limit allows {cap} now"
            notes.append(f"rate limit -> {cap}")
            desired = cap
    elif desired < current:
        floor = scale_down_limit(current, behavior.scale_down, state.scale_events, now)
        if desired < floor:
            notes.append(f"scale-down rate limit -> {floor}")
            desired = floor
    return min(max(desired, scaling.min_replicas), scaling.max_replicas), limited


def decide(
    scaling: ScalingSpec,
    objectives: Sequence[Objective],
    readings: Mapping[str, Reading],
    state: ScaleState,
    now: float,
    *,
    law: SloLawParams = DEFAULT_SLO_LAW,
    overlay: Overlay | None = None,
) -> Decision:
    """The replica decision for one evaluation. Pure: same input, same output.

    ``overlay`` carries what an EventDay in force adds beyond its adjusted spec (see
    :mod:`crestline.policy.overlay`): no scale-down.
    """
    current = state.current
    lo, hi = scaling.min_replicas, scaling.max_replicas
    in_flight = warming_up(state.scale_events, now, scaling.warmup_seconds)
    serving = serving_replicas(state, now, scaling)
    outcomes = tuple(
        _evaluate(
            objectives,
            readings,
            serving=serving,
            tolerance=scaling.tolerance,
            law=law,
        )
    )
    proposals = [o.proposal for o in outcomes if o.proposal is not None]
    complete = len(proposals) == len(outcomes)
    described = "; ".join(_describe(o) for o in outcomes)
    horizon = max(
        scaling.behavior.scale_up.stabilization_window_seconds,
        scaling.behavior.scale_down.stabilization_window_seconds,
    )
    history = tuple(r for r in state.recommendations if r.t > now - horizon)

    if not proposals:
        desired, why = _on_outage(scaling, current)
        return Decision(
            current, desired, desired, f"{why}: {described}", outcomes, False, False, None, history
        )

    if not history:
        # No memory (a new SLO, or history lost): behave as if the current count had been
        # recommended just now, so the first scale-down waits a full stabilization window.
        history = (Timed(now, current),)
    combined = max(proposals)
    notes = []
    if overlay is not None and overlay.no_scale_down and combined < current:
        notes.append(f"event {', '.join(overlay.events)}: no scale-down")
        combined = current
    if in_flight:
        notes.append(f"{in_flight} replica(s) still warming up, counted as not serving")
    if not complete and combined < current:
        combined = current
        notes.append("partial metrics: no scale-down")
    elif in_flight and combined < current:
        # Readings predate the new replicas: they cannot justify removing any.
        combined = current
    recommended = min(max(combined, lo), hi)
    if combined < lo:
        notes.append(f"minReplicas {lo}")
    desired, limited = apply_behavior(scaling, state, recommended, history, now=now, notes=notes)
    if combined > hi:
        limited = f"maxReplicas {hi} caps the recommendation of {combined}"

    reason = f"{described}; most demanding {combined}"
    if notes:
        reason += "; " + "; ".join(notes)
    new_history = (*history, Timed(now, recommended))
    return Decision(
        current, recommended, desired, reason, outcomes, complete, True, limited, new_history
    )


def warming_up(events: Sequence[Timed], now: float, warmup_seconds: float) -> int:
    """Replicas added within the warm-up time: asked for, but not yet in the readings.

    This is dead-time compensation. Without it a breach that persists while new
    replicas start would be answered again at every evaluation, each time multiplying
    the already-increased count (integrator wind-up); the HPA's equivalent is counting
    unready pods at 0% usage when scaling up.
    """
    return sum(e.value for e in events if e.value > 0 and e.t > now - warmup_seconds)


def serving_replicas(state: ScaleState, now: float, scaling: ScalingSpec) -> int:
    """Replicas whose capacity the current readings reflect (current minus warming up)."""
    return max(state.current - warming_up(state.scale_events, now, scaling.warmup_seconds), 0)


def record_scale(
    events: Sequence[Timed], now: float, delta: int, scaling: ScalingSpec
) -> tuple[Timed, ...]:
    """Scale events to keep after a change of ``delta`` at ``now``, dropping expired ones."""
    periods = [
        p.period_seconds
        for rules in (scaling.behavior.scale_up, scaling.behavior.scale_down)
        for p in rules.policies
    ]
    horizon = max([*periods, scaling.warmup_seconds])
    kept = [e for e in events if e.t > now - horizon]
    if delta:
        kept.append(Timed(now, delta))
    return tuple(kept)
