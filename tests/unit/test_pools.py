"""Pool budgets: the invariant holds for every replica count and rollout surge."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crestline.api.slo import PoolSpec
from crestline.policy.pools import max_replicas, pods_in_rollout, pool_cap, pool_size, surge


def _pool(budget: int, reserve: int, lo: int, hi: int) -> PoolSpec:
    return PoolSpec.model_validate(
        {
            "name": "db",
            "budget": budget,
            "reservePercent": reserve,
            "minPerPod": lo,
            "maxPerPod": hi,
            "configMap": {"name": "db-pool", "key": "size"},
        }
    )


def test_the_product_example() -> None:
    # 40 pods x pool 20 = 800 connections against a database that allows 500.
    pool = _pool(500, 10, 5, 20)
    assert pool_size(pool, 40, "25%").usable == 450
    assert pool_size(pool, 40, "25%").per_pod == 9  # 450 // 50 pods during a rollout
    assert pool_size(pool, 10, "25%").per_pod == 20  # capped at maxPerPod
    assert max_replicas(pool, "25%", 200) == 72  # 72 + 18 surge = 90 pods x 5 = 450
    assert not pool_size(pool, 73, "25%").fits
    cap = pool_cap([pool], "25%", 200)
    assert cap is not None
    assert cap.max_replicas == 72
    assert "serves at most 72 replicas" in cap.message


def test_surge() -> None:
    assert surge(10, "25%") == 3
    assert surge(10, 2) == 2
    assert surge(0, "25%") == 0


def test_a_budget_too_small_for_one_replica_is_never_exceeded() -> None:
    pool = _pool(10, 0, 8, 20)  # 1 replica + 1 surge pod x 8 = 16 > 10
    size = pool_size(pool, 1, "25%")
    assert size.per_pod * pods_in_rollout(1, "25%") <= 10
    assert not size.fits
    cap = pool_cap([pool], "25%", 10)
    assert cap is not None
    assert cap.max_replicas == 1  # never scaled to zero for a budget
    assert "cannot give even one replica" in cap.message


def test_max_replicas_is_fast_whatever_the_upper_bound() -> None:
    pool = _pool(10_000_000, 0, 1, 100)
    assert max_replicas(pool, "25%", 2**31 - 1) == 8_000_000


pools = st.builds(
    _pool,
    st.integers(1, 5000),
    st.integers(0, 90),
    st.integers(1, 20),
    st.integers(20, 100),
)
surges = st.one_of(st.integers(0, 5), st.sampled_from(["0%", "10%", "25%", "50%", "100%"]))


@given(pools, st.integers(1, 300), surges)
def test_invariant_per_pod_times_rollout_pods_within_budget(
    pool: PoolSpec, replicas: int, max_surge: int | str
) -> None:
    size = pool_size(pool, replicas, max_surge)
    pods = replicas + surge(replicas, max_surge)
    assert size.per_pod * pods <= size.usable
    assert size.per_pod <= pool.max_per_pod
    assert size.fits == (size.per_pod >= pool.min_per_pod)


@given(pools, surges, st.integers(1, 300))
def test_max_replicas_is_the_largest_serviceable_count(
    pool: PoolSpec, max_surge: int | str, upper: int
) -> None:
    n = max_replicas(pool, max_surge, upper)
    assert n <= upper
    if n:
        assert pool_size(pool, n, max_surge).fits
    if n < upper:
        assert not pool_size(pool, n + 1, max_surge).fits
