"""EventDay evaluation: where each event stands, and which events an SLO must honour.

Level-triggered on purpose: nothing is handed from the EventDay's daemon to the SLO's.
Each SLO evaluation lists the EventDays of its namespace and computes their phase at
``now`` from their specs and manual-control annotations (pure functions in
:mod:`crestline.policy.events`); the EventDay daemon computes the same thing to keep
its status and Events current for humans.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from pydantic import ValidationError

from crestline.api.base import GROUP, VERSION
from crestline.api.eventday import ActionRecord, EventDaySpec, EventDayStatus
from crestline.calendar.instants import format_instant
from crestline.policy.conditions import cond, merge
from crestline.policy.events import event_state, manual_control, selects
from crestline.policy.overlay import InForce
from crestline.policy.windows import CalendarState, Phase
from crestline.runtime.actions import ActionRunner
from crestline.runtime.reconcile import Event

EVENTDAYS, SLOS = "eventdays", "performanceslos"
IN_FORCE = (Phase.WARMING, Phase.ACTIVE, Phase.COOLING)
MAX_SLEEP = 30.0


def _iso(t: dt.datetime | None) -> str | None:
    return format_instant(t) if t else None


@dataclass
class EventOutcome:
    status: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    wake_in: float = MAX_SLEEP


class EventDays:
    def __init__(
        self,
        custom: client.CustomObjectsApi,
        runner: ActionRunner | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.custom = custom
        self.runner = runner
        self.clock = clock

    def _persist(self, namespace: str, name: str) -> Callable[[list[ActionRecord]], None]:
        def persist(ledger: list[ActionRecord]) -> None:
            patch = {
                "status": {"actions": [r.model_dump(by_alias=True, mode="json") for r in ledger]}
            }
            self.custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                EVENTDAYS,
                name,
                patch,
                _content_type="application/merge-patch+json",
            )

        return persist

    def restore(self, namespace: str, body: Mapping[str, Any]) -> list[Event]:
        """Undo everything still applied (the EventDay is being deleted)."""
        if self.runner is None:
            return []
        try:
            spec = EventDaySpec.model_validate(body.get("spec", {}))
            old = EventDayStatus.model_validate(body.get("status") or {})
        except ValidationError:
            return []
        result = self.runner.restore_all(namespace, spec, list(old.actions))
        if result.problems:
            raise RuntimeError("; ".join(result.problems))  # kopf retries the deletion
        return result.events

    def _list(self, namespace: str, plural: str) -> list[dict[str, Any]]:
        listing: Any = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
        return list(listing.get("items", []))

    def in_force(self, namespace: str, slo_labels: Mapping[str, str]) -> list[InForce]:
        """The EventDays selecting an SLO with these labels that are warming/active/cooling."""
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
        found = []
        for item in self._list(namespace, EVENTDAYS):
            try:
                spec = EventDaySpec.model_validate(item.get("spec", {}))
            except ValidationError:
                continue  # reported on the EventDay itself
            if not selects(spec.selector.match_labels, dict(slo_labels)):
                continue
            annotations = item.get("metadata", {}).get("annotations") or {}
            manual, stopped, _ = manual_control(annotations)
            state = event_state(spec, now, manual, stopped)
            if state.phase in IN_FORCE:
                found.append(InForce(item["metadata"]["name"], state.phase.value, spec.overrides))
        return found

    def evaluate(self, namespace: str, name: str, body: Mapping[str, Any]) -> EventOutcome:
        now_ts = self.clock()
        now = dt.datetime.fromtimestamp(now_ts, dt.UTC)
        stamp = _iso(now) or ""
        generation = body.get("metadata", {}).get("generation")
        try:
            old = EventDayStatus.model_validate(body.get("status") or {})
        except ValidationError:
            old = EventDayStatus()
        try:
            spec = EventDaySpec.model_validate(body.get("spec", {}))
        except ValidationError as exc:
            message = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            conditions = merge(
                old.conditions, [cond("Ready", False, "InvalidSpec", message, generation)], stamp
            )
            status = old.model_copy(
                update={"conditions": conditions, "observed_generation": generation}
            )
            return EventOutcome(
                status.model_dump(by_alias=True, mode="json"),
                [Event("Warning", "InvalidSpec", message)],
            )
        annotations = dict(body.get("metadata", {}).get("annotations") or {})
        manual, stopped, problems = manual_control(annotations)
        state = event_state(spec, now, manual, stopped)
        slos = sorted(
            s["metadata"]["name"]
            for s in self._list(namespace, SLOS)
            if selects(spec.selector.match_labels, s["metadata"].get("labels") or {})
        )
        act = state.activation
        ledger = list(old.actions)
        action_events: list[Event] = []
        if self.runner is not None:
            result = self.runner.reconcile(
                namespace,
                name,
                spec,
                act if state.phase in IN_FORCE else None,
                ledger,
                self._persist(namespace, name),
            )
            ledger, action_events = _bounded(result.ledger), result.events
            problems += result.problems
        # Drift stays reported while the ledger remembers it (the last two activations).
        drifted = [r.message or r.key for r in ledger if r.state == "drifted"]
        updates = [
            cond(
                "Ready",
                not problems,
                "Problems" if problems else "Scheduled",
                "; ".join(problems),
                generation,
            ),
            cond(
                "Drift",
                bool(drifted),
                "Drifted" if drifted else "NoDrift",
                "; ".join(drifted),
                generation,
            ),
        ]
        status = EventDayStatus(
            observed_generation=generation,
            phase=state.phase.value,
            next_activation=_iso(state.next_activation),
            current_window=(
                f"{_iso(act.active_from)}/{_iso(act.active_until)}"
                if act and state.phase in IN_FORCE
                else None
            ),
            slos=slos,
            affected=", ".join(slos) if slos else None,
            actions=ledger,
            conditions=merge(old.conditions, updates, stamp),
        )
        events = []
        if old.phase != status.phase:
            events.append(
                Event(
                    "Normal",
                    f"Phase{state.phase.value}",
                    f"{old.phase or 'New'} -> {state.phase.value}; SLOs: "
                    f"{status.affected or 'none'}",
                )
            )
        events += action_events
        if problems and not any(c.reason == "Problems" for c in old.conditions):
            events.append(Event("Warning", "Problems", "; ".join(problems)))
        return EventOutcome(
            status.model_dump(by_alias=True, mode="json"), events, _wake_in(state, now)
        )


def _bounded(ledger: list[ActionRecord], keep: int = 2) -> list[ActionRecord]:
    """Finished records of the last ``keep`` activations, and everything still to undo."""
    recent: list[str] = []
    for r in reversed(ledger):
        if r.activation not in recent:
            recent.append(r.activation)
    recent = recent[:keep]
    return [r for r in ledger if r.activation in recent or r.state in ("pending", "applied")]


def _wake_in(state: CalendarState, now: dt.datetime) -> float:
    """Seconds until the next phase boundary (capped), so transitions are seen on time."""
    marks = []
    act = state.activation
    if act is not None:
        marks += [act.active_from, act.start, act.end, act.active_until]
    if state.next_activation is not None:
        marks.append(state.next_activation)
    future = [(m - now).total_seconds() for m in marks if m > now]
    return float(max(0.2, min([MAX_SLEEP, *future])))
