"""Cost of one EventDay evaluation (``event_state``) by schedule, against ``0 9 * * 1``.

``event_state`` is called for every EventDay on every evaluation of every SLO that
an EventDay may select, so its cost must not grow with how often a schedule fires.
This times it for schedules from weekly to every minute (with lead times up to a
year, and two schedules that only chain together), each at many instants spread over
a year in a zone with DST, and reports the median and p95 per call and the ratio of
the median to ``0 9 * * 1`` measured in the same run. Caches that depend only on the
zone (its offset changes) are warmed first; nothing is cached per schedule or instant.

With ``--previous`` it also times the implementation this replaced (git show of
5f1fbaf's calendar and policy modules, loaded under another name) on a few instants,
to show what changed; cases it cannot do in reasonable time are cut off.

Run:  .venv/bin/python -m benchmarks.schedule_cost [--instants N] [--previous]
Writes benchmarks/results/schedule_cost.json and benchmarks/results/schedule_cost.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from crestline.api.eventday import EventDaySpec
from crestline.policy.events import event_state

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
ZONE = "America/New_York"
PREVIOUS_COMMIT = "5f1fbaf"
BASELINE = "weekly"


@dataclass(frozen=True)
class Case:
    name: str
    recurring: tuple[tuple[str, str], ...]
    lead: str = "0s"
    trail: str = "0s"
    windows: int = 0  # one-off windows, one a day

    def spec(self) -> EventDaySpec:
        start = dt.datetime(2026, 1, 1, 9)
        one_offs = [
            {
                "start": (start + dt.timedelta(days=i)).isoformat(),
                "end": (start + dt.timedelta(days=i, hours=8)).isoformat(),
            }
            for i in range(self.windows)
        ]
        return EventDaySpec.model_validate(
            {
                "schedule": {
                    "timezone": ZONE,
                    "recurring": [{"cron": c, "duration": d} for c, d in self.recurring],
                    "windows": one_offs,
                    "leadTime": self.lead,
                    "trailTime": self.trail,
                }
            }
        )


CASES = [
    Case(BASELINE, (("0 9 * * 1", "1h"),)),
    Case("weekly, lead 2h trail 30m", (("0 18 * * SAT", "6h"),), "2h", "30m"),
    Case("every minute, 1m", (("* * * * *", "1m"),)),
    Case("every minute, 1h (always on)", (("* * * * *", "1h"),)),
    Case("every minute, lead 365d", (("* * * * *", "1m"),), "365d"),
    Case("hourly, 1h", (("0 * * * *", "1h"),)),
    Case("every 5 min 9-17 Mon-Fri", (("*/5 9-17 * * 1-5", "5m"),)),
    Case("every minute 9-17", (("* 9-17 * * *", "1m"),)),
    Case("every hour from 05:30 (5/1)", (("30 5/1 * * *", "10m"),)),
    Case("Feb 29", (("0 0 29 2 *", "1d"),)),
    Case("100 one-off windows", (), "1h", "1h", windows=100),
    Case("even+odd minutes (horizon)", (("*/2 * * * *", "1m"), ("1-59/2 * * * *", "1m"))),
]


def instants(n: int) -> list[dt.datetime]:
    """n instants spread over 2026 (a prime step, so minutes and hours vary)."""
    start, step = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.timedelta(minutes=52_561)
    return [start + (k * step) % dt.timedelta(days=365) for k in range(n)]


def timed(call: Callable[[dt.datetime], object], at: list[dt.datetime]) -> list[float]:
    out = []
    for t in at:
        begin = time.perf_counter()
        call(t)
        out.append(time.perf_counter() - begin)
    return out


def previous_implementation() -> ModuleType | None:
    """The replaced events module, from git, under the package name ``previous``."""
    base = Path(tempfile.mkdtemp(prefix="schedule-cost-"))
    files = {
        "calendar/cron.py": "cron.py",
        "calendar/wallclock.py": "wallclock.py",
        "calendar/instants.py": "instants.py",
        "policy/windows.py": "windows.py",
        "policy/events.py": "events.py",
    }
    package = base / "previous"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for source, target in files.items():
        shown = subprocess.run(
            ["git", "show", f"{PREVIOUS_COMMIT}:operator/crestline/{source}"],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT.parent,
        )
        if shown.returncode != 0:
            return None
        text = shown.stdout
        for module in ("cron", "wallclock", "instants"):
            text = text.replace(f"crestline.calendar.{module}", f"previous.{module}")
        text = text.replace("crestline.policy.windows", "previous.windows")
        (package / target).write_text(text)
    sys.path.insert(0, str(base))
    spec = importlib.util.find_spec("previous.events")
    return None if spec is None else importlib.import_module("previous.events")


def measure(n: int, previous: bool) -> dict[str, Any]:
    at = instants(n)
    old = previous_implementation() if previous else None
    for case in CASES:  # warm the per-zone caches (offset changes) once
        event_state(case.spec(), at[0])
    rows = []
    for case in CASES:
        spec = case.spec()
        samples = timed(lambda t, s=spec: event_state(s, t), at)  # type: ignore[misc]
        row: dict[str, Any] = {
            **asdict(case),
            "median_us": statistics.median(samples) * 1e6,
            "p95_us": statistics.quantiles(samples, n=20)[-1] * 1e6,
        }
        if old is not None:
            row["previous_ms"] = previous_cost(old, spec, at[:5])
        rows.append(row)
    base = next(r for r in rows if r["name"] == BASELINE)["median_us"]
    for row in rows:
        row["ratio"] = row["median_us"] / base
    return {
        "command": "python -m benchmarks.schedule_cost"
        + (f" --instants {n}" if n != 200 else "")
        + (" --previous" if previous else ""),
        "instants": n,
        "zone": ZONE,
        "baseline": BASELINE,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cases": rows,
    }


def previous_cost(old: ModuleType, spec: EventDaySpec, at: list[dt.datetime]) -> float | None:
    """Median ms of the replaced implementation, or None if one call took over 20 s."""
    samples = []
    for t in at:
        begin = time.perf_counter()
        try:
            old.event_state(spec, t)
        except Exception:  # the replaced code raised on some schedules: report no time
            return None
        samples.append(time.perf_counter() - begin)
        if samples[-1] > 20:
            break
    return statistics.median(samples) * 1e3


def markdown(result: dict[str, Any]) -> str:
    previous = any("previous_ms" in r for r in result["cases"])
    head = "| schedule | recurring (cron, duration) | lead / trail | median µs | p95 µs | ratio |"
    rule = "| --- | --- | --- | ---: | ---: | ---: |"
    if previous:
        head += " before (ms) |"
        rule += " ---: |"
    lines = [
        "# Cost of one EventDay evaluation",
        "",
        f"Command: `.venv/bin/{result['command']}` ({result['instants']} instants over 2026, "
        f"{result['zone']}, Python {result['python']} on {result['machine']}).",
        "",
        f"Ratio: median over the median of `{result['baseline']}` (`0 9 * * 1`, 1h) measured "
        "in the same run. Per-zone caches are warm; nothing is cached per schedule or instant.",
        "",
        head,
        rule,
    ]
    for r in result["cases"]:
        crons = "; ".join(f"`{c}` {d}" for c, d in r["recurring"]) or f"{r['windows']} one-off"
        line = (
            f"| {r['name']} | {crons} | {r['lead']} / {r['trail']} | {r['median_us']:.0f} | "
            f"{r['p95_us']:.0f} | {r['ratio']:.2f} |"
        )
        if previous:
            before = r.get("previous_ms")
            line += " - |" if before is None else f" {before:.1f} |"
        lines.append(line)
    if previous:
        lines += [
            "",
            f"before: the implementation replaced here ({PREVIOUS_COMMIT}, which built every "
            "window of an 8-day lookahead), median of 5 calls; - where it raised.",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instants", type=int, default=200)
    parser.add_argument("--previous", action="store_true")
    args = parser.parse_args()
    result = measure(args.instants, args.previous)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "schedule_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "schedule_cost.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
