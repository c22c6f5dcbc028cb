"""One team never reaches another: every attempt from team A against team B, on the real
stack, through the real API server as team A's user.

Two namespaces, ``team-a-<hex>`` and ``team-b-<hex>``, deliberately *not* matching the
``e2e-*`` pattern the other end-to-end tests are allowed to use: the default deny
applies, and the suite's own operator gets a configuration with only what each check
needs (team A may name URLs under one prefix of a shared loopback "ingress", and use
Secrets of its namespace that are labelled for the operator; team B may do nothing
beyond the defaults). Each team's user is a ServiceAccount of its namespace with a
namespaced Role over crestline's objects only.

Every attempt is refused with a reason on A's own object (a condition or an Event A can
read) and leaves B's alerts, series, keys and silences as they were. "Nothing was sent"
is proven by loopback servers that record every request they receive; the shared
Prometheus sits behind a recording gateway, so every query the operator sent is checked
to be confined to one namespace.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from kubernetes import client

from crestline.api.base import GROUP, VERSION
from crestline.policy.promql import is_confined
from crestline_dev.scenario import (
    OperatorProcess,
    create_deployment,
    eventday_body,
    start_operator,
    wait_for,
)
from crestline_dev.stack import Stack
from tests.e2e.tenants import (
    Exporter,
    HugeResponse,
    LoopbackServer,
    PrometheusProxy,
    Series,
    Team,
    make_team,
    ok,
    post_probe_alerts,
    probe_of,
    redirect_to,
    unsilenced_probes,
    vm_rss_kib,
)

pytestmark = pytest.mark.stack

SLOS, EVENTDAYS = "performanceslos", "eventdays"
MAX_SILENCE_SECONDS = 600
MAX_TTL_SECONDS = 7200
HUGE = 200 << 20  # 200 MiB
RSS_MARGIN_MIB = 24  # "a few MiB" is the behaviour; the bound leaves room for noise
A_RATE, B_RATE = 2.0, 100.0  # orders per second, per namespace
RATE = "sum(rate(shop_orders_total[10s]))"
B_BALANCE = 31337.25  # a value only B's series carry
SECRET_NAME = "payments-db"


@dataclass
class Suite:
    stack: Stack
    kube: client.ApiClient
    a: Team
    b: Team
    ingress: LoopbackServer  # a shared gateway: /team-a/ is A's, anything else is not
    b_service: LoopbackServer  # another team's service
    metadata: LoopbackServer  # stands in for a cloud metadata address (not allow-listed)
    prometheus: PrometheusProxy  # the shared Prometheus, recorded
    huge: HugeResponse
    operator: OperatorProcess
    b_silence: str  # a silence crestline made for B's own EventDay
    secret_value: str  # in A's namespace, readable by neither A nor the operator

    @property
    def am(self) -> str:
        assert self.stack.alertmanager is not None
        return self.stack.alertmanager.url


# -- the suite's world ------------------------------------------------------------------------
def _exporter(a: str, b: str) -> Exporter:
    return Exporter(
        [
            Series("shop_orders_total", {"namespace": a}, lambda t: 1000 + A_RATE * t, "counter"),
            Series("shop_orders_total", {"namespace": b}, lambda t: 5000 + B_RATE * t, "counter"),
            Series("shop_queue_depth", {"namespace": a, "queue": "orders"}, lambda t: 3.0),
            Series("shop_queue_depth", {"namespace": b, "queue": "orders"}, lambda t: 9.0),
            Series("team_b_ledger_balance", {"namespace": b}, lambda t: B_BALANCE),
        ]
    )


def _config(suite_urls: dict[str, str], stack: Stack, a: str) -> dict[str, Any]:
    assert stack.alertmanager is not None
    assert stack.redis is not None
    return {
        "endpoints": {
            "prometheus": [{"name": "default", "url": suite_urls["prometheus"]}],
            "alertmanager": [{"name": "default", "url": stack.alertmanager.url}],
            "redis": [{"name": "default", "url": stack.redis.url}],  # shared: keys prefixed
        },
        # Only A gets anything beyond the defaults, and only what the checks need.
        "tenants": [
            {
                "namespaces": [a],
                "allowUrls": [f"{suite_urls['ingress']}/team-a/"],
                "allowSecrets": True,
            }
        ],
        "limits": {
            "minIntervalSeconds": 1,
            "maxSilenceSeconds": MAX_SILENCE_SECONDS,
            "maxTtlSeconds": MAX_TTL_SECONDS,
        },
    }


@pytest.fixture(scope="module")
def suite(
    stack: Stack,
    kube: client.ApiClient,
    crds: None,
    operator: OperatorProcess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Suite]:
    assert stack.prometheus is not None
    assert stack.redis is not None
    assert stack.alertmanager is not None
    hexa = uuid.uuid4().hex[:8]
    a_ns, b_ns = f"team-a-{hexa}", f"team-b-{hexa}"
    a, b = make_team(stack, kube, a_ns), make_team(stack, kube, b_ns)

    exporter = LoopbackServer(routes=[("/metrics", _exporter(a_ns, b_ns))]).start()
    job = f"tenancy-{hexa}"
    stack.prometheus.add_target(job, exporter.address)
    proxy = PrometheusProxy(stack.prometheus.url)
    gateway = LoopbackServer(routes=[("/", proxy)]).start()
    b_service = LoopbackServer().start()
    metadata = LoopbackServer(host="127.0.0.2").start()
    huge = HugeResponse(HUGE)
    ingress = LoopbackServer(
        routes=[
            ("/team-a/huge/", huge),
            ("/team-a/redirect/", redirect_to(f"{b_service.url}/team-b/api/v1/query")),
            ("/team-a/", ok),
        ]
    ).start()
    servers = [exporter, gateway, b_service, metadata, ingress]

    core = client.CoreV1Api(kube)
    secret_value = f"s3cret-{uuid.uuid4().hex}"
    secret: Any = {"metadata": {"name": SECRET_NAME}, "stringData": {"token": secret_value}}
    core.create_namespaced_secret(a_ns, secret)  # unlabelled; A's Role cannot read it
    account: Any = {"metadata": {"name": "deployer"}}  # more than the team's own rights
    core.create_namespaced_service_account(a_ns, account)
    for ns in (a_ns, b_ns):
        create_deployment(kube, ns, "app", 1)

    # One operator at a time: the session's one acts on every namespace with another
    # configuration, so it makes way for the suite's own.
    operator.stop()
    log = tmp_path_factory.mktemp("tenancy") / "operator.log"
    urls = {"prometheus": gateway.url, "ingress": ingress.url}
    op = start_operator(stack, log, config=_config(urls, stack, a_ns))
    try:
        stack.prometheus.wait_for_value(f'team_b_ledger_balance{{namespace="{b_ns}"}}')
        b_silence = _team_b_at_work(b)
        yield Suite(
            stack=stack,
            kube=kube,
            a=a,
            b=b,
            ingress=ingress,
            b_service=b_service,
            metadata=metadata,
            prometheus=proxy,
            huge=huge,
            operator=op,
            b_silence=b_silence,
            secret_value=secret_value,
        )
    finally:
        _teardown(stack, kube, [a_ns, b_ns], op)
        op.stop()
        operator.restart()
        stack.prometheus.set_scrape_configs(
            [c for c in stack.prometheus.scrape_configs if c["job_name"] != job]
        )
        for server in servers:
            server.stop()


def _team_b_at_work(b: Team) -> str:
    """B's own SLO (evaluated every 2 s) and an EventDay muting one of B's own alerts;
    returns the id of the silence crestline made for it."""
    b.create(SLOS, _slo("orders", b.namespace, _query("rate", RATE)))
    _wait_value(b, "orders", B_RATE)
    b.create(
        EVENTDAYS,
        _eventday("maintenance", alerts={"matchers": [{"name": "alertname", "value": "BOwn"}]}),
    )
    return _silence_of(b, "maintenance")


def _teardown(
    stack: Stack, kube: client.ApiClient, namespaces: list[str], op: OperatorProcess
) -> None:
    assert stack.redis is not None
    assert stack.alertmanager is not None
    post_probe_alerts(stack.alertmanager.url, namespaces, minutes=0)  # resolved
    with stack.redis.client() as r:
        for ns in namespaces:
            for key in r.scan_iter(match=f"{ns}:*"):
                r.delete(key)
        r.delete("global:flags")
    core = client.CoreV1Api(kube)
    for ns in namespaces:
        core.delete_namespace(ns)

    def gone() -> bool:
        names = {n.metadata.name for n in core.list_namespace().items if n.metadata}
        return not names & set(namespaces)

    # While the suite's operator still runs: it restores the EventDays (their finalizer).
    try:
        wait_for(gone, 60, "the suite's namespaces to go")
    except TimeoutError:
        print(f"namespaces still terminating; operator log tail:\n{op.tail()}")


# -- object helpers ---------------------------------------------------------------------------
def _query(name: str, promql: str, target: float = 1e9, **more: Any) -> dict[str, Any]:
    return {"name": name, "query": promql, "target": target, **more}


def _slo(name: str, namespace: str, *objectives: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A dry-run SLO on the namespace's Deployment ``app``, read every 2 s: it reads, and
    touches nothing (only the fields the checks need: tuning is not what this is about)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PerformanceSLO",
        "metadata": {"name": name},
        "spec": {
            "targetRef": {"name": "app"},
            "objectives": list(objectives),
            "scaling": {"minReplicas": 1, "maxReplicas": 2},
            "evaluation": {"intervalSeconds": 2, "timeoutSeconds": 2},
            "mode": "dryRun",
            **spec,
        },
    }


def _eventday(name: str, **overrides: Any) -> dict[str, Any]:
    """An EventDay in force now and for two hours, selecting no SLO."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return eventday_body(
        name, now, now + dt.timedelta(hours=2), labels={"tenancy": "nothing"}, **overrides
    )


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in obj.get("status", {}).get("conditions", []):
        if c["type"] == type_:
            return dict(c)
    return None


def _metrics(team: Team, name: str, status: str, timeout: float = 60) -> dict[str, Any]:
    """The SLO's MetricsAvailable condition once it has ``status``, read as the team."""

    def check() -> dict[str, Any] | None:
        c = _condition(team.get(SLOS, name), "MetricsAvailable")
        return c if c is not None and c["status"] == status else None

    found: dict[str, Any] = wait_for(check, timeout, f"{name}: MetricsAvailable={status}")
    return found


def _value(team: Team, name: str) -> float | None:
    objectives = team.get(SLOS, name).get("status", {}).get("objectives") or []
    value = objectives[0].get("value") if objectives else None
    return None if value is None else float(value)


def _wait_value(team: Team, name: str, expected: float) -> None:
    """Wait until the SLO's reading is ``expected`` (within 20 %: a rate over a window that
    fills as the series age)."""

    seen: list[float | None] = []

    def close() -> bool:
        seen.append(_value(team, name))
        return seen[-1] is not None and abs(seen[-1] - expected) <= 0.2 * expected

    try:
        wait_for(close, 60, f"{name} reading about {expected}")
    except TimeoutError as exc:
        status = team.get(SLOS, name).get("status")
        raise AssertionError(f"{exc}; read {seen[-5:]}; status {status}") from exc
    assert _value(team, name) == pytest.approx(expected, rel=0.2)


def _problems(team: Team, name: str, timeout: float = 60) -> str:
    """The EventDay's Ready=False message (its actions' problems), read as the team."""

    def check() -> str | None:
        c = _condition(team.get(EVENTDAYS, name), "Ready")
        if c is not None and c["status"] == "False" and c["reason"] == "Problems":
            return str(c["message"])
        return None

    found: str = wait_for(check, timeout, f"{name}: Ready=False (Problems)")
    return found


def _ledger(team: Team, name: str, key: str, state: str) -> dict[str, Any] | None:
    for record in team.get(EVENTDAYS, name).get("status", {}).get("actions") or []:
        if record["key"] == key and record["state"] == state:
            return dict(record)
    return None


def _silence_of(team: Team, name: str) -> str:
    """The id of the silence crestline made for the team's EventDay ``name``."""
    record = wait_for(lambda: _ledger(team, name, "silence", "applied"), 60, f"{name}'s silence")
    return str(record["ref"])


def _event_messages(team: Team, name: str) -> list[str]:
    """Messages of the Events about ``name``, read as the team (it may list Events)."""
    items = client.CoreV1Api(team.api).list_namespaced_event(team.namespace).items
    return [str(e.message) for e in items if e.involved_object and e.involved_object.name == name]


def _event_with(team: Team, name: str, text: str) -> str:
    found: str = wait_for(
        lambda: next((m for m in _event_messages(team, name) if text in m), None),
        30,
        f"an Event on {name} saying {text!r}",
    )
    return found


def _only(query: str, namespace: str, *, not_: str) -> bool:
    """Whether ``query`` is confined to ``namespace`` (and is not one of ``not_``'s asking
    about it: that one carries both matchers, and reads nothing)."""
    return is_confined(query, label="namespace", value=namespace) and not is_confined(
        query, label="namespace", value=not_
    )


def _forbidden(call: Callable[[], object]) -> bool:
    try:
        call()
    except client.ApiException as exc:
        return bool(exc.status == 403)
    return False


# -- the checks -------------------------------------------------------------------------------
def test_each_team_is_confined_to_its_namespace_by_rbac(suite: Suite) -> None:
    """The users are real and hold a namespaced Role only: what follows is all A can do."""
    a, b = suite.a, suite.b
    body = _slo("intruder", b.namespace, _query("q", "vector(1)"))
    assert _forbidden(
        lambda: a.custom().create_namespaced_custom_object(GROUP, VERSION, b.namespace, SLOS, body)
    )
    assert _forbidden(
        lambda: a.custom().list_namespaced_custom_object(GROUP, VERSION, b.namespace, SLOS)
    )
    assert _forbidden(
        lambda: client.CoreV1Api(a.api).read_namespaced_secret(SECRET_NAME, a.namespace)
    )
    assert _forbidden(lambda: client.BatchV1Api(a.api).list_namespaced_job(a.namespace))
    # The ledger lives in the status subresource, which only the operator writes.
    a.create(EVENTDAYS, _eventday("rbac-probe"))
    patch = [{"op": "add", "path": "/status", "value": {"actions": []}}]
    assert _forbidden(
        lambda: a.custom().patch_namespaced_custom_object_status(
            GROUP, VERSION, a.namespace, EVENTDAYS, "rbac-probe", patch
        )
    )


@pytest.mark.parametrize(
    ("name", "matchers"),
    [
        ("mute-b", [{"name": "namespace", "value": "{b}"}]),
        ("mute-all", [{"name": "namespace", "value": ".*", "isRegex": True}]),
    ],
)
def test_a_silence_never_mutes_team_b(
    suite: Suite, name: str, matchers: list[dict[str, Any]]
) -> None:
    a, b = suite.a, suite.b
    post_probe_alerts(suite.am, [a.namespace, b.namespace])
    wait_for(lambda: probe_of(suite.am, b.namespace), 30, "B's probe alert")
    wanted = [{**m, "value": m["value"].format(b=b.namespace)} for m in matchers]
    a.create(EVENTDAYS, _eventday(name, alerts={"matchers": wanted}))
    silence_id = _silence_of(a, name)
    silence = requests.get(f"{suite.am}/api/v2/silence/{silence_id}", timeout=10).json()
    scoped = [m for m in silence["matchers"] if m["name"] == "namespace"]
    # A's matcher on the namespace is replaced, never added to: exactly one, A's own.
    assert scoped == [
        {"name": "namespace", "value": a.namespace, "isRegex": False, "isEqual": True}
    ], silence
    ends = dt.datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00")).timestamp()
    assert ends <= time.time() + MAX_SILENCE_SECONDS, "a 2 h window made a longer silence"
    # Alertmanager itself says: A's probe is muted by it (the silence works), B's is not.
    wait_for(
        lambda: silence_id in probe_of(suite.am, a.namespace).get("silencedBy", []),
        30,
        "A's probe silenced by it",
    )
    assert silence_id not in probe_of(suite.am, b.namespace).get("silencedBy", [])
    assert b.namespace in unsilenced_probes(suite.am)


def test_queries_read_only_team_a_series(suite: Suite) -> None:
    a, b = suite.a, suite.b
    a.create(
        SLOS,
        _slo(
            "read-b-rate",
            a.namespace,
            _query("q", f'sum(rate(shop_orders_total{{namespace="{b.namespace}"}}[10s]))'),
        ),
    )
    a.create(SLOS, _slo("read-b-bare", a.namespace, _query("q", "team_b_ledger_balance")))
    a.create(SLOS, _slo("read-all", a.namespace, _query("q", '{__name__=~".+"}')))
    a.create(SLOS, _slo("count-all", a.namespace, _query("q", 'count({__name__=~".+"})')))
    a.create(SLOS, _slo("own-rate", a.namespace, _query("q", RATE)))

    for name in ("read-b-rate", "read-b-bare"):
        c = _metrics(a, name, "False")
        assert c["reason"] == "NoData", c
        assert "returned no series" in c["message"], c
    # Every series, unconfined, would be both namespaces' and the scrape's own; confined,
    # it is exactly A's.
    assert suite.stack.prometheus is not None
    own = len(suite.stack.prometheus.query(f'{{namespace="{a.namespace}"}}'))
    both = len(suite.stack.prometheus.query(f'{{namespace=~"{a.namespace}|{b.namespace}"}}'))
    assert 0 < own < both
    counted = wait_for(lambda: _value(a, "count-all"), 60, "count-all's reading")
    assert counted == own
    c = _metrics(a, "read-all", "False")
    assert c["reason"] == "QueryError", c
    assert a.namespace in c["message"], c  # the series listed are A's own...
    assert b.namespace not in c["message"], c  # ...and none of B's
    # A's own rate is A's alone (unconfined, the sum would add B's 100/s).
    _wait_value(a, "own-rate", A_RATE)
    # What reached the shared Prometheus: A's attack queries, each confined to A.
    sent = [q for _, q in suite.prometheus.sent() if "team_b_ledger_balance" in q]
    assert sent, "the query was never sent"
    assert all(is_confined(q, label="namespace", value=a.namespace) for q in sent), sent


def test_a_secret_team_a_cannot_read_is_never_sent(suite: Suite) -> None:
    a = suite.a
    prom = {
        "url": f"{suite.ingress.url}/team-a/prometheus",
        "auth": {"bearerToken": {"name": SECRET_NAME, "key": "token"}},
    }
    a.create(SLOS, _slo("borrowed-token", a.namespace, _query("q", "vector(1)"), prometheus=prom))
    c = _metrics(a, "borrowed-token", "False")
    assert (
        f"Secret {SECRET_NAME} not found, or not labelled crestline.dev/usable-by-operator=true"
        in c["message"]
    ), c
    # A refusal, not an outage: the team is told which label the Secret must carry.
    assert c["reason"] == "NotAllowed", c
    label = "uses only Secrets that carry the label crestline.dev/usable-by-operator=true"
    assert label in c["message"], c
    _event_with(a, "borrowed-token", f"Secret {SECRET_NAME} not found")
    time.sleep(5)  # a few more evaluations
    assert not [s for s in suite.ingress.seen() if s.routed.startswith("/team-a/prometheus")]
    for server in (suite.ingress, suite.b_service, suite.metadata):
        assert not [s for s in server.seen() if s.carries(suite.secret_value)]
    assert suite.secret_value not in str(a.get(SLOS, "borrowed-token").get("status"))


def test_urls_outside_the_allow_list_are_never_called(suite: Suite) -> None:
    a = suite.a
    ingress, other, meta = suite.ingress.url, suite.b_service.url, suite.metadata.url
    a.create(
        SLOS,
        _slo(
            "prom-b", a.namespace, _query("q", "vector(1)"), prometheus={"url": f"{other}/team-b/"}
        ),
    )
    a.create(
        SLOS,
        _slo(
            "prom-dots",
            a.namespace,
            _query("q", "vector(1)"),
            prometheus={"url": f"{ingress}/team-a/../team-b/"},
        ),
    )
    # Allowed, but it redirects to B's service: the operator must not follow.
    a.create(
        SLOS,
        _slo(
            "prom-redirect",
            a.namespace,
            _query("q", "vector(1)"),
            prometheus={"url": f"{ingress}/team-a/redirect/"},
        ),
    )
    a.create(EVENTDAYS, _eventday("am-b", alerts={"alertmanagerUrl": f"{other}/team-b/"}))
    a.create(
        EVENTDAYS,
        _eventday("warm-meta", cache={"httpWarmup": {"url": f"{meta}/latest/meta-data/iam/"}}),
    )
    a.create(
        EVENTDAYS,
        _eventday(
            "warm-b", cache={"httpWarmup": {"url": f"{other}/team-b/flush", "method": "POST"}}
        ),
    )
    a.create(
        EVENTDAYS,
        _eventday(
            "warm-dots", cache={"httpWarmup": {"url": f"{ingress}/team-a/%2e%2e/team-b/flush"}}
        ),
    )
    # The control: an allowed URL is called, and the recorder sees it.
    a.create(
        EVENTDAYS, _eventday("warm-own", cache={"httpWarmup": {"url": f"{ingress}/team-a/warm"}})
    )

    for name in ("prom-b", "prom-dots"):
        c = _metrics(a, name, "False")
        assert c["reason"] == "NotAllowed", c
        assert f"is not allowed for namespace {a.namespace}" in c["message"], c
    c = _metrics(a, "prom-redirect", "False")
    assert "307" in c["message"], c
    for name, what in (
        ("am-b", "Alertmanager URL"),
        ("warm-meta", "warm-up URL"),
        ("warm-b", "warm-up URL"),
        ("warm-dots", "warm-up URL"),
    ):
        message = _problems(a, name)
        assert f"{what} " in message, message
        assert f"is not allowed for namespace {a.namespace}" in message, message
        _event_with(a, name, "is not allowed")
        assert not _ledger(a, name, "cache/http", "done")
    done = wait_for(lambda: _ledger(a, "warm-own", "cache/http", "done"), 60, "the allowed warm-up")
    assert done["message"] == "HTTP 200"
    assert [s.routed for s in suite.ingress.seen() if s.routed == "/team-a/warm"]
    time.sleep(3)
    assert suite.b_service.seen() == [], [s.target for s in suite.b_service.seen()]
    assert suite.metadata.seen() == [], [s.target for s in suite.metadata.seen()]
    outside = [s.target for s in suite.ingress.seen() if not s.routed.startswith("/team-a/")]
    assert outside == []


def test_a_huge_response_costs_bounded_memory_and_b_goes_on(suite: Suite) -> None:
    a, b = suite.a, suite.b
    pid = suite.operator.proc.pid
    baseline = []
    for _ in range(20):
        baseline.append(vm_rss_kib(pid))
        time.sleep(0.1)
    samples: list[int] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            samples.append(vm_rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.time()
    prom = {"url": f"{suite.ingress.url}/team-a/huge/"}
    a.create(SLOS, _slo("huge", a.namespace, _query("q", "vector(1)"), prometheus=prom))
    try:
        c = _metrics(a, "huge", "False")
        wait_for(lambda: len(suite.huge.attempts()) >= 5, 60, "five huge answers")
    finally:
        stop.set()
        sampler.join()
        ended = time.time()
        client.CustomObjectsApi(suite.kube).delete_namespaced_custom_object(
            GROUP, VERSION, a.namespace, SLOS, "huge"
        )
    assert "byte cap" in c["message"], c
    # The answer was too large (the query's to fix), not an unreachable server.
    assert c["reason"] == "QueryError", c
    assert "is too large" in c["message"], c
    assert "unreachable" not in c["message"], c
    attempts = suite.huge.attempts()
    b_queries = sorted(
        t
        for t, q in suite.prometheus.sent()
        if started <= t <= ended and _only(q, b.namespace, not_=a.namespace)
    )
    gaps = [y - x for x, y in itertools.pairwise(b_queries)]
    base, peak = statistics.median(baseline), max(samples)
    print(
        f"\noperator RSS: baseline {base / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB "
        f"(+{(peak - base) / 1024:.1f} MiB) over {len(attempts)} answers of {HUGE >> 20} MiB; "
        f"bytes written before the operator hung up: "
        f"{[round(n / 2**20, 2) for n, _ in attempts]} MiB; "
        f"B's SLO queried {len(b_queries)} times in {ended - started:.1f} s "
        f"(interval 2 s, largest gap {max(gaps, default=0):.1f} s)"
    )
    assert not any(complete for _, complete in attempts), "a whole 200 MiB body was read"
    assert all(n < 64 << 20 for n, _ in attempts), attempts
    assert peak - base < RSS_MARGIN_MIB * 1024, (base, peak)
    assert len(b_queries) >= 2, "B's SLO was not evaluated while A's answers streamed in"


def test_a_star_pattern_extends_only_team_a_keys(suite: Suite) -> None:
    a, b = suite.a, suite.b
    assert suite.stack.redis is not None
    with suite.stack.redis.client() as r:
        for i in range(3):
            r.set(f"{a.namespace}:product:{i}", "x", ex=100)
        for i in range(5):
            r.set(f"{b.namespace}:session:{i}", "x", ex=100)
        r.set("global:flags", "x", ex=100)
        ttl = {"pattern": "*", "ttlSeconds": 31_536_000}
        a.create(EVENTDAYS, _eventday("ttl-star", cache={"extendTtl": ttl}))
        # Naming the shared Redis by URL would escape the prefix: refused.
        a.create(
            EVENTDAYS,
            _eventday("ttl-url", cache={"redisUrl": suite.stack.redis.url, "extendTtl": ttl}),
        )
        done = wait_for(lambda: _ledger(a, "ttl-star", "cache/ttl", "done"), 60, "ttl-star done")
        assert f"matching '{a.namespace}:*'" in done["message"], done
        assert f"extended 3 to {MAX_TTL_SECONDS}s" in done["message"], done
        message = _problems(a, "ttl-url")
        assert f"is not allowed for namespace {a.namespace}" in message, message
        for i in range(3):
            assert 100 < int(r.ttl(f"{a.namespace}:product:{i}")) <= MAX_TTL_SECONDS
        for i in range(5):
            assert 0 < int(r.ttl(f"{b.namespace}:session:{i}")) <= 100
        assert 0 < int(r.ttl("global:flags")) <= 100

        # The ledger forged (as admin: the team cannot write the status) to run '*'
        # unconfined on the shared Redis, for the activation in force: not run.
        _forge_ledger(
            suite,
            "ttl-star",
            "cache/ttl",
            {
                "state": "inProgress",
                "ref": "0",
                "applied": json.dumps({"pattern": "*", "ttl": MAX_TTL_SECONDS, "batch": 500}),
            },
        )

        def handled() -> str | None:  # refused (Problems), or run (done again)
            ready = _condition(a.get(EVENTDAYS, "ttl-star"), "Ready") or {}
            if ready.get("reason") == "Problems":
                return str(ready["message"])
            again = _ledger(a, "ttl-star", "cache/ttl", "done")
            return str(again["message"]) if again and "'*'" in again["message"] else None

        message = wait_for(handled, 60, "the forged TTL plan to be handled")
        for i in range(5):
            assert 0 < int(r.ttl(f"{b.namespace}:session:{i}")) <= 100, message
        assert 0 < int(r.ttl("global:flags")) <= 100, message
        assert "is not one this EventDay could make" in message, message


def _forge_ledger(suite: Suite, name: str, key: str, changes: dict[str, Any]) -> None:
    """Rewrite the team A EventDay's ledger record ``key`` in place, as the admin."""
    actions = suite.a.get(EVENTDAYS, name)["status"]["actions"]
    index = next(i for i, r in enumerate(actions) if r["key"] == key)
    client.CustomObjectsApi(suite.kube).patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        suite.a.namespace,
        EVENTDAYS,
        name,
        [
            {"op": "test", "path": f"/status/actions/{index}/key", "value": key},
            {
                "op": "replace",
                "path": f"/status/actions/{index}",
                "value": actions[index] | changes,
            },
        ],
        _content_type="application/json-patch+json",
    )


PRIVILEGED: dict[str, Any] = {"securityContext": {"privileged": True}}


@pytest.mark.parametrize(
    ("name", "pod", "container", "reason"),
    [
        (
            "job-sa",
            {"serviceAccountName": "deployer"},
            {},
            "runs as ServiceAccount 'deployer', which is not allowed",
        ),
        (
            "job-hostpath",
            {"volumes": [{"name": "host", "hostPath": {"path": "/"}}]},
            {},
            "jobTemplate volume 'host' mounts a host path",
        ),
        ("job-privileged", {}, PRIVILEGED, "jobTemplate container 'warm' is privileged"),
    ],
)
def test_a_warmup_job_with_more_privilege_is_refused(
    suite: Suite, name: str, pod: dict[str, Any], container: dict[str, Any], reason: str
) -> None:
    a = suite.a
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "warm", "image": "example.invalid/warm", **container}],
        **pod,
    }
    a.create(EVENTDAYS, _eventday(name, cache={"jobTemplate": {"template": {"spec": spec}}}))
    message = _problems(a, name)
    assert reason in message, message
    _event_with(a, name, reason)
    actions = a.get(EVENTDAYS, name)["status"].get("actions", [])
    assert not [r for r in actions if r["key"] == "cache/job"], actions
    assert client.BatchV1Api(suite.kube).list_namespaced_job(a.namespace).items == []


def test_a_forged_ledger_never_expires_team_b_silence(suite: Suite) -> None:
    """The "URL switched back and forth" attack, simulated by writing A's ledger as admin:
    a record of A's EventDay that points at B's silence, on the shared Alertmanager."""
    a, b = suite.a, suite.b
    a.create(EVENTDAYS, _eventday("forged", alerts={}))
    wait_for(lambda: _ledger(a, "forged", "silence", "applied"), 60, "A's own silence")
    forged = {
        "key": "silence",
        "activation": "an-activation-that-ended",
        "state": "applied",
        "ref": suite.b_silence,
        "endpoint": "endpoint:default",
    }
    client.CustomObjectsApi(suite.kube).patch_namespaced_custom_object_status(
        GROUP,
        VERSION,
        a.namespace,
        EVENTDAYS,
        "forged",
        [{"op": "add", "path": "/status/actions/-", "value": forged}],
        _content_type="application/json-patch+json",
    )
    drifted = wait_for(
        lambda: next(
            (
                r
                for r in a.get(EVENTDAYS, "forged")["status"].get("actions", [])
                if r["activation"] == forged["activation"]
                and r["state"] not in ("pending", "applied", "restoring")  # no longer open
            ),
            None,
        ),
        60,
        "the forged record to be handled",
    )
    assert drifted["state"] == "drifted", drifted
    assert "is not crestline's for this EventDay; left alone" in drifted["message"]
    silence = requests.get(f"{suite.am}/api/v2/silence/{suite.b_silence}", timeout=10).json()
    assert silence["status"]["state"] == "active", silence
    assert _ledger(b, "maintenance", "silence", "applied")


def test_a_forged_alertmanager_url_in_the_ledger_is_never_called(suite: Suite) -> None:
    """A's ledger forged (as admin) to name an Alertmanager that is not A's to use: for an
    activation that ended (restoring would expire a silence there) and for the one in
    force (applying would list and create silences there). Nothing reaches it; both
    records end drifted, saying why."""
    a = suite.a
    trap = LoopbackServer().start()  # same host as A's allowed prefix, another port
    forged_url = f"url:{trap.url}/team-a/"
    try:
        a.create(EVENTDAYS, _eventday("forged-am", alerts={}))
        wait_for(lambda: _ledger(a, "forged-am", "silence", "applied"), 60, "A's own silence")
        actions = a.get(EVENTDAYS, "forged-am")["status"]["actions"]
        index = next(i for i, r in enumerate(actions) if r["key"] == "silence")
        ended = {
            "key": "silence",
            "activation": "an-activation-that-ended",
            "state": "applied",
            "ref": "a-silence-over-there",
            "endpoint": forged_url,
        }
        client.CustomObjectsApi(suite.kube).patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            a.namespace,
            EVENTDAYS,
            "forged-am",
            [
                {"op": "test", "path": f"/status/actions/{index}/key", "value": "silence"},
                {
                    "op": "replace",
                    "path": f"/status/actions/{index}",
                    "value": actions[index] | {"state": "pending", "endpoint": forged_url},
                },
                {"op": "add", "path": "/status/actions/-", "value": ended},
            ],
            _content_type="application/json-patch+json",
        )

        def both_drifted() -> list[dict[str, Any]] | None:
            records = [
                r
                for r in a.get(EVENTDAYS, "forged-am")["status"].get("actions", [])
                if r["key"] == "silence" and r.get("endpoint") == forged_url
            ]
            done = [r for r in records if r["state"] == "drifted"]
            return done if len(done) == 2 else None

        drifted = wait_for(both_drifted, 60, "both forged records to end drifted")
        for record in drifted:
            message = record["message"]
            assert "the Alertmanager recorded in the status may not be used" in message, record
            assert f"is not allowed for namespace {a.namespace}" in message, record
        drift = _condition(a.get(EVENTDAYS, "forged-am"), "Drift") or {}
        assert drift.get("status") == "True", drift
        time.sleep(5)  # more evaluations (an EventDay with problems is retried within 10 s)
        assert trap.seen() == [], [s.target for s in trap.seen()]
    finally:
        trap.stop()


def test_a_hit_ratio_on_the_shared_redis_is_refused(suite: Suite) -> None:
    a = suite.a
    assert suite.stack.redis is not None
    hit = {"name": "hit", "preset": {"cacheHitRatio": {}}, "target": 0.9}
    a.create(SLOS, _slo("hits-shared", a.namespace, hit, cache={"endpoint": "default"}))
    a.create(SLOS, _slo("hits-url", a.namespace, hit, cache={"redisUrl": suite.stack.redis.url}))
    c = _metrics(a, "hits-shared", "False")
    assert c["reason"] == "NotAllowed", c
    assert f"cacheHitRatio needs a Redis dedicated to namespace {a.namespace}" in c["message"]
    c = _metrics(a, "hits-url", "False")
    assert c["reason"] == "NotAllowed", c
    assert f"is not allowed for namespace {a.namespace}" in c["message"], c


def test_nothing_of_team_b_shows_in_team_a_status_or_events(suite: Suite) -> None:
    """Last: every status and Event in A's namespace, and every query that reached the
    shared Prometheus, after all of the above."""
    a, b = suite.a, suite.b
    texts = []
    for plural in (SLOS, EVENTDAYS):
        listing: Any = a.custom().list_namespaced_custom_object(GROUP, VERSION, a.namespace, plural)
        texts += [str(item.get("status")) for item in listing["items"]]
    texts += [
        str(e.message) for e in client.CoreV1Api(a.api).list_namespaced_event(a.namespace).items
    ]
    blob = "\n".join(texts)
    assert b.namespace not in blob
    assert str(B_BALANCE) not in blob
    assert suite.secret_value not in blob
    sent = suite.prometheus.sent()
    assert sent
    unconfined = [
        q
        for _, q in sent
        if not any(is_confined(q, label="namespace", value=ns) for ns in (a.namespace, b.namespace))
    ]
    assert unconfined == []
