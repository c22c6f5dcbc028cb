"""Hundreds of objects on one replica, and two replicas sharing the work through Leases.

Capacity is measured by benchmarks/scale.py; here, the behaviour: every object is
evaluated (none starves behind the others, whatever the thread count), an EventDay's
deletion restores while hundreds of SLOs run, and with two replicas every object is
written by exactly one of them, through a kill of the other.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from kubernetes import client

from crestline.api.base import GROUP, VERSION
from crestline_dev import fleet
from crestline_dev.scenario import (
    OperatorProcess,
    create_eventday,
    eventday_body,
    start_operator,
    wait_for,
)
from crestline_dev.sim.pods import mark_all_ready
from crestline_dev.stack import Stack
from crestline_dev.stack.controlplane import AUDITED_NAMESPACE
from tests.kubectl import kubectl

pytestmark = pytest.mark.stack


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


def _monitor(kube: client.ApiClient, namespace: str) -> None:
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        namespace,
        "servicemonitors",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "endpoints": [{"port": "p"}]},
        },
    )


def _interval(kube: client.ApiClient, namespace: str) -> Any:
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "servicemonitors", "web"
    )
    return obj["spec"]["endpoints"][0].get("interval")


def test_300_slos_and_10_eventdays_on_one_replica(
    stack: Stack, kube: client.ApiClient, operator: OperatorProcess
) -> None:
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    made = fleet.create(kube, prefix="e2e-scale", count=300, interval=10, per_eventday=30)
    try:
        assert len(made.eventdays) == 10
        wait_for(
            lambda: fleet.evaluated_since(kube, made, started) == 300,
            90,
            "every one of the 300 SLOs evaluated",
        )
        # the old runtime stopped at 64 (one thread per object); this one holds no thread
        # per object: its thread count is its worker pools, whatever the object count
        assert _threads(operator.proc.pid) < 40
        metrics = requests.get(f"http://127.0.0.1:{operator.metrics_port}/metrics", timeout=5).text
        assert 'crestline_objects{kind="slo"} 300.0' in metrics

        # Deleting an EventDay in force restores what it changed while all of them run.
        ns = made.namespaces[0]
        _monitor(kube, ns)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        create_eventday(
            kube,
            ns,
            eventday_body(
                "sale",
                now,
                now + dt.timedelta(minutes=10),
                labels={"fleet-group": "g0"},
                monitoring={"interval": "5s", "monitors": [{"name": "web"}]},
            ),
        )
        wait_for(lambda: _interval(kube, ns) == "5s", 30, "the event's scrape interval")
        client.CustomObjectsApi(kube).delete_namespaced_custom_object(
            GROUP, VERSION, ns, "eventdays", "sale"
        )

        def gone() -> bool:
            try:
                client.CustomObjectsApi(kube).get_namespaced_custom_object(
                    GROUP, VERSION, ns, "eventdays", "sale"
                )
            except client.ApiException as exc:
                return bool(exc.status == 404)
            return False

        wait_for(gone, 30, "the EventDay restored and gone")
        assert _interval(kube, ns) is None  # back to Prometheus' default
        assert operator.alive()
    finally:
        fleet.delete(kube, made)


def _service_account_kubeconfig(stack: Stack, name: str, path: Path) -> Path:
    """A kubeconfig for a ServiceAccount of the audited namespace (bound to cluster-admin
    here: what is measured is who writes, not what is allowed)."""
    kubectl(stack, "create", "namespace", AUDITED_NAMESPACE, check=False)
    kubectl(stack, "create", "serviceaccount", name, "-n", AUDITED_NAMESPACE, check=False)
    kubectl(
        stack,
        "create",
        "clusterrolebinding",
        f"{name}-admin",
        "--clusterrole=cluster-admin",
        f"--serviceaccount={AUDITED_NAMESPACE}:{name}",
        check=False,
    )
    token = kubectl(
        stack, "create", "token", name, "-n", AUDITED_NAMESPACE, "--duration", "1h"
    ).stdout.strip()
    assert stack.control_plane is not None
    assert stack.control_plane.pki is not None
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "sa",
        "clusters": [
            {
                "name": "local",
                "cluster": {
                    "server": stack.control_plane.api_url,
                    "certificate-authority": str(stack.control_plane.pki.ca.cert),
                },
            }
        ],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "local", "user": "sa"}}],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def _scale_writers(stack: Stack, user: str) -> dict[str, list[tuple[str, str]]]:
    """Per Deployment, the (time, replica) of every scale write, from the audit log."""
    assert stack.control_plane is not None
    writes: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for line in stack.control_plane.audit_log.read_text().splitlines():
        event = json.loads(line)
        ref = event.get("objectRef") or {}
        if (
            event.get("stage") == "ResponseComplete"
            and event.get("verb") == "patch"
            and ref.get("resource") == "deployments"
            and ref.get("subresource") == "scale"
            and event.get("user", {}).get("username") == user
        ):
            agent = event.get("userAgent", "")
            writes[f"{ref['namespace']}/{ref['name']}"].append(
                (event["requestReceivedTimestamp"], agent)
            )
    return writes


def test_two_replicas_share_the_work_and_a_kill_moves_it_without_double_writes(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    tmp_path: Path,
) -> None:
    if stack.control_plane is None:
        pytest.skip("needs the local control plane (its audit log tells replicas apart)")
    operator.stop()  # only the two replicas under test act
    kubeconfig = _service_account_kubeconfig(stack, "ha-operator", tmp_path / "kubeconfig")
    env = {"KUBECONFIG": str(kubeconfig)}
    args = ("--lease-namespace", AUDITED_NAMESPACE, "--shards", "4")
    replicas = {
        name: start_operator(
            stack, tmp_path / f"{name}.log", *args, "--identity", name, env_override=env
        )
        for name in ("replica-a", "replica-b")
    }
    made = fleet.create(kube, prefix="e2e-ha", count=24, interval=2, per_eventday=None, replicas=1)
    stop = threading.Event()

    def kubelet() -> None:  # no node here: pods report Ready as a kubelet would say
        while not stop.wait(0.5):
            for ns in made.namespaces:
                with contextlib.suppress(client.ApiException):
                    mark_all_ready(kube, ns)

    threading.Thread(target=kubelet, daemon=True).start()
    try:
        custom = client.CustomObjectsApi(kube)
        for ns, name in made.slos:  # enforce, always breaching: every tick wants more
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                ns,
                "performanceslos",
                name,
                {
                    "spec": {
                        "mode": "enforce",
                        "objectives": [{"name": "load", "query": "vector(1)", "target": 0.5}],
                        "scaling": {"maxReplicas": 50, "warmupSeconds": 0},
                    }
                },
                _content_type="application/merge-patch+json",
            )
        apps: Any = client.AppsV1Api(kube)

        def scaled() -> bool:
            return all(
                (apps.read_namespaced_deployment_scale(name, ns).spec.replicas or 0) >= 2
                for ns, name in made.slos
            )

        wait_for(scaled, 60, "every SLO scaled by one of the two replicas")

        def holders() -> dict[str, str]:
            coordination: Any = client.CoordinationV1Api(kube)
            leases = coordination.list_namespaced_lease(AUDITED_NAMESPACE)
            return {
                lease.metadata.name: lease.spec.holder_identity
                for lease in leases.items
                if lease.metadata.name.startswith("crestline-shard-")
            }

        wait_for(lambda: set(holders().values()) == set(replicas), 30, "both replicas holding")
        # Until now the shards may have moved as the second replica joined (the first to
        # start holds them all, then hands its share over, fenced): count from here.
        settled = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        killed = dt.datetime.now(dt.UTC)
        replicas["replica-a"].kill()
        wait_for(
            lambda: set(holders().values()) == {"replica-b"}, 30, "replica-b taking every shard"
        )
        taken = (dt.datetime.now(dt.UTC) - killed).total_seconds()
        print(f"failover: replica-b held every shard {taken:.1f}s after the kill")

        def evaluator(ns: str, name: str) -> Any:
            obj: Any = custom.get_namespaced_custom_object(
                GROUP, VERSION, ns, "performanceslos", name
            )
            return obj.get("status", {}).get("evaluatedBy")

        wait_for(
            lambda: all(evaluator(ns, name) == "replica-b" for ns, name in made.slos),
            30,
            "every SLO evaluated by the survivor",
        )
        user = f"system:serviceaccount:{AUDITED_NAMESPACE}:ha-operator"
        writers = _scale_writers(stack, user)
        assert len(writers) == 24
        for target, writes in writers.items():
            agents = [agent for at, agent in sorted(writes) if at >= settled]
            changes = sum(1 for x, y in itertools.pairwise(agents) if x != y)
            # one writer per object at a time: at most one hand-over (the kill), never back
            assert changes <= 1, f"{target} written by both replicas in turn: {agents}"
            if changes:
                assert agents[-1] == "crestline/replica-b"
    finally:
        stop.set()
        for proc in replicas.values():
            if proc.alive():
                proc.stop()
        fleet.delete(kube, made)
        operator.restart()
