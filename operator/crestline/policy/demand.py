"""Demand history and volatility headroom for proportional objectives.

Pure computation over samples the caller keeps (:class:`ReadingMemory` is a plain
container, no I/O). Why volatility and not a trend: on bursty traffic (the NASA trace)
a least-squares trend mostly extrapolates noise, buying replicas after the burst is
over; the spread of recent demand instead tells how much spare capacity bursts of the
recent past would have needed, which is what a scaler with a start-up delay must hold
in advance. The benchmark (benchmarks/RESULTS.md) compares both.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from crestline.policy.decide import Reading


def headroom_value(
    samples: Sequence[tuple[float, float, int]], value: float, serving: int, deviations: float
) -> float:
    """The value to size for: current demand, or mean + k*stddev of recent demand if higher.

    ``samples`` are (t, value, serving replicas); demand is value * serving. The result is
    expressed per currently serving replica, like ``value``. Samples that are not finite
    numbers are left out, and the arithmetic is done relative to the largest demand, so
    no value (1e308 included) overflows; if the answer itself is not finite, ``value``.
    """
    if deviations <= 0 or serving <= 0 or not math.isfinite(value):
        return value
    demand = [v * s for _, v, s in samples if math.isfinite(v)]
    demand = [d for d in demand if math.isfinite(d)]
    if len(demand) < 3:
        return value
    scale = max(abs(d) for d in demand)
    if scale == 0:
        return value
    relative = [d / scale for d in demand]
    high = (statistics.fmean(relative) + deviations * statistics.pstdev(relative)) * (
        scale / serving
    )
    return max(value, high) if math.isfinite(high) else value


@dataclass
class ReadingMemory:
    """Recent (t, value, serving) samples per objective, trimmed to a window."""

    window_seconds: float
    samples: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)

    def with_headroom(
        self, readings: Mapping[str, Reading], now: float, serving: int, deviations: float
    ) -> dict[str, Reading]:
        """Record the readings and return them with ``headroom_value`` filled in."""
        out = {}
        for name, reading in readings.items():
            points = self.samples.setdefault(name, [])
            points[:] = [p for p in points if p[0] > now - self.window_seconds]
            if not reading.ok or reading.value is None or not math.isfinite(reading.value):
                out[name] = reading
                continue
            points.append((now, reading.value, serving))
            adjusted = headroom_value(points, reading.value, serving, deviations)
            out[name] = replace(reading, headroom_value=adjusted)
        return out
