"""What the decision-quality benchmark replays: the service model, the traces, the policies.

One place for every constant, each from a principle a reader can check:

* the service: replicas of 4 workers x 10 req/s (40 req/s at full utilization), p95
  objective 0.5 s (met up to ~81% utilization), replicas serve 60 s after they are
  asked for; every trace peaks at what 40 replicas serve at 70% utilization;
* the HPA baseline at CPU targets 40%..90% in steps of 5 (its whole frontier), with its
  defaults (tolerance 0.1, 300 s scale-down stabilization, rate policies, 15 s sync);
* crestline as users would configure it: a CPU objective at 75% (under the ~81% where
  p95 breaks), a p95 objective at the SLO's 0.5 s, both together; with the default
  demand headroom and without it; evaluated every 15 s (the HPA's sync period, so
  the two differ in policy only), ``warmupSeconds`` 90 = start-up 60 s + the 30 s
  query window;
* on the event-day trace also the same SLOs with an EventDay (a replica floor for the
  expected peak from 30 minutes before), and KEDA's cron scaler with the same floor
  next to the HPA at every target - the fair frontier for a policy told of the event.

Policies are built by name inside worker processes (:func:`build_policy`), so a job is
just (trace, policy) and can run anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from crestline.api import Objective, ScalingSpec
from crestline.api.eventday import Overrides
from crestline.api.slo import ObjectiveKind
from crestline.policy.decide import Reading
from crestline_dev.sim.controllers import (
    CrestlineController,
    HpaController,
    KedaCronController,
    event_window,
    replicas_needed,
    standard_readings,
)
from crestline_dev.sim.model import ServiceModel
from crestline_dev.sim.replay import Controller, Harness, Observation
from crestline_dev.sim.trace import EventDaySpike, LoadTrace, PerMinuteTrace
from crestline_dev.sim.traces import DEFAULT_PEAK_RPS, GENERATORS

ROOT = Path(__file__).resolve().parent
NASA = ROOT.parent.parent / "shared" / "traces" / "nasa-1995-requests-per-minute.csv"

MODEL = ServiceModel(service_rate=10.0, workers=4)
LATENCY_TARGET = 0.5
STARTUP_SECONDS = 60.0
EVAL_INTERVAL = 15.0
MIN_REPLICAS, MAX_REPLICAS = 2, 200
PEAK_RPS = DEFAULT_PEAK_RPS  # 40 replicas at 70% of MODEL's capacity
NASA_PEAK_PER_MINUTE = 409
NASA_SCALE = PEAK_RPS / (NASA_PEAK_PER_MINUTE / 60)
HPA_TARGETS: tuple[int, ...] = tuple(range(40, 95, 5))
CRESTLINE_CPU_TARGET = 0.75
HARNESS = Harness(MODEL, LATENCY_TARGET, startup_seconds=STARTUP_SECONDS)

P95 = Objective(name="p95", query="(benchmark)", target=LATENCY_TARGET, kind=ObjectiveKind.SLO)
CPU = Objective(
    name="cpu", query="(benchmark)", target=CRESTLINE_CPU_TARGET, kind=ObjectiveKind.PROPORTIONAL
)
# Requests per second at the ingress, per replica: what one replica serves at the CPU
# target (its measured capacity, 40 req/s, times 75%) - KEDA's threshold, the HPA's
# AverageValue. Arrivals do not saturate with the fleet.
RPS = Objective(
    name="rps",
    query="(benchmark)",
    target=MODEL.service_rate * MODEL.workers * CRESTLINE_CPU_TARGET,
    kind=ObjectiveKind.TOTAL,
)

# Event-day trace: three NASA days (from day 8), day 2 from 12:00 to 14:00 at 3x load,
# reached within two minutes (a sale that opens at noon sharp).
DAY2_NOON = 86400 + 12 * 3600
EVENT_START, EVENT_END = DAY2_NOON, DAY2_NOON + 7200
EVENT_LEAD, EVENT_TRAIL = 1800.0, 600.0
EVENT_FOCUS = (float(EVENT_START), float(EVENT_END + 120))


def scaling(**extra: Any) -> ScalingSpec:
    return ScalingSpec.model_validate(
        {"minReplicas": MIN_REPLICAS, "maxReplicas": MAX_REPLICAS, "warmupSeconds": 90, **extra}
    )


# --- traces -------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceCase:
    """A named trace of the suite: how to build it and what it is."""

    name: str
    description: str
    build: Callable[[float | None], LoadTrace]  # days (None = all of it)
    event: bool = False

    @property
    def slug(self) -> str:
        """A file-name-safe form of the name (a --csv trace is named by its path)."""
        return Path(self.name.removeprefix("csv:")).stem


def _nasa(days: float | None) -> LoadTrace:
    minutes = None if days is None else int(days * 1440)
    return PerMinuteTrace.from_csv(NASA, scale=NASA_SCALE, minutes=minutes)


def _event_day(days: float | None) -> LoadTrace:
    del days  # always three days: the event is on the second
    base = PerMinuteTrace.from_csv(NASA, scale=NASA_SCALE, start=1440 * 7, minutes=1440 * 3)
    return EventDaySpike(base, start=EVENT_START, end=EVENT_END, factor=3.0, ramp=120)


def _generated(name: str) -> Callable[[float | None], LoadTrace]:
    def build(days: float | None) -> LoadTrace:
        full = GENERATORS[name](peak_rps=PEAK_RPS)
        if days is None:
            return full
        return PerMinuteTrace(full.per_minute[: int(days * 1440)], full.scale)

    return build


_DESCRIPTIONS = {
    "diurnal-weekly": "28 days: business-hours day, weekends at 55%, AR(1) noise",
    "flash-crowds": "14 days: calm diurnal base, 2 crowds a day at 10x within a minute",
    "slow-ramps": "14 days: plateaus of 1-6 h joined by ramps of 2-6 h",
    "step-down-up": "7 days: drops to 20-40% for 5-120 min, back within a minute",
    "growth": "56 days: the weekly pattern growing 4x",
}

TRACES: dict[str, TraceCase] = {
    "nasa": TraceCase("nasa", "NASA KSC July-August 1995, 58.6 days (real)", _nasa),
    **{
        name: TraceCase(name, _DESCRIPTIONS[name] + " (generated)", _generated(name))
        for name in GENERATORS
    },
    "event-day": TraceCase(
        "event-day",
        "3 NASA days, day 2 12:00-14:00 at 3x reached in 2 min (NASA + synthetic event)",
        _event_day,
        event=True,
    ),
}


def _csv(path: Path) -> Callable[[float | None], LoadTrace]:
    def build(days: float | None) -> LoadTrace:
        full = PerMinuteTrace.from_csv(path)
        trace = PerMinuteTrace(full.per_minute, scale=PEAK_RPS / full.peak_rps)
        if days is None:
            return trace
        return PerMinuteTrace(trace.per_minute[: int(days * 1440)], trace.scale)

    return build


def trace_names() -> list[str]:
    return list(TRACES)


def trace_case(name: str) -> TraceCase:
    """A suite trace by name, or ``csv:<path>``: a per-minute CSV scaled to the suite's peak."""
    if name.startswith("csv:"):
        path = Path(name.removeprefix("csv:"))
        return TraceCase(
            name, f"{path.name}, scaled to the suite's peak (user-supplied)", _csv(path)
        )
    return TRACES[name]


@cache
def load_trace(name: str, days: float | None) -> LoadTrace:
    """The trace, cached per process (workers replay several policies on one trace)."""
    return trace_case(name).build(days)


# --- policies -----------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyCase:
    """A named policy: its family (a baseline to draw a frontier from, or a candidate)."""

    name: str
    family: str  # "hpa", "keda-cron+hpa", "crestline", "prototype"
    build: Callable[[LoadTrace], Controller]
    target: int | None = None  # the baseline's CPU target in percent
    weight: float = 1.0  # relative run time, to start the slow jobs first


def readings_for(
    objectives: tuple[Objective, ...],
) -> Callable[[Observation], Mapping[str, Reading]]:
    """Only the readings the SLO declares, as the operator only queries its objectives."""
    names = {o.name for o in objectives}

    def readings(obs: Observation) -> Mapping[str, Reading]:
        return {k: v for k, v in standard_readings(obs).items() if k in names}

    return readings


def event_floor(trace: LoadTrace) -> int:
    """The floor an SRE would plan: what the expected peak of the window needs."""
    window_peak = max(trace.rps(t) for t in range(EVENT_START, EVENT_END, 60))
    return replicas_needed(MODEL, window_peak, LATENCY_TARGET)


def _crestline(
    objectives: tuple[Objective, ...],
    *,
    headroom: bool,
    event: bool = False,
    hold: int | None = None,
) -> Callable[[LoadTrace], Controller]:
    def build(trace: LoadTrace) -> Controller:
        extra: dict[str, Any] = {} if headroom else {"demandHeadroom": {"quantile": 0}}
        if hold is not None:
            extra["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": hold}}
        spec = scaling(**extra)
        events = None
        if event:
            overrides = Overrides.model_validate({"capacity": {"minReplicas": event_floor(trace)}})
            events = event_window(
                EVENT_START, EVENT_END, lead=EVENT_LEAD, trail=EVENT_TRAIL, overrides=overrides
            )
        return CrestlineController(
            scaling=spec,
            objectives=objectives,
            interval=EVAL_INTERVAL,
            readings=readings_for(objectives),
            events=events,
        )

    return build


def _hpa(target: int) -> Callable[[LoadTrace], Controller]:
    return lambda trace: HpaController(target / 100, scaling())


def _keda_cron(target: int) -> Callable[[LoadTrace], Controller]:
    def build(trace: LoadTrace) -> Controller:
        hpa = HpaController(target / 100, scaling())
        return KedaCronController(hpa, EVENT_START, EVENT_END, event_floor(trace))

    return build


def _crestline_cases(event: bool) -> list[PolicyCase]:
    configs = [
        ("crestline-cpu", (CPU,), True, 3.0),
        ("crestline-cpu+rps", (CPU, RPS), True, 3.0),
        ("crestline-cpu-nohr", (CPU,), False, 1.5),
        ("crestline-p95", (P95,), True, 3.0),
        ("crestline-p95+cpu", (P95, CPU), True, 5.0),
        ("crestline-p95+cpu-nohr", (P95, CPU), False, 2.0),
    ]
    cases = [
        PolicyCase(name, "crestline", _crestline(objs, headroom=hr), weight=w)
        for name, objs, hr, w in configs
    ]
    # What a user does for bursty traffic: hold the fleet for 600 s after a peak
    # (behavior.scaleDown.stabilizationWindowSeconds) instead of the HPA's 300 s.
    cases += [
        PolicyCase(name, "crestline", _crestline(objs, headroom=True, hold=600), weight=3.0)
        for name, objs in (
            ("crestline-cpu-hold600", (CPU,)),
            ("crestline-cpu+rps-hold600", (CPU, RPS)),
        )
    ]
    if event:
        cases += [
            PolicyCase(
                "crestline-cpu+eventday",
                "crestline",
                _crestline((CPU,), headroom=True, event=True),
                weight=3.0,
            ),
            PolicyCase(
                "crestline-p95+cpu+eventday",
                "crestline",
                _crestline((P95, CPU), headroom=True, event=True),
                weight=5.0,
            ),
        ]
    return cases


def policy_cases(trace: str, *, prototypes: bool = False) -> list[PolicyCase]:
    """Every policy replayed on ``trace``: the HPA frontier, crestline, and extras."""
    event = trace_case(trace).event
    cases = [PolicyCase(f"hpa-cpu{t}", "hpa", _hpa(t), target=t) for t in HPA_TARGETS]
    if event:
        cases += [
            PolicyCase(f"keda-cron+hpa-cpu{t}", "keda-cron+hpa", _keda_cron(t), target=t)
            for t in HPA_TARGETS
        ]
    cases += _crestline_cases(event)
    if prototypes:
        from benchmarks.prototype import prototype_cases

        cases += prototype_cases()
    return cases


def build_policy(trace: str, policy: str, *, prototypes: bool = False) -> PolicyCase:
    for case in policy_cases(trace, prototypes=prototypes):
        if case.name == policy:
            return case
    raise KeyError(f"no policy {policy!r} on trace {trace!r}")
