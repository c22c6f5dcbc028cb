"""``crestline demo`` / ``make demo``: the whole product on the local stack, in minutes.

It brings up the stack, installs the CRDs, starts the operator as ``crestline run``,
deploys a sample shop whose traffic is a compressed NASA day (one trace minute per
second) with a declared sale at three times the load, applies a PerformanceSLO and an
EventDay for the sale, and shows live what happens. At the end it writes a PNG plot
(load, p95 vs objective, replicas, the event window) and a short summary. Ctrl-C tears
everything down.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config
from matplotlib.figure import Figure

from crestline_dev.scenario import (
    Shape,
    create_eventday,
    create_slo,
    deploy_workload,
    eventday_body,
    get_slo,
    install_crds,
    p95_query,
    replicas,
    slo_body,
    start_operator,
)
from crestline_dev.sim.trace import EventDaySpike, PerMinuteTrace, TimeScaled
from crestline_dev.sim.traces import diurnal_weekly
from crestline_dev.stack import Stack

OBJECTIVE = 0.5
DEMO_PEAK_RPS = 300.0  # about 11 replicas of the demo service at 70% before the sale
NS, APP = "demo", "shop"


@dataclass
class Series:
    t: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)
    p95: list[float] = field(default_factory=list)
    replicas: list[int] = field(default_factory=list)
    mode: list[str] = field(default_factory=list)


def _trace(seconds: float, event: tuple[float, float]) -> EventDaySpike:
    """A business day from 06:00, one minute per second (the seeded diurnal generator of
    the benchmark suite, so the demo needs no data files), with a declared 3x sale."""
    day = diurnal_weekly(seed=11, days=1, peak_rps=DEMO_PEAK_RPS)
    minutes = day.per_minute[360 : 360 + int(seconds) + 5]
    base = TimeScaled(PerMinuteTrace(minutes, day.scale), 60.0)
    return EventDaySpike(base, start=event[0], end=event[1], factor=3.0, ramp=8.0)


def _bar(done: float, width: int = 24) -> str:
    filled = int(done * width)
    return "[" + "#" * filled + "." * (width - filled) + f"] {done * 100:3.0f}%"


def run(seconds: float, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    event = (seconds * 0.45, seconds * 0.7)
    print(
        f"crestline demo: starting the local stack ({seconds:.0f}s of traffic follow)", flush=True
    )
    with Stack() as stack, tempfile.TemporaryDirectory() as tmp:
        api = config.new_client_from_config(config_file=str(stack.kubeconfig))  # type: ignore[no-untyped-call]
        install_crds(api)
        operator = start_operator(stack, Path(tmp) / "operator.log")
        try:
            namespace: Any = {"metadata": {"name": NS}}
            client.CoreV1Api(api).create_namespace(namespace)
            trace = _trace(seconds, event)
            w = deploy_workload(
                stack, api, NS, APP, shape=Shape(replicas=2, rps=trace.rps(0), startup_seconds=3)
            )
            slo = slo_body(
                APP,
                APP,
                NS,
                scaling={
                    "minReplicas": 2,
                    "maxReplicas": 30,
                    "warmupSeconds": 15,
                    "behavior": {
                        "scaleDown": {
                            "stabilizationWindowSeconds": 20,
                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 3}],
                        }
                    },
                },
            )
            slo["metadata"]["labels"] = {"tier": "shop"}
            create_slo(api, NS, slo)
            start = dt.datetime.now(dt.UTC)
            peak = max(trace.rps(t) for t in range(int(event[0]), int(event[1])))
            floor = math.ceil(peak / (0.75 * 40))
            window = [start + dt.timedelta(seconds=s) for s in event]
            create_eventday(
                api,
                NS,
                eventday_body(
                    "sale",
                    window[0],
                    window[1],
                    lead="15s",
                    trail="5s",
                    capacity={"minReplicas": floor},
                    evaluationIntervalSeconds=1,
                ),
            )
            w.sim.set_trace(trace)
            try:
                series = _watch(stack, api, w, seconds=seconds, event=event)
            finally:
                w.remove(stack)
        finally:
            operator.stop()
    return _report(series, event, out)


def _watch(
    stack: Stack, api: client.ApiClient, w: Any, *, seconds: float, event: tuple[float, float]
) -> Series:
    assert stack.prometheus is not None
    series = Series()
    t0 = time.monotonic()
    print(f"{'time':>5} {'load':>6} {'p95':>6} {'obj':>5} {'repl':>4}  mode / last decision")
    while (t := time.monotonic() - t0) < seconds:
        res = stack.prometheus.query(p95_query(w))
        p95 = float(res[0]["value"][1]) if res else float("nan")
        status = get_slo(api, NS, APP).get("status", {})
        mode = status.get("mode", "-")
        count = replicas(api, NS, APP)
        load = w.sim.last.requests if w.sim.last else 0.0
        series.t.append(t)
        series.load.append(load)
        series.p95.append(p95)
        series.replicas.append(count)
        series.mode.append(mode)
        flag = "!" if p95 > OBJECTIVE else " "
        reason = (status.get("lastDecision") or {}).get("reason", "")[:60]
        in_event = " SALE" if event[0] <= t < event[1] else ""
        print(
            f"{t:5.0f} {load:6.0f} {p95:6.2f}{flag}{OBJECTIVE:5.2f} {count:4d}  {mode}"
            f"{in_event} | {reason}  {_bar(t / seconds)}",
            flush=True,
        )
        time.sleep(1.0)
    return series


def _report(series: Series, event: tuple[float, float], out: Path) -> dict[str, Any]:
    # A Figure of its own (no pyplot): renders with Agg, needs no display or global state.
    fig = Figure(figsize=(10, 8))
    axes = fig.subplots(3, 1, sharex=True)
    for ax in axes:
        ax.axvspan(*event, color="orange", alpha=0.15, label="EventDay window")
    axes[0].plot(series.t, series.load, color="tab:blue")
    axes[0].set_ylabel("load (req/s)")
    axes[1].plot(series.t, series.p95, color="tab:red", label="p95")
    axes[1].axhline(OBJECTIVE, color="black", linestyle="--", label="objective")
    axes[1].set_ylabel("p95 latency (s)")
    axes[1].set_ylim(0, max(2.0, OBJECTIVE * 2))
    axes[1].legend(loc="upper left")
    axes[2].step(series.t, series.replicas, where="post", color="tab:green")
    axes[2].set_ylabel("replicas")
    axes[2].set_xlabel("seconds (one trace minute per second)")
    axes[0].legend(loc="upper left")
    fig.suptitle("crestline demo: PerformanceSLO + EventDay on the local stack")
    fig.tight_layout()
    png = out / "crestline-demo.png"
    fig.savefig(png, dpi=100)
    # One second of demo is one trace minute: seconds over the objective are minutes.
    violating = sum(1 for p in series.p95 if p > OBJECTIVE)
    replica_hours = sum(series.replicas) / 60.0  # replica-minutes of trace time / 60
    summary = {
        "violation_minutes": violating,
        "replica_hours": round(replica_hours, 1),
        "peak_replicas": max(series.replicas, default=0),
        "plot": str(png),
    }
    (out / "crestline-demo-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(
        f"\nsummary: {violating} violation-minutes, {replica_hours:.1f} replica-hours "
        f"(trace time); peak {summary['peak_replicas']} replicas\nplot: {png}",
        flush=True,
    )
    return summary


def main(seconds: float, out: Path) -> int:
    # Ctrl-C must tear down even when started from a script that ignores SIGINT for
    # background jobs (Python keeps an inherited SIG_IGN).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run(seconds, out)
    except KeyboardInterrupt:
        print("\ncrestline demo: interrupted; the stack is torn down", file=sys.stderr)
        return 130
    return 0
