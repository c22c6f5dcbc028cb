"""Decision-quality benchmark: replay load traces through crestline's core and baselines.

Every policy runs in the same simulated-clock harness (crestline_dev.sim.replay) against the
same queueing model: replicas serve 40 req/s at full utilization (4 workers x 10 req/s),
new replicas serve 60 s after they are requested, controllers see 30 s averages and act
every 15 s. The latency objective is p95 <= 0.5 s (met up to ~81% utilization).

Policies:
  hpa-cpu70            the HPA's CPU algorithm at 70% (tolerance 0.1, 300 s down window)
  crestline-cpu        PerformanceSLO with a CPU objective at 75% and demand headroom
  crestline-p95+cpu    the same plus the p95 latency objective (SLO law)
  static-peak          fixed fleet sized for the trace's peak
  crestline-cpu+eventday   (event-day trace) crestline-cpu plus an EventDay: a replica
                       floor for the expected peak from 30 min before the window
  keda-cron+hpa-cpu70  (event-day trace) KEDA cron scaler: the same floor, inside the
                       window only, next to the HPA
  oracle               lower bound: per-minute fewest replicas meeting the target

Run:  .venv/bin/python -m benchmarks.decision_quality [--days N]
Writes benchmarks/results/decision_quality.json (then `python -m benchmarks.report`).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from crestline.api import Objective, ScalingSpec
from crestline.api.eventday import Overrides
from crestline.api.slo import ObjectiveKind
from crestline_dev.sim.controllers import (
    CrestlineController,
    HpaController,
    KedaCronController,
    StaticController,
    event_window,
    oracle_replica_hours,
    replicas_needed,
)
from crestline_dev.sim.model import ServiceModel
from crestline_dev.sim.replay import Scorecard, replay
from crestline_dev.sim.trace import EventDaySpike, LoadTrace, PerMinuteTrace

ROOT = Path(__file__).resolve().parent
TRACES = ROOT.parent.parent / "shared" / "traces"
NASA = TRACES / "nasa-1995-requests-per-minute.csv"
MODEL = ServiceModel(service_rate=10.0, workers=4)
LATENCY_TARGET = 0.5
# Scale the NASA peak (409 req/min) to what 40 replicas serve at 70% utilization.
NASA_SCALE = 40 * 0.7 * MODEL.replica_capacity / (409 / 60)
STARTUP_SECONDS = 60.0
MIN_REPLICAS, MAX_REPLICAS = 2, 200


def scaling(**extra: Any) -> ScalingSpec:
    return ScalingSpec.model_validate(
        {"minReplicas": MIN_REPLICAS, "maxReplicas": MAX_REPLICAS, "warmupSeconds": 90, **extra}
    )


P95 = Objective(name="p95", query="(benchmark)", target=LATENCY_TARGET, kind=ObjectiveKind.SLO)
CPU = Objective(name="cpu", query="(benchmark)", target=0.75, kind=ObjectiveKind.PROPORTIONAL)


DAY2_NOON = 86400 + 12 * 3600
EVENT_START, EVENT_END = DAY2_NOON, DAY2_NOON + 7200
EVENT_LEAD, EVENT_TRAIL = 1800.0, 600.0


def policies(trace: LoadTrace, event: bool) -> dict[str, Any]:
    peak = max(trace.rps(m * 60.0) for m in range(int(trace.duration // 60)))
    out: dict[str, Any] = {
        "hpa-cpu70": HpaController(0.7, scaling()),
        "crestline-cpu": CrestlineController(scaling(), (CPU,)),
        "crestline-p95+cpu": CrestlineController(scaling(), (P95, CPU)),
        "static-peak": StaticController(replicas_needed(MODEL, peak, LATENCY_TARGET)),
    }
    if event:
        # The declared event: the floor is what the expected peak needs (what an SRE
        # would plan), reached from 30 minutes before the start, held 10 minutes after.
        window_peak = max(trace.rps(t) for t in range(EVENT_START, EVENT_END, 60))
        floor = replicas_needed(MODEL, window_peak, LATENCY_TARGET)
        overrides = Overrides.model_validate({"capacity": {"minReplicas": floor}})
        out["crestline-cpu+eventday"] = CrestlineController(
            scaling(),
            (CPU,),
            events=event_window(EVENT_START, EVENT_END, EVENT_LEAD, EVENT_TRAIL, overrides),
        )
        out["keda-cron+hpa-cpu70"] = KedaCronController(
            HpaController(0.7, scaling()), EVENT_START, EVENT_END, floor
        )
    return out


def traces(days: float | None, only: str | None = None) -> dict[str, LoadTrace]:
    minutes = None if days is None else int(days * 1440)
    nasa = PerMinuteTrace.from_csv(NASA, scale=NASA_SCALE, minutes=minutes)
    # Event day: three NASA days, with day 2 from 12:00 to 14:00 at 3x load,
    # reached within two minutes (a sale that opens at noon sharp).
    base = PerMinuteTrace.from_csv(NASA, scale=NASA_SCALE, start=1440 * 7, minutes=1440 * 3)
    event = EventDaySpike(base, start=EVENT_START, end=EVENT_END, factor=3.0, ramp=120)
    found = {"nasa": nasa, "event-day": event}
    return {k: v for k, v in found.items() if only in (None, k)}


def run_trace(name: str, trace: LoadTrace) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    for policy, controller in policies(trace, event=name == "event-day").items():
        start = time.monotonic()
        card: Scorecard = replay(
            policy,
            trace,
            controller,
            model=MODEL,
            latency_target=LATENCY_TARGET,
            initial_replicas=10,
            startup_seconds=STARTUP_SECONDS,
            focus=(EVENT_START, EVENT_END + 120) if name == "event-day" else None,
        )
        row = card.as_dict()
        row["seconds"] = round(time.monotonic() - start, 1)
        rows.append(row)
        print(f"  {name:10s} {policy:20s} {row}", flush=True)
    oracle = oracle_replica_hours(trace, MODEL, LATENCY_TARGET, MIN_REPLICAS)
    return {
        "trace": name,
        "minutes": int(trace.duration // 60),
        "policies": rows,
        "oracle_replica_hours": round(oracle, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, help="replay only the first N days of NASA")
    parser.add_argument("--trace", choices=["nasa", "event-day"], help="run only this trace")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "decision_quality.json")
    args = parser.parse_args()
    results = {
        "benchmark": "decision_quality",
        "model": {
            "replica_capacity_rps": MODEL.replica_capacity,
            "startup_seconds": STARTUP_SECONDS,
            "latency_target_s": LATENCY_TARGET,
            "nasa_scale": round(NASA_SCALE, 2),
        },
        "traces": [run_trace(name, trace) for name, trace in traces(args.days, args.trace).items()],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
