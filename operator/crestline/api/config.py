"""The operator's own configuration: what the platform team decides, not the service teams.

crestline is installed once per cluster and acts for every team with its own, wider,
permissions and connections. Everything that reaches a shared system is therefore
declared here, by the administrator (Helm values render it into a file the operator
reads with ``crestline run --config``):

* **Endpoints.** The Prometheus, Alertmanager and Redis servers, by name, with their
  credentials read from files (the chart mounts Secrets of the operator's namespace),
  never from command-line arguments or a team's namespace. A spec names an endpoint;
  a spec without one gets the endpoint called ``default``.
* **Confinement.** Every PromQL query sent for a namespaced object gets a
  ``<namespaceLabel>="<namespace>"`` matcher on every selector; every silence gets a
  ``namespace`` matcher and cannot outlast its window by more than a bound; Redis key
  patterns are prefixed per namespace and TTLs are bounded.
* **Tenants.** Per namespace (or ``*``), what a team may do beyond that: free URLs
  (allow-listed prefixes), Secrets of its own namespace (only those labelled for the
  operator), warm-up Jobs under given ServiceAccounts. Off by default.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import Field

from crestline.api.base import ApiModel
from crestline.api.slo import ENDPOINT_NAME

DEFAULT = "default"
# The label a Secret of a team's namespace must carry before the operator reads it. Only
# someone who may read the Secret can label it, so a team member cannot hand the operator
# a credential they could not read themselves; the operator watches no other Secrets.
SECRET_LABEL = "crestline.dev/usable-by-operator"


class HttpEndpoint(ApiModel):
    """A Prometheus or Alertmanager server and how to authenticate to it."""

    name: Annotated[str, Field(pattern=ENDPOINT_NAME, max_length=63)] = DEFAULT
    url: Annotated[str, Field(pattern=r"^https?://[^@/]+(/.*)?$")]
    bearer_token_file: str | None = None
    username_file: str | None = None
    password_file: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False
    namespaces: Annotated[
        list[str],
        Field(description="Namespaces (glob patterns) that may use it; empty: every one."),
    ] = Field(default_factory=list)


class PrometheusEndpoint(HttpEndpoint):
    namespace_label: Annotated[
        str,
        Field(
            description=(
                "The label every query is confined to (the object's namespace). Empty "
                "turns confinement off: only for a Prometheus that holds one team's data."
            )
        ),
    ] = "namespace"


class RedisEndpoint(ApiModel):
    name: Annotated[str, Field(pattern=ENDPOINT_NAME, max_length=63)] = DEFAULT
    url: Annotated[str, Field(pattern=r"^rediss?://[^@]+$")]
    password_file: str | None = None
    key_prefix: Annotated[
        str,
        Field(
            description=(
                "Every key pattern a team gives is confined under this prefix; "
                "{namespace} is replaced by the object's namespace. Empty: no confinement."
            )
        ),
    ] = "{namespace}:"
    dedicated_to: Annotated[
        str | None,
        Field(
            description=(
                "The one namespace this Redis serves. Its INFO counters are the whole "
                "server's, so a cacheHitRatio objective is allowed only on a dedicated Redis."
            )
        ),
    ] = None
    namespaces: list[str] = Field(default_factory=list)


class Endpoints(ApiModel):
    prometheus: list[PrometheusEndpoint] = Field(default_factory=list)
    alertmanager: list[HttpEndpoint] = Field(default_factory=list)
    redis: list[RedisEndpoint] = Field(default_factory=list)


class Tenant(ApiModel):
    """What the namespaces matching ``namespaces`` may do beyond the defaults."""

    namespaces: Annotated[list[str], Field(min_length=1, description="Glob patterns.")]
    allow_urls: Annotated[
        list[str],
        Field(
            description=(
                "URL prefixes a spec may name directly (Prometheus, Alertmanager, Redis, "
                "HTTP warm-up), e.g. http://prometheus.team-a.svc:9090/; host:* allows "
                "any port of that host."
            )
        ),
    ] = Field(default_factory=list)
    allow_secrets: Annotated[
        bool,
        Field(
            description=(
                "Specs may name Secrets of their namespace for credentials (only Secrets "
                "labelled crestline.dev/usable-by-operator=true are read)."
            )
        ),
    ] = False
    job_service_accounts: Annotated[
        list[str],
        Field(description="ServiceAccounts a warm-up Job template may run as."),
    ] = Field(default_factory=list)


class Limits(ApiModel):
    min_interval_seconds: Annotated[int, Field(ge=1, le=3600)] = 5
    max_silence_seconds: Annotated[
        int,
        Field(
            ge=60,
            le=90 * 86400,
            description=(
                "The longest one silence may last; a longer event renews it while in force, "
                "so a window to 2099 never becomes a silence to 2099."
            ),
        ),
    ] = 7 * 86400
    max_ttl_seconds: Annotated[int, Field(ge=1, le=31_536_000)] = 7 * 86400
    max_keys_per_warmup: Annotated[int, Field(ge=1)] = 1_000_000


class OperatorConfig(ApiModel):
    endpoints: Endpoints = Field(default_factory=Endpoints)
    tenants: list[Tenant] = Field(default_factory=list)
    limits: Limits = Field(default_factory=Limits)

    @classmethod
    def load(cls, path: Path) -> OperatorConfig:
        return cls.model_validate(yaml.safe_load(path.read_text()) or {})

    def tenant(self, namespace: str) -> Tenant:
        """The union of every tenant entry matching ``namespace`` (nothing, if none)."""
        matching = [
            t for t in self.tenants if any(fnmatch.fnmatchcase(namespace, p) for p in t.namespaces)
        ]
        return Tenant(
            namespaces=[namespace],
            allow_urls=[u for t in matching for u in t.allow_urls],
            allow_secrets=any(t.allow_secrets for t in matching),
            job_service_accounts=[a for t in matching for a in t.job_service_accounts],
        )


def serves(patterns: list[str], namespace: str) -> bool:
    """Whether an endpoint limited to ``patterns`` may be used from ``namespace``."""
    return not patterns or any(fnmatch.fnmatchcase(namespace, p) for p in patterns)
