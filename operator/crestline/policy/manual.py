"""On-call control of a PerformanceSLO through annotations (pure parsing and effect).

``crestline.dev/paused-until``: an RFC 3339 time or ``forever``. While paused the
operator evaluates and reports but writes nothing (like dryRun).
``crestline.dev/hold``: ``<replicas>@<RFC 3339 until>``. Until then the target is held
at that count (within minReplicas..maxReplicas), whatever the objectives say.
Expired values are ignored, so nobody has to remember to clean up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crestline.calendar.instants import parse_instant

PAUSED_UNTIL = "crestline.dev/paused-until"
HOLD = "crestline.dev/hold"


@dataclass(frozen=True)
class Manual:
    paused_until: dt.datetime | None = None  # datetime.max for forever
    hold: int | None = None
    hold_until: dt.datetime | None = None
    problems: tuple[str, ...] = ()

    def paused(self, now: dt.datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until

    def held(self, now: dt.datetime) -> int | None:
        if self.hold is not None and self.hold_until is not None and now < self.hold_until:
            return self.hold
        return None


def parse(annotations: dict[str, str]) -> Manual:
    problems = []
    paused = hold = hold_until = None
    raw = annotations.get(PAUSED_UNTIL)
    if raw:
        try:
            paused = (
                dt.datetime.max.replace(tzinfo=dt.UTC)
                if raw.strip() == "forever"
                else parse_instant(raw)
            )
        except ValueError as exc:
            problems.append(f"{PAUSED_UNTIL}={raw!r}: {exc}")
    raw = annotations.get(HOLD)
    if raw:
        try:
            count, until = raw.split("@", 1)
            hold, hold_until = int(count), parse_instant(until)
            if hold < 0:
                raise ValueError("replicas must be >= 0")
        except ValueError as exc:
            hold = hold_until = None
            problems.append(f"{HOLD}={raw!r}: {exc} (use <replicas>@<RFC 3339 time>)")
    return Manual(paused, hold, hold_until, tuple(problems))
