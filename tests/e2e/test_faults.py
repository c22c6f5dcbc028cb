"""Faults on the real stack: the operator SIGKILLed at every ledger step, and the systems
it depends on stopped, hung and restarted under it.

**Kills.** A kill at a precise moment cannot be timed from outside, so the operator is
restarted with one failpoint armed (``CRESTLINE_FAILPOINTS``, see
:mod:`crestline.runtime.failpoints`); it SIGKILLs itself when it gets there. The test
checks that it died *there* (its log names the point, and what is persisted and changed
is what that moment implies), restarts it without the failpoint, and expects the end an
uninterrupted run reaches: every change applied exactly once and restored exactly once
(the ServiceMonitor's generation counts its spec changes), exactly one silence ever
created for the activation, the TTLs extended, one warm-up Job, no false Drift, each
change's Event once, the EventDay deleted when asked - reached within two evaluation
intervals of the operator being back. The EventDay makes every kind of change there
is, so the ``faults`` variant reaches every failpoint the product has: 20 while
applying, 8 while restoring (restored twice: at the end of the event, and through a
deletion), 2 around the finalizer, and ``slo.after-scale``. The one change that is at
least once rather than exactly once is the HTTP warm-up: a kill after the call and
before its record calls it again (nothing can tell a call that was made from one that
was not).

**Outages.** Prometheus stopped (SLOs hold their replicas and say MetricsAvailable=False,
then recover), Redis stopped during a warm-up (the TTL action is a reported problem,
retried within seconds, done once), Redis hung with SIGSTOP (every other object goes on
being evaluated on time), the API server stopped (no action while it is away, a 2 s SLO
resumes promptly). And one EventDay that passes the CRD but cannot be evaluated, selecting
50 SLOs: every one of them goes on, and says which EventDay it ignores.

Every test also asserts zero wrong actions: no replica count outside [min, max], no
duplicate silence, no lost or doubled restore, no false Drift.

The default run covers one kill per phase (apply, restore, delete); ``-m faults`` (``make
faults``) runs every failpoint in every phase. Waits have timeouts; nothing asserts speed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline.runtime.failpoints import ENV as FAILPOINTS
from crestline.runtime.operator import DEFAULT_INTERVAL, EVENTDAY
from crestline_dev.scenario import (
    create_deployment,
    create_eventday,
    eventday_body,
    p95_query,
)
from crestline_dev.stack import Stack
from crestline_dev.stack.ports import free_port
from crestline_dev.stack.process import ManagedProcess
from tests.e2e.conftest import (
    OperatorProcess,
    Workload,
    condition,
    create_slo,
    events_for,
    get_slo,
    replicas,
    slo_body,
    wait_condition,
    wait_for,
)

pytestmark = pytest.mark.stack

GROUP, VERSION = "crestline.dev", "v1alpha1"
EVD_INTERVAL = DEFAULT_INTERVAL[EVENTDAY]  # a listed EventDay is evaluated within this
SLO_INTERVAL = 2.0  # slo_body's evaluation interval
RATE_WINDOW = 10.0  # slo_body's query windows
# What "within two intervals" allows on top: one query or call timeout and the jitter of a
# shared 2-core machine. A wait's timeout, never an assertion about speed.
SLACK = 8.0
SHARDS, LEASE_SECONDS = 4, 10  # crestline run's defaults


def within(interval: float) -> float:
    """The timeout for "recovers within two evaluation intervals"."""
    return 2 * interval + SLACK


# -- the operator ------------------------------------------------------------------------------


def shards_owned(op: OperatorProcess) -> float:
    try:
        text = requests.get(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=2).text
    except requests.RequestException:
        return -1.0
    for line in text.splitlines():
        if line.startswith("crestline_shards_owned "):
            return float(line.split()[1])
    return -1.0


def evaluations(op: OperatorProcess, kind: str) -> float:
    text = requests.get(f"http://127.0.0.1:{op.metrics_port}/metrics", timeout=5).text
    prefix = f'crestline_evaluations_total{{kind="{kind}"}} '
    return next(
        (float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix)), 0.0
    )


def wait_up(op: OperatorProcess) -> None:
    """Until the operator holds every shard: from then on it acts (start-up is not timed)."""
    wait_for(
        lambda: op.alive() and shards_owned(op) == SHARDS, 90, "the operator holding its shards"
    )


def restart(op: OperatorProcess, point: str | None = None) -> None:
    """Restart the operator, with ``point`` armed (or none), and wait until it acts."""
    env = {k: v for k, v in op.env.items() if k != FAILPOINTS}
    if point is not None:
        env[FAILPOINTS] = point
    op.env = env
    op.restart()
    wait_up(op)


def await_kill(op: OperatorProcess, point: str) -> None:
    """The armed operator reaches ``point`` and dies there (not anywhere else)."""
    wait_for(lambda: not op.alive(), 60, f"the operator to die at {point}")
    assert op.proc.returncode == -signal.SIGKILL, op.tail()
    assert f"crestline failpoint {point}: SIGKILL" in op.tail(400), op.tail()


@pytest.fixture
def op(operator: OperatorProcess) -> Iterator[OperatorProcess]:
    """The session's operator, running without failpoints again after the test."""
    wait_up(operator)
    yield operator
    if FAILPOINTS in operator.env or not operator.alive():
        restart(operator)


# -- an EventDay with a monitor, a silence and a TTL extension ----------------------------------

MONITOR_KEY = "monitor/ServiceMonitor/web"
WARMUPS = ("cache/ttl", "cache/http", "cache/job")  # one-off: done, never restored
KINDS = {"monitor": MONITOR_KEY, "silence": "silence", **{k: k for k in WARMUPS}}
APPLIED = {MONITOR_KEY: "applied", "silence": "applied", **dict.fromkeys(WARMUPS, "done")}
RESTORED = {MONITOR_KEY: "restored", "silence": "restored", **dict.fromkeys(WARMUPS, "done")}
MOMENTS = ("before-persist", "before-effect", "after-effect", "after-persist")
BEFORE, EVENT = ["30s"], ["5s"]  # the monitor's interval outside and during the event
KEYS = 40
OPEN = {"pending", "inProgress", "applied", "restoring"}


class _Warm(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, WarmupEndpoint)
        self.server.calls += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class WarmupEndpoint(HTTPServer):
    """The application's warm-up URL on loopback: counts the calls it gets."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _Warm)
        self.calls = 0
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/warm"


@dataclass
class Shop:
    """One namespace: a ServiceMonitor, cached keys in Redis, a warm-up URL, and the
    EventDay ``sale`` that changes the monitor's interval, silences alerts, extends the
    keys' TTLs, calls the URL and runs a warm-up Job."""

    stack: Stack
    kube: client.ApiClient
    namespace: str
    warm: WarmupEndpoint
    name: str = "sale"
    apis: Any = field(init=False)

    def __post_init__(self) -> None:
        self.apis = client.CustomObjectsApi(self.kube)

    def create(self) -> None:
        self.apis.create_namespaced_custom_object(
            "monitoring.coreos.com",
            "v1",
            self.namespace,
            "servicemonitors",
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": {"name": "web"},
                "spec": {
                    "selector": {"matchLabels": {"app": "web"}},
                    "endpoints": [{"port": "http", "interval": BEFORE[0]}],
                },
            },
        )
        self.fill()
        later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=30)
        overrides: dict[str, Any] = {
            "monitoring": {"interval": EVENT[0], "monitors": [{"name": "web"}]},
            "alerts": {},
            "cache": {
                "extendTtl": {"pattern": "product:*", "ttlSeconds": 3600, "batch": 100},
                "httpWarmup": {"url": self.warm.url},
                "jobTemplate": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "prime", "image": "example.invalid/prime:1"}],
                        }
                    }
                },
            },
        }
        body = eventday_body(self.name, later, later + dt.timedelta(hours=2), **overrides)
        create_eventday(self.kube, self.namespace, body)
        wait_for(lambda: self.phase() == "Scheduled", 30, "phase Scheduled")

    def fill(self) -> None:
        assert self.stack.redis is not None
        with self.stack.redis.client() as r:
            pipe = r.pipeline(transaction=False)
            for i in range(KEYS):
                pipe.set(f"{self.namespace}:product:{i}", "x", ex=600)
            pipe.execute()

    # -- on-call control ------------------------------------------------------------------------
    def _annotate(self, annotations: dict[str, str]) -> None:
        self.apis.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            self.namespace,
            "eventdays",
            self.name,
            {"metadata": {"annotations": annotations}},
            _content_type="application/merge-patch+json",
        )

    def start_now(self) -> None:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        window = f"{now:%Y-%m-%dT%H:%M:%SZ}/{now + dt.timedelta(minutes=20):%Y-%m-%dT%H:%M:%SZ}"
        self._annotate({"crestline.dev/manual-window": window})

    def stop_now(self) -> None:
        self._annotate(
            {"crestline.dev/stopped-at": f"{dt.datetime.now(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"}
        )

    def delete(self) -> None:
        self.apis.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "eventdays", self.name
        )

    # -- what is there --------------------------------------------------------------------------
    def get(self) -> dict[str, Any] | None:
        try:
            obj = self.apis.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "eventdays", self.name
            )
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(obj)

    def phase(self) -> str | None:
        obj = self.get() or {}
        phase: str | None = obj.get("status", {}).get("phase")
        return phase

    def ledger(self) -> dict[str, dict[str, Any]]:
        obj = self.get() or {}
        return {r["key"]: r for r in obj.get("status", {}).get("actions", [])}

    def states(self) -> dict[str, str]:
        return {k: r["state"] for k, r in self.ledger().items()}

    def monitor(self) -> tuple[list[str | None], int]:
        """The ServiceMonitor's intervals, and its generation (one per spec change)."""
        obj = self.apis.get_namespaced_custom_object(
            "monitoring.coreos.com", "v1", self.namespace, "servicemonitors", "web"
        )
        return [e.get("interval") for e in obj["spec"]["endpoints"]], int(
            obj["metadata"]["generation"]
        )

    def silences(self) -> list[dict[str, Any]]:
        """Every silence ever made for this EventDay (Alertmanager keeps expired ones)."""
        assert self.stack.alertmanager is not None
        url = f"{self.stack.alertmanager.url}/api/v2/silences"
        return [
            s
            for s in requests.get(url, timeout=5).json()
            if s["createdBy"] == "crestline"
            and f"eventday={self.namespace}/{self.name} " in s["comment"]
        ]

    def active_silences(self) -> int:
        return sum(s["status"]["state"] == "active" for s in self.silences())

    def ttls(self) -> list[int]:
        assert self.stack.redis is not None
        with self.stack.redis.client() as r:
            return [int(r.ttl(f"{self.namespace}:product:{i}")) for i in range(KEYS)]

    def extended(self) -> bool:
        return all(t > 3000 for t in self.ttls())

    def jobs(self) -> int:
        batch: Any = client.BatchV1Api(self.kube)
        return len(batch.list_namespaced_job(self.namespace).items)

    def effect(self, kind: str) -> bool:
        """Whether the change of ``kind`` is in place (or was made) right now."""
        checks: dict[str, Callable[[], bool]] = {
            "monitor": lambda: self.monitor()[0] == EVENT,
            "silence": lambda: self.active_silences() > 0,
            "cache/ttl": self.extended,
            "cache/http": lambda: self.warm.calls > 0,
            "cache/job": lambda: self.jobs() > 0,
        }
        return checks[kind]()

    def reasons(self) -> list[str]:
        return [e.reason for e in events_for(self.kube, self.namespace, self.name)]

    def condition(self, type_: str) -> dict[str, Any] | None:
        return condition(self.get() or {}, type_)

    # -- the ends a run must reach ----------------------------------------------------------------
    def applied(self) -> bool:
        return (
            self.states() == APPLIED
            and self.monitor()[0] == EVENT
            and self.active_silences() == 1
            and self.extended()
            and self.warm.calls > 0
            and self.jobs() == 1
        )

    def restored(self) -> bool:
        return (
            self.states() == RESTORED
            and self.monitor()[0] == BEFORE
            and self.active_silences() == 0
        )

    def assert_once(self, *, http_calls: int = 1) -> None:
        """Everything happened exactly once and nothing was reported that did not happen.
        (An HTTP warm-up is at least once: a kill after the call and before its record
        repeats it; ``http_calls`` says when that is expected.)"""
        intervals, generation = self.monitor()
        assert intervals == BEFORE
        # created (1), set to the event's interval (2), put back (3): nothing more
        assert generation == 3, f"the ServiceMonitor changed {generation - 1} times"
        made = self.silences()
        assert len(made) == 1, f"{len(made)} silences for one activation: {made}"
        assert made[0]["status"]["state"] == "expired"
        assert self.extended()
        assert self.warm.calls == http_calls
        assert self.jobs() == 1
        reasons = self.reasons()
        assert "Drift" not in reasons
        # each change's Event once, even when the kill came between the change and its record
        for reason in ("MonitorInterval", "AlertsSilenced", "MonitorRestored", "SilenceExpired"):
            assert reasons.count(reason) == 1, (reason, reasons)
        assert reasons.count("CacheWarmup") == len(WARMUPS), reasons

    def assert_no_drift(self) -> None:
        drift = self.condition("Drift")
        assert drift is not None
        assert drift["status"] == "False", drift
        assert "Drift" not in self.reasons()


def settle(
    shop: Shop, op: OperatorProcess, until: Callable[[], Any], timeout: float, what: str
) -> None:
    """wait_for, and when it times out, what the EventDay and the operator said."""
    try:
        wait_for(until, timeout, what)
    except TimeoutError as exc:
        obj = shop.get() or {}
        raise AssertionError(
            f"{exc}\nledger: {shop.ledger()}\nconditions: {obj.get('status', {}).get('conditions')}"
            f"\nevents: {shop.reasons()}\noperator log:\n{op.tail(80)}"
        ) from exc


@pytest.fixture
def shop(stack: Stack, kube: client.ApiClient, crds: None, namespace: str) -> Iterator[Shop]:
    warm = WarmupEndpoint()
    yield Shop(stack, kube, namespace, warm)
    warm.shutdown()
    warm.server_close()


def check_stopped_at(shop: Shop, point: str) -> None:
    """What is persisted and in place is what the moment of ``point`` implies: proof the
    kill happened there, to this EventDay."""
    if point.startswith("eventday.finalizer."):
        obj = shop.get()
        if point.endswith("before-remove"):
            assert obj is not None
            assert "crestline.dev/restore" in obj["metadata"]["finalizers"]
            assert shop.restored()
        else:
            assert obj is None or "crestline.dev/restore" not in obj["metadata"].get(
                "finalizers", []
            )
        return
    _, direction, rest = point.split(".", 2)
    kind, moment = rest.rsplit(".", 1)
    record = shop.ledger().get(KINDS[kind])
    state = None if record is None else record["state"]
    if direction == "apply":
        begun, finished = ("inProgress", "done") if kind in WARMUPS else ("pending", "applied")
        expected = {
            "before-persist": (None, False),
            "before-effect": (begun, False),
            "after-effect": (begun, True),
            "after-persist": (finished, True),
        }[moment]
    else:
        expected = {
            "before-persist": ("applied", True),
            "before-effect": ("restoring", True),
            "after-effect": ("restoring", False),
            "after-persist": ("restored", False),
        }[moment]
    assert (state, shop.effect(kind)) == expected, shop.ledger()


# -- kills: every ledger step, in each phase -------------------------------------------------------

APPLY = [f"ledger.apply.{k}.{m}" for k in KINDS for m in MOMENTS]
RESTORE = [f"ledger.restore.{k}.{m}" for k in ("monitor", "silence") for m in MOMENTS]
FINALIZER = ["eventday.finalizer.before-remove", "eventday.finalizer.after-remove"]
# The default run: the moment of each phase where a mistake would show most (a duplicate
# silence; a false drift on the monitor; a silence expired but not recorded, then deletion).
DEFAULT = {
    "apply": "ledger.apply.silence.after-effect",
    "restore": "ledger.restore.monitor.after-effect",
    "delete": "ledger.restore.silence.after-effect",
}
MATRIX = [
    *(("apply", p) for p in APPLY),
    *(("restore", p) for p in RESTORE),
    *(("delete", p) for p in RESTORE + FINALIZER),
]


def _cases() -> list[Any]:
    default = [
        pytest.param(phase, point, id=f"{phase}:{point}") for phase, point in DEFAULT.items()
    ]
    every = [
        pytest.param(phase, point, id=f"all-{phase}:{point}", marks=pytest.mark.faults)
        for phase, point in MATRIX
    ]
    return default + every


@pytest.fixture(autouse=True)
def _faults_only_when_asked(request: pytest.FixtureRequest) -> None:
    """The long variant runs only when selected (``-m faults``)."""
    asked = request.config.getoption("markexpr") or ""
    if request.node.get_closest_marker("faults") and "faults" not in asked:
        pytest.skip("every failpoint: run with -m faults (make faults)")


@pytest.mark.parametrize(("phase", "point"), _cases())
def test_a_kill_at_a_ledger_step_repeats_nothing_and_loses_nothing(
    op: OperatorProcess, shop: Shop, phase: str, point: str
) -> None:
    shop.create()
    if phase == "apply":
        restart(op, point)
        shop.start_now()
        await_kill(op, point)
    else:
        shop.start_now()
        settle(shop, op, shop.applied, within(EVD_INTERVAL), "everything applied")
        restart(op, point)
        if phase == "restore":
            shop.stop_now()
        else:
            shop.delete()
        await_kill(op, point)
    check_stopped_at(shop, point)

    restart(op)  # the failpoint is gone; from here on it must recover by itself
    back = time.monotonic()
    if phase == "apply":
        settle(shop, op, shop.applied, within(EVD_INTERVAL), "everything applied after the restart")
        print(f"recovered {time.monotonic() - back:.1f}s after the restart")
        shop.assert_no_drift()
        shop.stop_now()
        settle(shop, op, shop.restored, within(EVD_INTERVAL), "everything restored")
    elif phase == "restore":
        settle(
            shop, op, shop.restored, within(EVD_INTERVAL), "everything restored after the restart"
        )
        print(f"recovered {time.monotonic() - back:.1f}s after the restart")
    if phase != "delete":
        shop.assert_no_drift()
        shop.delete()
    settle(shop, op, lambda: shop.get() is None, within(EVD_INTERVAL), "the EventDay to be deleted")
    if phase == "delete":
        print(f"recovered {time.monotonic() - back:.1f}s after the restart")
    shop.assert_once(http_calls=2 if point == "ledger.apply.cache/http.after-effect" else 1)


@pytest.mark.faults
def test_a_kill_between_the_scale_and_the_status_write_keeps_the_rate_limit(
    op: OperatorProcess,
    kube: client.ApiClient,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=100)  # breaching from the start: far more than 2 pods wanted
    body = slo_body("web", "web", namespace, mode="dryRun")
    body["spec"]["scaling"]["behavior"]["scaleUp"]["policies"] = [
        {"type": "Pods", "value": 2, "periodSeconds": PERIOD}
    ]
    create_slo(kube, namespace, body)

    def recommends() -> bool:
        status = get_slo(kube, namespace, "web").get("status", {})
        return bool(status.get("desiredReplicas", 0) == 4 and status.get("currentReplicas") == 2)

    wait_for(recommends, 60, "a recommendation of 4 (2 pods per period) in dryRun")
    with Replicas(kube, namespace, "web") as seen:
        restart(op, "slo.after-scale")
        # enforcing now: the next evaluation writes the replicas, and dies before its status
        client.CustomObjectsApi(kube).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "performanceslos",
            "web",
            {"spec": {"mode": "enforce"}},
            _content_type="application/merge-patch+json",
        )
        await_kill(op, "slo.after-scale")
        killed = time.monotonic()
        assert replicas(kube, namespace, "web") == 4
        assert get_slo(kube, namespace, "web")["status"]["currentReplicas"] == 2  # unrecorded
        restart(op)

        def caught_up() -> bool:
            status = get_slo(kube, namespace, "web").get("status", {})
            return bool(status.get("currentReplicas") == replicas(kube, namespace, "web"))

        wait_for(caught_up, within(SLO_INTERVAL), "the status to catch up with the replicas")
        assert replicas(kube, namespace, "web") == 4, "a second step inside the policy's period"
        mark = len(seen.seen)
        time.sleep(2 * SLO_INTERVAL)  # a few evaluations, all inside the policy's period
        assert time.monotonic() - killed < PERIOD, "too slow to tell: the period is over"
        assert set(seen.since(mark)) == {4}, "a second step inside the policy's period"
    seen.assert_within(2, 10)


PERIOD = 120  # the scale-up policy's period in the test above


# -- replicas, watched all along ----------------------------------------------------------------


class Replicas:
    """Samples a Deployment's replicas in the background: every count it ever had."""

    def __init__(self, kube: client.ApiClient, namespace: str, name: str) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name
        self.seen: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # the API server may be away
                self.seen.append(replicas(self.kube, self.namespace, self.name))
            self._stop.wait(0.2)

    def __enter__(self) -> Replicas:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def since(self, mark: int) -> list[int]:
        return self.seen[mark:]

    def assert_within(self, low: int, high: int) -> None:
        assert self.seen, "no replica count was ever read"
        assert low <= min(self.seen), f"below the floor {low}: {sorted(set(self.seen))}"
        assert max(self.seen) <= high, f"above maxReplicas {high}: {sorted(set(self.seen))}"


def steady_slo(kube: client.ApiClient, namespace: str, name: str = "web") -> None:
    """Create a 2 s SLO on ``name`` and wait until it reads its metrics."""
    create_slo(kube, namespace, slo_body(name, name, namespace, cpu=0.7))
    wait_condition(kube, namespace, name, "MetricsAvailable", "True", timeout=60)


# -- Prometheus ---------------------------------------------------------------------------------


def test_prometheus_down_holds_replicas_and_recovers(
    stack: Stack,
    kube: client.ApiClient,
    op: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    assert stack.prometheus is not None
    w = workload(replicas=3, rps=40)
    steady_slo(kube, namespace)
    with Replicas(kube, namespace, "web") as seen:
        held = replicas(kube, namespace, "web")
        mark = len(seen.seen)
        stack.prometheus.stop()
        stopped = time.monotonic()
        try:
            c = wait_condition(
                kube, namespace, "web", "MetricsAvailable", "False", timeout=within(SLO_INTERVAL)
            )
            assert c["message"], c
            print(f"without Prometheus: {c['reason']}: {c['message']}")
            ready = condition(get_slo(kube, namespace, "web"), "Ready")
            assert ready is not None
            assert (ready["status"], ready["reason"]) == ("False", "MetricsUnavailable")
            time.sleep(3 * SLO_INTERVAL)  # several evaluations without metrics
            assert set(seen.since(mark)) == {held}, "scaled without metrics"
            # long enough that every sample from before falls out of the rate windows, so
            # an answer to the query below is made of scrapes after the restart
            time.sleep(max(0.0, stopped + RATE_WINDOW + 2 - time.monotonic()))
        finally:
            stack.prometheus.start()
        # Back means answering the SLO's queries again: its rate windows fill with new
        # scrapes first (Prometheus' own seconds, not the operator's).
        wait_for(lambda: _p95(stack, w) > 0, 60, "Prometheus answering the SLO's query")
        back = time.monotonic()
        wait_condition(
            kube, namespace, "web", "MetricsAvailable", "True", timeout=within(SLO_INTERVAL)
        )
        print(f"metrics again {time.monotonic() - back:.1f}s after Prometheus answered")
        assert set(seen.since(mark)) == {held}
    seen.assert_within(2, 10)
    reasons = [e.reason for e in events_for(kube, namespace, "web")]
    assert reasons.count("ScaledDown") == 0


# -- Redis ---------------------------------------------------------------------------------------


def _redis_process(stack: Stack) -> ManagedProcess:
    assert stack.redis is not None
    assert stack.redis.process is not None
    return stack.redis.process


def _redis_up(stack: Stack) -> None:
    """Start the stack's Redis again, on its port, with the keys it saved."""
    assert stack.redis is not None
    redis = stack.redis
    proc = _redis_process(stack)
    proc.start()

    def pong() -> bool:
        with redis.client() as conn:
            return bool(conn.ping())

    proc.wait_ready(pong, 30)


def _redis_down(stack: Stack) -> None:
    """Stop the stack's Redis after it saved its keys (they come back with it)."""
    assert stack.redis is not None
    with stack.redis.client() as conn:
        conn.shutdown(save=True)
    _redis_process(stack).stop()


def _ready(shop: Shop) -> dict[str, Any]:
    c = shop.condition("Ready")
    assert c is not None
    return c


def test_redis_down_during_a_warmup_is_reported_then_retried_once_it_is_back(
    stack: Stack, op: OperatorProcess, shop: Shop
) -> None:
    shop.create()
    _redis_down(stack)
    try:
        shop.start_now()

        def problem() -> bool:
            c = shop.condition("Ready")
            return bool(c and c["reason"] == "Problems" and "cache/ttl" in c["message"])

        wait_for(problem, within(EVD_INTERVAL), "the TTL action reported as a problem")
        print(f"Redis down: {_ready(shop)['message']}")
        assert shop.states()["cache/ttl"] == "inProgress"
        # the other actions went on without it
        settle(
            shop,
            op,
            lambda: shop.monitor()[0] == EVENT and shop.active_silences() == 1,
            10,
            "others",
        )
    finally:
        _redis_up(stack)
    # retried within seconds (a problem shortens the EventDay's next evaluation to 10 s)
    settle(shop, op, shop.applied, 10 + SLACK, "the TTL extension after Redis is back")
    wait_for(lambda: _ready(shop)["status"] == "True", within(EVD_INTERVAL), "Ready again")
    assert "Problems" in shop.reasons()
    shop.stop_now()
    settle(shop, op, shop.restored, within(EVD_INTERVAL), "everything restored")
    shop.assert_no_drift()
    shop.delete()
    settle(shop, op, lambda: shop.get() is None, within(EVD_INTERVAL), "the EventDay to be deleted")
    shop.assert_once()


def test_a_hung_redis_stalls_only_the_eventday_that_needs_it(
    stack: Stack,
    kube: client.ApiClient,
    op: OperatorProcess,
    namespace: str,
    shop: Shop,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=40)
    names = [f"web-{i}" for i in range(3)]
    for name in names:
        body = slo_body(name, "web", namespace, mode="dryRun")
        create_slo(kube, namespace, body)
    for name in names:
        wait_condition(kube, namespace, name, "MetricsAvailable", "True", timeout=60)
    shop.create()
    pid = _redis_process(stack).pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        shop.start_now()

        def problem() -> bool:
            c = shop.condition("Ready")
            return bool(c and c["reason"] == "Problems" and "cache/ttl" in c["message"])

        wait_for(problem, within(EVD_INTERVAL) + 3, "the hung Redis reported as a problem")
        print(f"Redis hung: {_ready(shop)['message']}")
        # The hang costs the EventDay one bounded call per retry; the SLOs go on on time.
        before = evaluations(op, "slo")
        watch = 20.0  # two retries of the EventDay, each stuck for a socket timeout
        deadline = time.monotonic() + watch
        while time.monotonic() < deadline:
            for name in names:
                lagging = condition(get_slo(kube, namespace, name), "Lagging")
                assert lagging is not None
                assert lagging["status"] == "False", lagging
            time.sleep(1)
        done = evaluations(op, "slo") - before
        print(f"{done:.0f} SLO evaluations in {watch:.0f} s with Redis hung")
        # on time, each SLO is evaluated every 2 s: ask for half of that, not a speed
        assert done >= len(names) * watch / SLO_INTERVAL / 2, f"only {done} evaluations"
        assert shop.states()["cache/ttl"] == "inProgress"
    finally:
        os.kill(pid, signal.SIGCONT)
    settle(shop, op, shop.applied, 10 + SLACK, "the TTL extension once Redis answers")
    wait_for(lambda: _ready(shop)["status"] == "True", within(EVD_INTERVAL), "Ready again")
    shop.stop_now()
    settle(shop, op, shop.restored, within(EVD_INTERVAL), "everything restored")
    shop.assert_no_drift()
    shop.delete()
    settle(shop, op, lambda: shop.get() is None, within(EVD_INTERVAL), "the EventDay to be deleted")
    shop.assert_once()


# -- the API server -------------------------------------------------------------------------------


def _p95(stack: Stack, w: Workload) -> float:
    assert stack.prometheus is not None
    result = stack.prometheus.query(p95_query(w))
    return float(result[0]["value"][1]) if result else 0.0


def _control_plane(stack: Stack, name: str) -> ManagedProcess:
    assert stack.control_plane is not None
    return next(p for p in stack.control_plane.processes if p.name == name)


def _api_ready(kube: client.ApiClient) -> bool:
    core: Any = client.CoreV1Api(kube)
    try:
        core.read_namespace("default", _request_timeout=2)
    except Exception:
        return False
    return True


def test_an_api_server_restart_causes_no_wrong_action_and_a_2s_slo_resumes(
    stack: Stack,
    kube: client.ApiClient,
    op: OperatorProcess,
    namespace: str,
    shop: Shop,
    workload: Callable[..., Workload],
) -> None:
    assert stack.prometheus is not None
    w = workload(replicas=2, rps=40)
    steady_slo(kube, namespace)
    assert replicas(kube, namespace, "web") == 2
    shop.create()  # and an EventDay in force across the restart (it selects no SLO here)
    shop.start_now()
    settle(shop, op, shop.applied, within(EVD_INTERVAL), "everything applied")
    apiserver = _control_plane(stack, "kube-apiserver")
    with Replicas(kube, namespace, "web") as seen:
        apiserver.stop()
        away = time.monotonic()
        try:
            # A breach while the API server is away: nothing can (or may) act on it yet.
            w.set_load(100)
            wait_for(lambda: _p95(stack, w) > 0.5, 60, "the breach to show in Prometheus")
            # longer than a shard lease: the operator must stop acting, then take it back
            time.sleep(max(0.0, away + LEASE_SECONDS + 2 - time.monotonic()))
        finally:
            apiserver.start()
            wait_for(lambda: _api_ready(kube), 120, "the API server back")
            print(f"API server away {time.monotonic() - away:.1f}s")
        back = time.monotonic()
        assert op.alive(), op.tail()
        wait_for(
            lambda: replicas(kube, namespace, "web") > 2,
            within(SLO_INTERVAL),
            "the 2 s SLO acting on the breach",
        )
        print(f"scaled {time.monotonic() - back:.1f}s after the API server was back")
        wait_condition(kube, namespace, "web", "Ready", "True", timeout=within(SLO_INTERVAL))
    seen.assert_within(2, 10)
    assert _control_plane(stack, "kube-controller-manager").running()
    assert shop.applied()  # nothing repeated or undone by the restart
    shop.stop_now()
    settle(shop, op, shop.restored, within(EVD_INTERVAL), "everything restored")
    shop.assert_no_drift()
    shop.delete()
    settle(shop, op, lambda: shop.get() is None, within(EVD_INTERVAL), "the EventDay to be deleted")
    shop.assert_once()


# -- one EventDay that cannot be evaluated, selecting 50 SLOs ----------------------------------

FLEET = 50
FLEET_INTERVAL = 5


def test_an_eventday_that_cannot_be_evaluated_is_ignored_by_its_50_slos(
    stack: Stack,
    kube: client.ApiClient,
    op: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
) -> None:
    workload(replicas=2, rps=40)  # the metrics every SLO reads
    names = [f"svc-{i:02d}" for i in range(FLEET)]
    for name in names:
        create_deployment(kube, namespace, name, 2)
        body = slo_body(name, name, namespace, evaluation={"intervalSeconds": FLEET_INTERVAL})
        # all read the simulated "web": what they read does not matter here, that they do
        body["spec"]["objectives"][0]["preset"]["latency"]["selector"] = (
            f'service="web",namespace="{namespace}"'
        )
        body["metadata"]["labels"] = {"tier": "shop"}
        create_slo(kube, namespace, body)

    def evaluated(name: str) -> dict[str, Any] | None:
        status: dict[str, Any] = get_slo(kube, namespace, name).get("status", {})
        return status if status.get("lastEvaluationTime") else None

    for name in names:
        wait_for(functools.partial(evaluated, name), 60, f"a first evaluation of {name}")

    # Valid at the door (the CRD accepts it), but its trail time reaches past year 9998.
    body = eventday_body(
        "broken",
        dt.datetime(9998, 12, 31),
        dt.datetime(9998, 12, 31, 23),
        trail="366d",
        capacity={"minReplicas": 9},
    )
    create_eventday(kube, namespace, body)

    def ignored(name: str) -> bool:
        status = get_slo(kube, namespace, name).get("status", {})
        return any(e["name"] == "broken" for e in status.get("ignoredEventDays", []))

    for name in names:
        wait_for(functools.partial(ignored, name), within(FLEET_INTERVAL), f"{name} ignoring it")
    time.sleep(2 * FLEET_INTERVAL)  # a few more evaluations each: still one Warning each
    evd: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "eventdays", "broken"
    )
    ready = condition(evd, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert ready["message"].startswith("the schedule cannot be evaluated: schedule.windows[0]")
    by_object: dict[str, list[str]] = {}
    for e in client.CoreV1Api(kube).list_namespaced_event(namespace).items:
        if e.involved_object and e.type == "Warning":
            by_object.setdefault(str(e.involved_object.name), []).append(str(e.reason))
    assert by_object.get("broken") == ["InvalidSpec"]
    for name in names:
        status = get_slo(kube, namespace, name)["status"]
        [entry] = [e for e in status["ignoredEventDays"] if e["name"] == "broken"]
        assert "schedule.windows[0]" in entry["reason"]
        lagging = condition({"status": status}, "Lagging")
        assert lagging is not None
        assert lagging["status"] == "False", (name, lagging)
        assert status["mode"] == "enforce"  # not in event mode: the floor of 9 is not applied
        assert by_object.get(name, []).count("EventDayIgnored") == 1, (name, by_object.get(name))
        assert replicas(kube, namespace, name) < 9
