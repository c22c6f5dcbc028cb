"""EventDay activations: windows from several sources, merged, found without enumerating.

A *window* is a stretch of event time from one source: a one-off window of the spec, a
recurring window (a cron fire time plus its ``duration``, elapsed time), or a manual
window from the on-call annotation. Its *span* adds ``leadTime`` before (warm-up) and
``trailTime`` after; a manual window has no lead time (it means "now"). Windows whose
spans overlap or touch belong to one *activation*: the event stays in force across a
gap shorter than lead + trail instead of cooling down and warming up again.

Cost. Nothing is enumerated. Each source answers a handful of questions directly
(which window covers an instant, which window's span reaches back to an instant,
where the source's own run of touching windows starts or ends), the cron ones by
field arithmetic (:mod:`crestline.calendar.fires`, :mod:`crestline.calendar.runs`).
An activation is walked from the window at ``now`` towards its first and last window
one source-switch at a time, asking the sources at most :data:`STEPS` questions in
each direction; a schedule whose own run never ends (``* * * * *`` lasting an hour:
:func:`crestline.calendar.runs.always_on`) is recognised without walking. So
``* * * * *`` costs about what ``0 9 * * 1`` costs (benchmarks/schedule_cost.py).

Identity. An activation's ``id`` is that of its window whose span (lead time
included) begins first: ``<source>@<window start>``,
e.g. ``recurring[0]@2026-11-28T17:00:00Z``, ``windows[2]@...``, ``manual@...`` (when
windows of several sources start the activation together, the first source in spec
order names it). It depends on the schedule only: it does not change as time passes
or as later windows merge in, so actions keyed by it are done and undone once.
Two exceptions are documented rather than hidden:

- an activation of a schedule that never leaves event mode is ``<source>@always``;
- if the walk back runs out of questions (only when windows of several sources
  alternate densely, e.g. even and odd minutes, for more than :data:`STEPS` windows;
  or a source's own run crosses more than :data:`RUN_STEPS` DST changes), its first
  window is not known and the id is ``<source>@horizon-<date>``: the date is the
  Monday 00:00 UTC of the week :data:`HORIZON` before now, so such an activation is
  renamed at most once a week rather than every evaluation.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from crestline.calendar.cron import Cron
from crestline.calendar.fires import fire_at_or_after, fire_at_or_before
from crestline.calendar.instants import format_instant
from crestline.calendar.runs import always_on, run_end, run_start
from crestline.calendar.zones import MAX_INSTANT, MIN_INSTANT

__all__ = [
    "HORIZON",
    "RUN_STEPS",
    "STEPS",
    "UTC",
    "Activation",
    "CalendarState",
    "CronSource",
    "FixedSource",
    "NeverFires",
    "Phase",
    "Piece",
    "Source",
    "Window",
    "activation_at",
    "first_after",
]

UTC = dt.UTC
STEPS = 64  # questions to sources per walk direction (see "Cost" above)
RUN_STEPS = 16  # segment crossings (DST changes, new years) within one source's own run
HORIZON = dt.timedelta(days=7)  # see "Identity" above
_TICK = dt.timedelta(microseconds=1)


class Phase(StrEnum):
    SCHEDULED = "Scheduled"
    WARMING = "Warming"
    ACTIVE = "Active"
    COOLING = "Cooling"
    COMPLETED = "Completed"


@dataclass(frozen=True, order=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start


class NeverFires(ValueError):
    """A recurring source has no fire where one is needed (the message says where)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source


@dataclass(frozen=True)
class Piece:
    """One window of one source, with the lead and trail that make its span."""

    source: str
    window: Window
    lead: dt.timedelta
    trail: dt.timedelta

    @property
    def span_start(self) -> dt.datetime:
        return self.window.start - self.lead

    @property
    def span_end(self) -> dt.datetime:
        return self.window.end + self.trail


class Source(Protocol):
    """Questions a source of windows answers, each without enumerating its windows."""

    @property
    def label(self) -> str:
        """The source's name in the spec: ``windows``, ``recurring[i]``, ``manual``."""

    def covering(self, t: dt.datetime) -> Piece | None:
        """A window whose span contains ``t``."""

    def reaching_back(self, c: dt.datetime, steps: int) -> tuple[Piece, bool] | None:
        """The first window of the source's own run through a window whose span starts
        before ``c`` and reaches ``c``; with False if the run walk ran out of steps."""

    def reaching_forward(self, e: dt.datetime, steps: int) -> tuple[Piece, bool] | None:
        """The last window of the source's own run through a window whose span starts at
        or before ``e`` and ends after it; with False if the run walk ran out of steps."""

    @property
    def lead(self) -> dt.timedelta:
        """The lead time of this source's windows (zero for manual windows)."""

    def first_after(self, t: dt.datetime) -> Piece | None:
        """The window whose span starts first, strictly after ``t``."""

    def first_from(self, t: dt.datetime) -> Piece | None:
        """The window whose span starts first, at or after ``t``."""

    def starting_at(self, s: dt.datetime) -> Piece | None:
        """A window whose span starts exactly at ``s``."""

    def always_on(self) -> bool:
        """Whether this source's windows alone keep the event in force forever."""


@dataclass(frozen=True)
class _Run:
    """Consecutive pieces (by span start) whose spans overlap or touch."""

    first: int  # index of its first piece
    last: int  # index of its last piece
    span_start: dt.datetime
    span_end: dt.datetime
    longest: int  # index of the piece whose span ends last


@dataclass(frozen=True)
class FixedSource:
    """Windows listed one by one (the spec's one-off windows, or manual windows).

    Pieces are sorted by span start and grouped into their own runs once, so every
    question is a binary search.
    """

    label: str
    pieces: tuple[Piece, ...]  # sorted by span start
    runs: tuple[_Run, ...]
    lead: dt.timedelta

    @classmethod
    def of(
        cls,
        label: str,
        windows: Sequence[tuple[str, Window]],
        *,
        lead: dt.timedelta,
        trail: dt.timedelta,
    ) -> FixedSource:
        pieces = sorted(
            (Piece(name, w, lead, trail) for name, w in windows if w.end > w.start),
            key=lambda p: (p.span_start, p.source),
        )
        runs: list[_Run] = []
        for i, p in enumerate(pieces):
            if runs and p.span_start <= runs[-1].span_end:
                run = runs[-1]
                longer = p.span_end > run.span_end
                runs[-1] = _Run(
                    run.first,
                    i,
                    run.span_start,
                    max(run.span_end, p.span_end),
                    i if longer else run.longest,
                )
            else:
                runs.append(_Run(i, i, p.span_start, p.span_end, i))
        return cls(label, tuple(pieces), tuple(runs), lead)

    def _run_before(self, t: dt.datetime, *, inclusive: bool) -> _Run | None:
        """The last run starting before ``t`` (or at ``t`` if inclusive)."""
        starts = [r.span_start for r in self.runs]
        i = (bisect.bisect_right if inclusive else bisect.bisect_left)(starts, t) - 1
        return self.runs[i] if i >= 0 else None

    def covering(self, t: dt.datetime) -> Piece | None:
        run = self._run_before(t, inclusive=True)
        if run is None or t >= run.span_end:
            return None
        pieces = self.pieces[run.first : run.last + 1]
        return next(p for p in pieces if p.span_start <= t < p.span_end)

    def reaching_back(self, c: dt.datetime, steps: int) -> tuple[Piece, bool] | None:
        run = self._run_before(c, inclusive=False)
        if run is None or run.span_end < c:
            return None
        return self.pieces[run.first], True

    def reaching_forward(self, e: dt.datetime, steps: int) -> tuple[Piece, bool] | None:
        run = self._run_before(e, inclusive=True)
        if run is None or run.span_end <= e:
            return None
        return self.pieces[run.longest], True

    def first_after(self, t: dt.datetime) -> Piece | None:
        i = bisect.bisect_right([p.span_start for p in self.pieces], t)
        return self.pieces[i] if i < len(self.pieces) else None

    def first_from(self, t: dt.datetime) -> Piece | None:
        i = bisect.bisect_left([p.span_start for p in self.pieces], t)
        return self.pieces[i] if i < len(self.pieces) else None

    def starting_at(self, s: dt.datetime) -> Piece | None:
        i = bisect.bisect_left([p.span_start for p in self.pieces], s)
        found = self.pieces[i] if i < len(self.pieces) else None
        return found if found is not None and found.span_start == s else None

    def always_on(self) -> bool:
        return False


@dataclass(frozen=True)
class CronSource:
    """A recurring window: each fire of ``cron`` in ``tz`` opens one of ``duration``."""

    label: str
    cron: Cron
    tz: ZoneInfo
    duration: dt.timedelta
    lead: dt.timedelta
    trail: dt.timedelta

    @property
    def _gap(self) -> dt.timedelta:
        """Fires at most this far apart have touching spans."""
        return self.lead + self.duration + self.trail

    def _piece(self, fire: dt.datetime) -> Piece:
        return Piece(self.label, Window(fire, fire + self.duration), self.lead, self.trail)

    def _clamped(self, t: dt.datetime) -> dt.datetime:
        return min(max(t, MIN_INSTANT), MAX_INSTANT - _TICK)

    def covering(self, t: dt.datetime) -> Piece | None:
        fire = fire_at_or_before(self.cron, self.tz, self._clamped(t + self.lead))
        if fire is None or fire + self.duration + self.trail <= t:
            return None
        return self._piece(fire)

    def reaching_back(self, c: dt.datetime, steps: int) -> tuple[Piece, bool] | None:
        fire = fire_at_or_after(self.cron, self.tz, self._clamped(c - self.duration - self.trail))
        if fire is None or fire - self.lead >= c:
            return None
        first, exact = run_start(self.cron, self.tz, fire, gap=self._gap, steps=steps)
        return self._piece(first), exact

    def reaching_forward(self, e: dt.datetime, steps: int) -> tuple[Piece, bool] | None:
        fire = fire_at_or_before(self.cron, self.tz, self._clamped(e + self.lead))
        if fire is None or fire + self.duration + self.trail <= e:
            return None
        last, exact = run_end(self.cron, self.tz, fire, gap=self._gap, steps=steps)
        return self._piece(last), exact

    def first_after(self, t: dt.datetime) -> Piece | None:
        fire = fire_at_or_after(self.cron, self.tz, self._clamped(t + self.lead + _TICK))
        if fire is None:
            if t + self.lead < MAX_INSTANT - dt.timedelta(days=366 * 10):
                raise NeverFires(self.label, f"never fires within 9 years after {t:%Y-%m-%d}")
            return None
        return self._piece(fire)

    def first_from(self, t: dt.datetime) -> Piece | None:
        fire = fire_at_or_after(self.cron, self.tz, self._clamped(t + self.lead))
        return None if fire is None else self._piece(fire)

    def starting_at(self, s: dt.datetime) -> Piece | None:
        piece = self.first_from(s)
        return piece if piece is not None and piece.span_start == s else None

    def always_on(self) -> bool:
        return always_on(self.cron, self.tz, gap=self._gap)


@dataclass(frozen=True)
class Activation:
    """One merged stretch of event mode: its windows plus lead and trail.

    ``start``/``end`` are the first window's start and the last window's end; between
    them the event is Active (a gap between merged windows included). When the walk
    could not see an end (``start_known``/``end_known`` False), the value is the
    furthest instant it reached, or the edge of the supported range for ``always``.
    """

    id: str
    start: dt.datetime
    end: dt.datetime
    active_from: dt.datetime
    active_until: dt.datetime
    start_known: bool = True
    end_known: bool = True

    def phase(self, now: dt.datetime) -> Phase | None:
        if self.active_from <= now < self.start:
            return Phase.WARMING
        if self.start <= now < self.end:
            return Phase.ACTIVE
        if self.end <= now < self.active_until:
            return Phase.COOLING
        return None


@dataclass(frozen=True)
class CalendarState:
    """Where an event stands at ``now``.

    ``activation``: the one in force, else the next one. ``next_activation``: when
    event mode next begins after now. ``next_change``: the earliest instant at which
    the phase can change (the runtime's wake-up time); None when it cannot change by
    the schedule alone.
    """

    phase: Phase
    activation: Activation | None
    next_activation: dt.datetime | None
    next_change: dt.datetime | None = None


def _walk_back(sources: Sequence[Source], piece: Piece) -> tuple[Piece, bool]:
    """The first window of ``piece``'s activation (with False if not reached)."""
    first, budget = piece, STEPS
    while True:
        best: Piece | None = None
        for src in sources:
            if budget == 0:
                return first, False
            budget -= 1
            found = src.reaching_back(first.span_start, RUN_STEPS)
            if found is None:
                continue
            candidate, exact = found
            if not exact:
                return candidate, False
            if best is None or candidate.span_start < best.span_start:
                best = candidate
        if best is None:
            return first, True
        first = best


def _walk_forward(sources: Sequence[Source], piece: Piece) -> tuple[Piece, bool]:
    """The last window of ``piece``'s activation (with False if not reached)."""
    last, budget = piece, STEPS
    while True:
        best: Piece | None = None
        for src in sources:
            if budget == 0:
                return last, False
            budget -= 1
            found = src.reaching_forward(last.span_end, RUN_STEPS)
            if found is None:
                continue
            candidate, exact = found
            if not exact:
                return candidate, False
            if candidate.span_end > last.span_end and (
                best is None or candidate.span_end > best.span_end
            ):
                best = candidate
        if best is None:
            return last, True
        last = best


def _horizon_anchor(now: dt.datetime) -> dt.datetime:
    day = (now - HORIZON).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - dt.timedelta(days=day.weekday())


def _named(sources: Sequence[Source], first: Piece) -> Piece:
    """The window that names an activation: among those starting its span, the one of
    the first source in spec order (sources are given in that order)."""
    for src in sources:
        same = src.starting_at(first.span_start)
        if same is not None:
            return same
    return first


def _activation(sources: Sequence[Source], piece: Piece, now: dt.datetime) -> Activation:
    """The whole activation containing ``piece``."""
    for src in sources:
        if src.always_on():
            return Activation(
                f"{src.label}@always",
                MIN_INSTANT,
                MAX_INSTANT,
                MIN_INSTANT,
                MAX_INSTANT,
                start_known=False,
                end_known=False,
            )
    first, start_known = _walk_back(sources, piece)
    last, end_known = _walk_forward(sources, piece)
    start = first.window.start
    for src in sources:  # a source with less lead (manual) may start its window earlier
        if first.span_start + src.lead < start:
            earliest = src.first_from(first.span_start)
            if earliest is not None and earliest.span_start < last.span_end:
                start = min(start, earliest.window.start)
    if start_known:
        named = _named(sources, first)
        ident = f"{named.source}@{format_instant(named.window.start)}"
    else:
        ident = f"{first.source}@horizon-{_horizon_anchor(now):%Y-%m-%d}"
    return Activation(
        ident,
        start,
        last.window.end,
        first.span_start,
        last.span_end,
        start_known=start_known,
        end_known=end_known,
    )


def activation_at(sources: Sequence[Source], t: dt.datetime) -> Activation | None:
    """The activation in force at ``t``, if any."""
    for src in sources:
        piece = src.covering(t)
        if piece is not None:
            return _activation(sources, piece, t)
    return None


def first_after(sources: Sequence[Source], t: dt.datetime, now: dt.datetime) -> Activation | None:
    """The first activation that begins strictly after ``t``."""
    best: Piece | None = None
    for src in sources:
        piece = src.first_after(t)
        if piece is not None and (best is None or piece.span_start < best.span_start):
            best = piece
    return None if best is None else _activation(sources, best, now)
