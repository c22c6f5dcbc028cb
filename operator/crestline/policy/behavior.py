"""HPA-style behaviour: stabilization windows and rate-limit policies.

Same semantics as the HPA's ``behavior`` field, so users can carry their tuning over:

* Stabilization: the scale-up target is the *minimum* of the recommendations within the
  up window, the scale-down target the *maximum* within the down window. A 300 s down
  window therefore means "only go as low as every recommendation of the last 5 minutes
  allowed".
* Rate limits: each policy allows ``value`` pods, or ``value`` percent of the replica
  count at the start of its period, per ``periodSeconds``; the changes already made in
  that period are counted from the recorded scale events. ``selectPolicy: Max`` picks the
  policy allowing the largest change, ``Min`` the smallest, ``Disabled`` forbids the
  direction.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crestline.api.scaling import PolicyType, ScalingRules, SelectPolicy


@dataclass(frozen=True)
class Timed:
    """``value`` at time ``t`` (epoch seconds): a recommendation, or a scale change delta."""

    t: float
    value: int


def stabilize(
    current: int,
    recommendation: int,
    history: Iterable[Timed],
    now: float,
    *,
    up_window: float,
    down_window: float,
) -> int:
    """The stabilized target given the recent recommendations (``history`` excludes ``now``)."""
    up_rec = down_rec = recommendation
    for rec in history:
        if rec.t > now - up_window:
            up_rec = min(up_rec, rec.value)
        if rec.t > now - down_window:
            down_rec = max(down_rec, rec.value)
    return min(max(current, up_rec), down_rec)


def _period_start(current: int, events: Sequence[Timed], now: float, period: float) -> int:
    changed = sum(e.value for e in events if e.t > now - period)
    return current - changed


def _policy_limits(
    current: int, rules: ScalingRules, events: Sequence[Timed], now: float, sign: int
) -> list[int]:
    """Each policy's bound in one direction (``sign`` +1 up, -1 down), from its period start."""
    limits = []
    for policy in rules.policies:
        start = _period_start(current, events, now, policy.period_seconds)
        if policy.type is PolicyType.PODS:
            limits.append(start + sign * policy.value)
        else:
            scaled = start * (1 + sign * policy.value / 100)
            limits.append(math.ceil(scaled) if sign > 0 else math.floor(scaled))
    return limits


def scale_up_limit(current: int, rules: ScalingRules, events: Sequence[Timed], now: float) -> int:
    """The most replicas the up policies allow right now."""
    limits = _policy_limits(current, rules, events, now, +1)
    if rules.select_policy is SelectPolicy.DISABLED or not limits:
        return current
    pick = max if rules.select_policy is SelectPolicy.MAX else min
    return max(current, pick(limits))


def scale_down_limit(current: int, rules: ScalingRules, events: Sequence[Timed], now: float) -> int:
    """The fewest replicas the down policies allow right now."""
    limits = _policy_limits(current, rules, events, now, -1)
    if rules.select_policy is SelectPolicy.DISABLED or not limits:
        return current
    # "Max" means the policy allowing the most change, i.e. the lowest floor.
    pick = min if rules.select_policy is SelectPolicy.MAX else max
    return min(current, max(0, pick(limits)))
