"""Seeded synthetic load traces, each with one character a scaling policy must cope with.

Why generated traces: a policy tuned on one recorded trace (NASA 1995) proves little;
each generator here isolates a pattern real services show, so a loss can be traced to
its cause. All are pure functions of their seed (``random.Random``, no global state),
return per-minute samples (:class:`PerMinuteTrace`, linearly interpolated within the
minute) and are scaled so their peak equals ``peak_rps`` - by default what 40 replicas
of the benchmark's model serve at 70% utilization, like the scaled NASA trace.

* :func:`diurnal_weekly` - business-hours day shape, quieter weekends, day-to-day level
  changes and autocorrelated noise: what seasonality forecasting should exploit.
* :func:`flash_crowds` - a calm diurnal base hit by crowds that multiply the load by 10
  within one minute and last minutes: what no reactive scaler can catch in time.
* :func:`slow_ramps` - plateaus joined by ramps of 2-6 hours: where following the trend
  works and spare capacity is wasted.
* :func:`step_down_up` - the load drops instantly for 5 minutes to 2 hours and comes
  back instantly: punishes scaling down quickly.
* :func:`growth` - the weekly pattern growing fourfold over eight weeks: punishes
  anything fitted to yesterday's level.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crestline_dev.sim.trace import PerMinuteTrace

MINUTES_PER_DAY = 1440
# 40 replicas x 70% utilization x 40 req/s per replica (4 workers x 10 req/s).
DEFAULT_PEAK_RPS = 40 * 0.7 * 40.0


@dataclass(frozen=True)
class FlashCrowd:
    """One crowd: from ``start`` (minute) the load is ``factor`` times the base."""

    start: int
    minutes: int
    factor: float


def _scaled(rps: Sequence[float], peak_rps: float) -> PerMinuteTrace:
    """Scale so the highest minute is ``peak_rps``; store as requests per minute."""
    top = max(rps)
    return PerMinuteTrace(tuple(r / top * peak_rps * 60.0 for r in rps))


def day_shape(minute_of_day: float) -> float:
    """Relative load over a day: ~0.22 at 04:00, ~0.88 at 13:00, ~0.66 at 20:00.

    A business-hours curve: a night trough, a morning rise, a lunch-time peak and an
    evening shoulder (sums of smooth bumps, so no step a scaler could key on).
    """
    h = minute_of_day / 60.0

    def bump(center: float, width: float) -> float:
        d = min(abs(h - center), 24 - abs(h - center))
        return math.exp(-0.5 * (d / width) ** 2)

    return 0.2 + 0.8 * (0.85 * bump(13.0, 3.5) + 0.45 * bump(20.0, 2.0))


class _Noise:
    """Multiplicative log-normal noise with AR(1) memory (minutes), plus white jitter."""

    def __init__(self, rng: random.Random, *, sigma: float, memory: float, jitter: float):
        self.rng, self.sigma, self.jitter = rng, sigma, jitter
        self.phi = math.exp(-1.0 / memory) if memory > 0 else 0.0
        self.state = 0.0

    def next(self) -> float:
        innovation = self.sigma * math.sqrt(1 - self.phi**2)
        self.state = self.phi * self.state + self.rng.gauss(0.0, innovation)
        return math.exp(self.state + self.rng.gauss(0.0, self.jitter))


def _seasonal(rng: random.Random, days: float, *, weekend: float, day_to_day: float) -> list[float]:
    """Day shape x weekday level (weekends at ``weekend``) x a random level per day."""
    levels = [1.0 + rng.uniform(-day_to_day, day_to_day) for _ in range(math.ceil(days) + 1)]
    out = []
    for m in range(int(days * MINUTES_PER_DAY)):
        day = m // MINUTES_PER_DAY
        weekday = weekend if day % 7 in (5, 6) else 1.0
        out.append(day_shape(m % MINUTES_PER_DAY) * weekday * levels[day])
    return out


def diurnal_weekly(
    *, seed: int = 11, days: float = 28, peak_rps: float = DEFAULT_PEAK_RPS
) -> PerMinuteTrace:
    """Daily business-hours cycle, weekends at 55%, +-10% per day, 8% AR(1) noise."""
    rng = random.Random(seed)
    base = _seasonal(rng, days, weekend=0.55, day_to_day=0.10)
    noise = _Noise(rng, sigma=0.08, memory=20.0, jitter=0.03)
    return _scaled([b * noise.next() for b in base], peak_rps)


def flash_crowd_schedule(
    rng: random.Random, minutes: int, *, per_day: float, factor: float
) -> list[FlashCrowd]:
    """Crowds at random minutes (at least 3 hours apart), each lasting 3 to 30 minutes."""
    count = max(1, round(per_day * minutes / MINUTES_PER_DAY))
    starts: list[int] = []
    while len(starts) < count:
        s = rng.randrange(60, minutes - 60)
        if all(abs(s - o) >= 180 for o in starts):
            starts.append(s)
    return [FlashCrowd(s, rng.randint(3, 30), factor) for s in sorted(starts)]


def flash_crowds(
    *,
    seed: int = 12,
    days: float = 14,
    peak_rps: float = DEFAULT_PEAK_RPS,
    per_day: float = 2.0,
    factor: float = 10.0,
) -> PerMinuteTrace:
    """A calm diurnal base; ``per_day`` crowds jump to ``factor`` x within one minute.

    Each crowd holds for 3-30 minutes, then decays to the base with a 3-minute time
    constant (the crowd disperses; it does not switch off).
    """
    rng = random.Random(seed)
    base = _seasonal(rng, days, weekend=0.7, day_to_day=0.05)
    noise = _Noise(rng, sigma=0.05, memory=10.0, jitter=0.03)
    rps = [b * noise.next() for b in base]
    multiplier = [1.0] * len(rps)
    for crowd in flash_crowd_schedule(rng, len(rps), per_day=per_day, factor=factor):
        for m in range(crowd.start, len(rps)):
            since_end = m - (crowd.start + crowd.minutes)
            extra = (crowd.factor - 1) * (math.exp(-since_end / 3.0) if since_end > 0 else 1.0)
            if extra < 0.01:
                break
            multiplier[m] = max(multiplier[m], 1.0 + extra)
    return _scaled([r * k for r, k in zip(rps, multiplier, strict=True)], peak_rps)


def slow_ramps(
    *, seed: int = 13, days: float = 14, peak_rps: float = DEFAULT_PEAK_RPS
) -> PerMinuteTrace:
    """Plateaus of 1-6 hours at 15-100% of the peak, joined by linear ramps of 2-6 hours."""
    rng = random.Random(seed)
    minutes = int(days * MINUTES_PER_DAY)
    levels: list[float] = []
    level = rng.uniform(0.15, 1.0)
    while len(levels) < minutes:
        levels += [level] * rng.randint(60, 360)
        nxt = rng.uniform(0.15, 1.0)
        ramp = rng.randint(120, 360)
        levels += [level + (nxt - level) * (i + 1) / ramp for i in range(ramp)]
        level = nxt
    noise = _Noise(rng, sigma=0.03, memory=15.0, jitter=0.02)
    return _scaled([v * noise.next() for v in levels[:minutes]], peak_rps)


def step_down_up(
    *, seed: int = 14, days: float = 7, peak_rps: float = DEFAULT_PEAK_RPS
) -> PerMinuteTrace:
    """Steady load that drops to 20-40% for 5-120 minutes, ~6 times a day, then snaps back.

    The drop lasts sometimes less, sometimes more than the 5-minute scale-down
    stabilization, so a policy that sheds replicas quickly pays with a violation when
    the load returns within one minute.
    """
    rng = random.Random(seed)
    minutes = int(days * MINUTES_PER_DAY)
    factor = [1.0] * minutes
    m = rng.randint(60, 240)
    while m < minutes:
        low, length = rng.uniform(0.2, 0.4), rng.choice((5, 10, 20, 45, 90, 120))
        if m + length >= minutes:
            break
        for i in range(m, m + length):
            factor[i] = low
        m += length + rng.randint(60, 300)
    noise = _Noise(rng, sigma=0.04, memory=10.0, jitter=0.02)
    return _scaled([0.85 * f * noise.next() for f in factor], peak_rps)


def growth(
    *,
    seed: int = 15,
    days: float = 56,
    peak_rps: float = DEFAULT_PEAK_RPS,
    factor: float = 4.0,
) -> PerMinuteTrace:
    """The diurnal-weekly pattern growing exponentially by ``factor`` over the trace."""
    rng = random.Random(seed)
    base = _seasonal(rng, days, weekend=0.55, day_to_day=0.08)
    noise = _Noise(rng, sigma=0.07, memory=20.0, jitter=0.03)
    n = len(base)
    return _scaled([b * factor ** (m / n) * noise.next() for m, b in enumerate(base)], peak_rps)


Generator = Callable[..., PerMinuteTrace]

# The suite: name -> generator with its fixed default seed and length.
GENERATORS: dict[str, Generator] = {
    "diurnal-weekly": diurnal_weekly,
    "flash-crowds": flash_crowds,
    "slow-ramps": slow_ramps,
    "step-down-up": step_down_up,
    "growth": growth,
}
