"""Kubernetes-style conditions: set by type, keeping the transition time when unchanged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crestline.api.status import Condition, ConditionStatus

CONDITION_TYPES = ("Ready", "MetricsAvailable", "TargetFound", "ScalingLimited", "Conflict")


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
    return sorted(by_type.values(), key=lambda c: order.get(c.type, len(order)))


def cond(
    type_: str, ok: bool, reason: str, message: str = "", generation: int | None = None
) -> Condition:
    return Condition(
        type=type_,
        status=ConditionStatus.TRUE if ok else ConditionStatus.FALSE,
        reason=reason,
        message=message,
        observed_generation=generation,
    )


def changed(previous: Sequence[Condition], current: Sequence[Condition], type_: str) -> bool:
    """Did the status or reason of ``type_`` change (worth an Event)?"""
    old = next((c for c in previous if c.type == type_), None)
    new = next((c for c in current if c.type == type_), None)
    if new is None:
        return False
    return old is None or (old.status, old.reason) != (new.status, new.reason)
