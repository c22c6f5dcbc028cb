"""Kubernetes-style conditions, and the Events a human should see when they change.

Pure: a condition list is merged by type, keeping ``lastTransitionTime`` while the
status holds; an Event is owed when a condition worth attention changes status or
reason, not on every evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from crestline.api.status import Condition, ConditionStatus

# The order conditions are listed in (others follow, alphabetically).
CONDITION_TYPES = (
    "Ready",
    "MetricsAvailable",
    "TargetFound",
    "ScalingLimited",
    "Conflict",
    "PodsReady",
    "Lagging",
    "Drift",
)
# Conditions whose True means something is wrong (the rest are healthy when True).
PROBLEM_WHEN_TRUE = frozenset({"Conflict", "Lagging", "Drift"})


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post on the object: what happened, in words, with numbers."""

    type: EventType
    reason: str
    message: str


def merge(previous: Sequence[Condition], updates: Iterable[Condition], now: str) -> list[Condition]:
    """New condition list: ``updates`` replace same-type entries; unchanged status keeps its
    ``lastTransitionTime`` (it records when the status last *changed*, not when it was set).
    """
    by_type = {c.type: c for c in previous}
    for new in updates:
        old = by_type.get(new.type)
        since = old.last_transition_time if old and old.status == new.status else now
        by_type[new.type] = new.model_copy(update={"last_transition_time": since})
    order = {t: i for i, t in enumerate(CONDITION_TYPES)}
    return sorted(by_type.values(), key=lambda c: (order.get(c.type, len(order)), c.type))


def cond(
    type_: str, ok: bool, reason: str, message: str = "", *, generation: int | None = None
) -> Condition:
    """A condition whose status is True when ``ok``."""
    return Condition(
        type=type_,
        status=ConditionStatus.TRUE if ok else ConditionStatus.FALSE,
        reason=reason,
        message=message[:2048],
        observed_generation=generation,
    )


def find(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def changed(previous: Sequence[Condition], current: Sequence[Condition], type_: str) -> bool:
    """Did the status or reason of ``type_`` change (worth an Event)?"""
    old, new = find(previous, type_), find(current, type_)
    if new is None:
        return False
    return old is None or (old.status, old.reason) != (new.status, new.reason)


def healthy(c: Condition) -> bool:
    wanted = ConditionStatus.FALSE if c.type in PROBLEM_WHEN_TRUE else ConditionStatus.TRUE
    return c.status is wanted


def transition_events(
    old: Sequence[Condition], new: Sequence[Condition], *, watched: Iterable[str]
) -> list[Event]:
    """A Warning when a watched condition turns bad (or changes reason while bad), a
    Normal "recovered" when it turns good again - never one per evaluation."""
    events = []
    for type_ in watched:
        c = find(new, type_)
        if c is None or not changed(old, new, type_):
            continue
        before = find(old, type_)
        if not healthy(c):
            events.append(Event(EventType.WARNING, c.reason, c.message or c.reason))
        elif before is not None and not healthy(before):  # not for e.g. Unknown -> known
            events.append(Event(EventType.NORMAL, c.reason, f"{type_} recovered"))
    return events
