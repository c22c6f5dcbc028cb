"""kopf wiring. No decisions here: read, call the reconciler, write status and Events.

One sync daemon per PerformanceSLO runs the evaluation loop at the resource's own
interval (:mod:`crestline.schedule`: anchored ticks, missed ticks skipped). The sync
``kubernetes`` client must not run on kopf's event loop, so the daemon is a sync
function, run by kopf in its thread pool (sized in :func:`configure`). A spec change
wakes the daemon at once instead of waiting for the next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import kopf
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from crestline import metrics
from crestline.adapters.kube import KubeTarget
from crestline.api.slo import GROUP, VERSION
from crestline.reconcile import Outcome, Reconciler
from crestline.schedule import next_tick

PLURAL = "performanceslos"
log = logging.getLogger("crestline")


@dataclass
class Options:
    """Process-wide settings from the command line, read by the startup handler."""

    prometheus_url: str | None = None
    metrics_port: int | None = None
    max_workers: int = 64


OPTIONS = Options()


@dataclass
class Runtime:
    reconciler: Reconciler
    custom: client.CustomObjectsApi
    wakeups: dict[tuple[str, str], threading.Event] = field(default_factory=dict)

    def wakeup(self, namespace: str, name: str) -> threading.Event:
        return self.wakeups.setdefault((namespace, name), threading.Event())


def api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    settings.execution.max_workers = OPTIONS.max_workers
    settings.persistence.finalizer = "crestline.dev/finalizer"
    api = api_client()
    memo.runtime = Runtime(
        Reconciler(KubeTarget(api), default_prometheus_url=OPTIONS.prometheus_url),
        client.CustomObjectsApi(api),
    )
    if OPTIONS.metrics_port:
        metrics.serve(OPTIONS.metrics_port)
        log.info("metrics on :%d/metrics", OPTIONS.metrics_port)


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def spec_changed(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    memo.runtime.wakeup(namespace or "", name).set()


@kopf.daemon(GROUP, VERSION, PLURAL, cancellation_timeout=10.0)
def evaluate_slo(
    stopped: kopf.DaemonStopped,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    memo: Any,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **_: Any,
) -> None:
    assert namespace, "PerformanceSLO is namespaced"
    runtime: Runtime = memo.runtime
    wake = runtime.wakeup(namespace, name)
    tick = time.monotonic()
    while not stopped:
        wake.clear()
        interval = 30.0
        try:
            outcome = runtime.reconciler.evaluate(namespace, name, dict(body))
            interval = outcome.interval
            _write(runtime, namespace, name, body, outcome)
        except Exception:  # never let one bad evaluation kill the loop
            logger.exception("evaluation of %s/%s failed; retrying next interval", namespace, name)
        tick = next_tick(tick, interval, time.monotonic())
        while not stopped and not wake.is_set() and time.monotonic() < tick:
            wake.wait(min(0.5, max(0.0, tick - time.monotonic())))
        if wake.is_set():
            tick = time.monotonic()  # re-anchor on the new spec
    runtime.reconciler.forget(namespace, name)


def _write(runtime: Runtime, namespace: str, name: str, body: kopf.Body, outcome: Outcome) -> None:
    runtime.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        name,
        {"status": outcome.status},
        _content_type="application/merge-patch+json",
    )
    for event in outcome.events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message[:1000])
