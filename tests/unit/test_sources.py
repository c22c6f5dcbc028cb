"""Reading sources and their clients: bounded caches, credentials, refusals, dedup."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from crestline.api.config import (
    Endpoints,
    OperatorConfig,
    PrometheusEndpoint,
    RedisEndpoint,
    Tenant,
)
from crestline.api.slo import PerformanceSLOSpec
from crestline.policy.readings import ReadFailed, ReadFailure, Sampled
from crestline.runtime.endpoints import ClientCache, Credentials
from crestline.runtime.sources import Dedup, Readings, RedisCounters


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_client_cache_is_bounded_and_deletes_what_it_evicts() -> None:
    clock = Clock()
    cache = ClientCache(max_clients=2, idle_seconds=60, clock=clock)
    closed: list[str] = []

    def build(name: str) -> Any:
        def make(creds: Credentials) -> tuple[object, Any]:
            if creds.ca_file is not None:  # a PEM became a private file
                assert os.path.exists(creds.ca_file)
            return name, lambda: closed.append(name)

        return make

    for i in range(5):  # a Secret rotated five times: five credentials, one endpoint
        cache.get("prometheus", "url:x", Credentials(ca_pem=f"pem {i}"), build(f"c{i}"))
    assert len(cache) == 2
    assert len(cache.files()) == 2  # the evicted clients' CA files are gone
    assert closed == ["c0", "c1", "c2"]
    clock.t += 61
    cache.get("prometheus", "url:y", Credentials(), build("fresh"))
    assert len(cache) == 1  # idle ones expired
    assert len(cache.files()) == 0
    # one reference, two kinds of client: never the one for the other
    assert cache.get("redis", "url:y", Credentials(), build("redis")) == "redis"
    assert cache.get("prometheus", "url:y", Credentials(), build("x")) == "fresh"
    cache.close()


def test_identical_queries_at_the_same_moment_are_asked_once() -> None:
    dedup = Dedup(ttl=1.0)
    key = ("endpoint:default#x", "up")
    assert dedup.get(key, 0.0) is None
    answer = Sampled(())
    dedup.put(key, 0.0, answer)
    assert dedup.get(key, 0.5) is answer
    assert dedup.get(key, 1.5) is None


def test_hit_ratio_over_a_window_survives_a_redis_restart() -> None:
    counters = RedisCounters(window=60, min_gap=5)
    reads = iter([(100, 100), (190, 110), (50, 50), (80, 60)])
    assert counters.ratio("r", 0.0, lambda: next(reads)) is None  # one sample: no window yet
    assert counters.ratio("r", 10.0, lambda: next(reads)) == pytest.approx(0.9)
    assert counters.ratio("r", 12.0, lambda: (0, 0)) == pytest.approx(0.9)  # too soon: cached
    assert counters.ratio("r", 20.0, lambda: next(reads)) is None  # counters went back: restart
    assert counters.ratio("r", 30.0, lambda: next(reads)) == pytest.approx(0.75)


def slo(**extra: Any) -> PerformanceSLOSpec:
    body: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "objectives": [{"name": "p", "query": "up", "target": 1}],
        "scaling": {"maxReplicas": 3},
    }
    body.update(extra)
    return PerformanceSLOSpec.model_validate(body)


def readings(config: OperatorConfig, secrets: dict[tuple[str, str], dict[str, str]]) -> Readings:
    return Readings(config, ClientCache(), lambda ns, name: secrets.get((ns, name)))


def test_no_endpoint_configured_is_a_clear_refusal() -> None:
    got = readings(OperatorConfig(), {}).read("team-a", slo(), deadline=1e18)
    result = got["p"]
    assert isinstance(result, ReadFailed)
    assert result.failure is ReadFailure.NOT_ALLOWED
    assert "no Prometheus endpoint is configured" in result.message


def test_a_free_url_needs_the_allow_list_and_its_secret_the_label() -> None:
    spec = slo(
        prometheus={
            "url": "http://prom.team-a.svc:9090",
            "auth": {"bearerToken": {"name": "tok", "key": "t"}},
        }
    )
    refused = readings(OperatorConfig(), {}).read("team-a", spec, deadline=1e18)["p"]
    assert isinstance(refused, ReadFailed)
    assert "not allowed for namespace team-a" in refused.message
    allowed = OperatorConfig(
        tenants=[Tenant(namespaces=["team-a"], allow_urls=["http://prom.team-a.svc:9090/"])]
    )
    no_secrets = readings(allowed, {}).read("team-a", spec, deadline=1e18)["p"]
    assert isinstance(no_secrets, ReadFailed)
    assert "Secrets of namespace team-a may not be used" in no_secrets.message
    with_secrets = allowed.model_copy(
        update={
            "tenants": [
                Tenant(
                    namespaces=["team-a"],
                    allow_urls=["http://prom.team-a.svc:9090/"],
                    allow_secrets=True,
                )
            ]
        }
    )
    unmarked = readings(with_secrets, {}).read("team-a", spec, deadline=1e18)["p"]
    assert isinstance(unmarked, ReadFailed)
    assert "labelled crestline.dev/usable-by-operator=true" in unmarked.message


def test_a_shared_redis_refuses_a_hit_ratio_objective(tmp_path: Path) -> None:
    config = OperatorConfig(
        endpoints=Endpoints(
            prometheus=[PrometheusEndpoint(url="http://p:9090")],
            redis=[RedisEndpoint(url="redis://shared:6379/0")],
        )
    )
    spec = slo(
        objectives=[{"name": "hits", "preset": {"cacheHitRatio": {}}, "target": 0.9}],
        cache={"endpoint": "default"},
    )
    result = readings(config, {}).read("team-a", spec, deadline=1e18)["hits"]
    assert isinstance(result, ReadFailed)
    assert result.failure is ReadFailure.NOT_ALLOWED
    assert "dedicated to namespace team-a" in result.message
