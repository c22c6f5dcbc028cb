"""One PNG per trace: the baseline frontiers, crestline's configurations and the oracle.

Why this picture: the two ratios in RESULTS.md are read off it. Violation-minutes go
right, replica-hours up, so better is down-left; each baseline point is labelled with
its CPU target, Pareto points are filled and joined (the frontier the ratios
interpolate), dominated ones hollow. The dashed curves are the goal: a configuration
must lie left of "0.6 x violations" *and* below "0.85 x cost".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from benchmarks.frontier import Goal

_BASELINE_STYLE = {"hpa": ("tab:gray", "HPA"), "keda-cron+hpa": ("tab:olive", "KEDA cron + HPA")}
_MARKERS = "osD^vP*X<>ph"


def plot_trace(summary: dict[str, Any], path: Path, *, goal: Goal) -> None:
    """Write ``summary``'s (one trace of decision_quality.json) frontier plot to ``path``."""
    rows = summary["policies"]
    fig, ax = plt.subplots(figsize=(10, 6.5))
    for family, labels in summary["frontiers"].items():
        color, title = _BASELINE_STYLE.get(family, ("black", family))
        points = [r for r in rows if r["family"] == family]
        front = [next(r for r in points if r["policy"] == label) for label in labels]
        xs = [r["violation_minutes"] for r in front]
        ys = [r["replica_hours"] for r in front]
        ax.plot(xs, ys, "-o", color=color, label=f"{title} frontier (CPU targets)", zorder=2)
        dominated = [r for r in points if r["policy"] not in labels]
        ax.scatter(
            [r["violation_minutes"] for r in dominated],
            [r["replica_hours"] for r in dominated],
            facecolors="none",
            edgecolors=color,
            zorder=2,
        )
        for r in points:
            ax.annotate(
                f"{r['target']}%",
                (r["violation_minutes"], r["replica_hours"]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize=7,
                color=color,
            )
        if family == "hpa":
            ax.plot(
                [x * goal.max_violation_ratio for x in xs],
                ys,
                "--",
                color="tab:green",
                lw=0.8,
                label=f"goal: {goal.max_violation_ratio:g} x HPA violations (be left of it)",
            )
            ax.plot(
                xs,
                [y * goal.max_cost_ratio for y in ys],
                ":",
                color="tab:green",
                lw=1.0,
                label=f"goal: {goal.max_cost_ratio:g} x HPA replica-hours (be below it)",
            )
    candidates = [r for r in rows if r["family"] not in _BASELINE_STYLE]
    for i, r in enumerate(candidates):
        ax.scatter(
            r["violation_minutes"],
            r["replica_hours"],
            marker=_MARKERS[i % len(_MARKERS)],
            s=70,
            label=r["policy"],
            zorder=3,
        )
    ax.scatter(
        0,
        summary["oracle_replica_hours"],
        marker="*",
        s=160,
        color="gold",
        edgecolors="black",
        label="oracle (lower bound)",
        zorder=3,
    )
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("violation-minutes (p95 > objective), symlog scale")
    ax.set_ylabel("replica-hours")
    ax.set_title(f"{summary['trace']}: {summary['description']}", fontsize=10)
    ax.grid(True, which="both", lw=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
