"""Reading an SLO's objectives: Prometheus queries and Redis INFO, resolved, confined,
bounded, and asked once when many ask the same.

* The endpoint comes from the administrator's configuration (:mod:`crestline.policy.
  tenancy`); a refusal becomes a ``NotAllowed`` reading with the reason. So does a
  Secret the operator may not use (absent or not labelled for it): it is the same
  kind of "not for the operator", and waiting will not fix it.
* On a shared Prometheus every query is confined to the SLO's namespace
  (:mod:`crestline.policy.promql`) before it is sent.
* Identical queries to the same endpoint within ``dedup_seconds`` are answered once
  (a thousand SLOs with the same preset at the same moment cost one query).
* A cache hit ratio is the whole Redis's, measured over a window from INFO samples
  taken at most every few seconds per Redis, whichever SLO asks.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from crestline.adapters.prometheus import Credentials as HttpCredentials
from crestline.adapters.prometheus import PrometheusClient, QueryError
from crestline.adapters.redis import connect, hit_counters
from crestline.api.config import SECRET_LABEL, OperatorConfig, PrometheusEndpoint, RedisEndpoint
from crestline.api.slo import Objective, PerformanceSLOSpec, PrometheusSpec, SecretKeyRef
from crestline.policy import tenancy
from crestline.policy.promql import ConfineError, confine
from crestline.policy.queries import render
from crestline.policy.readings import ReadFailed, ReadFailure, Sample, Sampled, SourceResult
from crestline.runtime.endpoints import ClientCache, Credentials, endpoint_ref, file_credentials

SecretLookup = Callable[[str, str], Mapping[str, str] | None]  # (namespace, name) -> data


@dataclass(frozen=True)
class _Target:
    """Where one SLO's Prometheus queries go, and how they are confined."""

    ref: str
    url: str
    credentials: Credentials
    label: str  # "" when queries are not confined


class Dedup:
    """Answers for (endpoint, query) kept ``ttl`` seconds; bounded in entries."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl, self.max_entries = ttl, max_entries
        self._entries: OrderedDict[tuple[str, str], tuple[float, SourceResult]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], now: float) -> SourceResult | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or now - hit[0] > self.ttl:
                return None
            return hit[1]

    def put(self, key: tuple[str, str], now: float, result: SourceResult) -> None:
        with self._lock:
            self._entries[key] = (now, result)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)


class RedisCounters:
    """INFO hit/miss samples per Redis; a hit ratio over the last ``window`` seconds."""

    def __init__(self, *, window: float = 60.0, min_gap: float = 5.0, max_redis: int = 256) -> None:
        self.window, self.min_gap, self.max_redis = window, min_gap, max_redis
        self._samples: OrderedDict[str, deque[tuple[float, int, int]]] = OrderedDict()
        self._lock = threading.Lock()

    def ratio(self, ref: str, now: float, read: Callable[[], tuple[int, int]]) -> float | None:
        with self._lock:
            samples = self._samples.get(ref)
            fresh = samples is not None and samples and now - samples[-1][0] < self.min_gap
        if not fresh:
            hits, misses = read()
            with self._lock:
                samples = self._samples.setdefault(ref, deque(maxlen=64))
                self._samples.move_to_end(ref)
                if samples and (hits < samples[-1][1] or misses < samples[-1][2]):
                    samples.clear()  # the server restarted: counters began again
                samples.append((now, hits, misses))
                while len(self._samples) > self.max_redis:
                    self._samples.popitem(last=False)
        with self._lock:
            samples = self._samples[ref]
            while len(samples) > 2 and now - samples[1][0] >= self.window:
                samples.popleft()
            if len(samples) < 2:
                return None
            (_, h0, m0), (_, h1, m1) = samples[0], samples[-1]
        lookups = (h1 - h0) + (m1 - m0)
        return None if lookups <= 0 else (h1 - h0) / lookups


class Readings:
    """The readings of an SLO's objectives (one call per evaluation)."""

    def __init__(
        self,
        config: OperatorConfig,
        clients: ClientCache,
        secrets: SecretLookup,
        *,
        observe: Callable[[float, ReadFailure | None], None] | None = None,
        dedup_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clients = clients
        self.secrets = secrets
        self.observe = observe
        self.dedup = Dedup(dedup_seconds)
        self.redis = RedisCounters()
        self.clock = clock

    def read(
        self, namespace: str, spec: PerformanceSLOSpec, *, deadline: float
    ) -> dict[str, SourceResult]:
        results: dict[str, SourceResult] = {}
        target: _Target | ReadFailed | None = None
        for obj in spec.objectives:
            if obj.preset is not None and obj.preset.cache_hit_ratio is not None:
                results[obj.name] = self._hit_ratio(namespace, spec)
                continue
            if target is None:
                target = self._target(namespace, spec.prometheus)
            if isinstance(target, ReadFailed):
                results[obj.name] = target
                continue
            remaining = deadline - self.clock()
            timeout = min(float(spec.evaluation.timeout_seconds), remaining)
            if timeout <= 0:
                results[obj.name] = ReadFailed(ReadFailure.UNAVAILABLE, "no time left to ask")
                continue
            results[obj.name] = self._query(
                target, obj, namespace=namespace, spec=spec, timeout=timeout
            )
        return results

    # -- Prometheus ---------------------------------------------------------------------------
    def _target(self, namespace: str, prom: PrometheusSpec) -> _Target | ReadFailed:
        where = tenancy.prometheus(self.config, namespace, endpoint=prom.endpoint, url=prom.url)
        if isinstance(where, tenancy.Refusal):
            return ReadFailed(ReadFailure.NOT_ALLOWED, where.reason)
        if isinstance(where, PrometheusEndpoint):
            try:
                creds = file_credentials(where)
            except OSError as exc:
                return ReadFailed(
                    ReadFailure.UNAVAILABLE, f"credentials of endpoint {where.name!r}: {exc}"
                )
            return _Target(endpoint_ref(where), where.url, creds, where.namespace_label)
        team = self._team_credentials(namespace, prom)
        if isinstance(team, ReadFailed):
            return team
        return _Target(endpoint_ref(where), where.url, team, "")

    def _team_credentials(self, namespace: str, prom: PrometheusSpec) -> Credentials | ReadFailed:
        if prom.auth is None and prom.ca is None:
            return Credentials(insecure_skip_verify=prom.insecure_skip_verify)
        refused = tenancy.secrets_allowed(self.config, namespace)
        if refused is not None:
            return ReadFailed(ReadFailure.NOT_ALLOWED, refused.reason)

        def value(ref: SecretKeyRef | None) -> str | None:
            if ref is None:
                return None
            data = self.secrets(namespace, ref.name)
            if data is None:
                raise _NotUsable(ref.name)
            if ref.key not in data:
                raise LookupError(f"Secret {ref.name} has no key {ref.key!r}")
            return data[ref.key]

        auth = prom.auth
        try:
            return Credentials(
                bearer_token=value(auth.bearer_token if auth else None),
                username=value(auth.username if auth else None),
                password=value(auth.password if auth else None),
                ca_pem=value(prom.ca),
                insecure_skip_verify=prom.insecure_skip_verify,
            )
        except _NotUsable as exc:
            return ReadFailed(ReadFailure.NOT_ALLOWED, f"{exc} (spec.prometheus)")
        except LookupError as exc:
            return ReadFailed(ReadFailure.UNAVAILABLE, f"{exc} (spec.prometheus)")

    def _client(self, target: _Target) -> PrometheusClient:
        def build(creds: Credentials) -> tuple[PrometheusClient, Callable[[], None]]:
            client = PrometheusClient(
                target.url,
                credentials=HttpCredentials(
                    bearer_token=creds.bearer_token,
                    username=creds.username,
                    password=creds.password,
                    ca_file=creds.ca_file,
                    insecure_skip_verify=creds.insecure_skip_verify,
                ),
                observe=self.observe,
            )
            return client, client.close

        client: PrometheusClient = self.clients.get(
            "prometheus", target.ref, target.credentials, build
        )
        return client

    def _query(
        self,
        target: _Target,
        obj: Objective,
        *,
        namespace: str,
        spec: PerformanceSLOSpec,
        timeout: float,
    ) -> SourceResult:
        promql = render(obj, namespace, spec.target_ref.name)
        if target.label:
            try:
                promql = confine(promql, label=target.label, value=namespace)
            except ConfineError as exc:
                return ReadFailed(ReadFailure.BAD_QUERY, str(exc))
        key = (f"{target.ref}#{target.credentials.fingerprint()}", promql)
        now = self.clock()
        cached = self.dedup.get(key, now)
        if cached is not None:
            return cached
        result: SourceResult
        try:
            samples = self._client(target).query(promql, timeout)
            result = Sampled(tuple(Sample(s.labels, s.value) for s in samples))
        except QueryError as exc:
            result = ReadFailed(exc.failure, str(exc))
        self.dedup.put(key, now, result)
        return result

    # -- Redis --------------------------------------------------------------------------------
    def _hit_ratio(self, namespace: str, spec: PerformanceSLOSpec) -> SourceResult:
        cache = spec.cache
        if cache is None:
            return ReadFailed(ReadFailure.BAD_QUERY, "cacheHitRatio needs spec.cache")
        where = tenancy.redis(self.config, namespace, endpoint=cache.endpoint, url=cache.redis_url)
        if isinstance(where, tenancy.Refusal):
            return ReadFailed(ReadFailure.NOT_ALLOWED, where.reason)
        refused = tenancy.hit_ratio_allowed(where, namespace)
        if refused is not None:
            return ReadFailed(ReadFailure.NOT_ALLOWED, refused.reason)
        ref = endpoint_ref(where)
        try:
            password = (
                file_credentials_password(where) if isinstance(where, RedisEndpoint) else None
            )
            url = where.url
            client = self.clients.get(
                "redis",
                ref,
                Credentials(password=password),
                lambda c: _redis(url, c.password),
            )
            ratio = self.redis.ratio(ref, self.clock(), lambda: hit_counters(client))
        except Exception as exc:  # redis raises its own hierarchy and OSError
            return ReadFailed(ReadFailure.UNAVAILABLE, f"Redis: {type(exc).__name__}")
        if ratio is None:
            return ReadFailed(ReadFailure.NO_DATA, "no cache lookups in the last minute yet")
        return Sampled((Sample({}, ratio),))


class _NotUsable(LookupError):
    """A Secret the operator may not use: absent, or without the label. The operator sees
    only labelled Secrets, so it cannot tell the two apart, and it never reads others to
    find out; either way the team fixes it by labelling (or creating) the Secret."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Secret {name} not found, or not labelled {SECRET_LABEL}=true: the operator "
            f"uses only Secrets that carry the label {SECRET_LABEL}=true, set by someone who "
            f"may read the Secret (kubectl label secret {name} {SECRET_LABEL}=true)"
        )


def _redis(url: str, password: str | None) -> tuple[object, Callable[[], None]]:
    client = connect(url, password=password)
    return client, client.close


def file_credentials_password(endpoint: RedisEndpoint) -> str | None:
    if not endpoint.password_file:
        return None
    with open(endpoint.password_file) as fh:
        return fh.read().strip()
