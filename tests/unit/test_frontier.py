"""The HPA frontier: Pareto set, interpolation both ways, bounds outside the range."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks.frontier import (
    Bound,
    Goal,
    Point,
    Side,
    compare,
    pareto,
    replica_hours_at,
    violations_at,
)

# replica-hours, violation-minutes: cost up, violations down; 70% is dominated by 65%.
HPA = [
    Point(100, 1000, "90%"),
    Point(120, 400, "80%"),
    Point(130, 450, "70%"),
    Point(125, 300, "65%"),
    Point(160, 100, "50%"),
    Point(200, 0, "40%"),
]


def test_pareto_drops_dominated_points_and_sorts_by_cost() -> None:
    front = pareto(HPA)
    assert [p.label for p in front] == ["90%", "80%", "65%", "50%", "40%"]
    assert pareto([Point(1, 5), Point(1, 5)]) == (Point(1, 5),)
    assert pareto([Point(1, 5), Point(1, 3), Point(2, 3)]) == (Point(1, 3),)


def test_interpolation_is_linear_between_adjacent_pareto_points() -> None:
    front = pareto(HPA)
    # Halfway between 65% (125, 300) and 50% (160, 100) - the dominated 70% is ignored.
    at = violations_at(front, 142.5)
    assert at.value == pytest.approx(200.0)
    assert at.side is Side.INSIDE
    assert replica_hours_at(front, 200.0).value == pytest.approx(142.5)
    assert violations_at(front, 120).value == 400  # on a point exactly
    assert replica_hours_at(front, 0).value == 200


def test_outside_the_range_clamps_and_says_which_side() -> None:
    front = pareto(HPA)
    assert violations_at(front, 50) == violations_at(front, 99.9)
    assert violations_at(front, 50).side is Side.BELOW
    assert violations_at(front, 50).value == 1000
    assert violations_at(front, 300).side is Side.ABOVE
    assert violations_at(front, 300).value == 0
    assert replica_hours_at(front, 5000).side is Side.ABOVE
    assert replica_hours_at(front, 5000).value == 100
    with pytest.raises(ValueError, match="empty"):
        violations_at((), 1)


def test_ratios_and_their_bounds() -> None:
    inside = compare(Point(142.5, 100, "crestline"), HPA)
    assert inside.violation_ratio == pytest.approx(0.5)  # 100 vs 200 at equal cost
    assert inside.violation_bound is Bound.EXACT
    assert inside.cost_ratio == pytest.approx(142.5 / 160)  # 50% reaches 100 at 160
    assert inside.cost_bound is Bound.EXACT

    # Cheaper than the cheapest HPA and fewer violations than it: upper bound on (a).
    cheap = compare(Point(90, 500, "cheap"), HPA)
    assert cheap.violation_ratio == pytest.approx(0.5)
    assert cheap.violation_bound is Bound.AT_MOST
    # More violations than any HPA: the HPA would need at most 100 -> lower bound on (b).
    sloppy = compare(Point(90, 2000, "sloppy"), HPA)
    assert sloppy.cost_ratio == pytest.approx(0.9)
    assert sloppy.cost_bound is Bound.AT_LEAST
    # Costlier than HPA 40%, which already has 0 violations: infinitely worse on (a).
    costly = compare(Point(250, 10, "costly"), HPA)
    assert costly.violation_ratio == math.inf
    assert costly.violation_bound is Bound.AT_LEAST


def test_goal_decides_only_what_the_bounds_allow() -> None:
    goal = Goal(max_violation_ratio=0.6, max_cost_ratio=0.85)
    assert goal.violations_met(compare(Point(142.5, 100), HPA)) is True
    assert goal.cost_met(compare(Point(142.5, 100), HPA)) is False  # 0.89 > 0.85
    assert goal.violations_met(compare(Point(90, 500), HPA)) is True  # <= 0.5
    assert goal.violations_met(compare(Point(90, 900), HPA)) is None  # <= 0.9: unknown
    assert goal.cost_met(compare(Point(90, 2000), HPA)) is False  # >= 0.9
    assert goal.cost_met(compare(Point(50, 2000), HPA)) is None  # >= 0.5: unknown
    assert goal.violations_met(compare(Point(250, 0), HPA)) is True  # 0 vs 0


# Violation-minutes are counts; replica-hours are sums of many small steps.
@given(st.lists(st.tuples(st.floats(1, 1e4), st.integers(0, 10**4)), min_size=1, max_size=20))
def test_pareto_points_are_undominated_and_interpolation_inverts(
    raw: list[tuple[float, int]],
) -> None:
    points = [Point(r, v) for r, v in raw]
    front = pareto(points)
    for p in front:
        assert not any(
            q.replica_hours <= p.replica_hours
            and q.violation_minutes <= p.violation_minutes
            and q != p
            for q in points
        )
    for a, b in itertools.pairwise(front):
        assert a.replica_hours < b.replica_hours
        assert a.violation_minutes > b.violation_minutes
    # Every input point is on or above the frontier.
    for p in points:
        assert violations_at(front, p.replica_hours).value <= p.violation_minutes + 1e-6
    # Inside the range, the two interpolations are inverses of each other.
    lo, hi = front[0].replica_hours, front[-1].replica_hours
    mid = (lo + hi) / 2
    v = violations_at(front, mid)
    assert v.side is Side.INSIDE
    if len(front) > 1:
        assert replica_hours_at(front, v.value).value == pytest.approx(mid, rel=1e-6)
