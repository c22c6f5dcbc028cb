"""Demand, and the headroom a reactive scaler needs for the growth it cannot catch.

**Demand** is what the demand objectives need right now, in replicas: for each
``below`` proportional objective ``value x serving / target`` (the HPA's ratio law
before rounding), for each ``total`` one ``value / target``; the largest of them. It
is one series per SLO whatever its objectives are, in units a user reads ("31.2
replicas' worth").

**Dead time.** A replica asked for now serves after ``warmupSeconds`` (start-up plus the
query window, see :mod:`crestline.policy.decide`), and the next chance to correct comes
one evaluation interval later: ``H = warmupSeconds + interval``. Growth within ``H`` is
the only growth that can hurt a reactive scaler; growth over longer spans it follows.
So the headroom is sized for the growth that *followed* past evaluations within ``H``,
not for how much demand wandered (the spread of recent demand is large whenever demand
moved, down as much as up, and buys capacity on the way down).

**A moving-window recommender on growth**, in the spirit of Google Autopilot's
percentile recommenders (EuroSys 2020): every evaluation records
``g = (max demand within H after t0 - demand(t0)) / sqrt(demand(t0))`` once ``H`` has
passed, into hourly histograms over the last ``windowSeconds``; the fleet is sized for
``demand + g_q x sqrt(demand)``, ``g_q`` the ``quantile`` of the recorded growth.
Growth is measured in units of ``sqrt(demand)`` because arrivals from many independent
users fluctuate like a Poisson count: a small fleet needs relatively more spare capacity
than a large one. (Measured as a plain ratio the headroom is a fixed percentage, i.e.
just another fixed target; see benchmarks/analysis.md.)

The histograms are the SLO's to keep: they go into ``status.learned.demand`` (a few
hundred bytes per hour) so a restarted operator does not start from nothing. Pure
computation, no I/O; the plan step copies before it changes anything.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from crestline.api.slo import Direction, Objective, ObjectiveKind
from crestline.policy.decide import Reading
from crestline.policy.laws import DEMAND_KINDS

HOUR = 3600
# Upper edges of the growth histogram's bins (in sqrt(demand) units): bin 0 holds
# g <= 0 (no growth), bin i >= 1 holds (EDGES[i-1], EDGES[i]]; anything above the last
# edge counts in the last bin. Geometric steps of sqrt(2): a quantile read from them
# (interpolated inside the bin) is within a few percent of the exact one, whatever the
# demand's units.
EDGES: tuple[float, ...] = (0.0, *(0.02 * math.sqrt(2) ** i for i in range(35)))
# Fewer recorded growths than this (about half an hour at 15 s) is not evidence.
MIN_SAMPLES = 120


def _bin(g: float) -> int:
    if g <= 0:
        return 0
    return min(bisect.bisect_left(EDGES, g), len(EDGES) - 1)


@dataclass
class GrowthSketch:
    """Hourly histograms of the growth that followed each evaluation within the dead time.

    ``hours`` maps an epoch hour to its bin counts; hours older than the window are
    dropped as new ones arrive, so the size is bounded by the window (<= 25 hours at the
    default day) times the bins in use.

    The plan step copies the sketch at every evaluation and only ever adds to the latest
    hour or two, so a copy shares the other hours' histograms (and their encoded form)
    and copies an hour only when it first writes to it.
    """

    horizon: float
    hours: dict[int, dict[int, int]] = field(default_factory=dict)
    _own: set[int] = field(default_factory=set, repr=False, compare=False)
    _encoded: dict[int, str] = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> GrowthSketch:
        # Both sides now share every hour's histogram, so neither may write one in place.
        self._own.clear()
        return GrowthSketch(self.horizon, dict(self.hours), set(), dict(self._encoded))

    def add(self, t: float, g: float, window: float) -> None:
        hour = math.floor(t / HOUR)
        if hour not in self._own:
            self.hours[hour] = dict(self.hours.get(hour, {}))
            self._own.add(hour)
        counts = self.hours[hour]
        b = _bin(g)
        counts[b] = counts.get(b, 0) + 1
        self._encoded.pop(hour, None)
        self.prune(t, window)

    def prune(self, t: float, window: float) -> None:
        oldest = math.floor((t - window) / HOUR)
        for hour in [h for h in self.hours if h < oldest]:
            del self.hours[hour]
            self._encoded.pop(hour, None)

    def samples(self) -> int:
        return sum(sum(c.values()) for c in self.hours.values())

    def quantile(self, q: float) -> float | None:
        """The ``q`` quantile of the recorded growth (None: too little recorded yet)."""
        merged = [0] * len(EDGES)
        for counts in self.hours.values():
            for b, n in counts.items():
                merged[b] += n
        total = sum(merged)
        if total < MIN_SAMPLES:
            return None
        rank = q * total
        below = 0
        for b, n in enumerate(merged):
            if n and below + n >= rank:
                if b == 0:
                    return 0.0
                share = (rank - below) / n
                return EDGES[b - 1] + share * (EDGES[b] - EDGES[b - 1])
            below += n
        return EDGES[-1]

    def encode(self) -> dict[int, str]:
        """Each hour as ``"bin:count bin:count"`` (the status form)."""
        out = {}
        for h, c in sorted(self.hours.items()):
            text = self._encoded.get(h)
            if text is None:
                text = self._encoded[h] = " ".join(f"{b}:{n}" for b, n in sorted(c.items()))
            out[h] = text
        return out

    @classmethod
    def decode(cls, horizon: float, hours: Mapping[int, str]) -> GrowthSketch:
        """The inverse of :meth:`encode`; entries that do not parse are skipped (a status
        edited by hand must not stop the SLO)."""
        out: dict[int, dict[int, int]] = {}
        for hour, text in hours.items():
            counts: dict[int, int] = {}
            for item in text.split():
                b, _, n = item.partition(":")
                if b.isdigit() and n.isdigit() and int(b) < len(EDGES):
                    counts[int(b)] = counts.get(int(b), 0) + int(n)
            if counts:
                out[hour] = counts
        return cls(horizon, out)


def need(
    objectives: Sequence[Objective], readings: Mapping[str, Reading], serving: int
) -> float | None:
    """Replicas the demand objectives need now (None: none readable): a proportional
    ``below`` objective ``value x serving / target``, a total one ``value / target``."""
    needs = []
    for obj in objectives:
        kind = obj.effective_kind
        if kind not in DEMAND_KINDS or obj.effective_direction is not Direction.BELOW:
            continue
        reading = readings.get(obj.name)
        if reading is None or not reading.ok or reading.value is None:
            continue
        if kind is ObjectiveKind.TOTAL:
            value = reading.value / obj.target
        elif serving > 0:
            value = reading.value * serving / obj.target
        else:
            continue
        if math.isfinite(value):
            needs.append(value)
    return max(needs) if needs else None


@dataclass
class Growth:
    """Working memory of the headroom: recent demand (within the dead time) and the
    sketch. ``recent`` is not kept across restarts (it is under a few minutes of data)."""

    sketch: GrowthSketch
    recent: list[tuple[float, float]] = field(default_factory=list)

    def copy(self) -> Growth:
        return Growth(self.sketch.copy(), list(self.recent))

    def record(self, t: float, demand: float, window: float) -> None:
        """Add demand at ``t``; every earlier sample whose dead time has passed records the
        growth that followed it. A gap (a restart, a pause) records nothing across it."""
        horizon = self.sketch.horizon
        self.recent.append((t, demand))
        while self.recent and self.recent[0][0] + horizon <= t:
            t0, d0 = self.recent.pop(0)
            later = [d for (ts, d) in self.recent if t0 < ts <= t0 + horizon]
            if later and d0 > 0:
                self.sketch.add(t0, (max(later) - d0) / math.sqrt(d0), window)
        self.sketch.prune(t, window)


@dataclass(frozen=True)
class Headroom:
    """What the headroom adds this evaluation, and the words to explain it."""

    demand: float  # replicas' worth, now
    extra: float  # replicas' worth added for growth within the dead time
    growth: float  # the growth quantile, in sqrt(demand) units
    horizon: float

    @property
    def factor(self) -> float:
        return (self.demand + self.extra) / self.demand if self.demand > 0 else 1.0

    def describe(self, quantile: float) -> str:
        return (
            f"demand {self.demand:.1f} replicas' worth, +{self.extra:.1f} for growth within "
            f"{self.horizon:.0f}s (p{round(quantile * 100)} of recent growth)"
        )


def headroom(growth: Growth, demand: float, quantile: float) -> Headroom | None:
    """The headroom for ``demand`` now (None: not enough history, or turned off)."""
    if quantile <= 0 or demand <= 0 or not math.isfinite(demand):
        return None
    g = growth.sketch.quantile(quantile)
    if g is None or g <= 0:
        return None
    extra = g * math.sqrt(demand)
    return Headroom(demand, extra, g, growth.sketch.horizon) if math.isfinite(extra) else None


def with_headroom(
    readings: Mapping[str, Reading], objectives: Iterable[Objective], room: Headroom | None
) -> dict[str, Reading]:
    """The readings with ``headroom_value`` set for the proportional ``below`` objectives:
    the value they would read with the extra demand (it only ever adds replicas)."""
    out = dict(readings)
    if room is None:
        return out
    for obj in objectives:
        reading = out.get(obj.name)
        if (
            reading is None
            or not reading.ok
            or reading.value is None
            or obj.effective_kind not in DEMAND_KINDS
            or obj.effective_direction is not Direction.BELOW
        ):
            continue
        sized = reading.value * room.factor
        if math.isfinite(sized):
            out[obj.name] = Reading(reading.value, reading.error, headroom_value=sized)
    return out
