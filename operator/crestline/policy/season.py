"""Weekly seasonality: a floor from what demand was at this time of week, twice over.

Most services see the same week again: Monday mornings ramp, Saturday nights are quiet.
A reactive scaler follows such a ramp one dead time late; a scaler that remembers can be
there first. Like EC2 predictive scaling (a forecast from the last two weeks, capacity
launched a buffer time ahead, the forecast only ever *raising* capacity), crestline
keeps the mean demand of every 15-minute slot of the last two weeks and, at each
evaluation, forecasts demand at ``now + H`` (``H``: the dead time, see
:mod:`crestline.policy.demand`) as the *lower* of the same slot one and two weeks ago.

Why the lower of the two: a floor must be earned. A flash crowd on one Tuesday at 14:05
does not make next Tuesday's 14:05 special; a peak that came at the same time in each
of the last two weeks does. The reactive law stays in charge above the floor; the floor
never lowers a recommendation, so a wrong forecast costs replicas, never violations.

Storage, bounded and restart-proof: 1344 slots of one byte each (the slot's mean as a
fraction of the largest mean seen, 0 = no data), base64 in ``status.learned.demand``
(under 2 KB). A slot the operator did not see (it was down, the SLO was paused) is
cleared, so a forecast never reads data older than it claims.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field

SLOT_SECONDS = 900
WEEK_SLOTS = 7 * 86400 // SLOT_SECONDS
WEEKS = 2
RING = WEEKS * WEEK_SLOTS
LEVELS = 255  # a slot's mean is kept as 1..255 of the largest; 0 means "no data"


@dataclass
class WeeklyProfile:
    """Slot means of the last two weeks, as fractions of ``scale`` (see module docstring).

    ``slot``: the slot being accumulated (``total``/``count`` so far); earlier slots are
    in ``ring`` at ``slot % RING``.
    """

    scale: float = 0.0
    ring: bytearray = field(default_factory=lambda: bytearray(RING))
    slot: int | None = None
    total: float = 0.0
    count: int = 0

    def copy(self) -> WeeklyProfile:
        return WeeklyProfile(self.scale, bytearray(self.ring), self.slot, self.total, self.count)

    def add(self, t: float, demand: float) -> None:
        """Count ``demand`` at ``t`` into its slot, closing the slots before it."""
        if not math.isfinite(demand) or demand < 0:
            return
        slot = math.floor(t / SLOT_SECONDS)
        if self.slot is None or slot < self.slot:  # first sample, or the clock went back
            self.slot, self.total, self.count = slot, 0.0, 0
        elif slot > self.slot:
            self._close()
            for missed in range(self.slot + 1, min(slot, self.slot + 1 + RING)):
                self.ring[missed % RING] = 0
            self.slot, self.total, self.count = slot, 0.0, 0
        self.total += demand
        self.count += 1

    def _close(self) -> None:
        assert self.slot is not None
        if not self.count:
            self.ring[self.slot % RING] = 0
            return
        mean = self.total / self.count
        if mean > self.scale:
            self._rescale(mean)
        level = round(LEVELS * mean / self.scale) if self.scale > 0 else 0
        self.ring[self.slot % RING] = min(LEVELS, max(1, level))

    def _rescale(self, scale: float) -> None:
        """A new largest mean: re-express the kept levels against it."""
        if self.scale > 0:
            ratio = self.scale / scale
            for i, level in enumerate(self.ring):
                if level:
                    self.ring[i] = max(1, round(level * ratio))
        self.scale = scale

    def level(self, slot: int) -> float | None:
        """Mean demand of a closed ``slot`` of the last two weeks, or None if unknown."""
        if self.slot is None or not (self.slot - RING <= slot < self.slot):
            return None
        level = self.ring[slot % RING]
        return None if level == 0 else level * self.scale / LEVELS

    def forecast(self, at: float) -> float | None:
        """Demand expected at ``at``: the lower of that slot one and two weeks earlier."""
        slot = math.floor(at / SLOT_SECONDS)
        seen = [self.level(slot - WEEK_SLOTS * k) for k in range(1, WEEKS + 1)]
        known = [v for v in seen if v is not None]
        return min(known) if len(known) == WEEKS else None

    def encode(self) -> str:
        return base64.b64encode(bytes(self.ring)).decode("ascii")

    @classmethod
    def decode(
        cls, text: str, *, scale: float, slot: int | None, total: float, count: int
    ) -> WeeklyProfile:
        """The inverse of :meth:`encode` (a profile that does not decode starts empty)."""
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = b""
        if len(raw) != RING or not (math.isfinite(scale) and scale >= 0):
            return cls()
        ok = math.isfinite(total) and total >= 0 and count >= 0
        return cls(scale, bytearray(raw), slot, total if ok else 0.0, count if ok else 0)


@dataclass(frozen=True)
class Forecast:
    demand: float  # replicas' worth
    at: float  # epoch seconds the forecast is for

    @property
    def replicas(self) -> int:
        return math.ceil(round(self.demand, 9))

    def describe(self, clock: str) -> str:
        return (
            f"forecast {self.demand:.1f} replicas' worth at {clock} from the same time "
            f"1 and {WEEKS} weeks ago: at least {self.replicas}"
        )
