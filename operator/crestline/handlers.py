"""kopf wiring. No decisions here: read, call the reconciler, write status and Events.

One sync daemon per PerformanceSLO runs the evaluation loop at the resource's own
interval (:mod:`crestline.runtime.ticks`: anchored ticks, missed ticks skipped). The sync
``kubernetes`` client must not run on kopf's event loop, so the daemon is a sync
function, run by kopf in its thread pool (sized in :func:`configure`). A spec change
wakes the daemon at once instead of waiting for the next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import kopf
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from crestline.adapters.kube import KubeTarget
from crestline.adapters.monitors import Monitors
from crestline.api.base import GROUP, VERSION
from crestline.runtime import metrics
from crestline.runtime.actions import ActionRunner
from crestline.runtime.eventdays import EventDays
from crestline.runtime.reconcile import Event, Reconciler
from crestline.runtime.ticks import next_tick

PLURAL = "performanceslos"
EVENTDAYS = "eventdays"
log = logging.getLogger("crestline")


@dataclass
class Options:
    """Process-wide settings from the command line, read by the startup handler."""

    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    redis_url: str | None = None
    metrics_port: int | None = None
    max_workers: int = 64


OPTIONS = Options()


@dataclass
class Runtime:
    reconciler: Reconciler
    eventdays: EventDays
    custom: client.CustomObjectsApi
    wakeups: dict[tuple[str, str, str], threading.Event] = field(default_factory=dict)

    def wakeup(self, plural: str, namespace: str, name: str) -> threading.Event:
        return self.wakeups.setdefault((plural, namespace, name), threading.Event())


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
    custom = client.CustomObjectsApi(api)
    runner = ActionRunner(
        Monitors(api), OPTIONS.alertmanager_url, client.BatchV1Api(api), OPTIONS.redis_url
    )
    eventdays = EventDays(custom, runner)
    memo.runtime = Runtime(
        Reconciler(
            KubeTarget(api), default_prometheus_url=OPTIONS.prometheus_url, events=eventdays
        ),
        eventdays,
        custom,
    )
    if OPTIONS.metrics_port:
        metrics.serve(OPTIONS.metrics_port)
        log.info("metrics on :%d/metrics", OPTIONS.metrics_port)


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def spec_changed(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    memo.runtime.wakeup(PLURAL, namespace or "", name).set()


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
    tick = time.monotonic()

    def once() -> float:
        outcome = runtime.reconciler.evaluate(namespace, name, dict(body))
        _write(runtime, PLURAL, namespace, name, body, outcome.status, outcome.events)
        return outcome.interval

    _loop(runtime.wakeup(PLURAL, namespace, name), stopped, once, logger, anchored=tick)
    runtime.reconciler.forget(namespace, name)


@kopf.on.update(GROUP, VERSION, EVENTDAYS)
def eventday_changed(namespace: str | None, name: str, memo: Any, **_: Any) -> None:
    memo.runtime.wakeup(EVENTDAYS, namespace or "", name).set()


@kopf.on.delete(GROUP, VERSION, EVENTDAYS)
def eventday_deleted(
    namespace: str | None, name: str, body: kopf.Body, memo: Any, **_: Any
) -> None:
    """Undo whatever the event still has applied before the EventDay goes away."""
    runtime: Runtime = memo.runtime
    for event in runtime.eventdays.restore(namespace or "", dict(body)):
        kopf.event(body, type=event.type, reason=event.reason, message=event.message[:1000])


@kopf.daemon(GROUP, VERSION, EVENTDAYS, cancellation_timeout=10.0)
def track_eventday(
    stopped: kopf.DaemonStopped,
    namespace: str | None,
    name: str,
    body: kopf.Body,
    memo: Any,
    logger: logging.Logger | logging.LoggerAdapter[Any],
    **_: Any,
) -> None:
    """Keep an EventDay's phase, next activation and affected SLOs current."""
    assert namespace, "EventDay is namespaced"
    runtime: Runtime = memo.runtime

    def once() -> float:
        outcome = runtime.eventdays.evaluate(namespace, name, dict(body))
        _write(runtime, EVENTDAYS, namespace, name, body, outcome.status, outcome.events)
        return outcome.wake_in

    _loop(runtime.wakeup(EVENTDAYS, namespace, name), stopped, once, logger, anchored=None)


def _loop(
    wake: threading.Event,
    stopped: kopf.DaemonStopped,
    once: Callable[[], float],
    logger: logging.Logger | logging.LoggerAdapter[Any],
    anchored: float | None,
) -> None:
    """Run ``once`` until stopped; it returns the delay to the next run.

    With ``anchored`` (a start time) runs sit on a fixed grid (crestline.runtime.ticks), else the
    delay counts from the end of a run. A wake-up (spec change) runs at once.
    """
    tick = anchored if anchored is not None else time.monotonic()
    while not stopped:
        wake.clear()
        delay = 30.0
        try:
            delay = once()
        except Exception:  # never let one bad evaluation kill the loop
            logger.exception("evaluation failed; retrying")
        now = time.monotonic()
        tick = next_tick(tick, delay, now) if anchored is not None else now + delay
        while not stopped and not wake.is_set() and time.monotonic() < tick:
            wake.wait(min(0.5, max(0.0, tick - time.monotonic())))
        if wake.is_set():
            tick = time.monotonic()


def _write(
    runtime: Runtime,
    plural: str,
    namespace: str,
    name: str,
    body: kopf.Body,
    status: dict[str, Any],
    events: list[Event],
) -> None:
    runtime.custom.patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        namespace,
        plural,
        name,
        {"status": status},
        _content_type="application/merge-patch+json",
    )
    for event in events:
        kopf.event(body, type=event.type, reason=event.reason, message=event.message[:1000])
