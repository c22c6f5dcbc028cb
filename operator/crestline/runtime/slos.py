"""One evaluation of one PerformanceSLO: observe -> plan -> act -> report.

Everything between observing and acting is :func:`crestline.policy.plan.plan`; this
module only gathers the observation (from the watch caches, the EventDay view and the
reading sources), performs the writes the plan allows (pool sizes first, then replicas,
each only while this replica holds the SLO's shard), posts the plan's Events and writes
the status when it changed. Working memory (recent recommendations, the reading history)
lives here, one small record per SLO, dropped when the SLO is deleted or handed to
another replica.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from crestline.adapters.kube import ObjectRef
from crestline.api.base import GROUP, VERSION
from crestline.api.config import OperatorConfig
from crestline.api.slo import PerformanceSLOSpec
from crestline.api.status import PerformanceSLOStatus
from crestline.policy.conditions import Event, EventType
from crestline.policy.decide import Direction, record_scale
from crestline.policy.plan import (
    Gate,
    Memory,
    Observation,
    Owner,
    Plan,
    PlanInput,
    TargetView,
    WriteFailure,
    failed_plan,
    needs_write,
    plan,
)
from crestline.runtime import failpoints, metrics
from crestline.runtime.cache import Key, ObjectRecord
from crestline.runtime.errors import Fenced
from crestline.runtime.eventdays import EventDayView, spec_error
from crestline.runtime.ports import ReadingsPort
from crestline.runtime.writes import StatusQueue

PLURAL = "performanceslos"
log = logging.getLogger("crestline.slo")


@dataclass
class _State:
    uid: str
    memory: Memory
    written: PerformanceSLOStatus | None  # the last status this replica wrote (or loaded)
    spec: tuple[int | None, PerformanceSLOSpec | str] | None = None  # by generation
    loaded: bool = True  # memory read from the status, not yet compared with the target


class SloRunner:
    def __init__(
        self,
        *,
        view: EventDayView,
        readings: ReadingsPort,
        queue: StatusQueue,
        config: OperatorConfig,
        fence: Callable[[Key], None],
        identity: str | None = None,
    ) -> None:
        """``view`` also brings the watch cache and the clock every evaluation reads;
        ``queue`` the API server writer (replicas and pool sizes are written in the
        evaluation, the status and Events through the queue)."""
        self.cache = view.cache
        self.clock = view.clock
        self.view = view
        self.readings = readings
        self.writer = queue.writer  # the scale and pool writes, made in the evaluation
        self.queue = queue
        self.config = config
        self.fence = fence
        self.identity = identity
        self._states: dict[Key, _State] = {}

    def forget(self, key: Key) -> None:
        state = self._states.pop(key, None)
        if state is not None and state.spec is not None:
            spec = state.spec[1]
            names = (
                [o.name for o in spec.objectives] if isinstance(spec, PerformanceSLOSpec) else []
            )
            metrics.forget_slo(key[0], key[1], names)

    def __len__(self) -> int:
        return len(self._states)

    def evaluate(self, key: Key, lag: float = 0.0) -> float:
        """One evaluation; returns seconds until the next one."""
        try:
            return self._evaluate(key, lag)
        except Fenced:
            return 5.0  # the shard moved: the runtime drops this key when it hears

    def _evaluate(self, key: Key, lag: float) -> float:
        record = self.cache.slo(key)
        if record is None:
            self.forget(key)
            return 30.0
        state = self._state(record)
        now = self.clock()
        spec = self._spec(record, state)
        if isinstance(spec, str):
            metrics.EVALUATION_ERRORS.labels("slo", Gate.INVALID.value).inc()
            result = failed_plan(
                state.memory,
                now=now,
                generation=record.generation,
                reason=Gate.INVALID,
                message=spec,
                interval=30.0,
            )
            self._report(record, state, result, now)
            return result.interval
        observation = self._observe(record, spec, now, lag)
        if state.loaded and observation.target is not None:
            state.memory, event = unrecorded_scale(
                state.memory, observation.target.replicas, now, spec
            )
            state.loaded = False
            if event is not None:
                self.queue.submit(PLURAL, _ref(record), events=(event,))
        inp = PlanInput(
            spec,
            observation,
            state.memory,
            now,
            generation=record.generation,
            min_interval=float(self.config.limits.min_interval_seconds),
            evaluator=self.identity,
        )
        result = plan(inp)
        if not result.writes.empty:
            failure = self._act(record, spec, result)
            if failure is not None:
                result = plan(dataclasses.replace(inp, write_failure=failure))
        if result.gate is Gate.NO_TARGET:
            metrics.EVALUATION_ERRORS.labels("slo", Gate.NO_TARGET.value).inc()
        self._report(record, state, result, now)
        self._export(record, result)
        return result.interval

    # -- observe ------------------------------------------------------------------------------
    def _state(self, record: ObjectRecord) -> _State:
        state = self._states.get(record.key)
        if state is None or state.uid != record.uid:  # new here (created, restart, failover)
            status = _status(record)
            state = _State(record.uid, Memory.from_status(status), status)
            self._states[record.key] = state
        return state

    def _spec(self, record: ObjectRecord, state: _State) -> PerformanceSLOSpec | str:
        if state.spec is not None and state.spec[0] == record.generation:
            return state.spec[1]
        try:
            parsed: PerformanceSLOSpec | str = PerformanceSLOSpec.model_validate(record.spec)
        except ValidationError as exc:
            parsed = spec_error(exc)
        state.spec = (record.generation, parsed)
        return parsed

    def _observe(
        self, record: ObjectRecord, spec: PerformanceSLOSpec, now: float, lag: float
    ) -> Observation:
        ns, ref = record.namespace, spec.target_ref
        workload = self.cache.workload(ns, ref.kind, ref.name)
        events, ignored = self.view.in_force(ns, record.labels)
        if workload is None:
            return Observation(
                target=None,
                target_problem=f"{ref.kind} {ns}/{ref.name} not found",
                events=events,
                ignored_events=ignored,
                annotations=record.annotations,
                lag=lag,
            )
        owners = tuple(Owner(s.kind, s.name) for s in self.cache.scalers_of(ns, ref.kind, ref.name))
        owners += tuple(Owner("FieldManager", m) for m in workload.replica_appliers)
        deadline = time.monotonic() + max(1.0, float(spec.evaluation.interval_seconds) * 0.8)
        return Observation(
            target=TargetView(workload.replicas, workload.ready, workload.surge),
            owners=owners,
            results=self.readings.read(ns, spec, deadline=deadline),
            events=events,
            ignored_events=ignored,
            annotations=record.annotations,
            lag=lag,
        )

    # -- act ----------------------------------------------------------------------------------
    def _act(
        self, record: ObjectRecord, spec: PerformanceSLOSpec, result: Plan
    ) -> WriteFailure | None:
        """Pool sizes first (sized for the larger count, safe before and after), then the
        replicas, each only while the shard is still ours."""
        writes = result.writes
        ns = record.namespace
        try:
            self.fence(record.key)
            for cfg in writes.config:
                self.writer.apply_config_key(ns, cfg.config_map, cfg.key, cfg.value)
        except ApiException as exc:
            return WriteFailure(f"writing pool sizes failed: {exc.status} {exc.reason}")
        if writes.replicas is None:
            return None
        ref = spec.target_ref
        try:
            self.fence(record.key)
            self.writer.write_replicas(ns, ref.kind, ref.name, writes.replicas)
            failpoints.hit("slo.after-scale")
        except ApiException as exc:
            return WriteFailure(
                f"writing replicas to {ref.kind} {ref.name} failed: {exc.status} {exc.reason}",
                config_written=True,
            )
        return None

    # -- report -------------------------------------------------------------------------------
    def _report(self, record: ObjectRecord, state: _State, result: Plan, now: float) -> None:
        """Hand the Events and, if it changed in anything a user reads, the status to the
        write queue (runtime.writes: Events before status, one pending write per SLO)."""
        ref = _ref(record)
        state.memory = result.memory
        status = None
        if needs_write(state.written, result.status, now=now):
            status = result.status.model_dump(by_alias=True, mode="json")
        else:
            metrics.STATUS_WRITES.labels(PLURAL, "unchanged").inc()
        written = result.status

        def on_written() -> None:
            state.written = written

        self.queue.submit(PLURAL, ref, events=result.events, status=status, on_written=on_written)

    def _export(self, record: ObjectRecord, result: Plan) -> None:
        decision = result.decision
        if decision is None:
            return
        ns, name = record.namespace, record.name
        metrics.DESIRED_REPLICAS.labels(ns, name).set(decision.desired)
        for o in decision.objectives:
            if o.ratio is not None:
                metrics.OBJECTIVE_RATIO.labels(ns, name, o.name).set(o.ratio)
        if decision.direction is not Direction.NONE and result.gate is not Gate.CONFLICT:
            applied = result.gate is Gate.OPEN and result.writes.replicas is not None
            metrics.DECISIONS.labels(ns, name, decision.direction.value, str(applied).lower()).inc()


def unrecorded_scale(
    memory: Memory, replicas: int, now: float, spec: PerformanceSLOSpec
) -> tuple[Memory, Event | None]:
    """Memory read from the status, with the target's count as the status left it.

    A count that differs was written after the status was: by a process killed between
    its scale write and its status write, or by someone else while no one was
    evaluating. Either way it is counted as a change made now, so the scale policies
    allow no more in their periods than if it had been recorded (without this, the
    restarted operator takes a second full step at once); and it gets an Event, so the
    change a kill kept out of the status is not missing from ``kubectl describe`` either
    (the Event says what is known: the count changed unrecorded, not who changed it).
    """
    recorded = memory.status.current_replicas
    if recorded is None or recorded == replicas:
        return memory, None
    changes = record_scale(memory.scale_changes, now, replicas - recorded, spec.scaling)
    direction = "ScaledUp" if replicas > recorded else "ScaledDown"
    event = Event(
        EventType.NORMAL,
        direction,
        f"{recorded} -> {replicas} replicas, found on taking this SLO over: written after "
        "the last status (by an operator stopped before recording it, or by another client)",
    )
    return dataclasses.replace(memory, scale_changes=changes), event


def _ref(record: ObjectRecord) -> ObjectRef:
    return ObjectRef(
        f"{GROUP}/{VERSION}", "PerformanceSLO", record.namespace, record.name, record.uid
    )


def _status(record: ObjectRecord) -> PerformanceSLOStatus:
    try:
        return PerformanceSLOStatus.model_validate(record.status)
    except ValidationError:
        return PerformanceSLOStatus()
