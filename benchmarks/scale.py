"""Scale on the real stack: how the operator's cost grows with the number of SLOs.

For each size, a fresh local stack (kube-apiserver + etcd + kube-controller-manager,
Prometheus), the operator as ``crestline run`` (one replica, or several sharing shards),
then a fleet of PerformanceSLOs at a 10 s interval, each with a Deployment and a query of
its own, plus one EventDay per 50 SLOs (crestline_dev.fleet). After every SLO has been
evaluated once, a steady window is measured:

* evaluations per second (the operator's crestline_evaluations_total) against the
  N / interval a perfect operator would run;
* evaluation lag p50 / p95 / max (crestline_evaluation_lag_seconds; max is the upper
  edge of the highest bucket hit);
* CPU (cores) and peak RSS of the operator processes (/proc);
* API requests and writes per second (kube-apiserver's apiserver_request_total by verb;
  nothing else writes during the window), and Prometheus queries per second;
* failover (with several replicas): one is killed; the time until the others hold every
  shard, and until every SLO it evaluated names its new evaluator.

Run:  .venv/bin/python -m benchmarks.scale [--sizes 100,500,2000,5000] [--replicas 1,3]
Writes benchmarks/results/scale.json and scale.md (then `python -m benchmarks.report`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
from kubernetes import client, config

from crestline.api.base import GROUP, VERSION
from crestline_dev import fleet
from crestline_dev.scenario import OperatorProcess, install_crds, start_operator, wait_for
from crestline_dev.stack import Stack, StackConfig

RESULTS = Path(__file__).resolve().parent / "results"
INTERVAL = 10
WINDOW = 60.0
LEASE_NS = "default"


@dataclass
class Run:
    slos: int
    replicas: int
    shards: int
    evaluated: int
    first_pass_seconds: float
    evaluations_per_second: float
    expected_per_second: float
    lag_p50: float
    lag_p95: float
    lag_max: float
    cpu_cores: float
    rss_mib_peak: float
    cpu_ms_per_evaluation: float
    api_requests_per_second: float
    api_writes_per_second: float
    api_by_verb: dict[str, float] = field(default_factory=dict)
    prometheus_queries_per_second: float = 0.0
    failover_shards_seconds: float | None = None
    failover_evaluated_seconds: float | None = None
    workers: int = 8
    load_average: float | None = None  # the machine's 1-minute load at the window's end


# -- reading numbers ----------------------------------------------------------------------


def _samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(rf"^{re.escape(name)}(\{{(.*)\}})?\s+(\S+)$", line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out.append((labels, float(match.group(3))))
    return out


def _metric(text: str, name: str, **want: str) -> float:
    return sum(
        v for labels, v in _samples(text, name) if all(labels.get(k) == x for k, x in want.items())
    )


def _buckets(text: str, name: str, **want: str) -> list[tuple[float, float]]:
    rows = [
        (float("inf") if labels["le"] == "+Inf" else float(labels["le"]), v)
        for labels, v in _samples(text, f"{name}_bucket")
        if all(labels.get(k) == x for k, x in want.items())
    ]
    merged: dict[float, float] = {}
    for le, v in rows:
        merged[le] = merged.get(le, 0.0) + v
    return sorted(merged.items())


def _quantile(delta: list[tuple[float, float]], q: float) -> float:
    total = delta[-1][1] if delta else 0.0
    if total <= 0:
        return 0.0
    prev_le, prev_count = 0.0, 0.0
    for le, count in delta:
        if count >= q * total:
            if le == float("inf"):
                return prev_le
            width = count - prev_count
            frac = 0.0 if width <= 0 else (q * total - prev_count) / width
            return prev_le + (le - prev_le) * frac
        prev_le, prev_count = le, count
    return prev_le


def _highest(delta: list[tuple[float, float]]) -> float:
    prev = 0.0
    last = 0.0
    for le, count in delta:
        if count > prev:
            last = le
        prev = count
    return last


class Proc:
    """CPU and RSS of one process from /proc."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = 100.0  # os.sysconf('SC_CLK_TCK') on Linux

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / self.tick

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


class Sampler:
    """Peak RSS over a stretch, sampled every second in a thread."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs, self.peak = procs, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            with contextlib.suppress(OSError):  # a process that just ended
                self.peak = max(self.peak, sum(p.rss_mib() for p in self.procs))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join(3)
        return self.peak


# -- one run ------------------------------------------------------------------------------


def _api_metrics(stack: Stack) -> str:
    """kube-apiserver's own metrics, as the stack's admin (kubectl get --raw)."""
    return subprocess.run(
        [stack.kubectl, "--kubeconfig", str(stack.kubeconfig), "get", "--raw", "/metrics"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


def _api_counts(text: str) -> dict[str, float]:
    """Requests by verb, and by "VERB resource[/subresource]" (keys with a space)."""
    counts: dict[str, float] = {}
    for labels, v in _samples(text, "apiserver_request_total"):
        verb = labels.get("verb", "")
        what = labels.get("resource", "") + (
            f"/{labels['subresource']}" if labels.get("subresource") else ""
        )
        counts[verb] = counts.get(verb, 0.0) + v
        counts[f"{verb} {what}"] = counts.get(f"{verb} {what}", 0.0) + v
    return counts


def _scrape(op: OperatorProcess) -> str:
    return requests.get(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=10).text


def measure(size: int, replicas: int, shards: int, workdir: Path, *, workers: int = 8) -> Run:
    with Stack(StackConfig(alertmanager=False, redis=False)) as stack:
        kube = config.new_client_from_config(config_file=str(stack.kubeconfig))  # type: ignore[no-untyped-call]
        install_crds(kube)
        ops = [
            start_operator(
                stack,
                workdir / f"op-{size}-{replicas}-{i}.log",
                "--shards",
                str(shards),
                "--identity",
                f"replica-{i}",
                "--log-format",
                "json",
                "--workers",
                str(workers),
            )
            for i in range(replicas)
        ]
        procs = [Proc(op.proc.pid) for op in ops]
        sampler = Sampler(procs)
        try:
            started = dt.datetime.now(dt.UTC).replace(microsecond=0)
            t0 = time.monotonic()
            made = fleet.create(kube, prefix="bench", count=size, interval=INTERVAL)
            evaluated = wait_for(
                lambda: (n := fleet.evaluated_since(kube, made, started)) >= size and n,
                max(120.0, size / 10),
                f"all {size} SLOs evaluated",
                interval=2.0,
            )
            first_pass = time.monotonic() - t0
            time.sleep(INTERVAL)  # settle: the first pass's status writes are over
            before = [_scrape(op) for op in ops]
            api_before = _api_counts(_api_metrics(stack))
            assert stack.prometheus is not None
            prom_before = _prom_queries(stack.prometheus.url)
            cpu_before = [p.cpu_seconds() for p in procs]
            w0 = time.monotonic()
            time.sleep(WINDOW)
            window = time.monotonic() - w0
            after = [_scrape(op) for op in ops]
            api_after = _api_counts(_api_metrics(stack))
            prom_after = _prom_queries(stack.prometheus.url)
            cpu = sum(p.cpu_seconds() - c for p, c in zip(procs, cpu_before, strict=True))
            evaluations = sum(
                _metric(a, "crestline_evaluations_total", kind="slo")
                - _metric(b, "crestline_evaluations_total", kind="slo")
                for a, b in zip(after, before, strict=True)
            )
            lag = _lag_delta(before, after)
            rates = {v: (api_after.get(v, 0) - api_before.get(v, 0)) / window for v in api_after}
            verbs = {v: r for v, r in rates.items() if " " not in v}
            writes = sum(r for v, r in verbs.items() if v in ("POST", "PUT", "PATCH", "DELETE"))
            run = Run(
                slos=size,
                replicas=replicas,
                shards=shards,
                evaluated=int(evaluated),
                first_pass_seconds=round(first_pass, 1),
                evaluations_per_second=round(evaluations / window, 1),
                expected_per_second=round(size / INTERVAL, 1),
                lag_p50=round(_quantile(lag, 0.5), 3),
                lag_p95=round(_quantile(lag, 0.95), 3),
                lag_max=_highest(lag),
                cpu_cores=round(cpu / window, 3),
                rss_mib_peak=round(sampler.peak, 1),
                cpu_ms_per_evaluation=round(1000 * cpu / max(evaluations, 1), 2),
                api_requests_per_second=round(sum(verbs.values()), 1),
                api_writes_per_second=round(writes, 1),
                api_by_verb={v: round(r, 1) for v, r in sorted(rates.items()) if r >= 0.05},
                prometheus_queries_per_second=round((prom_after - prom_before) / window, 1),
                workers=workers,
                load_average=round(os.getloadavg()[0], 1),
            )
            if replicas > 1:
                run.failover_shards_seconds, run.failover_evaluated_seconds = _failover(
                    kube, ops, made
                )
            run.rss_mib_peak = round(sampler.stop(), 1)
            return run
        finally:
            sampler.stop()
            for op in ops:
                if op.alive():
                    op.stop()


def _lag_delta(before: list[str], after: list[str]) -> list[tuple[float, float]]:
    total: dict[float, float] = {}
    for b, a in zip(before, after, strict=True):
        old = dict(_buckets(b, "crestline_evaluation_lag_seconds", kind="slo"))
        for le, count in _buckets(a, "crestline_evaluation_lag_seconds", kind="slo"):
            total[le] = total.get(le, 0.0) + count - old.get(le, 0.0)
    return sorted(total.items())


def _prom_queries(url: str) -> float:
    text = requests.get(f"{url}/metrics", timeout=10).text
    return _metric(text, "prometheus_http_requests_total", handler="/api/v1/query")


def _failover(
    kube: client.ApiClient, ops: list[OperatorProcess], made: fleet.Fleet
) -> tuple[float, float]:
    """Kill replica-0; seconds until the others hold every shard, and until every SLO
    replica-0 evaluated names another evaluator."""
    custom = client.CustomObjectsApi(kube)
    coordination = client.CoordinationV1Api(kube)

    def evaluators() -> dict[tuple[str, str], str | None]:
        out = {}
        for ns in made.namespaces:
            listing: Any = custom.list_namespaced_custom_object(
                GROUP, VERSION, ns, "performanceslos", _request_timeout=30
            )
            for item in listing["items"]:
                key = (ns, item["metadata"]["name"])
                out[key] = (item.get("status") or {}).get("evaluatedBy")
        return out

    victims = {k for k, v in evaluators().items() if v == "replica-0"}
    killed = time.monotonic()
    ops[0].kill()

    def holders() -> set[str]:
        leases = coordination.list_namespaced_lease(LEASE_NS).items
        return {
            str(lease.spec.holder_identity)
            for lease in leases
            if lease.metadata
            and str(lease.metadata.name).startswith("crestline-shard-")
            and lease.spec
        }

    wait_for(lambda: "replica-0" not in holders() and holders(), 120, "the shards moved", 0.2)
    shards = time.monotonic() - killed

    def taken_over() -> bool:
        now = evaluators()
        left = sum(now.get(k) in (None, "replica-0") for k in victims)
        print(
            f"  failover: {left} of {len(victims)} SLOs not yet re-evaluated at "
            f"{time.monotonic() - killed:.1f} s",
            flush=True,
        )
        return left == 0

    wait_for(taken_over, 300, "the taken-over SLOs evaluated", 1.0)
    return round(shards, 1), round(time.monotonic() - killed, 1)


# -- report -------------------------------------------------------------------------------


def markdown(runs: list[Run], command: str) -> str:
    lines = [
        "## Scale (real stack)",
        "",
        "`python -m benchmarks.scale` (rows kept from earlier runs for the sizes, replica "
        f"counts and worker counts the latest, `{command}`, did not measure) - "
        f"PerformanceSLOs at a {INTERVAL} s interval, one EventDay per 50, "
        f"each SLO with a Deployment and a query of its own; steady window {WINDOW:.0f} s. "
        "Lag is how long after its due time an evaluation started. API and Prometheus "
        "rates are the whole stack's during the window. Load is the machine's 1-minute load "
        "average at the end of the window: the stack, the operator and the load all share "
        "the machine, so a run at a load above its core count measures a contended machine. "
        "Failover: replica-0 is SIGKILLed; seconds until the others hold every shard, and "
        "until every SLO it evaluated names its new evaluator in its status (polled by "
        "listing them all, every few seconds at 2,000).",
        "",
        "| SLOs | replicas (shards) | evaluated | eval/s (of) | lag p50 / p95 / max s "
        "| CPU cores | RSS MiB | CPU ms/eval | API req/s (writes) | PromQL q/s | failover s "
        "(shards / SLOs) | workers | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        failover = (
            f"{r.failover_shards_seconds} / {r.failover_evaluated_seconds}"
            if r.failover_shards_seconds is not None
            else "-"
        )
        lines.append(
            f"| {r.slos} | {r.replicas} ({r.shards}) | {r.evaluated} | "
            f"{r.evaluations_per_second} ({r.expected_per_second}) | "
            f"{r.lag_p50} / {r.lag_p95} / {r.lag_max:g} | {r.cpu_cores} | {r.rss_mib_peak} | "
            f"{r.cpu_ms_per_evaluation} | {r.api_requests_per_second} "
            f"({r.api_writes_per_second}) | {r.prometheus_queries_per_second} | {failover} | "
            f"{r.workers} | {'-' if r.load_average is None else r.load_average} |"
        )
    return "\n".join(lines) + "\n"


def _merged(new: list[Run]) -> list[Run]:
    """Earlier results for the sizes/replicas/workers not measured now, plus the new ones."""
    path = RESULTS / "scale.json"
    old: list[Run] = []
    if path.exists():
        with contextlib.suppress(ValueError, TypeError):
            old = [Run(**r) for r in json.loads(path.read_text())]
    fresh = {(r.slos, r.replicas, r.workers) for r in new}
    kept = [r for r in old if (r.slos, r.replicas, r.workers) not in fresh]
    return sorted([*kept, *new], key=lambda r: (r.replicas, r.workers, r.slos))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,2000,5000")
    parser.add_argument("--replicas", default="1,3")
    parser.add_argument("--shards", type=int, default=12)
    parser.add_argument("--workers", type=int, default=8, help="each replica's --workers")
    args = parser.parse_args()
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        for replicas in (int(x) for x in args.replicas.split(",")):
            for size in (int(x) for x in args.sizes.split(",")):
                if replicas > 1 and size < 2000:
                    continue  # several replicas are for the large fleets
                shards = args.shards if replicas > 1 else 4
                print(f"scale: {size} SLOs on {replicas} replica(s) ...", flush=True)
                run = measure(size, replicas, shards, Path(tmp), workers=args.workers)
                print(json.dumps(asdict(run)), flush=True)
                runs.append(run)
    command = (
        f"python -m benchmarks.scale --sizes {args.sizes} --replicas {args.replicas} "
        f"--workers {args.workers}"
    )
    RESULTS.mkdir(exist_ok=True)
    runs = _merged(runs)
    (RESULTS / "scale.json").write_text(json.dumps([asdict(r) for r in runs], indent=1))
    (RESULTS / "scale.md").write_text(markdown(runs, command))
    print(markdown(runs, command))


if __name__ == "__main__":
    main()
