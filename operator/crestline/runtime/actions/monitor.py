"""A faster Prometheus scrape while the event is in force: the monitors' interval."""

from __future__ import annotations

import json

from kubernetes.client.exceptions import ApiException

from crestline.api.eventday import ActionRecord, EventDaySpec, LedgerState
from crestline.policy.conditions import Event, EventType
from crestline.runtime.actions.base import ActionProblem, Context, Step

PREFIX = "monitor/"


def _split(key: str) -> tuple[str, str]:
    kind, name = key.removeprefix(PREFIX).split("/", 1)
    return kind, name


class MonitorInterval:
    def keys(self, spec: EventDaySpec) -> list[str]:
        mon = spec.overrides.monitoring
        return [f"{PREFIX}{ref.kind}/{ref.name}" for ref in mon.monitors] if mon else []

    def begin(self, ctx: Context, key: str) -> ActionRecord:
        assert ctx.activation is not None
        assert ctx.overrides.monitoring is not None
        kind, name = _split(key)
        try:
            original = ctx.services.monitors.intervals(ctx.namespace, kind, name)
        except ApiException as exc:
            if exc.status == 404:
                raise ActionProblem(f"{kind} {name} not found") from exc
            raise
        target = [ctx.overrides.monitoring.interval] * len(original)
        return ActionRecord(
            key=key,
            activation=ctx.activation.id,
            state=LedgerState.PENDING,
            original=json.dumps(original),
            applied=json.dumps(target),
        )

    def apply(self, ctx: Context, record: ActionRecord) -> Step:
        kind, name = _split(record.key)
        target = json.loads(record.applied or "[]")
        ctx.services.monitors.set_intervals(ctx.namespace, kind, name, target)
        event = Event(
            EventType.NORMAL,
            "MonitorInterval",
            f"{kind} {name}: interval {record.original} -> {target}",
        )
        return Step(record.model_copy(update={"state": LedgerState.APPLIED}), (event,))

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        return False

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        kind, name = _split(record.key)
        original = json.loads(record.original or "[]")
        applied = json.loads(record.applied or "[]")
        try:
            now = ctx.services.monitors.intervals(ctx.namespace, kind, name)
        except ApiException as exc:
            if exc.status != 404:
                raise
            gone = f"{kind} {name} no longer exists; nothing to restore"
            return Step(record.model_copy(update={"state": LedgerState.RESTORED, "message": gone}))
        if now == original:  # never changed, or restored before a restart
            events: tuple[Event, ...] = ()
            if applied != original:
                # Perhaps put back by a process killed before recording it: its Event may
                # never have been posted (at worst it is posted twice, never lost).
                events = (_restored(kind, name, original),)
            return Step(record.model_copy(update={"state": LedgerState.RESTORED}), events)
        if now != applied:
            message = (
                f"{kind} {name} interval changed to {now} during the event; left as is "
                f"(original {original})"
            )
            return Step(
                record.model_copy(update={"state": LedgerState.DRIFTED, "message": message}),
                (Event(EventType.WARNING, "Drift", message),),
            )
        ctx.services.monitors.set_intervals(ctx.namespace, kind, name, original)
        return Step(
            record.model_copy(update={"state": LedgerState.RESTORED}),
            (_restored(kind, name, original),),
        )


def _restored(kind: str, name: str, original: object) -> Event:
    return Event(EventType.NORMAL, "MonitorRestored", f"{kind} {name}: interval back to {original}")
