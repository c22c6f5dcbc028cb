"""One evaluation of one PerformanceSLO as a pure function: observation in, plan out.

The runtime observes (the target's scale, other owners of its replicas, the objectives'
readings, the EventDays in force, the on-call annotations), calls :func:`plan`, performs
the writes the plan allows, and reports the status and Events it carries. Everything
between observing and acting is decided here, so every branch is a unit test and the
simulator scores exactly the code that runs in clusters.

**One gate for every write.** A plan's :class:`Gate` says whether this evaluation may
change anything outside the SLO's own status: the replica count and the pool sizes are
written only when it is ``OPEN``. It is closed, in this order of precedence, when the
target is missing, when another controller owns the replicas (``CONFLICT``: an HPA, a
KEDA ScaledObject, a server-side-apply manager of ``spec.replicas``), when on-call paused
the SLO, and in ``dryRun`` mode. A closed gate still reports what it would have done.

**Write order.** Pool sizes are computed for the larger of the current and the desired
replica count, so they are safe before and after the change; the runtime writes them
first and scales only if they were written (a failed write is handed back through
``PlanInput.write_failure`` and planned again, which reports it).

**Status written on change.** :func:`needs_write` says whether a new status differs
from the last one written in anything a user reads; readings that merely wobble do not
count, and a heartbeat refreshes them every few minutes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crestline.api.scaling import ScalingSpec
from crestline.api.slo import Mode, PerformanceSLOSpec
from crestline.api.status import (
    MAX_DECISIONS,
    MAX_SCALE_CHANGES,
    Condition,
    DecisionRecord,
    IgnoredEventDay,
    LearnedKnee,
    ObjectiveStatus,
    PerformanceSLOStatus,
    PoolStatus,
    ScaleChange,
    ScaleDirection,
)
from crestline.calendar.instants import format_instant
from crestline.policy import history as hist
from crestline.policy.behavior import Limit, LimitReason, Timed
from crestline.policy.conditions import Event, EventType, cond, merge, transition_events
from crestline.policy.decide import (
    Decision,
    Direction,
    ScaleState,
    decide,
    record_scale,
    serving_replicas,
)
from crestline.policy.laws import Knee
from crestline.policy.manual import Manual
from crestline.policy.manual import parse as parse_manual
from crestline.policy.overlay import InForce, Overlay, effective
from crestline.policy.pools import PoolCap, pool_cap, pool_size
from crestline.policy.readings import ReadFailure, SourceResult, interpret

HEARTBEAT_SECONDS = 300.0
# Failures in the order the MetricsAvailable condition names them (most actionable first).
FAILURE_ORDER = (
    ReadFailure.NOT_ALLOWED,
    ReadFailure.BAD_QUERY,
    ReadFailure.UNAVAILABLE,
    ReadFailure.NO_DATA,
)
WATCHED = ("MetricsAvailable", "TargetFound", "Conflict", "Lagging", "PodsReady")
# Pods that are still not Ready this long after the last scale-up (beyond warmupSeconds)
# are not starting: they are failing (crash loop, readiness probe, no capacity).
STUCK_GRACE_SECONDS = 60.0


class Gate(StrEnum):
    """Whether this evaluation may write outside the SLO's status, and if not, why."""

    OPEN = "Enforcing"
    DRY_RUN = "DryRun"
    PAUSED = "Paused"
    CONFLICT = "Conflict"
    NO_TARGET = "TargetNotFound"
    INVALID = "InvalidSpec"


@dataclass(frozen=True)
class Owner:
    """Something other than crestline that controls the target's replica count."""

    kind: str
    name: str

    def describe(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class TargetView:
    """What the runtime saw of the target workload."""

    replicas: int  # spec.replicas
    ready: int | None = None  # status.readyReplicas, when the workload reports it
    surge: int | str = 0  # how many extra pods a rolling update may add


@dataclass(frozen=True)
class Observation:
    """Everything read from outside for one evaluation."""

    target: TargetView | None
    target_problem: str = ""  # why target is None
    owners: tuple[Owner, ...] = ()
    results: Mapping[str, SourceResult] = field(default_factory=dict)
    events: tuple[InForce, ...] = ()
    ignored_events: tuple[IgnoredEventDay, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    lag: float = 0.0  # seconds this evaluation ran after it was due


@dataclass(frozen=True)
class Memory:
    """What an SLO carries from one evaluation to the next.

    ``status`` is the last status written (or read back after a restart); the rest is
    working memory. ``had_history`` tells a new SLO (its first decision seeds the
    stabilization window with the current count, as the HPA does) from one whose
    recommendations merely expired.
    """

    status: PerformanceSLOStatus = field(default_factory=PerformanceSLOStatus)
    recommendations: tuple[Timed, ...] = ()
    scale_changes: tuple[Timed, ...] = ()
    history: hist.History = field(default_factory=hist.History)  # policy.history
    knees: tuple[Knee, ...] = ()  # what the SLO law learned (policy.laws)
    had_history: bool = False
    unready_since: float | None = None  # when some of the target's pods stopped being Ready
    pool_sizes: Mapping[tuple[str, str], int] = field(default_factory=dict)

    @classmethod
    def from_status(cls, status: PerformanceSLOStatus) -> Memory:
        """Memory after a restart or a failover: what the status kept."""
        return cls(
            status=status,
            scale_changes=tuple(Timed(c.t, c.delta) for c in status.scale_changes),
            history=hist.recall(status),
            unready_since=status.pods_unready_since,
            knees=tuple(
                Knee(
                    k.objective,
                    k.floor,
                    k.since,
                    None
                    if k.reference_serving is None or k.reference_badness is None
                    else (k.reference_serving, k.reference_badness),
                )
                for k in status.learned
            ),
        )


@dataclass(frozen=True)
class WriteFailure:
    """A write the runtime could not make; nothing after it was attempted."""

    message: str
    config_written: bool = False  # the pool sizes went through, the scale did not


@dataclass(frozen=True)
class PlanInput:
    spec: PerformanceSLOSpec
    observation: Observation
    memory: Memory
    now: float
    generation: int | None = None
    write_failure: WriteFailure | None = None
    min_interval: float = 1.0  # the administrator's floor on evaluation intervals
    evaluator: str | None = None  # the replica evaluating (shown in the status)


@dataclass(frozen=True)
class ConfigWrite:
    """One ConfigMap key to server-side apply (a pool's per-pod size)."""

    config_map: str
    key: str
    value: str


@dataclass(frozen=True)
class Writes:
    """What the runtime must change, in this order: config first, then replicas."""

    config: tuple[ConfigWrite, ...] = ()
    replicas: int | None = None

    @property
    def empty(self) -> bool:
        return not self.config and self.replicas is None


@dataclass(frozen=True)
class Plan:
    gate: Gate
    writes: Writes
    status: PerformanceSLOStatus
    events: tuple[Event, ...]
    memory: Memory
    interval: float
    decision: Decision | None = None


def _iso(ts: float) -> str:
    return format_instant(dt.datetime.fromtimestamp(ts, dt.UTC))


def _at(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC)


# -- pieces ----------------------------------------------------------------------------------


def _gate(spec: PerformanceSLOSpec, obs: Observation, manual: Manual, now: float) -> Gate:
    if obs.owners:
        return Gate.CONFLICT
    if manual.paused(_at(now)):
        return Gate.PAUSED
    if spec.mode is Mode.DRY_RUN:
        return Gate.DRY_RUN
    return Gate.OPEN


def _hold(manual: Manual, decision: Decision, scaling: ScalingSpec, now: float) -> Decision:
    """An on-call hold replaces the desired count (within the bounds) until it expires."""
    held = manual.held(_at(now))
    if held is None or manual.hold_until is None:
        return decision
    target = min(max(held, scaling.min_replicas), scaling.max_replicas)
    return dataclasses.replace(
        decision,
        desired=target,
        limit=None,
        reason=f"on-call hold at {target} until {format_instant(manual.hold_until)} "
        f"(objectives: {decision.recommended}); {decision.reason}",
    )


def _mode(
    spec: PerformanceSLOSpec, in_force: tuple[InForce, ...], manual: Manual, now: float
) -> str:
    at = _at(now)
    if manual.paused(at) and manual.paused_until is not None:
        forever = manual.paused_until.year == dt.MAXYEAR
        return "Paused until " + (
            "further notice" if forever else format_instant(manual.paused_until)
        )
    held = manual.held(at)
    if held is not None and manual.hold_until is not None:
        return f"Hold {held} until {format_instant(manual.hold_until)}"
    if in_force:
        return "EventDay " + ", ".join(f"{e.name} ({e.phase})" for e in in_force)
    return spec.mode.value


def _pools(
    spec: PerformanceSLOSpec, replicas: int, surge: int | str
) -> tuple[list[PoolStatus], dict[tuple[str, str], int]]:
    """Each pool's per-pod size for ``replicas`` (and its rollout), and its status line."""
    statuses, sizes = [], {}
    for pool in spec.pools:
        size = pool_size(pool, replicas, surge)
        sizes[(pool.config_map.name, pool.config_map.key)] = size.per_pod
        statuses.append(
            PoolStatus(
                name=pool.name,
                per_pod=size.per_pod,
                usable=size.usable,
                max_replicas=size.max_replicas,
            )
        )
    return statuses, sizes


def _metrics_condition(
    decision: Decision, failures: Mapping[str, ReadFailure], generation: int | None
) -> Condition:
    if not failures:
        return cond("MetricsAvailable", True, "AllObjectivesRead", generation=generation)
    worst = next(f for f in FAILURE_ORDER if f in failures.values())
    errors = "; ".join(f"{o.name}: {o.error}" for o in decision.objectives if o.error)
    return cond("MetricsAvailable", False, worst.value, errors, generation=generation)


def _limit_condition(limit: Limit | None, generation: int | None) -> Condition:
    if limit is None:
        return cond("ScalingLimited", False, "DesiredWithinRange", generation=generation)
    return cond("ScalingLimited", True, limit.reason.value, limit.message, generation=generation)


def _ready(
    gate: Gate,
    decision: Decision,
    *,
    failures: Mapping[str, ReadFailure],
    failure: WriteFailure | None,
    gen: int | None,
) -> Condition:
    generation = gen
    if failure is not None:
        return cond("Ready", False, "ScaleFailed", failure.message, generation=generation)
    if gate is Gate.CONFLICT:
        return cond(
            "Ready",
            False,
            "Conflict",
            "another controller owns the replicas",
            generation=generation,
        )
    if failures:
        return cond(
            "Ready",
            False,
            "MetricsUnavailable",
            "; ".join(f"{o.name}: {o.error}" for o in decision.objectives if o.error),
            generation=generation,
        )
    return cond("Ready", True, gate.value, decision.reason, generation=generation)


LATENESS = (1, 2, 5, 10, 20, 50, 100)  # in intervals: coarse, so the message rarely changes


def _lagging(lag: float, interval: float, generation: int | None) -> Condition:
    """Lagging=True when an evaluation starts more than an interval late. The message
    names the lateness in coarse steps: a status written because the lag moved by a
    second would add load to an operator that is already behind."""
    if lag > interval:
        late = max(n for n in LATENESS if lag > n * interval)
        return cond(
            "Lagging",
            True,
            "BehindSchedule",
            f"evaluations start more than {late} interval(s) ({late * interval:g}s) late: the "
            "operator has more work than it can do on time; see "
            "crestline_evaluation_lag_seconds, add workers or replicas",
            generation=generation,
        )
    return cond("Lagging", False, "OnSchedule", generation=generation)


def _objectives(decision: Decision) -> list[ObjectiveStatus]:
    return [
        ObjectiveStatus(
            name=o.name,
            kind=o.kind,
            direction=o.direction,
            target=o.target,
            value=_sig(o.value, 4),
            ratio=None if o.ratio is None or not math.isfinite(o.ratio) else round(o.ratio, 3),
            proposal=o.proposal,
            error=o.error[:512] if o.error else None,
        )
        for o in decision.objectives
    ]


def _sig(x: float | None, digits: int) -> float | None:
    """``x`` to ``digits`` significant digits (None for None, NaN and infinities)."""
    if x is None or not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def _worst(decision: Decision) -> str | None:
    worst = decision.worst
    if worst is None or worst.ratio is None:
        return None
    ratio = "inf" if math.isinf(worst.ratio) else f"{worst.ratio:.2f}"
    return f"{worst.name} {ratio}x"


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decided:
    """The decision step's results, before writes and reporting."""

    spec: PerformanceSLOSpec  # effective: EventDays applied, maxReplicas capped by pools
    decision: Decision
    failures: Mapping[str, ReadFailure]
    learned: hist.Learned
    stuck: str
    unready_since: float | None


def _cap_by_pools(spec: PerformanceSLOSpec, cap: PoolCap | None) -> PerformanceSLOSpec:
    if cap is None:
        return spec
    scaling = spec.scaling
    floor = min(scaling.min_replicas, cap.max_replicas)
    update = {"max_replicas": cap.max_replicas, "min_replicas": floor}
    return spec.model_copy(update={"scaling": scaling.model_copy(update=update)})


def _decide(
    inp: PlanInput, spec: PerformanceSLOSpec, overlay: Overlay, target: TargetView
) -> _Decided:
    """Readings -> decision: pools cap the range, headroom sizes for bursts, pods that do
    not become Ready stop growth, and an on-call hold has the last word."""
    memory, now = inp.memory, inp.now
    cap = pool_cap(spec.pools, target.surge, spec.scaling.max_replicas)
    spec = _cap_by_pools(spec, cap)
    readings, failures = interpret(spec.objectives, inp.observation.results)
    state = ScaleState(
        target.replicas,
        memory.recommendations,
        memory.scale_changes,
        ready=target.ready,
        knees=memory.knees,
        had_history=memory.had_history,
    )
    learned = hist.learn(
        memory.history,
        spec,
        readings,
        serving=serving_replicas(state, now, spec.scaling),
        events=inp.observation.events,
        now=now,
        dead_time=hist.horizon(inp.spec, inp.min_interval),
    )
    overlay = dataclasses.replace(overlay, floors=learned.floors)
    decision = decide(spec.scaling, spec.objectives, learned.readings, state, now, overlay=overlay)
    decision = _pool_limit(decision, cap, spec.scaling)
    unready_since = _unready_since(memory, target, now)
    stuck = _stuck(memory, target, unready_since=unready_since, scaling=spec.scaling, now=now)
    if stuck and decision.desired > target.replicas:
        decision = dataclasses.replace(
            decision,
            desired=target.replicas,
            reason=f"{decision.reason}; not adding replicas while {stuck}",
        )
    manual = parse_manual(dict(inp.observation.annotations))
    decision = _hold(manual, decision, spec.scaling, now)
    return _Decided(spec, decision, failures, learned, stuck, unready_since)


@dataclass(frozen=True)
class _Writes:
    writes: Writes
    pools: list[PoolStatus]
    sizes: dict[tuple[str, str], int]
    config_done: bool  # the pool sizes are (or were) written
    scaled: bool  # the replica count is written


def _writes(inp: PlanInput, d: _Decided, gate: Gate, target: TargetView) -> _Writes:
    """What to write: pool sizes for the larger count, then replicas - only through an
    open gate, and nothing after a failed write."""
    failure, desired = inp.write_failure, d.decision.desired
    pools, sizes = _pools(d.spec, max(target.replicas, desired), target.surge)
    writes = Writes()
    if gate is Gate.OPEN and failure is None:
        config = tuple(
            ConfigWrite(name, key, str(size))
            for (name, key), size in sizes.items()
            if inp.memory.pool_sizes.get((name, key)) != size
        )
        writes = Writes(config, desired if desired != target.replicas else None)
    return _Writes(
        writes,
        pools,
        sizes,
        config_done=gate is Gate.OPEN and (failure is None or failure.config_written),
        scaled=gate is Gate.OPEN and failure is None and desired != target.replicas,
    )


def _conditions(
    inp: PlanInput, d: _Decided, gate: Gate, interval: float
) -> tuple[list[Condition], list[Event]]:
    """The conditions after this evaluation, and the Events their changes owe."""
    obs, gen, old = inp.observation, inp.generation, inp.memory.status
    stamp = _iso(inp.now)
    assert obs.target is not None
    conditions = merge(
        old.conditions,
        [
            cond("TargetFound", True, "TargetFound", generation=gen),
            _metrics_condition(d.decision, d.failures, gen),
            _conflict(obs, gen),
            _limit_condition(d.decision.limit, gen),
            _lagging(obs.lag, interval, gen),
            _pods_ready(obs.target, d.stuck, gen),
            _ready(gate, d.decision, failures=d.failures, failure=inp.write_failure, gen=gen),
        ],
        stamp,
    )
    manual = parse_manual(dict(obs.annotations))
    conditions, events = _manual_problems(conditions, old, manual, stamp=stamp, generation=gen)
    events += transition_events(old.conditions, conditions, watched=WATCHED)
    return conditions, events


def plan(inp: PlanInput) -> Plan:
    """The plan for one evaluation (see the module docstring)."""
    obs, memory, now = inp.observation, inp.memory, inp.now
    old = memory.status
    in_force = obs.events
    current = obs.target.replicas if obs.target else None
    baseline = (old.event_baseline or current) if in_force else None
    spec, overlay = effective(inp.spec, in_force, baseline)
    interval = max(float(spec.evaluation.interval_seconds), inp.min_interval)
    if obs.target is None:
        return _no_target(inp, spec, interval)
    target = obs.target
    manual = parse_manual(dict(obs.annotations))
    d = _decide(inp, spec, overlay, target)
    decision = d.decision
    gate = _gate(inp.spec, obs, manual, now)
    w = _writes(inp, d, gate, target)
    failure = inp.write_failure

    events = _decision_events(gate, decision, old, failure=failure, current=target.replicas)
    events += _pool_events(old, w.pools) if w.config_done else []
    conditions, condition_events = _conditions(inp, d, gate, interval)
    events += condition_events
    if failure is not None:
        events.append(Event(EventType.WARNING, "ScaleFailed", failure.message))
    events += _ignored_events(old, obs)

    history = hist.after_decision(d.learned.history, decision, in_force, now)
    learned_demand, peaks = hist.keep(history)
    changes = memory.scale_changes
    if w.scaled:
        changes = record_scale(changes, now, decision.desired - target.replicas, d.spec.scaling)
    stamp = _iso(now)
    status = PerformanceSLOStatus(
        observed_generation=inp.generation,
        current_replicas=decision.desired if w.scaled else target.replicas,
        desired_replicas=decision.desired,
        recommended_replicas=decision.recommended,
        worst_objective=_worst(decision),
        mode=_mode(inp.spec, in_force, manual, now),
        interval_seconds=interval,
        evaluated_by=inp.evaluator,
        last_evaluation_time=stamp,
        active_events=[e.name for e in in_force],
        ignored_event_days=list(obs.ignored_events),
        event_baseline=baseline,
        conditions=conditions,
        objectives=_objectives(decision),
        last_decision=_record(decision, stamp, applied=w.scaled),
        decisions=_decisions(old, decision, stamp, scaled=w.scaled),
        pools=w.pools,
        learned=[_learned(k) for k in decision.knees],
        demand=d.learned.summary,
        learned_demand=learned_demand,
        event_peaks=peaks,
        pods_unready_since=d.unready_since,
        scale_changes=[ScaleChange(t=c.t, delta=c.value) for c in changes][-MAX_SCALE_CHANGES:],
    )
    new_memory = Memory(
        status=status,
        recommendations=decision.recommendations,
        scale_changes=changes,
        history=history,
        knees=decision.knees,
        had_history=True,
        pool_sizes={**memory.pool_sizes, **w.sizes} if w.config_done else memory.pool_sizes,
        unready_since=d.unready_since,
    )
    return Plan(gate, w.writes, status, tuple(events), new_memory, interval, decision)


def _learned(knee: Knee) -> LearnedKnee:
    ref = knee.reference
    return LearnedKnee(
        objective=knee.objective,
        floor=knee.floor,
        since=knee.since,
        reference_serving=ref[0] if ref else None,
        reference_badness=None if ref is None or not math.isfinite(ref[1]) else ref[1],
    )


def _unready_since(memory: Memory, target: TargetView, now: float) -> float | None:
    """Since when some pods have not been Ready (None: all are, or it is unknown)."""
    if target.ready is None or target.ready >= target.replicas:
        return None
    return memory.unready_since if memory.unready_since is not None else now


def _stuck(
    memory: Memory,
    target: TargetView,
    *,
    unready_since: float | None,
    scaling: ScalingSpec,
    now: float,
) -> str:
    """Why more replicas would not help: pods that should be serving by now are not.

    New pods get ``warmupSeconds`` plus a grace to become Ready after the last scale-up;
    past that, adding replicas only adds more pods that do not start (a crash loop, a
    failing readiness probe, a full cluster), so the plan holds and says so.
    """
    if unready_since is None or target.ready is None:
        return ""
    last_up = max((c.t for c in memory.scale_changes if c.value > 0), default=unready_since)
    since = max(unready_since, last_up)
    waited = now - since
    if waited <= scaling.warmup_seconds + STUCK_GRACE_SECONDS:
        return ""
    missing = target.replicas - target.ready
    return f"{missing} of {target.replicas} pods have not been Ready for {waited:.0f}s"


def _pods_ready(target: TargetView, stuck: str, generation: int | None) -> Condition:
    if stuck:
        return cond(
            "PodsReady",
            False,
            "PodsNotReady",
            f"{stuck}: check the pods (crash loop, readiness probe, capacity); crestline "
            "adds no replicas until they are Ready",
            generation=generation,
        )
    if target.ready is None:
        return cond("PodsReady", True, "Unknown", generation=generation)
    return cond("PodsReady", True, "PodsReady", generation=generation)


def _pool_limit(decision: Decision, cap: PoolCap | None, scaling: ScalingSpec) -> Decision:
    """Name the pool budget as the limit when it is what capped the recommendation."""
    if cap is None or decision.limit is None:
        return decision
    if decision.limit.reason is LimitReason.TOO_MANY_REPLICAS and (
        decision.recommended >= scaling.max_replicas
    ):
        return dataclasses.replace(decision, limit=Limit(LimitReason.POOL_BUDGET, cap.message))
    return decision


def _conflict(obs: Observation, generation: int | None) -> Condition:
    if not obs.owners:
        return cond("Conflict", False, "NoOtherOwner", generation=generation)
    who = ", ".join(o.describe() for o in obs.owners)
    return cond(
        "Conflict",
        True,
        obs.owners[0].kind,
        f"{who} also controls the replicas; crestline stands back",
        generation=generation,
    )


def _record(decision: Decision, stamp: str, *, applied: bool) -> DecisionRecord:
    return DecisionRecord(
        time=stamp,
        current_replicas=decision.current,
        recommended_replicas=decision.recommended,
        desired_replicas=decision.desired,
        direction=ScaleDirection(decision.direction.value),
        reason=decision.reason[:4096],
        applied=applied,
    )


def _is_new(old: PerformanceSLOStatus, decision: Decision) -> bool:
    """A recommendation not already reported (dryRun, paused: it repeats every interval)."""
    last = old.decisions[-1] if old.decisions else None
    return (
        last is None
        or last.applied
        or ((last.current_replicas, last.desired_replicas) != (decision.current, decision.desired))
    )


def _decisions(
    old: PerformanceSLOStatus, decision: Decision, stamp: str, *, scaled: bool
) -> list[DecisionRecord]:
    if decision.direction is Direction.NONE or not (scaled or _is_new(old, decision)):
        return list(old.decisions)
    return [*old.decisions, _record(decision, stamp, applied=scaled)][-MAX_DECISIONS:]


def _decision_events(
    gate: Gate,
    decision: Decision,
    old: PerformanceSLOStatus,
    *,
    failure: WriteFailure | None,
    current: int,
) -> list[Event]:
    if decision.direction is Direction.NONE or gate is Gate.CONFLICT or failure is not None:
        return []
    move = f"{current} -> {decision.desired}"
    if gate is Gate.OPEN:
        reason = "ScaledUp" if decision.direction is Direction.UP else "ScaledDown"
        return [Event(EventType.NORMAL, reason, f"{move}: {decision.reason}")]
    if not _is_new(old, decision):
        return []
    why = "paused" if gate is Gate.PAUSED else "dryRun"
    return [
        Event(EventType.NORMAL, "Recommendation", f"{why}: would scale {move}: {decision.reason}")
    ]


def _pool_events(old: PerformanceSLOStatus, pools: list[PoolStatus]) -> list[Event]:
    before = {p.name: p.per_pod for p in old.pools}
    return [
        Event(
            EventType.NORMAL,
            "PoolResized",
            f"pool {p.name}: {before[p.name]} -> {p.per_pod} connections per pod "
            f"(budget {p.usable} usable, at most {p.max_replicas} replicas)",
        )
        for p in pools
        if p.name in before and before[p.name] != p.per_pod
    ]


def _manual_problems(
    conditions: list[Condition],
    old: PerformanceSLOStatus,
    manual: Manual,
    *,
    stamp: str,
    generation: int | None,
) -> tuple[list[Condition], list[Event]]:
    """Bad on-call annotations: Ready=False with the reason, and one Warning Event."""
    if not manual.problems:
        return conditions, []
    problem = "; ".join(manual.problems)
    ready = cond("Ready", False, "ManualControlInvalid", problem, generation=generation)
    seen = any(c.reason == "ManualControlInvalid" for c in old.conditions)
    events = [] if seen else [Event(EventType.WARNING, "ManualControlInvalid", problem)]
    return merge(conditions, [ready], stamp), events


def _ignored_events(old: PerformanceSLOStatus, obs: Observation) -> list[Event]:
    known = {e.name for e in old.ignored_event_days}
    return [
        Event(EventType.WARNING, "EventDayIgnored", f"EventDay {e.name} ignored: {e.reason}")
        for e in obs.ignored_events
        if e.name not in known
    ]


def _no_target(inp: PlanInput, spec: PerformanceSLOSpec, interval: float) -> Plan:
    message = inp.observation.target_problem or "the target was not found"
    return failed_plan(
        inp.memory,
        now=inp.now,
        generation=inp.generation,
        reason=Gate.NO_TARGET,
        message=message,
        interval=interval,
    )


def failed_plan(
    memory: Memory,
    *,
    now: float,
    generation: int | None,
    reason: Gate,
    message: str,
    interval: float,
) -> Plan:
    """A plan that decides nothing: the SLO cannot be evaluated (invalid spec, no target).

    The status keeps what it had (the last decision stays visible) and says why; a
    Warning Event is posted when the reason first appears, not on every evaluation."""
    old = memory.status
    stamp = _iso(now)
    updates = [cond("Ready", False, reason.value, message, generation=generation)]
    if reason is Gate.NO_TARGET:
        updates.append(cond("TargetFound", False, reason.value, message, generation=generation))
    conditions = merge(old.conditions, updates, stamp)
    events = transition_events(old.conditions, conditions, watched=("TargetFound",))
    if reason is Gate.INVALID and not any(c.reason == reason.value for c in old.conditions):
        events.append(Event(EventType.WARNING, reason.value, message))
    status = old.model_copy(
        update={
            "conditions": conditions,
            "observed_generation": generation,
            "last_evaluation_time": stamp,
            "interval_seconds": interval,
        }
    )
    return Plan(
        reason,
        Writes(),
        status,
        tuple(events),
        dataclasses.replace(memory, status=status),
        interval,
    )


# -- when to write the status -----------------------------------------------------------------


def _significant(status: PerformanceSLOStatus) -> dict[str, Any]:
    """The status as a user reads it: readings at 2 significant digits, and nothing that
    changes with every evaluation (its time, the reason text that quotes the readings)."""
    data = status.model_dump(
        by_alias=True,
        mode="json",
        exclude={"last_evaluation_time", "learned_demand", "event_peaks"},
    )
    demand = data.get("demand")
    if demand is not None:
        for key in ("replicas", "headroom", "forecast"):
            demand[key] = _sig(demand.get(key), 2)
        demand.pop("forecastFor", None)
    for obj in data.get("objectives", []):
        obj["value"] = _sig(obj.get("value"), 2)
        ratio = obj.get("ratio")
        obj["ratio"] = None if ratio is None else round(ratio, 1)
        obj["proposal"] = None
    last = data.get("lastDecision")
    if last is not None:
        last.pop("time", None)
        last.pop("reason", None)
    for c in data.get("conditions", []):
        if c["type"] == "Ready" and c["status"] == "True":
            c.pop("message", None)
    return data


def needs_write(
    written: PerformanceSLOStatus | None,
    new: PerformanceSLOStatus,
    *,
    now: float,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> bool:
    """Whether ``new`` differs from the status last written in anything a user reads, or
    the last write is older than the heartbeat (which keeps the readings fresh)."""
    if written is None or _significant(written) != _significant(new):
        return True
    last = written.last_evaluation_time
    if last is None:
        return True
    try:
        then = dt.datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return True
    return now - then >= heartbeat
