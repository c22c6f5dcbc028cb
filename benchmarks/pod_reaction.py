"""Reaction of the operator *as a pod* on a real node: load step -> new pods Ready.

Starts the local stack with a real node, builds the operator image (``make image``'s
script), loads it into the node and installs the chart (one replica), then repeats: a
fresh namespace with the workload's real pods (two, 20 requests/s each), a
PerformanceSLO (p95 <= 0.3 s and worker utilization <= 0.6, evaluated every 2 s), calm
load (15 requests/s through the Service), then a step to 90 requests/s at a random
phase of the evaluation cycle. Recorded per run, from the step:

* ``breach``: the p95 query shows the breach in Prometheus (polled every 100 ms);
* ``write``: the Deployment's replicas change (polled every 50 ms);
* ``ready``: every pod of that first scale-up is Ready (``readyReplicas``).

Baseline, measured in the same run: the same workload scaled by hand by as many pods
(a patch of the scale subresource) until they are Ready - what the node itself takes.
The ratio ``(step -> Ready) / (scale -> Ready)`` is what the whole loop costs over the
node's own start-up; the product promises a reaction well under 30 s.

The operator pod's CPU and memory come from its cgroup (cpuacct / memory, as cAdvisor
reads them): CPU seconds per second over each reaction (step -> Ready) and over the
whole benchmark, RSS at the end and the peak of the pod's memory.

With ``--failover-runs N`` (default 3) it then upgrades to two replicas and, N times,
deletes the pod holding a PerformanceSLO's shard while the load changes, and records
when another pod took the shard and wrote the SLO's status.

Run:  .venv/bin/python -m benchmarks.pod_reaction [--runs N] [--failover-runs N]
Writes benchmarks/results/pod_reaction.json and .md (needs root and Docker, like
``make image``; about 15 minutes with the defaults). ``--render`` rewrites the .md
from the saved .json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kubernetes import client, config

from crestline.runtime.shards import shard_of
from crestline_dev.manifests import helm_binary
from crestline_dev.scenario import create_slo, get_slo, wait_for
from crestline_dev.stack import Stack, StackConfig
from crestline_dev.stack.binaries import repo_root
from crestline_dev.stack.node_operator import (
    NAMESPACE,
    OperatorRelease,
    build_operator_image,
    expose_stack,
    operator_pid,
    operator_values,
    pod_usage,
)
from crestline_dev.workload.deploy import (
    WorkloadSpec,
    kubernetes_access,
    service_manifest,
    wait_ready_replicas,
    workload_deployment,
)
from crestline_dev.workload.loadgen import Limits, LoadGenerator, SettableRate
from crestline_dev.workload.slo import Tuning, p95_query, pod_slo_body

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
POD = WorkloadSpec(workers=2, service_ms=100, max_queue=20)
TUNING = Tuning()
CALM, STEP = 15.0, 90.0
LIMITS = Limits(max_in_flight=200, max_requests=200_000, max_seconds=600)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass(frozen=True)
class Run:
    breach: float  # step -> breach visible in Prometheus
    write: float  # step -> replicas written
    ready: float  # step -> the new pods Ready
    added: int  # pods the first scale-up asked for
    baseline: float  # manual scale by as many pods -> Ready
    operator_cores: float  # operator pod CPU seconds per second, step -> Ready


def _apps(kube: client.ApiClient) -> Any:
    return client.AppsV1Api(kube)


def _core(kube: client.ApiClient) -> Any:
    return client.CoreV1Api(kube)


def _deployment(kube: client.ApiClient, ns: str) -> tuple[int, int]:
    dep = _apps(kube).read_namespaced_deployment("web", ns)
    return int(dep.spec.replicas or 0), int(dep.status.ready_replicas or 0)


@dataclass
class Bench:
    stack: Stack
    kube: client.ApiClient
    release: OperatorRelease

    def namespace(self) -> tuple[str, str]:
        """A namespace with the workload (2 pods), its Service, scraped by Prometheus."""
        assert self.stack.prometheus is not None
        ns = f"bench-{uuid.uuid4().hex[:8]}"
        _core(self.kube).create_namespace({"metadata": {"name": ns}})
        _apps(self.kube).create_namespaced_deployment(ns, workload_deployment("web", 2, POD))
        svc = _core(self.kube).create_namespaced_service(ns, service_manifest("web"))
        wait_ready_replicas(self.kube, ns, "web", 2, timeout=120)
        self.stack.prometheus.add_kubernetes_pods(ns, kubernetes_access(self.stack), [ns])
        return ns, str(svc.spec.cluster_ip)

    def drop(self, ns: str) -> None:
        assert self.stack.prometheus is not None
        prom = self.stack.prometheus
        prom.set_scrape_configs([c for c in prom.scrape_configs if c["job_name"] != ns])
        _core(self.kube).delete_namespace(ns)

    def operator_uid(self) -> str:
        (pod,) = self.release.pods()
        return str(pod.metadata.uid)

    def breached(self, ns: str) -> bool:
        assert self.stack.prometheus is not None
        result = self.stack.prometheus.query(p95_query(ns, "web"))
        return bool(result) and float(result[0]["value"][1]) > TUNING.latency_target

    def one_run(self, phase: random.Random) -> Run:
        ns, ip = self.namespace()
        rate = SettableRate(CALM)
        load = LoadGenerator([f"http://{ip}:80/"], rate, LIMITS, cluster_ips=True)
        load.start(LIMITS.max_seconds)
        try:
            create_slo(self.kube, ns, pod_slo_body("web", "web", ns, TUNING))
            wait_for(
                lambda: get_slo(self.kube, ns, "web").get("status", {}).get("lastEvaluationTime"),
                60,
                "a first evaluation",
            )
            time.sleep(8 + phase.uniform(0, TUNING.interval_seconds))
            uid = self.operator_uid()
            cpu0 = pod_usage(uid).cpu_seconds
            step = time.monotonic()
            rate.set(STEP)
            breach = write = ready = None
            added = 0
            next_prom = 0.0
            while ready is None:
                now = time.monotonic() - step
                if now > 120:
                    status = get_slo(self.kube, ns, "web").get("status", {})
                    (pod,) = self.release.pods()
                    log = self.release.logs(pod.metadata.name, tail=30)
                    raise TimeoutError(
                        f"{ns}: no reaction within 120 s; SLO status {status}; operator log:\n{log}"
                    )
                if breach is None and now >= next_prom:
                    next_prom = now + 0.1
                    if self.breached(ns):
                        breach = time.monotonic() - step
                replicas, ready_now = _deployment(self.kube, ns)
                if write is None and replicas > 2:
                    write, added = time.monotonic() - step, replicas - 2
                if write is not None and ready_now >= 2 + added:
                    ready = time.monotonic() - step
                time.sleep(0.05)
            cores = (pod_usage(uid).cpu_seconds - cpu0) / ready
            load.stop()
            baseline = self.baseline(ns, added)
            return Run(breach or float("nan"), write or 0.0, ready, added, baseline, cores)
        finally:
            load.stop()
            self.drop(ns)

    def baseline(self, ns: str, added: int) -> float:
        """The node alone: scale by ``added`` pods by hand, time until they are Ready.

        The SLO is deleted first so the operator does not touch the count meanwhile."""
        custom: Any = client.CustomObjectsApi(self.kube)
        custom.delete_namespaced_custom_object(
            "crestline.dev", "v1alpha1", ns, "performanceslos", "web"
        )
        time.sleep(3)
        replicas, _ = _deployment(self.kube, ns)
        wait_ready_replicas(self.kube, ns, "web", replicas, timeout=120)
        start = time.monotonic()
        _apps(self.kube).patch_namespaced_deployment_scale(
            "web", ns, {"spec": {"replicas": replicas + added}}
        )
        wait_ready_replicas(self.kube, ns, "web", replicas + added, timeout=120)
        return time.monotonic() - start


def _failover_once(bench: Bench, *, kill: bool) -> dict[str, Any]:
    """Delete the operator pod holding an SLO's shard (or SIGKILL its process: a crash,
    after which the kubelet restarts the container under the same pod name) while the
    load changes. Seconds until the shards were held again (by another pod after a
    delete; by whichever pod after a crash) and until the SLO's status was written."""
    release = bench.release
    ns, ip = bench.namespace()
    rate = SettableRate(CALM)
    load = LoadGenerator([f"http://{ip}:80/"], rate, LIMITS, cluster_ips=True)
    load.start(LIMITS.max_seconds)
    try:
        name = next(f"web-{i}" for i in range(1000) if shard_of(ns, f"web-{i}", 4) == 0)
        create_slo(bench.kube, ns, pod_slo_body(name, "web", ns, TUNING))
        wait_for(
            lambda: get_slo(bench.kube, ns, name).get("status", {}).get("lastEvaluationTime"),
            60,
            "a first evaluation",
        )
        time.sleep(5)
        victim = release.shard_holders()[0]  # holds the SLO's shard now
        (pod,) = [p for p in release.pods() if p.metadata.name == victim]
        pid = operator_pid(pod.metadata.uid)
        restarts = pod.status.container_statuses[0].restart_count
        deleted_at = dt.datetime.now(dt.UTC)
        t0 = time.monotonic()
        rate.set(STEP)
        if kill:
            os.kill(pid, signal.SIGKILL)
        else:
            _core(bench.kube).delete_namespaced_pod(victim, NAMESPACE)

        def restarted() -> dt.datetime | None:
            """When the killed container runs again (the kubelet restarts it)."""
            status = _core(bench.kube).read_namespaced_pod(victim, NAMESPACE).status
            (container,) = status.container_statuses
            running = container.state.running
            if container.restart_count > restarts and running is not None:
                started: dt.datetime = running.started_at
                return started
            return None

        def moved() -> bool:
            if kill:  # the restarted process renews its shard Leases (same identity)
                started = restarted()
                return started is not None and any(
                    r.resource == "leases"
                    and r.name.startswith("crestline-shard-")
                    and r.pod == victim
                    and r.verb == "update"
                    and r.code == 200
                    and r.at >= started
                    for r in release.audit(since=deleted_at)
                )
            now = release.shard_holders()
            return len(now) == 4 and victim not in now.values()

        def evaluated() -> bool:
            return any(
                r.resource == "performanceslos/status"
                and r.name == name
                and (kill or r.pod != victim)
                and r.code == 200
                and r.at > deleted_at
                for r in release.audit(since=deleted_at)
            )

        wait_for(moved, 90, "the shards held again", interval=0.1)
        shards_moved = time.monotonic() - t0
        wait_for(evaluated, 90, "the SLO evaluated again", interval=0.2)
        evaluated_after = time.monotonic() - t0
        release.wait_ready(2)
        time.sleep(15)  # the replacement pod joins and takes its shards
        return {
            "kind": "crash" if kill else "delete",
            "shards_moved": round(shards_moved, 2),
            "evaluated": round(evaluated_after, 2),
        }
    finally:
        load.stop()
        bench.drop(ns)


def _image_size(image: str) -> int:
    root = repo_root()
    assert root is not None
    host = subprocess.run(
        ["bash", str(root / "scripts" / "docker-up.sh")],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.split()[-1]
    out = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Size}}", image],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "DOCKER_HOST": host},
    ).stdout
    return int(out.strip())


def _scale_out(bench: Bench) -> float:
    """The node alone: a Deployment of the workload from 2 to 8 pods, until all Ready."""
    ns, _ = bench.namespace()
    try:
        start = time.monotonic()
        _apps(bench.kube).patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 8}})
        wait_ready_replicas(bench.kube, ns, "web", 8, timeout=120)
        return time.monotonic() - start
    finally:
        bench.drop(ns)


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
    }


def export_head(into: Path) -> str:
    """The committed tree (not the work tree others are editing) under ``into``; its commit.

    The image and the chart are built from it, so a result names what it measured."""
    root = repo_root()
    assert root is not None
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", "HEAD"], cwd=root, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True, timeout=120)
    return commit


def measure(runs: int, failover_runs: int, seed: int) -> dict[str, Any]:
    started = time.monotonic()
    with Stack(StackConfig(node=True)) as stack, tempfile.TemporaryDirectory() as tree:
        assert stack.node is not None
        kube: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=str(stack.kubeconfig)
        )
        source = Path(tree)
        commit = export_head(source)
        t = time.monotonic()
        image = build_operator_image(root=source)
        build = time.monotonic() - t
        t = time.monotonic()
        stack.node.load_image(image)
        load_image = time.monotonic() - t
        root = repo_root()
        assert root is not None
        release = OperatorRelease(
            stack, kube, helm_binary(root), chart=source / "helm" / "crestline"
        )
        values = operator_values(image, expose_stack(stack), replicas=1)
        t = time.monotonic()
        release.install(values)
        release.wait_ready(1)
        install = time.monotonic() - t
        bench = Bench(stack, kube, release)
        scale_out = _scale_out(bench)
        uid = bench.operator_uid()
        cpu0, t0 = pod_usage(uid).cpu_seconds, time.monotonic()
        phase = random.Random(seed)
        results = []
        for i in range(runs):
            run = bench.one_run(phase)
            results.append(run)
            print(f"run {i + 1}/{runs}: {run}", flush=True)
        usage = pod_usage(uid)
        overall_cores = (usage.cpu_seconds - cpu0) / (time.monotonic() - t0)
        failovers = []
        if failover_runs:
            release.upgrade({**values, "replicas": 2})
            release.wait_ready(2)
            time.sleep(15)  # both pods are members (their Leases renewed) and hold shards
            for i in range(failover_runs):
                for kill in (False, True):
                    failovers.append(_failover_once(bench, kill=kill))
                    print(f"failover {i + 1}/{failover_runs}: {failovers[-1]}", flush=True)
        return {
            "command": "python -m benchmarks.pod_reaction "
            f"--runs {runs} --failover-runs {failover_runs} --seed {seed}",
            "revision": commit,
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}, Python "
            f"{platform.python_version()}",
            "image": image,
            "image_bytes": _image_size(image),
            "image_build_seconds": round(build, 1),
            "image_load_seconds": round(load_image, 1),
            "helm_install_seconds": round(install, 1),
            "node_ready_seconds": round(stack.node.ready_seconds or 0.0, 2),
            "scale_out_2_to_8_seconds": round(scale_out, 2),
            "runs": [asdict(r) for r in results],
            "breach": _summary([r.breach for r in results]),
            "write": _summary([r.write for r in results]),
            "ready": _summary([r.ready for r in results]),
            "baseline": _summary([r.baseline for r in results]),
            "ratio": _summary([r.ready / r.baseline for r in results]),
            "operator_cores_during_reaction": _summary([r.operator_cores for r in results]),
            "operator_cores_overall": round(overall_cores, 3),
            "operator_rss_mib": round(usage.rss_bytes / 2**20, 1),
            "operator_peak_mib": round(usage.peak_bytes / 2**20, 1),
            "failovers": failovers,
            "total_seconds": round(time.monotonic() - started),
        }


def markdown(data: dict[str, Any]) -> str:
    r, b, w, br = data["ready"], data["baseline"], data["write"], data["breach"]
    cores = data["operator_cores_during_reaction"]
    lines = [
        "# The operator as a pod: load step -> new pods Ready",
        "",
        f"Command: `.venv/bin/python -m {data['command'].removeprefix('python -m ')}` "
        f"({data['machine']}; {len(data['runs'])} runs; a busy shared machine). The image "
        f"and the chart are built from commit {data.get('revision', '?')} (`git archive`).",
        "",
        "From a load step (15 -> 90 requests/s on two pods of 20 requests/s) until every pod "
        "of the first scale-up is Ready. Baseline, same run: the same number of pods added "
        "by hand (scale subresource) until Ready - the node's own share.",
        "",
        "| measure | p50 s | p95 s | max s |",
        "| --- | ---: | ---: | ---: |",
        f"| step -> breach visible in Prometheus | {br['p50']} | {br['p95']} | {br['max']} |",
        f"| step -> replicas written | {w['p50']} | {w['p95']} | {w['max']} |",
        f"| **step -> new pods Ready** | **{r['p50']}** | **{r['p95']}** | **{r['max']}** |",
        f"| baseline: manual scale -> Ready | {b['p50']} | {b['p95']} | {b['max']} |",
        f"| ratio (step -> Ready) / baseline | {data['ratio']['p50']} | "
        f"{data['ratio']['p95']} | {data['ratio']['max']} |",
        "",
        "| operator pod | value |",
        "| --- | ---: |",
        f"| CPU during a reaction (cores, p50 / p95) | {cores['p50']} / {cores['p95']} |",
        f"| CPU over the whole benchmark (cores) | {data['operator_cores_overall']} |",
        f"| RSS at the end (MiB) | {data['operator_rss_mib']} |",
        f"| peak memory of the pod (MiB, cgroup) | {data['operator_peak_mib']} |",
        "",
        "| image and node | value |",
        "| --- | ---: |",
        f"| image size ({data['image']}) | {data['image_bytes'] / 1e6:.0f} MB |",
        f"| `make image` this run (cached layers) | {data['image_build_seconds']} s |",
        "| `make image` cold (fresh machine; measured when it was built, not here) | 86 s |",
        f"| image into the node's containerd | {data['image_load_seconds']} s |",
        f"| helm install to operator pod Ready | {data['helm_install_seconds']} s |",
        f"| node: kubelet start to Ready | {data['node_ready_seconds']} s |",
        f"| workload scale-out 2 -> 8 pods Ready | {data['scale_out_2_to_8_seconds']} s |",
    ]
    if data["failovers"]:
        lines += [
            "",
            "Failover, two replicas: the pod holding an SLO's shard goes while the load steps "
            "up. *delete*: a graceful pod delete (it releases its Leases; another pod takes "
            "them). *crash*: SIGKILL of its process (the kubelet restarts the container under "
            "the same pod name, which renews its own Leases; the other pod would take them "
            "only after the lease duration, 10 s).",
            "",
            "| failover | runs | shards held again, median / max s | SLO status written, "
            "median / max s |",
            "| --- | ---: | ---: | ---: |",
        ]
        for kind in ("delete", "crash"):
            runs = [f for f in data["failovers"] if f.get("kind", "delete") == kind]
            if not runs:
                continue
            moved = [f["shards_moved"] for f in runs]
            evaluated = [f["evaluated"] for f in runs]
            lines.append(
                f"| {kind} | {len(runs)} | {statistics.median(moved):.1f} / {max(moved):.1f} | "
                f"{statistics.median(evaluated):.1f} / {max(evaluated):.1f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--failover-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--render", action="store_true", help="only rewrite the .md from the saved .json"
    )
    args = parser.parse_args()
    if args.render:
        data = json.loads((RESULTS / "pod_reaction.json").read_text())
    else:
        data = measure(args.runs, args.failover_runs, args.seed)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pod_reaction.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "pod_reaction.md").write_text(markdown(data))
    print(markdown(data))


if __name__ == "__main__":
    main()
