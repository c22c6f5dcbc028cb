"""EventDay end to end, in compressed time: pre-scaling, the overlay, phases, restore."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline_dev.scenario import eventday_body, eventday_phase
from crestline_dev.stack import Stack
from crestline_dev.stack.ports import free_port
from tests.e2e.conftest import (
    OperatorProcess,
    Workload,
    create_slo,
    events_for,
    get_slo,
    replicas,
    slo_body,
    wait_for,
)

pytestmark = pytest.mark.stack


def test_eventday_prescales_before_the_window_and_restores_after(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=20)  # quiet: nothing but the event would add replicas
    slo = slo_body("web", "web", namespace)
    slo["metadata"]["labels"] = {"tier": "shop"}
    create_slo(kube, namespace, slo)
    wait_for(
        lambda: get_slo(kube, namespace, "web").get("status", {}).get("lastEvaluationTime"),
        30,
        "a first evaluation",
    )

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start, end = now + dt.timedelta(seconds=25), now + dt.timedelta(seconds=40)
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        "crestline.dev",
        "v1alpha1",
        namespace,
        "eventdays",
        eventday_body("sale", start, end, evaluationIntervalSeconds=1, capacity={"minReplicas": 6}),
    )
    wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Scheduled", 15, "phase Scheduled")
    assert replicas(kube, namespace, "web") == 2

    # Warm-up begins at start - leadTime: replicas reach the floor before the window opens.
    # The SLO scales before its status patch lands, and the EventDay's own handler writes
    # its phase independently: wait for all three to agree.
    wait_for(
        lambda: (
            replicas(kube, namespace, "web") >= 6
            and eventday_phase(kube, namespace, "sale") == "Warming"
            and get_slo(kube, namespace, "web")["status"]["mode"].startswith("EventDay sale")
        ),
        30,
        "pre-scaling to 6",
    )
    assert dt.datetime.now(dt.UTC) < start, "pre-scaling came after the window opened"
    status = get_slo(kube, namespace, "web")["status"]
    assert status["mode"].startswith("EventDay sale")
    assert status["activeEvents"] == ["sale"]
    assert status["eventBaseline"] == 2

    wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Active", 30, "phase Active")
    # The faster evaluation interval is in force (the status is written on change, so the
    # interval in force is what shows it, not a timestamp per evaluation).
    assert get_slo(kube, namespace, "web")["status"]["intervalSeconds"] == 1

    wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Cooling", 30, "phase Cooling")
    assert replicas(kube, namespace, "web") >= 6  # no scale-down until window + trail end
    wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Completed", 20, "phase Completed")

    # Afterwards the SLO is back to its own spec and the extra replicas go, gradually.
    # The scale-down can land before the status patch of the same evaluation: wait for both.
    wait_for(
        lambda: (
            replicas(kube, namespace, "web") < 6
            and get_slo(kube, namespace, "web")["status"]["mode"] == "enforce"
        ),
        60,
        "scale-down after the event",
    )
    status = get_slo(kube, namespace, "web")["status"]
    assert "eventBaseline" not in status
    assert status["intervalSeconds"] == 2
    reasons = {e.reason for e in events_for(kube, namespace, "sale")}
    assert {"PhaseWarming", "PhaseActive", "PhaseCooling", "PhaseCompleted"} <= reasons


def _monitor(
    kube: client.ApiClient, namespace: str, name: str, intervals: list[str | None]
) -> None:
    endpoints = [
        {"port": f"p{i}", **({"interval": iv} if iv else {})} for i, iv in enumerate(intervals)
    ]
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        namespace,
        "servicemonitors",
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}}, "endpoints": endpoints},
        },
    )


def _intervals(kube: client.ApiClient, namespace: str, name: str) -> list[str | None]:
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "monitoring.coreos.com", "v1", namespace, "servicemonitors", name
    )
    return [e.get("interval") for e in obj["spec"]["endpoints"]]


def _our_silences(stack: Stack, namespace: str) -> list[dict[str, Any]]:
    assert stack.alertmanager is not None
    silences = requests.get(f"{stack.alertmanager.url}/api/v2/silences", timeout=5).json()
    return [
        s
        for s in silences
        if s["createdBy"] == "crestline" and f"eventday={namespace}/sale" in s["comment"]
    ]


def _evd(kube: client.ApiClient, namespace: str) -> dict[str, Any]:
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "crestline.dev", "v1alpha1", namespace, "eventdays", "sale"
    )
    return dict(obj)


def test_actions_happen_once_survive_a_restart_and_are_restored_unless_changed(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
) -> None:
    _monitor(kube, namespace, "web", ["30s", None])
    _monitor(kube, namespace, "api", ["1m"])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start, end = now + dt.timedelta(seconds=12), now + dt.timedelta(seconds=35)
    client.CustomObjectsApi(kube).create_namespaced_custom_object(
        "crestline.dev",
        "v1alpha1",
        namespace,
        "eventdays",
        eventday_body(
            "sale",
            start,
            end,
            monitoring={"interval": "5s", "monitors": [{"name": "web"}, {"name": "api"}]},
            alerts={},
        ),
    )
    wait_for(
        lambda: (
            _intervals(kube, namespace, "web") == ["5s", "5s"]
            and _intervals(kube, namespace, "api") == ["5s"]
        ),
        30,
        "the event scrape interval on both monitors",
    )
    silences = wait_for(lambda: _our_silences(stack, namespace), 10, "the silence")
    assert [s["status"]["state"] for s in silences] == ["active"]
    # The user's matchers, and always the EventDay's own namespace (one team never mutes
    # another's alerts).
    assert silences[0]["matchers"] == [
        {"name": "severity", "value": "critical", "isRegex": False, "isEqual": False},
        {"name": "namespace", "value": namespace, "isRegex": False, "isEqual": True},
    ]
    # A restart mid-event neither repeats nor forgets anything.
    operator.kill()
    operator.restart()
    time.sleep(6)
    assert len(_our_silences(stack, namespace)) == 1
    ledger = _evd(kube, namespace)["status"]["actions"]
    assert sorted(r["key"] for r in ledger) == [
        "monitor/ServiceMonitor/api",
        "monitor/ServiceMonitor/web",
        "silence",
    ]
    # Someone tunes the api monitor by hand during the event: it must not be clobbered.
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        "monitoring.coreos.com",
        "v1",
        namespace,
        "servicemonitors",
        "api",
        {"spec": {"endpoints": [{"port": "p0", "interval": "15s"}]}},
        _content_type="application/merge-patch+json",
    )

    wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Completed", 60, "phase Completed")
    wait_for(
        lambda: _intervals(kube, namespace, "web") == ["30s", None], 20, "the original intervals"
    )
    assert _intervals(kube, namespace, "api") == ["15s"]
    assert [s["status"]["state"] for s in _our_silences(stack, namespace)] == ["expired"]
    status = _evd(kube, namespace)["status"]
    states = {r["key"]: r["state"] for r in status["actions"]}
    assert states == {
        "monitor/ServiceMonitor/web": "restored",
        "monitor/ServiceMonitor/api": "drifted",
        "silence": "restored",
    }
    drift = next(c for c in status["conditions"] if c["type"] == "Drift")
    assert drift["status"] == "True"
    assert "api" in drift["message"]
    assert "Drift" in {e.reason for e in events_for(kube, namespace, "sale")}


class _Counter(BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _annotate(kube: client.ApiClient, namespace: str, annotations: dict[str, str]) -> None:
    client.CustomObjectsApi(kube).patch_namespaced_custom_object(
        "crestline.dev",
        "v1alpha1",
        namespace,
        "eventdays",
        "sale",
        {"metadata": {"annotations": annotations}},
        _content_type="application/merge-patch+json",
    )


def test_manual_start_warms_the_cache_once_and_manual_stop_ends_it(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
) -> None:
    assert stack.redis is not None
    with stack.redis.client() as r:
        for i in range(300):
            r.set(f"{namespace}:product:{i}", "x", ex=60)
        r.set(f"{namespace}:product:forever", "x")
        r.set(f"{namespace}:other:1", "x", ex=60)
    server = HTTPServer(("127.0.0.1", free_port()), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
        body = eventday_body(
            "sale",
            later,
            later + dt.timedelta(hours=2),
            cache={
                # confined under the namespace's key prefix on the shared Redis
                "extendTtl": {"pattern": "product:*", "ttlSeconds": 3600, "batch": 50},
                "httpWarmup": {"url": f"http://127.0.0.1:{server.server_port}/warm"},
                "jobTemplate": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "prime", "image": "example.invalid/prime:1"}],
                        }
                    }
                },
            },
        )
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            "crestline.dev", "v1alpha1", namespace, "eventdays", body
        )
        wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Scheduled", 15, "Scheduled")
        assert _Counter.calls == 0

        # On-call: start event mode now, for 10 minutes.
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        _annotate(
            kube,
            namespace,
            {
                "crestline.dev/manual-window": f"{now:%Y-%m-%dT%H:%M:%SZ}/"
                f"{now + dt.timedelta(minutes=10):%Y-%m-%dT%H:%M:%SZ}"
            },
        )
        wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Active", 15, "manual start")
        with stack.redis.client() as r:
            wait_for(lambda: int(r.ttl(f"{namespace}:product:7")) > 60, 15, "TTL extension")
            assert all(int(r.ttl(f"{namespace}:product:{i}")) > 3000 for i in range(300))
            assert int(r.ttl(f"{namespace}:product:forever")) == -1  # persistent stays so
            assert int(r.ttl(f"{namespace}:other:1")) <= 60  # not matching: untouched
        wait_for(lambda: _Counter.calls == 1, 10, "the HTTP warm-up")
        jobs = wait_for(
            lambda: client.BatchV1Api(kube).list_namespaced_job(namespace).items,
            10,
            "the warm-up Job",
        )
        assert len(jobs) == 1
        ledger = {r["key"]: r for r in _evd(kube, namespace)["status"]["actions"]}
        assert ledger["cache/ttl"]["state"] == "done"
        assert "extended 300" in ledger["cache/ttl"]["message"]

        # On-call: stop now. Nothing is repeated; the schedule's own window is still ahead.
        _annotate(
            kube,
            namespace,
            {"crestline.dev/stopped-at": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"},
        )
        wait_for(lambda: eventday_phase(kube, namespace, "sale") == "Scheduled", 15, "manual stop")
        time.sleep(3)
        assert _Counter.calls == 1
        assert len(client.BatchV1Api(kube).list_namespaced_job(namespace).items) == 1
    finally:
        server.shutdown()
