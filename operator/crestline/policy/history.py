"""Learning from an SLO's own history, one evaluation at a time.

Three memories, each its own module, tied together here for the plan step:

- the growth within the dead time (:mod:`.demand`), behind the demand headroom;
- the last two weeks of demand (:mod:`.season`), behind the weekly forecast floor;
- what each EventDay's last activation asked for (:mod:`.peaks`), behind its floor.

:func:`learn` takes the memory and this evaluation's readings and returns the readings
to decide on (with headroom), the floors, a summary for the status, and the memory after
this evaluation; :func:`recall` restores the memory from a status, :func:`keep` writes it
back. The input memory is never changed (the plan step is pure).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crestline.api.slo import PerformanceSLOSpec
from crestline.api.status import (
    DemandSummary,
    EventPeak,
    GrowthHour,
    LearnedDemand,
    PerformanceSLOStatus,
)
from crestline.policy.decide import Decision, Reading
from crestline.policy.demand import Growth, GrowthSketch, Headroom, headroom, need, with_headroom
from crestline.policy.overlay import Floor, InForce
from crestline.policy.peaks import Peak, last_peak, record
from crestline.policy.season import Forecast, WeeklyProfile

# A dead time that changes by more than this (warmupSeconds or the interval edited)
# makes the recorded growth a different quantity: start again.
HORIZON_CHANGE = 0.25


@dataclass(frozen=True)
class History:
    growth: Growth | None = None
    weekly: WeeklyProfile | None = None
    peaks: tuple[Peak, ...] = ()


@dataclass(frozen=True)
class Learned:
    """One evaluation's use of the history."""

    readings: dict[str, Reading]
    floors: tuple[Floor, ...]
    summary: DemandSummary | None
    history: History
    headroom: Headroom | None = None
    forecast: Forecast | None = None


def horizon(spec: PerformanceSLOSpec, min_interval: float) -> float:
    """The dead time: warm-up plus one evaluation interval of the SLO's own spec (an
    EventDay's shorter interval is temporary and does not reset what was learned)."""
    interval = max(float(spec.evaluation.interval_seconds), min_interval)
    return float(spec.scaling.warmup_seconds) + interval


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%a %H:%M UTC")


def learn(  # noqa: PLR0913 - one evaluation's inputs, all needed
    memory: History,
    spec: PerformanceSLOSpec,
    readings: Mapping[str, Reading],
    *,
    serving: int,
    events: Sequence[InForce],
    now: float,
    dead_time: float,
) -> Learned:
    """Record this evaluation's demand and return what to decide with (module docstring)."""
    scaling = spec.scaling
    window = float(scaling.demand_headroom.window_seconds)
    growth = memory.growth.copy() if memory.growth is not None else None
    if growth is None or abs(growth.sketch.horizon - dead_time) > HORIZON_CHANGE * dead_time:
        growth = Growth(GrowthSketch(dead_time))
    weekly = memory.weekly.copy() if memory.weekly is not None else WeeklyProfile()
    demand = need(spec.objectives, readings, serving)
    room: Headroom | None = None
    forecast: Forecast | None = None
    floors = list(_event_floors(memory.peaks, events))
    if demand is not None:
        growth.record(now, demand, window)
        weekly.add(now, demand)
        room = headroom(growth, demand, scaling.demand_headroom.quantile)
    if scaling.forecast.weekly:
        expected = weekly.forecast(now + dead_time)
        if expected is not None and expected > 0:
            forecast = Forecast(expected, now + dead_time)
            floors.append(Floor(forecast.replicas, forecast.describe(_clock(forecast.at))))
    summary = (
        None
        if demand is None
        else DemandSummary(
            replicas=round(demand, 2),
            headroom=None if room is None else round(room.extra, 2),
            forecast=None if forecast is None else round(forecast.demand, 2),
            forecast_for=None if forecast is None else _iso(forecast.at),
        )
    )
    return Learned(
        with_headroom(readings, spec.objectives, room),
        tuple(floors),
        summary,
        History(growth, weekly, memory.peaks),
        headroom=room,
        forecast=forecast,
    )


def _event_floors(peaks: Sequence[Peak], events: Sequence[InForce]) -> list[Floor]:
    out = []
    for event in events:
        if not event.overrides.capacity.from_last_activation or not event.activation:
            continue
        peak = last_peak(peaks, event.name, event.activation)
        if peak is not None:
            out.append(
                Floor(
                    peak.replicas,
                    f"EventDay {event.name}: its last activation needed {peak.replicas}",
                )
            )
    return out


def after_decision(
    history: History, decision: Decision, events: Sequence[InForce], now: float
) -> History:
    """Record what the objectives asked for while EventDays were in force."""
    asked = [o.proposal for o in decision.objectives if o.proposal is not None]
    if not asked or not events:
        return history
    pairs = [(e.name, e.activation) for e in events]
    return History(history.growth, history.weekly, record(history.peaks, pairs, max(asked), now))


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def recall(status: PerformanceSLOStatus) -> History:
    """The history a status kept (after a restart or a failover)."""
    learned = status.learned_demand
    growth = weekly = None
    if learned is not None and learned.horizon_seconds > 0:
        sketch = GrowthSketch.decode(
            learned.horizon_seconds, {h.hour: h.counts for h in learned.growth}
        )
        growth = Growth(sketch)
        if learned.weekly:
            weekly = WeeklyProfile.decode(
                learned.weekly,
                scale=learned.weekly_scale,
                slot=learned.weekly_slot,
                total=learned.weekly_total,
                count=learned.weekly_count,
            )
    peaks = tuple(
        Peak(p.event_day, p.activation, p.replicas, p.at)
        for p in status.event_peaks
        if p.replicas > 0 and math.isfinite(p.at)
    )
    return History(growth, weekly, peaks)


def keep(history: History) -> tuple[LearnedDemand | None, list[EventPeak]]:
    """The status form of ``history``."""
    learned = None
    if history.growth is not None:
        weekly = history.weekly
        learned = LearnedDemand(
            horizon_seconds=history.growth.sketch.horizon,
            growth=[
                GrowthHour(hour=h, counts=c) for h, c in history.growth.sketch.encode().items()
            ][-25:],
            weekly=weekly.encode() if weekly is not None and weekly.slot is not None else "",
            weekly_scale=weekly.scale if weekly is not None else 0.0,
            weekly_slot=weekly.slot if weekly is not None else None,
            weekly_total=weekly.total if weekly is not None else 0.0,
            weekly_count=weekly.count if weekly is not None else 0,
        )
    peaks = [
        EventPeak(event_day=p.event, activation=p.activation, replicas=p.replicas, at=p.at)
        for p in history.peaks
    ]
    return learned, peaks
