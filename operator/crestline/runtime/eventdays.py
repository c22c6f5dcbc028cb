"""EventDays at run time: where each stands, what SLOs must honour, and their actions.

Two readers of one computation. SLO evaluations ask :class:`EventDayView` which
EventDays are in force for them; the EventDay's own evaluation (:class:`EventDayRunner`)
keeps its status, Events and actions current. The view computes an EventDay's state once
per object version and phase, so a thousand SLOs under one EventDay cost one schedule
computation, not a thousand.

**Containment.** An EventDay whose spec is invalid, or whose schedule cannot be
evaluated (a cron that never fires, a date that does not exist), is *ignored* by the SLOs
it selects: they go on being evaluated and their status names it; the EventDay itself
gets ``Ready=False`` with the reason and one Warning Event. Nothing one EventDay does can
raise into another object's evaluation.

**Deletion.** An EventDay that has changed anything carries the finalizer
``crestline.dev/restore`` (added before its first change); on deletion the owner of its
shard restores everything the ledger says is still applied, then removes the finalizer.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from crestline.adapters.kube import ObjectRef
from crestline.api.base import GROUP, VERSION
from crestline.api.config import OperatorConfig
from crestline.api.eventday import (
    OPEN_STATES,
    ActionRecord,
    EventDaySpec,
    EventDayStatus,
    LedgerState,
)
from crestline.api.status import IgnoredEventDay
from crestline.calendar.instants import format_instant
from crestline.policy.conditions import Event, EventType, cond, merge
from crestline.policy.events import event_state, manual_control, selects
from crestline.policy.overlay import InForce
from crestline.policy.windows import CalendarState, Phase
from crestline.runtime import failpoints
from crestline.runtime.actions.base import Context, Services
from crestline.runtime.cache import ClusterCache, Key, ObjectRecord
from crestline.runtime.errors import Stale
from crestline.runtime.ledger import Ledger, pending_work
from crestline.runtime.ports import Writer

log = logging.getLogger("crestline.eventday")
PLURAL = "eventdays"
IN_FORCE = (Phase.WARMING, Phase.ACTIVE, Phase.COOLING)
FINALIZER = "crestline.dev/restore"
LEGACY_FINALIZERS = ("crestline.dev/finalizer",)  # kopf's, set by operators before 0.2
MAX_SLEEP = 30.0
MAX_AFFECTED = 5


def spec_error(exc: ValidationError) -> str:
    return "; ".join(
        f"spec.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
    )[:1024]


@dataclass(frozen=True)
class Computed:
    """An EventDay's spec and state at some moment, or why it cannot be evaluated."""

    version: str
    spec: EventDaySpec | None
    state: CalendarState | None
    problems: tuple[str, ...]  # manual-control annotations that could not be read
    error: str | None
    valid_until: dt.datetime | None

    def in_force(self) -> bool:
        return self.state is not None and self.state.phase in IN_FORCE


def boundary(state: CalendarState, now: dt.datetime) -> dt.datetime | None:
    """The next instant the phase can change (a lead, start, end or trail mark)."""
    given = getattr(state, "next_change", None)
    if isinstance(given, dt.datetime):
        return given
    marks = []
    act = state.activation
    if act is not None:
        marks += [act.active_from, act.start, act.end, act.active_until]
    if state.next_activation is not None:
        marks.append(state.next_activation)
    future = [m for m in marks if m > now]
    return min(future) if future else None


def compute(record: ObjectRecord, now: dt.datetime) -> Computed:
    """The state of one EventDay at ``now``; never raises."""
    version = record.resource_version
    try:
        spec = EventDaySpec.model_validate(record.spec)
    except ValidationError as exc:
        return Computed(version, None, None, (), spec_error(exc), None)
    manual, stopped, problems = manual_control(dict(record.annotations))
    try:
        state = event_state(spec, now, manual, stopped)
    except Exception as exc:  # the schedule cannot be evaluated: contained here
        return Computed(version, spec, None, tuple(problems), _schedule_error(exc), None)
    return Computed(version, spec, state, tuple(problems), None, boundary(state, now))


def _schedule_error(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"the schedule cannot be evaluated: {text}"[:1024]


class EventDayView:
    """EventDay states, each computed once per object version and phase."""

    def __init__(self, cache: ClusterCache, clock: Callable[[], float]) -> None:
        self.cache = cache
        self.clock = clock
        self._computed: dict[Key, Computed] = {}
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def computed(self, record: ObjectRecord, now: dt.datetime) -> Computed:
        with self._lock:
            hit = self._computed.get(record.key)
        if (
            hit is not None
            and hit.version == record.resource_version
            and (hit.valid_until is None or now < hit.valid_until)
            and hit.state is not None
        ):
            return hit
        if hit is not None and hit.version == record.resource_version and hit.state is None:
            return hit  # invalid until the object changes
        fresh = compute(record, now)
        with self._lock:
            self._computed[record.key] = fresh
        return fresh

    def forget(self, key: Key) -> None:
        with self._lock:
            self._computed.pop(key, None)

    def in_force(
        self, namespace: str, labels: Mapping[str, str]
    ) -> tuple[tuple[InForce, ...], tuple[IgnoredEventDay, ...]]:
        """The EventDays in force for an SLO with ``labels``, and those it must ignore."""
        now = self.now()
        active: list[InForce] = []
        ignored: list[IgnoredEventDay] = []
        for record in self.cache.eventdays_in(namespace):
            if record.deleting:
                continue
            computed = self.computed(record, now)
            if computed.spec is None:
                raw = (record.spec.get("selector") or {}).get("matchLabels") or {}
                if isinstance(raw, dict) and selects(
                    {str(k): str(v) for k, v in raw.items()}, dict(labels)
                ):
                    ignored.append(IgnoredEventDay(name=record.name, reason=computed.error or ""))
                continue
            if not selects(computed.spec.selector.match_labels, dict(labels)):
                continue
            if computed.error is not None:
                ignored.append(IgnoredEventDay(name=record.name, reason=computed.error))
            elif computed.in_force():
                assert computed.state is not None
                activation = computed.state.activation
                active.append(
                    InForce(
                        record.name,
                        computed.state.phase.value,
                        computed.spec.overrides,
                        activation.id if activation is not None else "",
                    )
                )
        return tuple(active), tuple(ignored)


class EventDayRunner:
    """Evaluates EventDays this replica owns: status, Events, and the action ledger."""

    def __init__(
        self,
        *,
        cache: ClusterCache,
        view: EventDayView,
        writer: Writer,
        services: Services,
        config: OperatorConfig,
        fence: Callable[[Key], None],
    ) -> None:
        self.cache = cache
        self.view = view
        self.writer = writer
        self.services = services
        self.config = config
        self.fence = fence
        self._written: dict[Key, EventDayStatus] = {}

    def forget(self, key: Key) -> None:
        self._written.pop(key, None)
        self.view.forget(key)

    def evaluate(self, key: Key, lag: float = 0.0) -> float:
        """One evaluation of EventDay ``key``; returns seconds until the next one."""
        del lag  # an EventDay's timing is its schedule's; lateness shows in the SLOs
        record = self.cache.eventday(key)
        if record is None:
            self.forget(key)
            return MAX_SLEEP
        now = self.view.now()
        computed = self.view.computed(record, now)
        try:
            return self._evaluate(record, computed, now)
        except Stale as exc:  # someone else wrote it, or the lease is going: look again soon
            log.info("EventDay %s/%s: %s; looking again", key[0], key[1], exc or "changed")
            return 1.0

    def _evaluate(self, record: ObjectRecord, computed: Computed, now: dt.datetime) -> float:
        old = _status(record.status)
        ref = ObjectRef(f"{GROUP}/{VERSION}", "EventDay", record.namespace, record.name, record.uid)
        spec, state = computed.spec, computed.state
        want = None
        if state is not None and state.phase in IN_FORCE and not record.deleting:
            assert state.activation is not None
            want = state.activation.id
        ctx = Context(
            namespace=record.namespace,
            name=record.name,
            spec=spec,
            config=self.config,
            services=self.services,
            now=now,
            activation=state.activation if want and state is not None else None,
        )
        records = list(old.actions)
        problems = list(computed.problems)
        fresh_rv: str | None = None
        if record.deleting or pending_work(records, ctx, want):
            outcome = self._work(record, ctx, want, lambda e: self._post(ref, e))
            if outcome is None:
                return MAX_SLEEP  # gone, or finished deleting
            records, fresh_rv, more = outcome
            problems += more
        if record.deleting:
            return 1.0 if any(r.state in OPEN_STATES for r in records) else MAX_SLEEP
        status = self._status(record, computed, old, records=records, problems=problems, now=now)
        events = self._events(old, status, computed)
        for event in events:
            self._post(ref, event)
        self._write(record, status, fresh_rv)
        until = computed.valid_until
        delay = MAX_SLEEP if until is None else (until - now).total_seconds()
        if problems:
            log.warning("EventDay %s/%s: %s", record.namespace, record.name, "; ".join(problems))
            delay = min(delay, 10.0)  # retry soon: a down Redis is retried in seconds
        return float(max(0.2, min(MAX_SLEEP, delay)))

    # -- the ledger ---------------------------------------------------------------------------
    def _work(
        self,
        record: ObjectRecord,
        ctx: Context,
        want: str | None,
        post: Callable[[Event], None],
    ) -> tuple[list[ActionRecord], str, list[str]] | None:
        """Restore and apply with a fresh ledger; None when the object is gone."""
        fresh = self.writer.get_custom(PLURAL, record.namespace, record.name)
        if fresh is None:
            return None
        meta = fresh.get("metadata") or {}
        holder = {"rv": str(meta.get("resourceVersion", ""))}
        finalizers = list(meta.get("finalizers") or [])
        records = list(_status(fresh.get("status") or {}).actions)

        def persist(recs: list[ActionRecord]) -> None:
            body = {"actions": [r.model_dump(by_alias=True, mode="json") for r in recs]}
            holder["rv"] = self._patch(record, body, holder["rv"])

        ledger = Ledger(records, persist=persist, post=post, fence=lambda: self.fence(record.key))
        problems = ledger.restore(ctx, keep=want)
        if want is not None and not record.deleting:
            if FINALIZER not in finalizers:
                self.fence(record.key)
                holder["rv"] = self._finalizers(record, [*finalizers, FINALIZER], holder["rv"])
            problems += ledger.apply(ctx)
        if record.deleting and not any(r.state in OPEN_STATES for r in ledger.records):
            keep = [f for f in finalizers if f != FINALIZER and f not in LEGACY_FINALIZERS]
            if keep != finalizers:
                self.fence(record.key)
                failpoints.hit("eventday.finalizer.before-remove")
                self._finalizers(record, keep, holder["rv"])
                failpoints.hit("eventday.finalizer.after-remove")
            return None
        return ledger.records, holder["rv"], problems

    def _patch(self, record: ObjectRecord, status: Mapping[str, Any], rv: str) -> str:
        try:
            written = self.writer.patch_status(
                PLURAL, record.namespace, record.name, status, resource_version=rv
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                raise Stale from exc
            raise
        return str((written.get("metadata") or {}).get("resourceVersion", rv))

    def _finalizers(self, record: ObjectRecord, finalizers: list[str], rv: str) -> str:
        try:
            written = self.writer.set_finalizers(
                PLURAL, record.namespace, record.name, finalizers=finalizers, resource_version=rv
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                raise Stale from exc
            raise
        return str((written.get("metadata") or {}).get("resourceVersion", rv))

    # -- status and Events --------------------------------------------------------------------
    def _status(
        self,
        record: ObjectRecord,
        computed: Computed,
        old: EventDayStatus,
        *,
        records: list[ActionRecord],
        problems: list[str],
        now: dt.datetime,
    ) -> EventDayStatus:
        stamp = format_instant(now)
        gen = record.generation
        if computed.error is not None:
            conditions = merge(
                old.conditions,
                [cond("Ready", False, "InvalidSpec", computed.error, generation=gen)],
                stamp,
            )
            return old.model_copy(
                update={"conditions": conditions, "observed_generation": gen, "actions": records}
            )
        spec, state = computed.spec, computed.state
        assert spec is not None
        assert state is not None
        slos = sorted(
            s.name
            for s in self.cache.slos_in(record.namespace)
            if selects(spec.selector.match_labels, dict(s.labels))
        )
        drifted = [r.message or r.key for r in records if r.state is LedgerState.DRIFTED]
        act = state.activation
        in_force = state.phase in IN_FORCE and act is not None
        shown = ", ".join(slos[:MAX_AFFECTED])
        if len(slos) > MAX_AFFECTED:
            shown += f" and {len(slos) - MAX_AFFECTED} more"
        return EventDayStatus(
            observed_generation=gen,
            phase=state.phase.value,
            next_activation=format_instant(state.next_activation)
            if state.next_activation
            else None,
            current_window=(
                f"{format_instant(act.active_from)}/{format_instant(act.active_until)}"
                if in_force and act is not None
                else None
            ),
            slos=slos[:100],
            slo_count=len(slos),
            affected=shown or None,
            actions=records,
            conditions=merge(
                old.conditions,
                [
                    cond(
                        "Ready",
                        not problems,
                        "Problems" if problems else "Scheduled",
                        "; ".join(problems),
                        generation=gen,
                    ),
                    cond(
                        "Drift",
                        bool(drifted),
                        "Drifted" if drifted else "NoDrift",
                        "; ".join(drifted),
                        generation=gen,
                    ),
                ],
                stamp,
            ),
        )

    def _events(self, old: EventDayStatus, new: EventDayStatus, computed: Computed) -> list[Event]:
        events = []
        if computed.error is not None:
            if not any(c.reason == "InvalidSpec" for c in old.conditions):
                events.append(Event(EventType.WARNING, "InvalidSpec", computed.error))
            return events
        if old.phase != new.phase and new.phase is not None:
            events.append(
                Event(
                    EventType.NORMAL,
                    f"Phase{new.phase}",
                    f"{old.phase or 'New'} -> {new.phase}; SLOs: {new.affected or 'none'}",
                )
            )
        ready = next((c for c in new.conditions if c.type == "Ready"), None)
        was = next((c for c in old.conditions if c.type == "Ready"), None)
        if (
            ready is not None
            and ready.reason == "Problems"
            and (was is None or was.reason != "Problems")
        ):
            events.append(Event(EventType.WARNING, "Problems", ready.message))
        return events

    def _post(self, ref: ObjectRef, event: Event) -> None:
        self.writer.post_event(ref, event)

    def _write(self, record: ObjectRecord, status: EventDayStatus, fresh_rv: str | None) -> None:
        """Write the status when it changed; the ledger only with the version it was read at."""
        last = self._written.get(record.key) or _status(record.status)
        data = status.model_dump(by_alias=True, mode="json")
        if data == last.model_dump(by_alias=True, mode="json"):
            return
        if fresh_rv is None:
            data.pop("actions", None)  # not read fresh now: never overwrite the ledger blindly
        try:
            self.writer.patch_status(
                PLURAL, record.namespace, record.name, data, resource_version=fresh_rv
            )
        except ApiException as exc:
            if exc.status in (404, 409):
                raise Stale from exc
            raise
        self._written[record.key] = status


def _status(raw: Mapping[str, Any]) -> EventDayStatus:
    try:
        return EventDayStatus.model_validate(raw or {})
    except ValidationError:
        return EventDayStatus()
