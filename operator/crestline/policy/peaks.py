"""What the last activation of an EventDay needed: the next one's floor.

An EventDay marks traffic that is known to come back (a weekly sale, a monthly
release, Black Friday). The replicas the objectives asked for at the peak of the last
activation are the best estimate of what the next one needs, so while an EventDay with
``capacity.fromLastActivation`` is in force (from its lead on), its SLOs keep at least
that many replicas. The SRE's ``minReplicas`` and ``headroomPercent`` still apply; the
strictest floor wins.

What is recorded is what the *objectives* asked for (their largest proposal, headroom
included), not the replica count: the count is held up by floors and no-scale-down
(including this very floor), which would make the memory a ratchet that never comes
down. Kept in the SLO's ``status.learned.eventPeaks``: the last two activations of each
EventDay, at most :data:`MAX_PEAKS` entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_PEAKS = 16
PER_EVENT = 2


@dataclass(frozen=True)
class Peak:
    event: str
    activation: str
    replicas: int
    at: float  # last time it was raised


def last_peak(peaks: Iterable[Peak], event: str, activation: str) -> Peak | None:
    """The most recent peak of ``event`` from an activation other than ``activation``."""
    earlier = [p for p in peaks if p.event == event and p.activation != activation]
    return max(earlier, key=lambda p: p.at) if earlier else None


def record(
    peaks: Sequence[Peak], in_force: Iterable[tuple[str, str]], asked: int, now: float
) -> tuple[Peak, ...]:
    """The peaks after the objectives asked for ``asked`` replicas at ``now`` while the
    (event, activation) pairs ``in_force`` were in force."""
    kept = list(peaks)
    for event, activation in in_force:
        if not activation:
            continue
        mine = [p for p in kept if p.event == event and p.activation == activation]
        if mine and mine[0].replicas >= asked:
            continue
        kept = [p for p in kept if not (p.event == event and p.activation == activation)]
        replicas = max([asked, *(p.replicas for p in mine)])
        kept.append(Peak(event, activation, replicas, now))
        same = sorted((p for p in kept if p.event == event), key=lambda p: p.at)
        for old in same[:-PER_EVENT]:
            kept.remove(old)
    kept.sort(key=lambda p: p.at)
    return tuple(kept[-MAX_PEAKS:])
