"""Fixed-rate evaluation ticks that neither drift nor pile up.

Ticks are anchored to the first one, ``t0 + k * interval``: a slow evaluation does not
push every later tick back (no drift). If an evaluation overran one or more ticks,
those are skipped rather than run back to back (no pile-up): the next tick is the first
anchored one still in the future.
"""

from __future__ import annotations

import math


def next_tick(previous: float, interval: float, now: float) -> float:
    """The first ``previous + k * interval`` (k >= 1) strictly after ``now``."""
    if interval <= 0:
        raise ValueError("interval must be positive")
    candidate = previous + interval
    if candidate > now:
        return candidate
    missed = math.floor((now - previous) / interval)
    candidate = previous + (missed + 1) * interval
    while candidate <= now:  # float rounding
        candidate += interval
    return candidate
