"""One evaluation of one PerformanceSLO: observe -> decide -> act -> report.

This is the only place that touches several outside systems in sequence, and it holds
no policy: readings go to :func:`crestline.policy.decide.decide`, the decision is
applied (or only reported), and the outcome becomes status, conditions and Events.
The kopf handler calls :meth:`Reconciler.evaluate` and writes what it returns.

State that must survive a restart (recent recommendations, recent scale events) is
loaded from the resource's status the first time an SLO is seen and written back with
every status update; the reading history used for demand headroom lives in memory
only (losing it merely leaves the plain ratio law in force until it refills).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError
from redis.exceptions import RedisError

from crestline.adapters.cache import hit_counters, hit_ratio
from crestline.adapters.kube import KubeTarget, Owner, TargetNotFound
from crestline.adapters.prometheus import (
    PrometheusAuth,
    PrometheusSource,
    QueryError,
    QueryFailure,
)
from crestline.api.slo import Mode, PerformanceSLOSpec, PoolSpec, PrometheusSpec
from crestline.api.status import (
    Condition,
    ConditionStatus,
    ObjectiveStatus,
    PerformanceSLOStatus,
    PoolStatus,
    TimedReplicas,
)
from crestline.api.status import Decision as DecisionStatus
from crestline.calendar.instants import format_instant
from crestline.policy.behavior import Timed
from crestline.policy.conditions import changed, cond, merge
from crestline.policy.decide import (
    Decision,
    Direction,
    Reading,
    ScaleState,
    decide,
    record_scale,
    serving_replicas,
)
from crestline.policy.demand import ReadingMemory
from crestline.policy.manual import Manual
from crestline.policy.manual import parse as parse_manual
from crestline.policy.overlay import InForce, effective
from crestline.policy.pools import PoolLimits
from crestline.policy.queries import render
from crestline.runtime import metrics

MAX_DECISIONS = 10
FAILURE_ORDER = (QueryFailure.BAD_QUERY, QueryFailure.UNAVAILABLE, QueryFailure.NO_DATA)


@dataclass(frozen=True)
class Event:
    type: str  # Normal | Warning
    reason: str
    message: str


@dataclass
class Outcome:
    """What one evaluation wants written: the status, and Events to post.

    The status is a JSON merge patch, so it carries unset fields as null: that is what
    removes a field that no longer applies (e.g. ``eventBaseline`` after an event).
    """

    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    interval: float = 30.0


@dataclass
class _Memory:
    recommendations: tuple[Timed, ...] = ()
    scale_events: tuple[Timed, ...] = ()
    cache_counters: tuple[int, int] | None = None
    readings: ReadingMemory = field(default_factory=lambda: ReadingMemory(1800.0))
    loaded: bool = False


def _iso(ts: float) -> str:
    return format_instant(dt.datetime.fromtimestamp(ts, dt.UTC))


class EventSource(Protocol):
    """Which EventDays are in force for an SLO (see crestline.runtime.eventdays)."""

    def in_force(self, namespace: str, slo_labels: Mapping[str, str]) -> list[InForce]: ...


class Reconciler:
    """Evaluates SLOs; one instance per operator process."""

    def __init__(
        self,
        kube: KubeTarget,
        *,
        default_prometheus_url: str | None,
        events: EventSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.kube = kube
        self.events = events
        self.default_prometheus_url = default_prometheus_url
        self.clock = clock
        self._memory: dict[tuple[str, str], _Memory] = {}
        self._sources: dict[tuple[Any, ...], PrometheusSource] = {}

    def forget(self, namespace: str, name: str) -> None:
        self._memory.pop((namespace, name), None)

    # -- observe -------------------------------------------------------------------------
    def _source(self, spec: PrometheusSpec, namespace: str, timeout: float) -> PrometheusSource:
        url = spec.url or self.default_prometheus_url
        if not url:
            raise QueryError(
                QueryFailure.UNAVAILABLE,
                "no Prometheus URL: set spec.prometheus.url or run the operator with "
                "--prometheus-url",
            )
        auth = PrometheusAuth(insecure_skip_verify=spec.insecure_skip_verify)
        if spec.auth or spec.ca:
            try:
                auth = self._resolve_auth(spec, namespace)
            except (ApiException, KeyError) as exc:
                raise QueryError(
                    QueryFailure.UNAVAILABLE, f"cannot read auth Secret: {exc}"
                ) from exc
        key = (url, timeout, auth)
        if key not in self._sources:
            self._sources[key] = PrometheusSource(
                url, timeout=timeout, auth=auth, observe=metrics.observe_query
            )
        return self._sources[key]

    def _resolve_auth(self, spec: PrometheusSpec, namespace: str) -> PrometheusAuth:
        def val(ref: Any) -> str | None:
            return self.kube.read_secret_key(namespace, ref.name, ref.key) if ref else None

        a = spec.auth
        return PrometheusAuth(
            bearer_token=val(a.bearer_token) if a else None,
            username=val(a.username) if a else None,
            password=val(a.password) if a else None,
            ca_pem=val(spec.ca),
            insecure_skip_verify=spec.insecure_skip_verify,
        )

    @staticmethod
    def _cache_reading(
        spec: PerformanceSLOSpec, mem: _Memory, failures: list[QueryFailure]
    ) -> Reading:
        """Redis hit ratio since the previous evaluation, straight from INFO."""
        assert spec.cache is not None  # the model requires it for this preset
        try:
            counters = hit_counters(spec.cache.redis_url)
        except (RedisError, OSError) as exc:
            failures.append(QueryFailure.UNAVAILABLE)
            return Reading(None, f"{QueryFailure.UNAVAILABLE.value}: Redis: {exc}")
        ratio = hit_ratio(mem.cache_counters, counters)
        mem.cache_counters = counters
        if ratio is None:
            failures.append(QueryFailure.NO_DATA)
            return Reading(
                None,
                f"{QueryFailure.NO_DATA.value}: no cache lookups since the previous evaluation",
            )
        return Reading(ratio)

    def _read(
        self, spec: PerformanceSLOSpec, namespace: str, mem: _Memory, now: float
    ) -> tuple[dict[str, Reading], list[QueryFailure]]:
        readings: dict[str, Reading] = {}
        failures: list[QueryFailure] = []
        source: PrometheusSource | QueryError | None = None
        for obj in spec.objectives:
            if obj.preset is not None and obj.preset.cache_hit_ratio is not None:
                readings[obj.name] = self._cache_reading(spec, mem, failures)
                continue
            try:
                if source is None:  # only SLOs with Prometheus objectives need one
                    source = self._source(
                        spec.prometheus, namespace, spec.evaluation.timeout_seconds
                    )
                if isinstance(source, QueryError):
                    raise source
                value = source.query(render(obj, namespace, spec.target_ref.name))
            except QueryError as exc:
                source = exc if source is None else source
                failures.append(exc.failure)
                readings[obj.name] = Reading(None, f"{exc.failure.value}: {exc}")
                continue
            readings[obj.name] = Reading(value)
        return readings, failures

    # -- the evaluation --------------------------------------------------------------------
    def evaluate(self, namespace: str, name: str, body: Mapping[str, Any]) -> Outcome:
        start = time.monotonic()
        try:
            return self._evaluate(namespace, name, body)
        finally:
            metrics.EVALUATION_SECONDS.labels(namespace, name).observe(time.monotonic() - start)

    def _evaluate(self, namespace: str, name: str, body: Mapping[str, Any]) -> Outcome:
        now = self.clock()
        generation = body.get("metadata", {}).get("generation")
        old = _old_status(body)
        mem = self._memory.setdefault((namespace, name), _Memory())
        if not mem.loaded:
            mem.recommendations = tuple(Timed(r.t, r.replicas) for r in old.recommendations)
            mem.scale_events = tuple(Timed(r.t, r.replicas) for r in old.scale_events)
            mem.loaded = True

        try:
            spec = PerformanceSLOSpec.model_validate(body.get("spec", {}))
        except ValidationError as exc:
            message = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            return self._failed(old, now, generation, "InvalidSpec", message, namespace, name)

        labels = body.get("metadata", {}).get("labels") or {}
        in_force = self.events.in_force(namespace, labels) if self.events else []
        interval = float(effective(spec, in_force)[0].evaluation.interval_seconds)
        ref = spec.target_ref
        try:
            scale = self.kube.read_scale(namespace, ref.kind, ref.name)
            owners = self.kube.other_owners(namespace, ref.kind, ref.name)
        except TargetNotFound as exc:
            outcome = self._failed(
                old,
                now,
                generation,
                "TargetNotFound",
                str(exc),
                namespace,
                name,
                target_found=False,
            )
            outcome.interval = interval
            return outcome
        # The replica count when the events came into force: event headroom is applied to
        # it once. Kept in the status, so a restart neither re-applies nor forgets it.
        baseline = (old.event_baseline or scale.desired) if in_force else None
        spec, overlay = effective(spec, in_force, baseline)
        surge = self.kube.max_surge(namespace, ref.kind, ref.name) if spec.pools else 0
        spec, pool_limit = _cap_by_pools(spec, surge)

        readings, failures = self._read(spec, namespace, mem, now)
        state = ScaleState(scale.desired, mem.recommendations, mem.scale_events)
        headroom = spec.scaling.demand_headroom
        mem.readings.window_seconds = headroom.window_seconds
        readings = mem.readings.with_headroom(
            readings, now, serving_replicas(state, now, spec.scaling), headroom.deviations
        )
        decision = decide(spec.scaling, spec.objectives, readings, state, now, overlay=overlay)
        mem.recommendations = decision.recommendations
        if decision.limited and pool_limit and decision.recommended >= spec.scaling.max_replicas:
            decision = dataclasses.replace(decision, limited=pool_limit)
        manual = parse_manual(body.get("metadata", {}).get("annotations") or {})
        decision, manual_mode = _on_call(manual, decision, spec, now)

        applied, events, write_error = self._act(
            spec,
            namespace,
            name,
            decision,
            owners,
            mem,
            now,
            paused=manual_mode.startswith("Paused"),
        )
        pools = self._pools(spec, namespace, max(scale.desired, decision.desired), surge)
        current = decision.desired if applied else scale.desired
        conditions = _conditions(decision, failures, owners, write_error, generation)
        merged = merge(old.conditions, conditions, _iso(now))
        events += _condition_events(old.conditions, merged)

        status = _status(spec, decision, old, merged, mem, now, generation, current, applied)
        status = _overlay_status(
            status.model_copy(update={"pools": pools}), in_force, baseline, manual_mode
        )
        status = _manual_problems(status, old, manual, events, _iso(now), generation)
        _export(namespace, name, decision)
        return Outcome(status.model_dump(by_alias=True, mode="json"), events, interval)

    # -- act ------------------------------------------------------------------------------
    def _act(
        self,
        spec: PerformanceSLOSpec,
        namespace: str,
        name: str,
        decision: Decision,
        owners: list[Owner],
        mem: _Memory,
        now: float,
        paused: bool = False,
    ) -> tuple[bool, list[Event], str | None]:
        events: list[Event] = []
        direction = decision.direction
        if direction is Direction.NONE:
            return False, events, None
        move = f"{decision.current} -> {decision.desired}"
        reason = "ScaledUp" if direction is Direction.UP else "ScaledDown"
        if owners:
            metrics.DECISIONS.labels(namespace, name, direction.value, "false").inc()
            return False, events, None
        if spec.mode is Mode.DRY_RUN or paused:
            metrics.DECISIONS.labels(namespace, name, direction.value, "false").inc()
            why = "paused" if paused else "dryRun"
            events.append(
                Event("Normal", "Recommendation", f"{why}: would scale {move}: {decision.reason}")
            )
            return False, events, None
        ref = spec.target_ref
        try:
            self.kube.write_replicas(namespace, ref.kind, ref.name, decision.desired)
        except ApiException as exc:
            message = f"writing replicas to {ref.kind} {ref.name} failed: {exc.status} {exc.reason}"
            events.append(Event("Warning", "ScaleFailed", message))
            return False, events, message
        mem.scale_events = record_scale(
            mem.scale_events, now, decision.desired - decision.current, spec.scaling
        )
        metrics.DECISIONS.labels(namespace, name, direction.value, "true").inc()
        events.append(Event("Normal", reason, f"{ref.kind} {ref.name} {move}: {decision.reason}"))
        return True, events, None

    def _pools(
        self, spec: PerformanceSLOSpec, namespace: str, replicas: int, surge: int | str
    ) -> list[PoolStatus]:
        """Size each pool for ``replicas`` (and its rollout) and write it where the app reads."""
        out = []
        for pool in spec.pools:
            limits = _limits(pool)
            per_pod = max(limits.per_pod(replicas, surge), pool.min_per_pod)
            if spec.mode is Mode.ENFORCE:
                self.kube.apply_config_key(
                    namespace, pool.config_map.name, pool.config_map.key, str(per_pod)
                )
            out.append(
                PoolStatus(
                    name=pool.name,
                    per_pod=per_pod,
                    usable=limits.usable,
                    max_replicas=limits.max_replicas(surge, 10_000),
                )
            )
        return out

    def _failed(
        self,
        old: PerformanceSLOStatus,
        now: float,
        generation: int | None,
        reason: str,
        message: str,
        namespace: str,
        name: str,
        *,
        target_found: bool = True,
    ) -> Outcome:
        metrics.EVALUATION_ERRORS.labels(namespace, name, reason).inc()
        updates = [cond("Ready", False, reason, message, generation)]
        if not target_found:
            updates.append(cond("TargetFound", False, reason, message, generation))
        merged = merge(old.conditions, updates, _iso(now))
        status = old.model_copy(
            update={
                "conditions": merged,
                "observed_generation": generation,
                "last_evaluation_time": _iso(now),
            }
        )
        events = _condition_events(old.conditions, merged)
        return Outcome(status.model_dump(by_alias=True, mode="json"), events)


def _overlay_status(
    status: PerformanceSLOStatus, in_force: list[InForce], baseline: int | None, manual: str
) -> PerformanceSLOStatus:
    """Events in force and on-call control as the status shows them (on-call names the mode)."""
    update: dict[str, Any] = {}
    if in_force:
        names = ", ".join(f"{e.name} ({e.phase})" for e in in_force)
        update = {
            "mode": f"EventDay {names}",
            "active_events": [e.name for e in in_force],
            "event_baseline": baseline,
        }
    if manual:
        update["mode"] = manual
    return status.model_copy(update=update) if update else status


def _manual_problems(
    status: PerformanceSLOStatus,
    old: PerformanceSLOStatus,
    manual: Manual,
    events: list[Event],
    stamp: str,
    generation: int | None,
) -> PerformanceSLOStatus:
    """Bad on-call annotations: Ready=False with the reason, and one Warning Event."""
    if not manual.problems:
        return status
    problem = "; ".join(manual.problems)
    ready = cond("Ready", False, "ManualControlInvalid", problem, generation)
    if not any(c.reason == "ManualControlInvalid" for c in old.conditions):
        events.append(Event("Warning", "ManualControlInvalid", problem))
    return status.model_copy(update={"conditions": merge(status.conditions, [ready], stamp)})


def _on_call(
    manual: Manual, decision: Decision, spec: PerformanceSLOSpec, now: float
) -> tuple[Decision, str]:
    """Apply a hold (replace the desired count) and name the on-call mode, if any."""
    at = dt.datetime.fromtimestamp(now, dt.UTC)
    mode = ""
    held = manual.held(at)
    if held is not None and manual.hold_until is not None:
        target = min(max(held, spec.scaling.min_replicas), spec.scaling.max_replicas)
        until = format_instant(manual.hold_until)
        decision = dataclasses.replace(
            decision,
            desired=target,
            reason=f"on-call hold at {target} until {until} (objectives: "
            f"{decision.recommended}); {decision.reason}",
        )
        mode = f"Hold {target} until {until}"
    if manual.paused(at) and manual.paused_until is not None:
        until = (
            "further notice"
            if manual.paused_until.year == dt.MAXYEAR
            else format_instant(manual.paused_until)
        )
        mode = f"Paused until {until}"
    return decision, mode


def _limits(pool: PoolSpec) -> PoolLimits:
    return PoolLimits(pool.budget, pool.reserve_percent, pool.min_per_pod, pool.max_per_pod)


def _cap_by_pools(spec: PerformanceSLOSpec, surge: int | str) -> tuple[PerformanceSLOSpec, str]:
    """Lower maxReplicas to what every pool's budget can serve at its minimum per pod."""
    limit = ""
    scaling = spec.scaling
    for pool in spec.pools:
        cap = _limits(pool).max_replicas(surge, spec.scaling.max_replicas)
        if cap < scaling.max_replicas:
            scaling = scaling.model_copy(
                update={
                    "max_replicas": max(cap, 1),
                    "min_replicas": min(scaling.min_replicas, max(cap, 1)),
                }
            )
            limit = (
                f"pool {pool.name}: budget {pool.budget} (reserve {pool.reserve_percent}%) "
                f"serves at most {cap} replicas at {pool.min_per_pod} connections per pod "
                f"during a rollout (maxSurge {surge})"
            )
    return spec.model_copy(update={"scaling": scaling}), limit


def _old_status(body: Mapping[str, Any]) -> PerformanceSLOStatus:
    try:
        return PerformanceSLOStatus.model_validate(body.get("status") or {})
    except ValidationError:
        return PerformanceSLOStatus()


def _conditions(
    decision: Decision,
    failures: list[QueryFailure],
    owners: list[Owner],
    write_error: str | None,
    generation: int | None,
) -> list[Condition]:
    out = [cond("TargetFound", True, "TargetFound", "", generation)]
    errors = "; ".join(f"{o.name}: {o.error}" for o in decision.objectives if o.error)
    if failures:
        worst = next(f for f in FAILURE_ORDER if f in failures)
        out.append(cond("MetricsAvailable", False, worst.value, errors, generation))
    else:
        out.append(cond("MetricsAvailable", True, "AllObjectivesRead", "", generation))
    if owners:
        who = ", ".join(o.describe() for o in owners)
        out.append(
            cond(
                "Conflict",
                True,
                owners[0].kind,
                f"{who} also controls the replicas; crestline stands back",
                generation,
            )
        )
    else:
        out.append(cond("Conflict", False, "NoOtherOwner", "", generation))
    if decision.limited:
        reason = "PoolBudget" if decision.limited.startswith("pool ") else "Limited"
        out.append(cond("ScalingLimited", True, reason, decision.limited, generation))
    else:
        out.append(cond("ScalingLimited", False, "WithinLimits", "", generation))
    if write_error:
        ready = cond("Ready", False, "ScaleFailed", write_error, generation)
    elif owners:
        ready = cond("Ready", False, "Conflict", "another controller owns the replicas", generation)
    elif failures:
        ready = cond("Ready", False, "MetricsUnavailable", errors, generation)
    else:
        ready = cond("Ready", True, "Evaluated", decision.reason, generation)
    out.append(ready)
    return out


def _condition_events(old: list[Condition], new: list[Condition]) -> list[Event]:
    """An Event when a condition worth a human's attention changes, not every interval.

    Ready is only reported for its own failures (invalid spec, failed write); its other
    transitions mirror MetricsAvailable, TargetFound or Conflict, reported already.
    """
    events = []
    for c in new:
        if c.type not in ("MetricsAvailable", "TargetFound", "Conflict", "Ready"):
            continue
        if c.type == "Ready" and c.reason not in ("InvalidSpec", "ScaleFailed"):
            continue
        if not changed(old, new, c.type):
            continue
        healthy = ConditionStatus.FALSE if c.type == "Conflict" else ConditionStatus.TRUE
        if c.status is not healthy:
            events.append(Event("Warning", c.reason, c.message or c.reason))
        elif any(o.type == c.type for o in old):
            events.append(Event("Normal", c.reason, f"{c.type} recovered"))
    return events


def _status(
    spec: PerformanceSLOSpec,
    decision: Decision,
    old: PerformanceSLOStatus,
    conditions: list[Condition],
    mem: _Memory,
    now: float,
    generation: int | None,
    current: int,
    applied: bool,
) -> PerformanceSLOStatus:
    record = DecisionStatus(
        time=_iso(now),
        current_replicas=decision.current,
        recommended_replicas=decision.recommended,
        desired_replicas=decision.desired,
        direction=decision.direction.value,
        reason=decision.reason,
        applied=applied,
    )
    decisions = list(old.decisions)
    if decision.direction is not Direction.NONE:
        decisions = [*decisions, record][-MAX_DECISIONS:]
    worst = decision.worst
    return PerformanceSLOStatus(
        observed_generation=generation,
        current_replicas=current,
        desired_replicas=decision.desired,
        recommended_replicas=decision.recommended,
        worst_objective=f"{worst.name} {worst.ratio:.2f}x" if worst and worst.ratio else None,
        mode=spec.mode.value,
        last_evaluation_time=_iso(now),
        conditions=conditions,
        objectives=[
            ObjectiveStatus(
                name=o.name,
                kind=o.kind,
                direction=o.direction,
                target=o.target,
                value=o.value,
                ratio=o.ratio,
                proposal=o.proposal,
                error=o.error,
            )
            for o in decision.objectives
        ],
        last_decision=record,
        decisions=decisions,
        recommendations=[TimedReplicas(t=r.t, replicas=r.value) for r in mem.recommendations],
        scale_events=[TimedReplicas(t=e.t, replicas=e.value) for e in mem.scale_events],
    )


def _export(namespace: str, name: str, decision: Decision) -> None:
    metrics.DESIRED_REPLICAS.labels(namespace, name).set(decision.desired)
    for o in decision.objectives:
        if o.ratio is not None:
            metrics.OBJECTIVE_RATIO.labels(namespace, name, o.name).set(o.ratio)
