"""HPA-style behaviour: stabilization windows, rate-limit policies, and why a count was limited.

Same semantics as the HPA's ``behavior`` field, so users can carry their tuning over. The
functions mirror the HPA controller's (kubernetes ``pkg/controller/podautoscaler/
horizontal.go``): ``stabilizeRecommendationWithBehaviors``,
``calculateScaleUpLimitWithScalingRules``, ``calculateScaleDownLimitWithBehaviors`` and
``convertDesiredReplicasWithBehaviorRate``; ``tests/unit/test_hpa_tables.py`` replays the
HPA's own test tables against them.

* Stabilization: the result is the current count brought into the band
  ``[min of the recommendations in the up window, max of those in the down window]``
  (each window also holds the new recommendation). A 300 s down window therefore means
  "only go as low as every recommendation of the last 5 minutes allowed", and a 0 s
  up window lets a scale-up through at once.
* Rate limits: each policy allows ``value`` pods, or ``value`` percent of the replica
  count at the start of its period, per ``periodSeconds``; the changes made within the
  period (recorded scale events, both directions) are undone to find that start.
  ``selectPolicy: Max`` picks the policy allowing the largest change, ``Min`` the
  smallest, ``Disabled`` forbids the direction. Percent up rounds up (so +1 % still adds
  a pod), percent down truncates, as in the HPA.
* Bounds: min/maxReplicas, and the reason the HPA would give when a limit bites
  (``ScalingLimited``: ``ScaleUpLimit``, ``ScaleDownLimit``, ``TooManyReplicas``,
  ``TooFewReplicas``) or when stabilization held the count (``AbleToScale``:
  ``ScaleUpStabilized``, ``ScaleDownStabilized``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from crestline.api.scaling import PolicyType, ScalingRules, SelectPolicy


@dataclass(frozen=True)
class Timed:
    """``value`` at time ``t`` (epoch seconds): a recommendation, or a scale change delta."""

    t: float
    value: int


class LimitReason(StrEnum):
    """Why the desired count is not the recommendation (the HPA's ScalingLimited reasons).

    ``PoolBudget`` is crestline's own: a connection-pool budget lowered maxReplicas
    (set by the caller, which knows the budget).
    """

    SCALE_UP_LIMIT = "ScaleUpLimit"
    SCALE_DOWN_LIMIT = "ScaleDownLimit"
    TOO_MANY_REPLICAS = "TooManyReplicas"
    TOO_FEW_REPLICAS = "TooFewReplicas"
    POOL_BUDGET = "PoolBudget"


@dataclass(frozen=True)
class Limit:
    """A limit that changed the decision: the reason code and a message with the numbers."""

    reason: LimitReason
    message: str


class Stabilized(StrEnum):
    """Why stabilization held the count (the HPA's AbleToScale reasons)."""

    SCALE_UP_STABILIZED = "ScaleUpStabilized"
    SCALE_DOWN_STABILIZED = "ScaleDownStabilized"


def stabilize(
    current: int,
    recommendation: int,
    history: Iterable[Timed],
    now: float,
    *,
    up_window: float,
    down_window: float,
) -> int:
    """The stabilized target given the recent recommendations (``history`` excludes ``now``).

    A recommendation counts for a window when it is younger than the window (strictly:
    one made exactly ``window`` seconds ago has left it), so a 0 s window holds only the
    new recommendation.
    """
    up_rec = down_rec = recommendation
    for rec in history:
        if rec.t > now - up_window:
            up_rec = min(up_rec, rec.value)
        if rec.t > now - down_window:
            down_rec = max(down_rec, rec.value)
    return min(max(current, up_rec), down_rec)


def stabilized_reason(current: int, recommendation: int, stabilized: int) -> Stabilized | None:
    """The HPA's AbleToScale reason when stabilization changed ``recommendation``."""
    if stabilized == recommendation:
        return None
    if recommendation >= current:
        return Stabilized.SCALE_UP_STABILIZED
    return Stabilized.SCALE_DOWN_STABILIZED


def changed_in_period(events: Iterable[Timed], now: float, period: float) -> int:
    """Net replicas added (negative: removed) by the scale events of the last ``period`` s."""
    return sum(e.value for e in events if e.t > now - period)


def _policy_limits(
    current: int, rules: ScalingRules, events: Sequence[Timed], now: float, *, sign: int
) -> list[int]:
    """Each policy's bound in one direction (``sign`` +1 up, -1 down), from its period start."""
    limits = []
    for policy in rules.policies:
        start = current - changed_in_period(events, now, policy.period_seconds)
        if policy.type is PolicyType.PODS:
            limits.append(start + sign * policy.value)
        elif sign > 0:
            limits.append(math.ceil(start * (1 + policy.value / 100)))
        else:
            limits.append(math.trunc(start * (1 - policy.value / 100)))
    return limits


def scale_up_limit(current: int, rules: ScalingRules, events: Sequence[Timed], now: float) -> int:
    """The most replicas the up policies allow right now (never below ``current``)."""
    limits = _policy_limits(current, rules, events, now, sign=+1)
    if rules.select_policy is SelectPolicy.DISABLED or not limits:
        return current
    pick = max if rules.select_policy is SelectPolicy.MAX else min
    return max(current, pick(limits))


def scale_down_limit(current: int, rules: ScalingRules, events: Sequence[Timed], now: float) -> int:
    """The fewest replicas the down policies allow right now (never above ``current``).

    May be negative (a policy removing more than everything); the bounds decide then.
    """
    limits = _policy_limits(current, rules, events, now, sign=-1)
    if rules.select_policy is SelectPolicy.DISABLED or not limits:
        return current
    # "Max" means the policy allowing the most change, i.e. the lowest floor.
    pick = min if rules.select_policy is SelectPolicy.MAX else max
    return min(current, pick(limits))


@dataclass(frozen=True)
class Bounds:
    """What the rate-limit and bounds step needs besides the target: the spec's numbers."""

    min_replicas: int
    max_replicas: int
    up: ScalingRules
    down: ScalingRules


def limit_rate(
    current: int, target: int, bounds: Bounds, *, events: Sequence[Timed], now: float
) -> tuple[int, Limit | None]:
    """Bring ``target`` within the rate limits and the bounds; say which limit bit.

    As the HPA: moving up, the tighter of maxReplicas and the up policies caps the move
    (``ScaleUpLimit`` if the policies are tighter, else ``TooManyReplicas``); moving down,
    the tighter of minReplicas and the down policies floors it. A target equal to the
    current count is not limited at all (the caller handles a count already outside the
    bounds).
    """
    lo, hi = bounds.min_replicas, bounds.max_replicas
    if target > current:
        cap = scale_up_limit(current, bounds.up, events, now)
        if hi > cap:
            allowed, reason = cap, LimitReason.SCALE_UP_LIMIT
            why = f"the scale-up policies allow {cap} replicas now (from {current})"
        else:
            allowed, reason = hi, LimitReason.TOO_MANY_REPLICAS
            why = f"maxReplicas is {hi}"
        if target > allowed:
            return allowed, Limit(reason, f"{why}; {target} recommended")
    elif target < current:
        floor = scale_down_limit(current, bounds.down, events, now)
        if lo < floor:
            allowed, reason = floor, LimitReason.SCALE_DOWN_LIMIT
            why = f"the scale-down policies allow {floor} replicas now (from {current})"
        else:
            allowed, reason = lo, LimitReason.TOO_FEW_REPLICAS
            why = f"minReplicas is {lo}"
        if target < allowed:
            return allowed, Limit(reason, f"{why}; {target} recommended")
    return target, None
