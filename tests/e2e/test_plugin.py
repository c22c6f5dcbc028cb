"""The on-call kubectl plugin, end to end: what it shows and what the operator does with it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client

from crestline_dev.scenario import create_eventday, eventday_body, eventday_phase
from crestline_dev.stack import Stack
from tests.e2e.conftest import (
    OperatorProcess,
    Workload,
    create_slo,
    get_slo,
    replicas,
    slo_body,
    wait_for,
)

pytestmark = pytest.mark.stack
BIN = Path(sys.executable).parent


def plugin(stack: Stack, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`kubectl crestline ...`, found by kubectl on PATH like any kubectl plugin."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "KUBECONFIG": str(stack.kubeconfig),
    }
    return subprocess.run(
        [stack.kubectl, "crestline", "-n", namespace, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_status_explain_pause_resume_hold(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    w = workload(replicas=2, rps=40)
    create_slo(kube, namespace, slo_body("web", "web", namespace))
    wait_for(
        lambda: get_slo(kube, namespace, "web").get("status", {}).get("objectives"),
        30,
        "a first evaluation",
    )
    out = plugin(stack, namespace, "status")
    assert out.returncode == 0, out.stderr
    assert "web" in out.stdout
    assert "p95=" in out.stdout

    paused = plugin(stack, namespace, "pause", "web")
    assert paused.returncode == 0, paused.stderr
    wait_for(
        lambda: get_slo(kube, namespace, "web")["status"]["mode"].startswith("Paused"),
        15,
        "mode Paused",
    )
    w.set_load(100)  # a breach that would scale up
    wait_for(
        lambda: (get_slo(kube, namespace, "web")["status"].get("desiredReplicas") or 0) > 2,
        30,
        "a recommendation while paused",
    )
    assert replicas(kube, namespace, "web") == 2

    assert plugin(stack, namespace, "resume", "web").returncode == 0
    wait_for(lambda: replicas(kube, namespace, "web") > 2, 30, "scaling after resume")
    explained = plugin(stack, namespace, "explain", "web")
    assert explained.returncode == 0, explained.stderr
    assert "Recent decisions" in explained.stdout
    assert "(applied)" in explained.stdout
    assert "p95" in explained.stdout

    held = plugin(stack, namespace, "hold", "web", "--replicas", "8", "--for", "2h")
    assert held.returncode == 0, held.stderr
    # The Deployment is scaled before the status patch lands, and the SLO law may pass
    # through 8 on its own, so wait for both: the mode and the replicas it enforces.
    wait_for(
        lambda: (
            get_slo(kube, namespace, "web")["status"]["mode"].startswith("Hold 8 until")
            and replicas(kube, namespace, "web") == 8
        ),
        30,
        "the hold at 8",
    )


def test_event_start_and_stop(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=20)
    slo = slo_body("web", "web", namespace)
    slo["metadata"]["labels"] = {"tier": "shop"}
    create_slo(kube, namespace, slo)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    create_eventday(
        kube,
        namespace,
        eventday_body("sale", later, later + dt.timedelta(hours=2), capacity={"minReplicas": 5}),
    )
    wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Scheduled", 15, "Scheduled")
    started = plugin(stack, namespace, "event", "start", "sale", "--for", "30m")
    assert started.returncode == 0, started.stderr
    wait_for(
        lambda: eventday_phase(kube, namespace, "sale") == "Active", 15, "Active after event start"
    )
    wait_for(lambda: replicas(kube, namespace, "web") >= 5, 30, "the event floor")
    stopped = plugin(stack, namespace, "event", "stop", "sale")
    assert stopped.returncode == 0, stopped.stderr
    wait_for(
        lambda: eventday_phase(kube, namespace, "sale") == "Scheduled",
        15,
        "Scheduled after event stop",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("explain", "nope"), "no PerformanceSLO 'nope' in namespace"),
        (("pause", "nope", "--for", "1h"), "no PerformanceSLO 'nope'"),
        (("hold", "web", "--replicas", "3", "--for", "soon"), "bad duration 'soon'"),
        (("event", "start", "nope", "--for", "1h"), "no EventDay 'nope'"),
        (("event", "start", "nope"), "event start needs --for"),
    ],
)
def test_clear_errors(
    stack: Stack, crds: None, namespace: str, args: tuple[str, ...], message: str
) -> None:
    result = plugin(stack, namespace, *args)
    assert result.returncode == 1
    assert message in result.stderr
