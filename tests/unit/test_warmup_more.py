"""Warm-ups read their plan back from the ledger (the EventDay's status): that plan is used
only if the EventDay could have made it, and a TTL extension stops at the
administrator's key limit.

Found while writing the end-to-end tenancy suite: ``TtlExtension.apply`` ran whatever
pattern and Redis the ledger named (a status edited to ``"pattern": "*"`` would have
extended every team's keys on a shared Redis), ``HttpWarmup.apply`` called whatever URL
it named, and ``limits.maxKeysPerWarmup`` was not enforced anywhere.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import pytest

from crestline.adapters.redis import TtlReport
from crestline.api.config import Endpoints, Limits, OperatorConfig, RedisEndpoint, Tenant
from crestline.api.eventday import ActionRecord, LedgerState
from crestline.runtime.actions.base import ActionProblem, Context, Services
from crestline.runtime.actions.warmup import HTTP, TTL, HttpWarmup, TtlExtension
from tests.unit.fakes import FakeAlertmanager, FakeJobs, FakeMonitors, FakeWarmup

NS = "team-a"
CONFIG = OperatorConfig(
    endpoints=Endpoints(
        redis=[
            RedisEndpoint(url="redis://shared:6379/0"),
            RedisEndpoint(name="b-only", url="redis://b:6379/0", namespaces=["team-b"]),
        ]
    ),
    tenants=[Tenant(namespaces=[NS], allow_urls=["http://web.team-a.svc/"])],
    limits=Limits(max_ttl_seconds=3600, max_keys_per_warmup=25),
)


@dataclass
class Redis:
    """Ten keys per call; ``chunks`` calls to finish the scan."""

    chunks: int = 1
    calls: list[tuple[str, int, int]] = field(default_factory=list)  # pattern, ttl, batch

    def extend_ttls(
        self, pattern: str, ttl_seconds: int, *, batch: int, deadline: float, cursor: int
    ) -> TtlReport:
        self.calls.append((pattern, ttl_seconds, batch))
        nxt = cursor + 1
        return TtlReport(scanned=10, extended=10, cursor=0 if nxt >= self.chunks else nxt)


def _ctx(redis: Redis, warmup: FakeWarmup | None = None) -> Context:
    services = Services(
        monitors=FakeMonitors({}),
        alertmanager=lambda ref: FakeAlertmanager(),
        redis=lambda ref: redis,
        jobs=FakeJobs(),
        warmup=warmup or FakeWarmup(),
    )
    now = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
    return Context(NS, "sale", None, CONFIG, services, now)


def _ttl_record(endpoint: str, pattern: str, ttl: int = 600, batch: int = 500) -> ActionRecord:
    plan = json.dumps({"pattern": pattern, "ttl": ttl, "batch": batch})
    return ActionRecord(
        key=TTL, activation="a1", state=LedgerState.IN_PROGRESS, endpoint=endpoint, applied=plan
    )


@pytest.mark.parametrize(
    ("endpoint", "pattern", "why"),
    [
        ("endpoint:default", "*", "keys under 'team-a:'"),  # out of the prefix
        ("endpoint:default", "team-b:*", "keys under 'team-a:'"),
        ("endpoint:b-only", "team-a:*", "does not serve namespace team-a"),
        ("endpoint:gone", "team-a:*", "is not configured"),
        ("url:redis://shared:6379/0", "*", "is not allowed for namespace team-a"),
        ("elsewhere", "team-a:*", "unknown Redis"),
    ],
)
def test_a_ttl_plan_the_eventday_could_not_have_made_is_not_run(
    endpoint: str, pattern: str, why: str
) -> None:
    redis = Redis()
    with pytest.raises(ActionProblem, match=why):
        TtlExtension().apply(_ctx(redis), _ttl_record(endpoint, pattern))
    assert redis.calls == []


def test_a_plan_it_could_have_made_runs_with_ttl_and_batch_within_bounds() -> None:
    redis = Redis()
    step = TtlExtension().apply(
        _ctx(redis), _ttl_record("endpoint:default", "team-a:*", ttl=10**9, batch=10**9)
    )
    assert redis.calls == [("team-a:*", 3600, 10_000)]
    assert step.record.state is LedgerState.DONE
    assert "extended 10 to 3600s" in (step.record.message or "")


def test_a_ttl_extension_stops_at_the_key_limit() -> None:
    redis = Redis(chunks=100)
    ctx = _ctx(redis)
    record = _ttl_record("endpoint:default", "team-a:*")
    for _ in range(10):
        step = TtlExtension().apply(ctx, record)
        record = step.record
        if record.state is LedgerState.DONE:
            break
    assert len(redis.calls) == 3  # 30 keys scanned >= 25
    assert record.state is LedgerState.DONE
    assert "at the limit of 25 keys" in (record.message or "")


def test_an_http_warmup_url_from_the_ledger_is_checked_again() -> None:
    warmup = FakeWarmup()
    ctx = _ctx(Redis(), warmup)
    forged = ActionRecord(
        key=HTTP,
        activation="a1",
        state=LedgerState.IN_PROGRESS,
        endpoint="http://169.254.169.254/latest/meta-data/",
        applied="GET",
    )
    with pytest.raises(ActionProblem, match="is not allowed for namespace team-a"):
        HttpWarmup().apply(ctx, forged)
    assert warmup.calls == []
    allowed = forged.model_copy(update={"endpoint": "http://web.team-a.svc/warm"})
    assert HttpWarmup().apply(ctx, allowed).record.state is LedgerState.DONE
    assert warmup.calls == [("http://web.team-a.svc/warm", "GET")]
