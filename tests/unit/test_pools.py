"""Pool budgets: the invariant holds for every replica count and rollout surge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crestline.policy.pools import PoolLimits, surge


def test_the_product_example() -> None:
    # 40 pods x pool 20 = 800 connections against a database that allows 500.
    pool = PoolLimits(budget=500, reserve_percent=10, min_per_pod=5, max_per_pod=20)
    assert pool.usable == 450
    assert pool.per_pod(40, "25%") == 9  # 450 // 50 pods during a rollout
    assert pool.per_pod(10, "25%") == 20  # capped at maxPerPod
    assert pool.max_replicas("25%", 200) == 72  # 72 + 18 surge = 90 pods x 5 = 450
    assert pool.per_pod(73, "25%") == 0


def test_surge() -> None:
    assert surge(10, "25%") == 3
    assert surge(10, 2) == 2
    assert surge(0, "25%") == 0


limits = st.builds(
    PoolLimits,
    budget=st.integers(1, 5000),
    reserve_percent=st.integers(0, 90),
    min_per_pod=st.integers(1, 20),
    max_per_pod=st.integers(20, 100),
)
surges = st.one_of(st.integers(0, 5), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@given(limits, st.integers(1, 300), surges)
def test_invariant_per_pod_times_rollout_pods_within_budget(
    pool: PoolLimits, replicas: int, max_surge: int | str
) -> None:
    size = pool.per_pod(replicas, max_surge)
    pods = replicas + surge(replicas, max_surge)
    assert size * pods <= pool.usable
    assert size == 0 or pool.min_per_pod <= size <= pool.max_per_pod


@given(limits, surges, st.integers(1, 300))
def test_max_replicas_is_the_largest_serviceable_count(
    pool: PoolLimits, max_surge: int | str, upper: int
) -> None:
    n = pool.max_replicas(max_surge, upper)
    assert n <= upper
    if n:
        assert pool.per_pod(n, max_surge) >= pool.min_per_pod
    if n < upper:
        assert pool.per_pod(n + 1, max_surge) == 0
