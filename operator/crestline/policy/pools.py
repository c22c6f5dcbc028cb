"""Connection-pool budgets: per-pod pool size, and the most pods a budget can serve.

Scaling out multiplies connections: every pod opens ``per_pod`` of them, and during a
rolling update up to ``replicas + maxSurge`` pods run at once. The invariant kept is

    per_pod * max_pods_during_rollout <= budget * (1 - reserve)

with ``per_pod`` as large as allowed (up to ``maxPerPod``). The budget is the backend's
hard limit, so it wins over ``minPerPod``: when even ``minPerPod`` does not fit, the size
written is what does fit (possibly 0) and the caller reports it, rather than writing a
size the database will refuse. Replicas are capped at the most whose rollout still gets
``minPerPod`` each. All integers, rounded down.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from crestline.api.slo import PoolSpec


def surge(replicas: int, max_surge: int | str) -> int:
    """Extra pods a rolling update may add (Kubernetes rounds a percentage up)."""
    if isinstance(max_surge, str) and max_surge.endswith("%"):
        return math.ceil(replicas * int(max_surge[:-1]) / 100)
    return int(max_surge)


def usable(pool: PoolSpec) -> int:
    return pool.budget * (100 - pool.reserve_percent) // 100


def pods_in_rollout(replicas: int, max_surge: int | str) -> int:
    return max(replicas + surge(replicas, max_surge), 1)


def max_replicas(pool: PoolSpec, max_surge: int | str, upper: int) -> int:
    """The most replicas (<= ``upper``) whose rollout still gets ``minPerPod`` each.

    Rollout pods grow monotonically with replicas, so a binary search finds the answer
    in O(log upper) whatever ``maxReplicas`` is.
    """
    budget = usable(pool)
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if pods_in_rollout(mid, max_surge) * pool.min_per_pod <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass(frozen=True)
class PoolSize:
    per_pod: int  # what to write: never makes the rollout exceed the usable budget
    usable: int
    max_replicas: int
    fits: bool  # per_pod >= minPerPod


def pool_size(pool: PoolSpec, replicas: int, max_surge: int | str) -> PoolSize:
    """The pool size for ``replicas`` and its rollout."""
    budget = usable(pool)
    per_pod = min(pool.max_per_pod, budget // pods_in_rollout(replicas, max_surge))
    return PoolSize(
        per_pod=per_pod,
        usable=budget,
        max_replicas=max_replicas(pool, max_surge, 1 << 31),
        fits=per_pod >= pool.min_per_pod,
    )


@dataclass(frozen=True)
class PoolCap:
    max_replicas: int  # >= 1: a workload is never scaled to zero for a budget
    message: str


def pool_cap(pools: Sequence[PoolSpec], max_surge: int | str, upper: int) -> PoolCap | None:
    """The tightest cap the pools put on ``maxReplicas`` (None when none is below it)."""
    best: PoolCap | None = None
    for pool in pools:
        cap = max_replicas(pool, max_surge, upper)
        if cap >= upper or (best is not None and cap >= best.max_replicas):
            continue
        if cap == 0:
            message = (
                f"pool {pool.name}: budget {pool.budget} (reserve {pool.reserve_percent}%) "
                f"cannot give even one replica and its rollout (maxSurge {max_surge}) "
                f"{pool.min_per_pod} connections per pod; the pool size written is what fits"
            )
        else:
            message = (
                f"pool {pool.name}: budget {pool.budget} (reserve {pool.reserve_percent}%) "
                f"serves at most {cap} replicas at {pool.min_per_pod} connections per pod "
                f"during a rollout (maxSurge {max_surge})"
            )
        best = PoolCap(max(cap, 1), message)
    return best
