"""Offered load over time: recorded traces, step functions, and synthetic event days."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class LoadTrace(Protocol):
    """Offered requests per second at trace time ``t`` (seconds)."""

    def rps(self, t: float) -> float: ...

    @property
    def duration(self) -> float: ...


@dataclass(frozen=True)
class PerMinuteTrace:
    """Requests-per-minute samples, scaled, linearly interpolated within each minute."""

    per_minute: Sequence[float]
    scale: float = 1.0  # multiplier applied to requests/s

    @classmethod
    def from_csv(
        cls, path: Path, scale: float = 1.0, start: int = 0, minutes: int | None = None
    ) -> PerMinuteTrace:
        with path.open() as fh:
            rows = [float(r["requests"]) for r in csv.DictReader(fh)]
        end = None if minutes is None else start + minutes
        return cls(rows[start:end], scale)

    @property
    def duration(self) -> float:
        return 60.0 * len(self.per_minute)

    @property
    def peak_rps(self) -> float:
        return max(self.per_minute) / 60.0 * self.scale

    def rps(self, t: float) -> float:
        i = int(t // 60)
        n = len(self.per_minute)
        if i >= n - 1:
            return self.per_minute[-1] / 60.0 * self.scale
        frac = (t - 60 * i) / 60.0
        a, b = self.per_minute[i], self.per_minute[i + 1]
        return (a + (b - a) * frac) / 60.0 * self.scale


@dataclass(frozen=True)
class StepTrace:
    """Piecewise-constant load: ``steps`` are (start second, rps), sorted by start."""

    steps: Sequence[tuple[float, float]]
    length: float = 3600.0

    @classmethod
    def parse(cls, text: str, length: float = 3600.0) -> StepTrace:
        """Parse ``"0:50,30:200"`` (at 0 s 50 rps, from 30 s 200 rps)."""
        try:
            steps = sorted(
                (float(a), float(b))
                for a, b in (part.split(":") for part in text.split(",") if part.strip())
            )
        except ValueError as exc:
            raise ValueError(f"bad step trace {text!r}: use 'second:rps,second:rps'") from exc
        if not steps:
            raise ValueError("a step trace needs at least one 'second:rps' pair")
        return cls(steps, length)

    @property
    def duration(self) -> float:
        return self.length

    def rps(self, t: float) -> float:
        current = self.steps[0][1]
        for start, value in self.steps:
            if t >= start:
                current = value
        return current


@dataclass(frozen=True)
class EventDaySpike:
    """A base trace with a known window multiplied by ``factor``, ramping over ``ramp`` s."""

    base: LoadTrace
    start: float
    end: float
    factor: float
    ramp: float = 300.0

    @property
    def duration(self) -> float:
        return self.base.duration

    def multiplier(self, t: float) -> float:
        if t < self.start or t > self.end + self.ramp:
            return 1.0
        if t < self.start + self.ramp:
            return 1.0 + (self.factor - 1.0) * (t - self.start) / self.ramp
        if t <= self.end:
            return self.factor
        return self.factor - (self.factor - 1.0) * (t - self.end) / self.ramp

    def rps(self, t: float) -> float:
        return self.base.rps(t) * self.multiplier(t)


@dataclass(frozen=True)
class TimeScaled:
    """Play ``base`` ``speed`` times faster (a 60x speed turns a minute into a second)."""

    base: LoadTrace
    speed: float

    @property
    def duration(self) -> float:
        return self.base.duration / self.speed

    def rps(self, t: float) -> float:
        return self.base.rps(t * self.speed)
