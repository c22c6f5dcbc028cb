"""From objective readings to one replica decision, with its reasons.

Order of operations (each step is a function the tests exercise alone), the HPA's
``reconcileAutoscaler`` with crestline's objectives:

1. a target at 0 replicas is left alone (scaling is off, as the HPA treats it); one
   outside ``[minReplicas, maxReplicas]`` is brought to the nearest bound at once;
2. every objective with a usable reading proposes a replica count (:mod:`.laws`), from
   the replicas that serve (:func:`serving_replicas`);
3. the most demanding proposal wins; it may not go below the current count if any
   objective is unreadable (never scale down on missing or partial data), while
   replicas are warming up, or while an EventDay forbids it; if no objective is readable
   the ``onMetricsUnavailable`` action decides (hold, or a fallback - never down);
4. stabilize over the recent recommendations, then apply the rate limits and the bounds
   (:mod:`.behavior`), saying which limit bit (:class:`Limit`).

Readings. A value is what the objective's query returned: ``NaN`` or none at all is
missing data; a negative value is not a reading of anything crestline scales on (an
error on that objective, never a scale-down); ``+Inf`` - histogram_quantile's answer
when the quantile lies in the top bucket - is a breach of a ``below`` objective (the
largest there is), and for an ``above`` objective is not a number to act on. Any finite
value, however large (1e308), is used; no arithmetic path overflows.

Replicas that serve. A replica counts as serving capacity once it is past
``warmupSeconds`` (asked for long enough ago to show in the metrics) *and* the workload
reports it Ready (``ScaleState.ready``), whichever is fewer. The two cover different
things: warm-up is the delay between asking and seeing a replica in the readings
(start-up, readiness, the query window); readiness catches what warm-up cannot (a slow
start, a crash loop, a pending pod). Replicas that do not serve count as idle when the
readings say "up" (as the HPA counts unready pods at 0 %) and as needed when they say
"down", so a scale-down only removes capacity the serving replicas show to be spare.

History. The HPA seeds an autoscaler it has never seen with the current count, so the
first scale-down waits a full stabilization window; an autoscaler whose recommendations
merely expired (a quiet spell longer than the window) scales at once. ``decide`` does the
same: it seeds only when ``ScaleState.recommendations`` is empty and
``ScaleState.had_history`` is false. Once it has decided, the history it returns is
never empty (the newest recommendation is kept even when expired), so a caller that
passes back what it was given needs no flag; one that persists only recent entries sets
it. What a caller carries from one decision to the next: ``recommendations`` and
``knees`` (the SLO law's memory, :mod:`.laws`) from the :class:`Decision`, and
``scale_events`` from :func:`record_scale` - without ``knees`` the SLO law cannot stop
repeating a failed probe.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from crestline.api.scaling import MetricsUnavailableAction, ScalingSpec
from crestline.api.slo import Direction as ObjDirection
from crestline.api.slo import Objective, ObjectiveKind
from crestline.policy.behavior import (
    Bounds,
    Limit,
    LimitReason,
    Stabilized,
    Timed,
    limit_rate,
    stabilize,
    stabilized_reason,
)
from crestline.policy.laws import (
    DEFAULT_SLO_LAW,
    DEMAND_KINDS,
    Fleet,
    Knee,
    SloLawParams,
    badness,
    learn,
    propose,
    total_badness,
)
from crestline.policy.overlay import Overlay

__all__ = [
    "Decision",
    "Direction",
    "Knee",
    "Limit",
    "LimitReason",
    "Normalized",
    "ObjectiveOutcome",
    "Reading",
    "ScaleState",
    "Stabilized",
    "apply_behavior",
    "decide",
    "record_scale",
    "removed_by_probe",
    "serving_replicas",
    "warming_up",
]


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    NONE = "none"


@dataclass(frozen=True)
class Reading:
    """One objective's value, or why it could not be read."""

    value: float | None
    error: str | None = None
    headroom_value: float | None = None  # value to size for: growth headroom (policy.demand)

    @property
    def ok(self) -> bool:
        """A number to act on: no error, not missing or NaN, not negative.

        ``+Inf`` is ok (a breach for ``below`` objectives, see the module docstring).
        """
        return self.problem is None

    @property
    def problem(self) -> str | None:
        """Why this reading is not a number to act on, or None."""
        if self.error is not None:
            return self.error
        if self.value is None:
            return "no value"
        if math.isnan(self.value):
            return "value is NaN (no data)"
        if self.value < 0:
            return f"value {self.value:g} is negative, not a valid reading"
        return None


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
    """What the decision needs to know besides readings: now's replicas and recent history.

    ``current``: the target's desired replica count (its scale subresource); ``ready``:
    the pods the workload reports Ready, if known (None: assume all serve once warm);
    ``recommendations`` and ``knees``: what the previous :class:`Decision` returned;
    ``scale_events``: from :func:`record_scale`; ``had_history``: this SLO has been
    decided on before (so empty ``recommendations`` means "expired", not "new").
    """

    current: int
    recommendations: tuple[Timed, ...] = ()
    scale_events: tuple[Timed, ...] = ()
    ready: int | None = None
    knees: tuple[Knee, ...] = ()
    had_history: bool = False


@dataclass(frozen=True)
class Decision:
    current: int
    recommended: int
    desired: int
    reason: str
    objectives: tuple[ObjectiveOutcome, ...]
    metrics_complete: bool
    metrics_available: bool
    limit: Limit | None = None
    recommendations: tuple[Timed, ...] = ()
    stabilized: Stabilized | None = None
    knees: tuple[Knee, ...] = ()

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


def _ratio(obj: Objective, reading: Reading, current: int) -> tuple[float | None, str | None]:
    """The objective's badness from a reading, or why there is none (module docstring).

    A ``total`` objective's target is per replica, so its badness is the total over what
    the current replicas are meant to carry (the HPA's AverageValue usage ratio)."""
    problem = reading.problem
    if problem is not None:
        return None, problem
    assert reading.value is not None
    direction = obj.effective_direction
    if math.isinf(reading.value) and direction is not ObjDirection.BELOW:
        return None, "value is +Inf, not a number an 'above' objective can meet"
    if obj.effective_kind is ObjectiveKind.TOTAL:
        return total_badness(reading.value, obj.target, current), None
    return badness(reading.value, obj.target, direction), None


def _evaluate(
    obj: Objective, reading: Reading, fleet: Fleet, knee: Knee | None
) -> ObjectiveOutcome:
    kind, direction = obj.effective_kind, obj.effective_direction
    ratio, error = _ratio(obj, reading, fleet.current)
    if ratio is None:
        return ObjectiveOutcome(
            obj.name, kind.value, direction.value, obj.target, None, None, None, error
        )

    def proposal(r: float) -> int:
        return propose(kind, fleet, r, knee)

    value = proposal(ratio)
    headroom = reading.headroom_value
    if (
        kind in DEMAND_KINDS
        and direction is ObjDirection.BELOW
        and headroom is not None
        and math.isfinite(headroom)
        and reading.value is not None
        and headroom > reading.value
    ):
        # Size for growth within the dead time too (policy.demand); only ever adds replicas.
        sized = _ratio(obj, Reading(headroom), fleet.current)[0]
        if sized is not None:
            value = max(value, proposal(sized))
    return ObjectiveOutcome(
        obj.name, kind.value, direction.value, obj.target, reading.value, ratio, value, None
    )


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


@dataclass(frozen=True)
class Normalized:
    """The behaviour step's result: the count to set and what shaped it."""

    desired: int
    stabilized: int
    limit: Limit | None
    stabilization: Stabilized | None


def apply_behavior(
    scaling: ScalingSpec,
    state: ScaleState,
    recommended: int,
    *,
    history: Sequence[Timed],
    now: float,
) -> Normalized:
    """Stabilize, then rate-limit and bound ``recommended`` (the HPA's behaviour step).

    ``history``: the recommendations before ``now``. Also used as such by the HPA
    baseline in crestline_dev.sim.
    """
    behavior, current = scaling.behavior, state.current
    stable = stabilize(
        current,
        recommended,
        history,
        now,
        up_window=behavior.scale_up.stabilization_window_seconds,
        down_window=behavior.scale_down.stabilization_window_seconds,
    )
    bounds = Bounds(
        scaling.min_replicas, scaling.max_replicas, behavior.scale_up, behavior.scale_down
    )
    desired, limit = limit_rate(current, stable, bounds, events=state.scale_events, now=now)
    return Normalized(desired, stable, limit, stabilized_reason(current, recommended, stable))


def _horizon(scaling: ScalingSpec) -> float:
    return max(
        scaling.behavior.scale_up.stabilization_window_seconds,
        scaling.behavior.scale_down.stabilization_window_seconds,
    )


def _history(state: ScaleState, scaling: ScalingSpec, now: float) -> tuple[Timed, ...]:
    """Recommendations still inside a window; never empty once there was one (see above)."""
    kept = tuple(r for r in state.recommendations if r.t > now - _horizon(scaling))
    if kept or not state.recommendations:
        return kept
    return (max(state.recommendations, key=lambda r: r.t),)


def _out_of_bounds(scaling: ScalingSpec, current: int) -> tuple[int, Limit] | None:
    """The HPA's first check: a count outside the bounds goes to the nearest bound now."""
    lo, hi = scaling.min_replicas, scaling.max_replicas
    if current > hi:
        message = f"{current} replicas are above maxReplicas {hi}"
        return hi, Limit(LimitReason.TOO_MANY_REPLICAS, message)
    if current < lo:
        return lo, Limit(
            LimitReason.TOO_FEW_REPLICAS, f"{current} replicas are below minReplicas {lo}"
        )
    return None


def _knees(
    objectives: Sequence[Objective],
    outcomes: Sequence[ObjectiveOutcome],
    state: ScaleState,
    *,
    fleet: Fleet,
    now: float,
) -> tuple[Knee, ...]:
    """The SLO law's knee memory after this evaluation (one per SLO objective at most)."""
    known = {k.objective: k for k in state.knees}
    out = []
    for obj, outcome in zip(objectives, outcomes, strict=True):
        if obj.effective_kind is not ObjectiveKind.SLO:
            continue
        knee = known.get(obj.name)
        if outcome.ratio is not None:
            knee = learn(knee, obj.name, fleet=fleet, ratio=outcome.ratio, now=now)
        if knee is not None:
            out.append(knee)
    return tuple(out)


def decide(  # noqa: PLR0913, PLR0917 - the interface the plan step and the simulator call
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
    :mod:`crestline.policy.overlay`): no scale-down; and floors learned from history (a
    weekly forecast, an EventDay's last peak), which raise the recommendation like one
    more objective and go through the same stabilization and rate limits.
    """
    current = state.current
    fleet = Fleet(
        current,
        serving_replicas(state, now, scaling),
        scaling.tolerances(),
        law,
        removed_by_probe(state.scale_events, now, scaling),
        shrunk_last=bool(state.scale_events) and state.scale_events[-1].value < 0,
    )
    knees = {k.objective: k for k in state.knees}
    outcomes = tuple(
        _evaluate(obj, readings.get(obj.name, _MISSING), fleet, knees.get(obj.name))
        for obj in objectives
    )
    proposals = [o.proposal for o in outcomes if o.proposal is not None]
    complete = len(proposals) == len(outcomes)
    described = "; ".join(_describe(o) for o in outcomes)
    history = _history(state, scaling, now)
    if not history and not state.had_history:
        # Never decided before: as if the current count had been recommended just now
        # (the HPA's recordInitialRecommendation, whatever the metrics say), so a first
        # scale-down waits a full window.
        history = (Timed(now, current),)
    base = _Partial(current, outcomes, complete, history, state.knees)

    if current == 0:
        why = "the target is at 0 replicas: scaling is off until it has some (as the HPA)"
        return base.done(0, 0, f"{why}: {described}", available=bool(proposals))
    bounded = _out_of_bounds(scaling, current)
    if not proposals:
        desired, why = _on_outage(scaling, current)
        limit = bounded[1] if bounded else None
        return base.done(desired, desired, f"{why}: {described}", available=False, limit=limit)

    learned = _knees(objectives, outcomes, state, fleet=fleet, now=now)
    combined = max(proposals)
    floor = max(overlay.floors, key=lambda f: f.replicas) if overlay and overlay.floors else None
    raised = floor is not None and floor.replicas > combined
    if floor is not None and raised:
        combined = floor.replicas
    in_flight = warming_up(state.scale_events, now, scaling.warmup_seconds)
    notes, hold = _holds(combined, fleet, in_flight=in_flight, complete=complete, overlay=overlay)
    if hold:
        combined = current
    recommended = min(max(combined, scaling.min_replicas), scaling.max_replicas)
    reason = f"{described}; most demanding {combined}"
    if floor is not None and raised:
        reason = f"{reason} ({floor.why})"
    base = _Partial(current, outcomes, complete, history, learned)

    if bounded is not None:
        desired, limit = bounded
        return base.done(
            recommended,
            desired,
            _join(reason, [*notes, f"{limit.reason}: {limit.message}"]),
            limit=limit,
        )

    step = apply_behavior(scaling, state, combined, history=history, now=now)
    if step.stabilization is not None:
        held = "lowest" if step.stabilization is Stabilized.SCALE_UP_STABILIZED else "highest"
        notes.append(f"{step.stabilization}: the {held} recent recommendation is {step.stabilized}")
    if step.limit is not None:
        notes.append(f"{step.limit.reason}: {step.limit.message}")
    return _Partial(current, outcomes, complete, (*history, Timed(now, combined)), learned).done(
        recommended,
        step.desired,
        _join(reason, notes),
        limit=step.limit,
        stabilized=step.stabilization,
    )


_MISSING = Reading(None, "no reading")


@dataclass(frozen=True)
class _Partial:
    """What every branch of :func:`decide` returns alike."""

    current: int
    outcomes: tuple[ObjectiveOutcome, ...]
    complete: bool
    history: tuple[Timed, ...]
    knees: tuple[Knee, ...]

    def done(
        self,
        recommended: int,
        desired: int,
        reason: str,
        *,
        available: bool = True,
        limit: Limit | None = None,
        stabilized: Stabilized | None = None,
    ) -> Decision:
        return Decision(
            current=self.current,
            recommended=recommended,
            desired=desired,
            reason=reason,
            objectives=self.outcomes,
            metrics_complete=self.complete and available,
            metrics_available=available,
            limit=limit,
            recommendations=self.history,
            stabilized=stabilized,
            knees=self.knees,
        )


def _join(reason: str, notes: list[str]) -> str:
    return reason + "".join(f"; {n}" for n in notes)


def _holds(
    combined: int,
    fleet: Fleet,
    *,
    in_flight: int,
    complete: bool,
    overlay: Overlay | None,
) -> tuple[list[str], bool]:
    """Notes on the fleet, and whether the recommendation may not go below the current count."""
    current = fleet.current
    unready = max(0, current - in_flight - fleet.serving)
    notes = []
    if in_flight:
        notes.append(f"{in_flight} replica(s) still warming up, counted as not serving")
    if unready:
        notes.append(f"{unready} replica(s) not Ready, counted as not serving")
    if combined >= current:
        return notes, False
    holds = []
    if overlay is not None and overlay.no_scale_down:
        holds.append(f"event {', '.join(overlay.events)}: no scale-down")
    if not complete:
        holds.append("partial metrics: no scale-down")
    if in_flight:
        # Readings predate the new replicas: they cannot justify removing any.
        holds.append("no scale-down while replicas warm up")
    return notes + holds, bool(holds)


def warming_up(events: Sequence[Timed], now: float, warmup_seconds: float) -> int:
    """Replicas added within the warm-up time: asked for, but not yet in the readings.

    This is dead-time compensation. Without it a breach that persists while new
    replicas start would be answered again at every evaluation, each time multiplying
    the already-increased count (integrator wind-up); the HPA's equivalent is counting
    unready pods at 0% usage when scaling up.
    """
    return sum(e.value for e in events if e.value > 0 and e.t > now - warmup_seconds)


def serving_replicas(state: ScaleState, now: float, scaling: ScalingSpec) -> int:
    """Replicas whose capacity the readings reflect: past warm-up, and Ready if known."""
    warm = max(state.current - warming_up(state.scale_events, now, scaling.warmup_seconds), 0)
    return warm if state.ready is None else max(0, min(warm, state.ready))


def _probe_horizon(scaling: ScalingSpec) -> float:
    """How long a scale-down counts as a probe in progress (see :func:`removed_by_probe`)."""
    return max(scaling.warmup_seconds, scaling.behavior.scale_down.stabilization_window_seconds)


def removed_by_probe(events: Sequence[Timed], now: float, scaling: ScalingSpec) -> int:
    """Replicas the fleet is down, net, over the probe horizon: a probe still on trial.

    The horizon is the longer of the warm-up time (until a change shows in the readings)
    and the scale-down stabilization window (no new probe comes sooner, so a breach
    within it is this probe's). The SLO law undoes such a probe on a breach and learns a
    knee from it (:mod:`.laws`).
    """
    horizon = _probe_horizon(scaling)
    return max(0, -sum(e.value for e in events if e.t > now - horizon))


def record_scale(
    events: Sequence[Timed], now: float, delta: int, scaling: ScalingSpec
) -> tuple[Timed, ...]:
    """Scale events to keep after a change of ``delta`` at ``now``, dropping expired ones
    (older than every rate-limit period, the warm-up time and the probe horizon)."""
    periods = [
        p.period_seconds
        for rules in (scaling.behavior.scale_up, scaling.behavior.scale_down)
        for p in rules.policies
    ]
    horizon = max([*periods, scaling.warmup_seconds, _probe_horizon(scaling)])
    kept = [e for e in events if e.t > now - horizon]
    if delta:
        kept.append(Timed(now, delta))
    elif not kept and events:
        # The last change is kept however old: the SLO law asks whether the fleet's
        # last change was a scale-down (laws.Fleet.shrunk_last). Every other use filters
        # by time, so an old entry changes nothing else.
        kept.append(max(events, key=lambda e: e.t))
    return tuple(kept)
