"""A baseline with a knob is a curve: the HPA's cost/violation frontier and where we sit on it.

Why a frontier and not one HPA setting: the HPA's CPU target trades replica-hours for
violation-minutes, so beating one setting on one axis while losing on the other says
nothing. Instead we ask two questions of the curve, each answerable with one number:

(a) at our replica-hours, how many violation-minutes would the HPA have? ->
    ``violation_ratio = ours / frontier's``;
(b) at our violation-minutes, how many replica-hours would the HPA need? ->
    ``cost_ratio = ours / frontier's``.

Definition (unit-tested in tests/unit/test_frontier.py):

* The frontier is the lower-left Pareto set of the baseline's points: a point is kept
  unless another has no more replica-hours *and* no more violation-minutes (and is not
  identical). Sorted by replica-hours, its violation-minutes strictly decrease.
* Between adjacent Pareto points the frontier is the straight segment joining them
  (linear in both quantities; no convex hull is taken, so a setting never counts as
  a mix of two others).
* Outside the frontier's range nothing is extrapolated: the nearest end point is
  used, and the estimate is flagged with the side it fell on. The ratio is then a
  bound, assuming only that the baseline's violations do not rise with cost:
  - (a) cheaper than the cheapest point: the HPA would have at least that point's
    violations, so the ratio is an upper bound (``<=``); costlier than the most
    expensive point: a lower bound (``>=``);
  - (b) more violations than the cheapest point: the HPA would need at most its
    replica-hours, so the ratio is a lower bound (``>=``); fewer violations than the
    most expensive point: an upper bound (``<=``).
* A zero denominator gives ``inf`` (``0`` over ``0`` is ``None``, "no difference").
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Point:
    """One policy run: what it cost and how often it violated the objective."""

    replica_hours: float
    violation_minutes: float
    label: str = ""


class Side(StrEnum):
    """Where a query fell relative to the frontier's range."""

    INSIDE = "inside"
    BELOW = "below"  # below the smallest value of the queried axis
    ABOVE = "above"  # above the largest


class Bound(StrEnum):
    """What a ratio is: exact (interpolated), or only a bound (clamped to an end point)."""

    EXACT = "="
    AT_MOST = "<="
    AT_LEAST = ">="


@dataclass(frozen=True)
class Estimate:
    value: float
    side: Side


def pareto(points: Iterable[Point]) -> tuple[Point, ...]:
    """Non-dominated points, by replica-hours ascending (violations strictly descending)."""
    out: list[Point] = []
    best = math.inf
    for p in sorted(points, key=lambda p: (p.replica_hours, p.violation_minutes)):
        if p.violation_minutes < best:
            out.append(p)
            best = p.violation_minutes
    return tuple(out)


def _lerp(x: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    """The y at ``x`` on the straight line through points ``a`` and ``b`` (x, y)."""
    (x0, y0), (x1, y1) = a, b
    return y0 if x1 == x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def violations_at(frontier: Sequence[Point], replica_hours: float) -> Estimate:
    """The frontier's violation-minutes at ``replica_hours`` (``frontier`` from :func:`pareto`)."""
    if not frontier:
        raise ValueError("empty frontier")
    first, last = frontier[0], frontier[-1]
    if replica_hours < first.replica_hours:
        return Estimate(first.violation_minutes, Side.BELOW)
    if replica_hours > last.replica_hours:
        return Estimate(last.violation_minutes, Side.ABOVE)
    for a, b in itertools.pairwise(frontier):
        if a.replica_hours <= replica_hours <= b.replica_hours:
            v = _lerp(
                replica_hours,
                (a.replica_hours, a.violation_minutes),
                (b.replica_hours, b.violation_minutes),
            )
            return Estimate(v, Side.INSIDE)
    return Estimate(first.violation_minutes, Side.INSIDE)  # one point, queried exactly


def replica_hours_at(frontier: Sequence[Point], violation_minutes: float) -> Estimate:
    """The frontier's replica-hours at ``violation_minutes`` (the inverse of the above)."""
    if not frontier:
        raise ValueError("empty frontier")
    first, last = frontier[0], frontier[-1]  # most violations, fewest violations
    if violation_minutes > first.violation_minutes:
        return Estimate(first.replica_hours, Side.ABOVE)
    if violation_minutes < last.violation_minutes:
        return Estimate(last.replica_hours, Side.BELOW)
    for a, b in itertools.pairwise(frontier):
        if b.violation_minutes <= violation_minutes <= a.violation_minutes:
            r = _lerp(
                violation_minutes,
                (a.violation_minutes, a.replica_hours),
                (b.violation_minutes, b.replica_hours),
            )
            return Estimate(r, Side.INSIDE)
    return Estimate(first.replica_hours, Side.INSIDE)


def _ratio(ours: float, theirs: float) -> float | None:
    if theirs == 0:
        return None if ours == 0 else math.inf
    return ours / theirs


@dataclass(frozen=True)
class Comparison:
    """A policy's point against a frontier: the two ratios and whether each is a bound."""

    point: Point
    frontier_violations: Estimate  # at our replica-hours
    frontier_replica_hours: Estimate  # at our violation-minutes

    @property
    def violation_ratio(self) -> float | None:
        return _ratio(self.point.violation_minutes, self.frontier_violations.value)

    @property
    def violation_bound(self) -> Bound:
        return {
            Side.INSIDE: Bound.EXACT,
            Side.BELOW: Bound.AT_MOST,
            Side.ABOVE: Bound.AT_LEAST,
        }[self.frontier_violations.side]

    @property
    def cost_ratio(self) -> float | None:
        return _ratio(self.point.replica_hours, self.frontier_replica_hours.value)

    @property
    def cost_bound(self) -> Bound:
        return {
            Side.INSIDE: Bound.EXACT,
            Side.BELOW: Bound.AT_MOST,
            Side.ABOVE: Bound.AT_LEAST,
        }[self.frontier_replica_hours.side]


def compare(point: Point, baseline: Iterable[Point]) -> Comparison:
    """``point`` against the Pareto frontier of ``baseline``."""
    front = pareto(baseline)
    return Comparison(
        point,
        violations_at(front, point.replica_hours),
        replica_hours_at(front, point.violation_minutes),
    )


@dataclass(frozen=True)
class Goal:
    """The project's goal: at equal cost far fewer violations, at equal violations less cost."""

    max_violation_ratio: float = 0.6
    max_cost_ratio: float = 0.85

    def violations_met(self, c: Comparison) -> bool | None:
        """True/False when decided; None when only a bound on the wrong side is known."""
        if c.point.violation_minutes == 0:
            return True  # nothing left to remove
        return _meets(c.violation_ratio, c.violation_bound, self.max_violation_ratio)

    def cost_met(self, c: Comparison) -> bool | None:
        return _meets(c.cost_ratio, c.cost_bound, self.max_cost_ratio)


def _meets(ratio: float | None, bound: Bound, limit: float) -> bool | None:
    if ratio is None:
        return False  # 0 vs 0: equal, not better
    if bound is Bound.EXACT:
        return ratio <= limit
    if bound is Bound.AT_MOST:
        return True if ratio <= limit else None
    return False if ratio > limit else None
