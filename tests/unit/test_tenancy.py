"""One team never reaches another: endpoint choice, URL allow-lists, Redis key prefixes,
warm-up Jobs, and PromQL confined to the namespace by a real parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crestline.api.config import (
    Endpoints,
    OperatorConfig,
    PrometheusEndpoint,
    RedisEndpoint,
    Tenant,
)
from crestline.policy import tenancy
from crestline.policy.promql import ConfineError, confine, is_confined, parse

CONFIG = OperatorConfig(
    endpoints=Endpoints(
        prometheus=[
            PrometheusEndpoint(url="http://prometheus.monitoring:9090"),
            PrometheusEndpoint(name="team-b-only", url="http://p2:9090", namespaces=["team-b"]),
        ],
        redis=[
            RedisEndpoint(url="redis://shared:6379/0"),
            RedisEndpoint(name="own", url="redis://a:6379/0", dedicated_to="team-a"),
        ],
    ),
    tenants=[
        Tenant(
            namespaces=["team-a"],
            allow_urls=["http://prom.team-a.svc:9090/"],
            job_service_accounts=["warmer"],
        )
    ],
)


def test_a_spec_gets_the_default_endpoint_or_a_named_one_that_serves_it() -> None:
    got = tenancy.prometheus(CONFIG, "team-a", endpoint=None, url=None)
    assert isinstance(got, PrometheusEndpoint)
    assert got.name == "default"
    other = tenancy.prometheus(CONFIG, "team-a", endpoint="team-b-only", url=None)
    assert isinstance(other, tenancy.Refusal)
    assert "does not serve namespace team-a" in other.reason
    missing = tenancy.prometheus(CONFIG, "team-a", endpoint="nope", url=None)
    assert isinstance(missing, tenancy.Refusal)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://prom.team-a.svc:9090/", True),
        ("http://prom.team-a.svc:9090/api", True),
        ("http://prom.team-a.svc:9091/", False),  # another port
        ("https://prom.team-a.svc:9090/", False),  # another scheme
        ("http://prom.team-a.svc:9090@evil.example/", False),  # userinfo trick
        ("http://user:pw@prom.team-a.svc:9090/", False),  # credentials in a URL
        ("http://prom.team-a.svc.evil.example:9090/", False),
        ("http://169.254.169.254/latest/meta-data", False),
        ("http://prometheus.team-b.svc:9090/", False),
    ],
)
def test_free_urls_only_under_an_allow_listed_prefix(url: str, allowed: bool) -> None:
    got = tenancy.prometheus(CONFIG, "team-a", endpoint=None, url=url)
    assert isinstance(got, tenancy.FreeUrl) == allowed
    if not allowed:
        assert isinstance(got, tenancy.Refusal)
        assert "pw" not in got.reason  # credentials are redacted in every message


def test_nothing_is_allow_listed_by_default() -> None:
    got = tenancy.warmup_url(CONFIG, "team-b", "http://web.team-b.svc/warm")
    assert isinstance(got, tenancy.Refusal)
    assert tenancy.secrets_allowed(CONFIG, "team-a") is not None


def test_redis_patterns_are_confined_under_the_namespace_prefix() -> None:
    shared = tenancy.redis(CONFIG, "team-a", endpoint=None, url=None)
    assert isinstance(shared, RedisEndpoint)
    prefix = tenancy.key_prefix(shared, "team-a")
    assert prefix == "team-a:"
    assert tenancy.confine_pattern("*", prefix) == "team-a:*"
    # glob characters in a namespace-derived prefix only match themselves
    assert tenancy.confine_pattern("k", "a*[b]?:") == "a\\*\\[b\\]\\?:k"


def test_a_hit_ratio_needs_a_redis_of_the_namespace_own() -> None:
    shared = tenancy.redis(CONFIG, "team-a", endpoint=None, url=None)
    own = tenancy.redis(CONFIG, "team-a", endpoint="own", url=None)
    assert isinstance(shared, RedisEndpoint)
    assert isinstance(own, RedisEndpoint)
    refused = tenancy.hit_ratio_allowed(shared, "team-a")
    assert refused is not None
    assert "shared" in refused.reason
    assert tenancy.hit_ratio_allowed(own, "team-a") is None
    assert tenancy.hit_ratio_allowed(own, "team-b") is not None


@pytest.mark.parametrize(
    ("pod", "problem"),
    [
        ({"containers": [{"name": "w"}]}, None),
        ({"serviceAccountName": "warmer", "containers": []}, None),
        ({"serviceAccountName": "admin", "containers": []}, "ServiceAccount 'admin'"),
        ({"hostNetwork": True, "containers": []}, "hostNetwork"),
        ({"volumes": [{"name": "root", "hostPath": {"path": "/"}}]}, "host path"),
        (
            {"containers": [{"name": "w", "securityContext": {"privileged": True}}]},
            "privileged",
        ),
    ],
)
def test_warmup_jobs_run_only_as_allowed(pod: dict[str, object], problem: str | None) -> None:
    refused = tenancy.job_template(CONFIG, "team-a", {"template": {"spec": pod}})
    if problem is None:
        assert refused is None
    else:
        assert refused is not None
        assert problem in refused.reason


# -- PromQL confinement -------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "up",
        'sum(rate(http_requests_total{job="a"}[5m])) by (le)',
        'histogram_quantile(0.95, sum by (le) (rate(x_bucket{service="web"}[1m])))',
        '(sum(rate(x{code=~"5.."}[1m])) or vector(0)) / clamp_min(sum(rate(x[1m])), 1e-9)',
        "rate(w[5m:1m] offset 1m)",
        "avg_over_time((rate(x[1m]) * 2)[10m:30s])",
        "topk(3, x) > bool on(c) group_left(d) y",
        'label_replace(up, "namespace", "team-b", "", "")',
        'x{namespace="team-b"}',  # asking for another namespace: matches nothing
        'x{a="1" or b="2"}',
        "-x ^ 2",
        'x{a="q\\"z"}',
        "x @ end()",
    ],
)
def test_every_selector_is_confined_and_the_query_still_parses(query: str) -> None:
    out = confine(query, label="namespace", value="team-a")
    parse(out)  # valid PromQL
    assert out.count('namespace="team-a"') >= query.count("{") or "{" not in query
    again = confine(out, label="namespace", value="team-a")
    assert again.count('namespace="team-a"') == 2 * out.count('namespace="team-a"')


def test_scalar_only_queries_read_no_series_and_pass_unchanged() -> None:
    assert confine("vector(0.1)", label="namespace", value="ns") == "vector(0.1)"


@pytest.mark.parametrize("bad", ["sum(", "x[5m", 'foo{a="', "x offset"])
def test_queries_that_do_not_parse_are_refused_not_sent(bad: str) -> None:
    with pytest.raises(ConfineError, match="not valid PromQL"):
        confine(bad, label="namespace", value="ns")


NAMES = st.sampled_from(["x", "http_requests_total", "up", "y_bucket"])
LABELS = st.sampled_from(["job", "code", "le", "pod"])
VALUES = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)


@st.composite
def selectors(draw: st.DrawFn) -> str:
    name = draw(NAMES)
    matchers = draw(st.lists(st.tuples(LABELS, st.sampled_from(["=", "!="]), VALUES), max_size=3))
    inner = ",".join(f"{k}{op}{_go_quote(v)}" for k, op, v in matchers)
    return f"{name}{{{inner}}}" if matchers else name


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


@st.composite
def queries(draw: st.DrawFn, depth: int = 0) -> str:
    if depth >= 3:
        return draw(selectors())
    choice = draw(st.integers(0, 5))
    sub = queries(depth=depth + 1)
    if choice == 0:
        return draw(selectors())
    if choice == 1:
        return f"rate({draw(selectors())}[{draw(st.sampled_from(['1m', '5m']))}])"
    if choice == 2:
        op = draw(st.sampled_from(["sum", "max", "avg", "count"]))
        by = draw(st.sampled_from(["", " by (job)", " without (pod)"]))
        return f"{op}{by} ({draw(sub)})"
    if choice == 3:
        op = draw(st.sampled_from(["+", "-", "*", "/", "and", "or", "unless", ">", "== bool"]))
        return f"({draw(sub)}) {op} ({draw(sub)})"
    if choice == 4:
        return f"max_over_time(({draw(sub)})[5m:1m])"
    return f"histogram_quantile(0.9, {draw(sub)})"


@settings(max_examples=300, deadline=None)
@given(queries())
def test_confinement_of_generated_queries_is_complete(query: str) -> None:
    try:
        out = confine(query, label="namespace", value="team-a")
    except ConfineError as exc:  # refused (e.g. a type error the parser reports): never sent
        refused = str(exc)
    else:
        refused = ""
    if refused:
        assert "not valid PromQL" in refused or "reliably" in refused
        return
    assert is_confined(out, label="namespace", value="team-a")
    assert not is_confined(query, label="namespace", value="team-a")
