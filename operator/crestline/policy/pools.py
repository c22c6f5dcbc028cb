"""Connection-pool budgets: per-pod pool size, and the most pods a budget can serve.

Scaling out multiplies connections: every pod opens ``per_pod`` of them, and during a
rolling update up to ``replicas + maxSurge`` pods run at once. The invariant kept is

    per_pod * max_pods_during_rollout <= budget * (1 - reserve)

with ``per_pod`` as large as allowed (up to ``maxPerPod``) and never below
``minPerPod``; when even ``minPerPod`` does not fit, the replica count is capped (the
caller reports ``ScalingLimited``). All integers, rounded down: the budget is a hard
limit on the database side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def surge(replicas: int, max_surge: int | str) -> int:
    """Extra pods a rolling update may add (Kubernetes rounds a percentage up)."""
    if isinstance(max_surge, str) and max_surge.endswith("%"):
        return math.ceil(replicas * int(max_surge[:-1]) / 100)
    return int(max_surge)


@dataclass(frozen=True)
class PoolLimits:
    budget: int
    reserve_percent: int
    min_per_pod: int
    max_per_pod: int

    @property
    def usable(self) -> int:
        return self.budget * (100 - self.reserve_percent) // 100

    def per_pod(self, replicas: int, max_surge: int | str) -> int:
        """The pool size for ``replicas`` (0 if not even ``min_per_pod`` fits)."""
        pods = max(replicas + surge(replicas, max_surge), 1)
        size = min(self.max_per_pod, self.usable // pods)
        return size if size >= self.min_per_pod else 0

    def max_replicas(self, max_surge: int | str, upper: int) -> int:
        """The most replicas (<= ``upper``) whose rollout still gets ``min_per_pod`` each."""
        best = 0
        for n in range(1, upper + 1):  # upper is a maxReplicas: small
            if self.per_pod(n, max_surge) > 0:
                best = n
            else:
                break
        return best
