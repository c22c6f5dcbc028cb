"""Reaction time on the real stack: breach visible in Prometheus -> replicas written.

Starts the local stack and the operator (``crestline run``), then repeats: a fresh
namespace with a simulated workload at 50% utilization and a PerformanceSLO (p95 <=
0.5 s, evaluation every INTERVAL s); step the load to 125%; record when the p95 query
first shows the breach (polled every 50 ms) and when the Deployment's replicas change
(polled every 20 ms). Reports p50/p95 of the difference; the target is one evaluation
interval + 1 s (a breach that appears just after a tick waits for the next one).

Run:  .venv/bin/python -m benchmarks.reaction_time [--runs N] [--interval S]
Writes benchmarks/results/reaction_time.json (then `python -m benchmarks.report`).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from kubernetes import client, config

from crestline_dev.scenario import (
    Shape,
    create_slo,
    deploy_workload,
    get_slo,
    install_crds,
    p95_query,
    replicas,
    slo_body,
    start_operator,
    wait_for,
)
from crestline_dev.stack import Stack

ROOT = Path(__file__).resolve().parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def one_run(stack: Stack, kube: client.ApiClient, interval: int, phase: random.Random) -> float:
    assert stack.prometheus is not None
    core: Any = client.CoreV1Api(kube)  # dict bodies, not the client's model classes
    ns = f"bench-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": ns}})
    w = deploy_workload(stack, kube, ns, shape=Shape(replicas=2, rps=40))
    try:
        create_slo(
            kube,
            ns,
            slo_body(
                "web", "web", ns, evaluation={"intervalSeconds": interval, "timeoutSeconds": 2}
            ),
        )
        wait_for(
            lambda: get_slo(kube, ns, "web").get("status", {}).get("lastEvaluationTime"),
            60,
            "a first evaluation",
        )
        # Step at a random phase of the evaluation cycle: a breach can appear just
        # before a tick or just after one, and the figure must cover both.
        time.sleep(phase.uniform(0, interval))
        w.set_load(100)
        query = p95_query(w)

        def breached() -> bool:
            result = stack.prometheus.query(query) if stack.prometheus else []
            return bool(result) and float(result[0]["value"][1]) > 0.5

        wait_for(breached, 60, "the breach in Prometheus", interval=0.05)
        visible = time.monotonic()
        wait_for(lambda: replicas(kube, ns, "web") > 2, 60, "the scale write", interval=0.02)
        return time.monotonic() - visible
    finally:
        w.remove(stack)
        core.delete_namespace(ns)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "reaction_time.json")
    args = parser.parse_args()
    with Stack() as stack, tempfile.TemporaryDirectory() as tmp:
        kube = config.new_client_from_config(config_file=str(stack.kubeconfig))  # type: ignore[no-untyped-call]
        install_crds(kube)
        op = start_operator(stack, Path(tmp) / "operator.log")
        try:
            samples = []
            phase = random.Random(1995)
            for i in range(args.runs):
                took = one_run(stack, kube, args.interval, phase)
                samples.append(took)
                print(f"run {i + 1}/{args.runs}: {took:.2f}s", flush=True)
        finally:
            op.stop()
    result = {
        "benchmark": "reaction_time",
        "interval_seconds": args.interval,
        "runs": args.runs,
        "samples_seconds": [round(s, 3) for s in samples],
        "p50_seconds": round(statistics.median(samples), 2),
        "p95_seconds": round(percentile(samples, 0.95), 2),
        "max_seconds": round(max(samples), 2),
        "target_seconds": args.interval + 1,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
