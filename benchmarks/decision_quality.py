"""Decision-quality benchmark: crestline against the HPA's whole cost/violation frontier.

Every policy replays every trace of the suite (:mod:`benchmarks.scenarios`) in the same
simulated-clock harness (crestline_dev.sim.replay) against the same queueing model.
For each trace the HPA runs at CPU targets 40%..90% in steps of 5; its Pareto frontier
(:mod:`benchmarks.frontier`) is interpolated at each crestline configuration's
replica-hours (-> violation ratio) and violation-minutes (-> cost ratio). The oracle
(fewest replicas meeting the objective each minute, capacity arriving instantly) is the
lower bound on cost.

Run:
  .venv/bin/python -m benchmarks.decision_quality             # full suite (see RESULTS.md)
  .venv/bin/python -m benchmarks.decision_quality --quick     # first 7 days of each trace
  .venv/bin/python -m benchmarks.decision_quality --csv my.csv  # add a trace of your own
Full: writes benchmarks/results/decision_quality.json and one PNG per trace, then
`python -m benchmarks.report` renders RESULTS.md. --quick writes to results/quick/
(not committed) and prints the ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.frontier import Comparison, Goal, Point, compare, pareto
from benchmarks.plots import plot_trace
from benchmarks.runner import Job, default_workers, run_jobs
from benchmarks.scenarios import (
    CRESTLINE_CPU_TARGET,
    EVAL_INTERVAL,
    HPA_TARGETS,
    LATENCY_TARGET,
    MIN_REPLICAS,
    MODEL,
    NASA_SCALE,
    PEAK_RPS,
    ROOT,
    STARTUP_SECONDS,
    load_trace,
    policy_cases,
    trace_case,
    trace_names,
)
from crestline_dev.sim.controllers import oracle_replica_hours

BASELINES = ("hpa", "keda-cron+hpa")
BASELINE_PREFIXES = tuple(f"{b}-" for b in BASELINES)
GOAL = Goal(max_violation_ratio=0.6, max_cost_ratio=0.85)
QUICK_DAYS = 7.0


def _number(x: float | None) -> float | str | None:
    """JSON has no infinity: keep it readable as a string."""
    if x is None:
        return None
    return "inf" if math.isinf(x) else round(x, 4)


def comparison_row(policy: str, baseline: str, c: Comparison) -> dict[str, Any]:
    return {
        "policy": policy,
        "baseline": baseline,
        "frontier_violation_minutes": round(c.frontier_violations.value, 1),
        "violation_ratio": _number(c.violation_ratio),
        "violation_bound": c.violation_bound.value,
        "frontier_replica_hours": round(c.frontier_replica_hours.value, 1),
        "cost_ratio": _number(c.cost_ratio),
        "cost_bound": c.cost_bound.value,
        "goal_violations": GOAL.violations_met(c),
        "goal_cost": GOAL.cost_met(c),
    }


def _point(row: dict[str, Any]) -> Point:
    return Point(row["replica_hours"], row["violation_minutes"], row["policy"])


def summarize_trace(name: str, rows: list[dict[str, Any]], days: float | None) -> dict[str, Any]:
    """One trace's rows, frontiers, and every candidate's comparison with them."""
    prototypes = any(r["family"] == "prototype" for r in rows)
    order = {c.name: i for i, c in enumerate(policy_cases(name, prototypes=prototypes))}
    rows = sorted(rows, key=lambda r: order.get(r["policy"], len(order)))
    families = {r["family"] for r in rows}
    frontiers = {
        b: [p.label for p in pareto(_point(r) for r in rows if r["family"] == b)]
        for b in BASELINES
        if b in families
    }
    comparisons = []
    for r in rows:
        if r["family"] in BASELINES:
            continue
        for b in frontiers:
            # The cron floor knows of the event: the fair frontier only for policies that do.
            if b == "keda-cron+hpa" and "eventday" not in r["policy"]:
                continue
            base = [_point(x) for x in rows if x["family"] == b]
            comparisons.append(comparison_row(r["policy"], b, compare(_point(r), base)))
    trace = load_trace(name, days)
    return {
        "trace": name,
        "description": trace_case(name).description,
        "minutes": int(trace.duration // 60),
        "oracle_replica_hours": round(
            oracle_replica_hours(trace, MODEL, LATENCY_TARGET, MIN_REPLICAS), 1
        ),
        "policies": rows,
        "frontiers": frontiers,
        "comparisons": comparisons,
    }


def jobs_for(
    traces: Iterable[str], *, days: float | None, prototypes: bool, only: set[str] | None
) -> list[Job]:
    out = []
    for name in traces:
        length = load_trace(name, days).duration / 86400
        out += [
            Job(name, c.name, days, prototypes, weight=c.weight * length)
            for c in policy_cases(name, prototypes=prototypes)
            if only is None or c.family in only
        ]
    return out


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT.parent, capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def revision() -> str | None:
    """The commit measured (with "+changes" if the work tree differs), if in a git checkout."""
    head = _git("rev-parse", "--short", "HEAD")
    if head is None:
        return None
    dirty = _git("status", "--porcelain", "--", "operator", "dev", "benchmarks")
    return head + ("+changes" if dirty else "")


def _print_ratios(summary: dict[str, Any]) -> None:
    for c in summary["comparisons"]:
        print(
            f"  {summary['trace']:14s} {c['policy']:28s} vs {c['baseline']:14s} "
            f"violations {c['violation_bound']}{c['violation_ratio']} "
            f"cost {c['cost_bound']}{c['cost_ratio']}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="first 7 days of every trace")
    parser.add_argument("--days", type=float, help="replay only the first N days of each trace")
    parser.add_argument("--trace", action="append", help="only this trace (repeatable)")
    parser.add_argument(
        "--csv",
        type=Path,
        action="append",
        default=[],
        help=(
            "also replay this per-minute trace (columns minute,requests), scaled to the suite's "
            "peak - e.g. a real trace nobody here tuned on"
        ),
    )
    parser.add_argument("--prototypes", action="store_true", help="also run benchmarks.prototype")
    parser.add_argument(
        "--only",
        action="append",
        choices=["hpa", "keda-cron+hpa", "crestline", "prototype"],
        help="run only these policy families (repeatable), e.g. hpa + prototype",
    )
    parser.add_argument(
        "--policy",
        action="append",
        help="run only these policies (repeatable) and the baselines they are compared with",
    )
    parser.add_argument("--jobs", type=int, default=default_workers(), help="worker processes")
    parser.add_argument("--out-dir", type=Path, help="default results/ (quick: results/quick/)")
    args = parser.parse_args(argv)
    days = QUICK_DAYS if args.quick and args.days is None else args.days
    out_dir = args.out_dir or ROOT / "results" / ("quick" if args.quick else "")
    names = (args.trace or trace_names()) + [f"csv:{p.resolve()}" for p in args.csv]

    started = time.monotonic()
    only = set(args.only) if args.only else None
    jobs = jobs_for(names, days=days, prototypes=args.prototypes, only=only)
    if args.policy:  # with the baselines: the ratios need their frontiers
        wanted = set(args.policy)
        jobs = [j for j in jobs if j.policy in wanted or j.policy.startswith(BASELINE_PREFIXES)]
    rows = list(run_jobs(jobs, workers=args.jobs))
    wall = time.monotonic() - started

    out_dir.mkdir(parents=True, exist_ok=True)
    summaries = []
    for name in names:
        summary = summarize_trace(name, [r for r in rows if r["trace"] == name], days)
        png = out_dir / f"frontier-{trace_case(name).slug}.png"
        plot_trace(summary, png, goal=GOAL)
        summary["plot"] = str(png.relative_to(ROOT)) if png.is_relative_to(ROOT) else str(png)
        summaries.append(summary)
        _print_ratios(summary)
    results = {
        "benchmark": "decision_quality",
        "command": shlex.join(
            [
                ".venv/bin/python",
                "-m",
                "benchmarks.decision_quality",
                *(sys.argv[1:] if argv is None else argv),
            ]
        ),
        "days": days,
        "revision": revision(),
        "run": {
            "workers": args.jobs,
            "jobs": len(jobs),
            "wall_seconds": round(wall),
            "cpu_seconds": round(sum(r["cpu_seconds"] for r in rows)),
        },
        "model": {
            "replica_capacity_rps": MODEL.replica_capacity,
            "startup_seconds": STARTUP_SECONDS,
            "latency_target_s": LATENCY_TARGET,
            "peak_rps": PEAK_RPS,
            "nasa_scale": round(NASA_SCALE, 2),
            "eval_interval_s": EVAL_INTERVAL,
            "hpa_targets": list(HPA_TARGETS),
            "crestline_cpu_target": CRESTLINE_CPU_TARGET,
        },
        "goal": {
            "max_violation_ratio": GOAL.max_violation_ratio,
            "max_cost_ratio": GOAL.max_cost_ratio,
        },
        "traces": summaries,
    }
    path = out_dir / "decision_quality.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path} ({len(jobs)} replays, {wall:.0f} s wall on {args.jobs} workers)")


if __name__ == "__main__":
    main()
