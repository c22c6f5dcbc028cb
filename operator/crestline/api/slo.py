"""PerformanceSLO: "keep this workload inside these objectives".

Validation lives in two places on purpose. Field constraints (types, ranges, enums,
patterns) become the OpenAPI schema; rules that relate fields to each other are CEL
expressions (``x-kubernetes-validations``) attached with :func:`cel`. Both are enforced
by the API server at ``kubectl apply`` time, and pydantic enforces the same rules when
the operator parses a resource, so a resource that slipped past an older CRD still gets a
clear error instead of a crash.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from crestline.api.base import DURATION_PATTERN, NAME_PATTERN, ApiModel, cel, defaulted
from crestline.api.scaling import ScalingSpec


class Direction(StrEnum):
    """Which side of the target is good: ``below`` (latency, errors) or ``above`` (hit ratio)."""

    BELOW = "below"
    ABOVE = "above"


class ObjectiveKind(StrEnum):
    """How an objective responds to replicas, which decides the control law.

    ``proportional``: a per-pod utilization that falls as 1/replicas (CPU, in-flight
    requests per pod); the HPA ratio law applies. ``total``: a total the fleet shares
    (requests per second at the ingress, a queue's length) with a target *per replica*;
    it needs ``total / target`` replicas (the HPA's External metric with an AverageValue
    target, KEDA's scaler threshold). Measured upstream it does not saturate, so it sees
    demand a utilization capped at 100 % cannot (a flash crowd). ``slo``: a service-level
    signal (latency, error ratio) that is flat until saturation and then explodes; it
    gets the breach-driven law in :mod:`crestline.policy.laws`.
    """

    PROPORTIONAL = "proportional"
    TOTAL = "total"
    SLO = "slo"


class Mode(StrEnum):
    ENFORCE = "enforce"
    DRY_RUN = "dryRun"


class Reduce(StrEnum):
    """How to read a query that returns several series as one number."""

    MAX = "max"
    MIN = "min"
    SUM = "sum"
    AVG = "avg"


# Bounds on free text: the API server stores every object in etcd and the operator
# holds each in memory, so nothing a user writes is unbounded.
MAX_QUERY = 4096
MAX_SELECTOR = 1024
MAX_NAME = 253


class TargetRef(ApiModel):
    """The workload whose scale subresource is changed."""

    api_version: Annotated[str, Field(pattern=r"^apps/v1$")] = "apps/v1"
    kind: Annotated[str, Field(pattern=r"^(Deployment|StatefulSet)$")] = "Deployment"
    name: Annotated[str, Field(min_length=1, max_length=253)]


class LatencyPreset(ApiModel):
    """A latency quantile from a Prometheus histogram (``<metric>_bucket``)."""

    metric: Annotated[
        str, Field(min_length=1, max_length=MAX_NAME, description="Histogram base name.")
    ]
    quantile: Annotated[float, Field(gt=0, lt=1)] = 0.95
    selector: Annotated[
        str, Field(max_length=MAX_SELECTOR, description='Label matchers, e.g. job="web".')
    ] = ""
    window: Annotated[str, Field(pattern=DURATION_PATTERN)] = "1m"


class ErrorRatioPreset(ApiModel):
    """Errors over all requests, from one request counter split by a label."""

    metric: Annotated[
        str, Field(min_length=1, max_length=MAX_NAME, description="Request counter name.")
    ]
    error_selector: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_SELECTOR,
            description='Matchers picking errors, e.g. code=~"5..".',
        ),
    ]
    selector: Annotated[str, Field(max_length=MAX_SELECTOR)] = ""
    window: Annotated[str, Field(pattern=DURATION_PATTERN)] = "1m"


class CpuUtilizationPreset(ApiModel):
    """CPU used over CPU requested, from cAdvisor and kube-state-metrics series.

    Without ``podRegex`` the pods are those named ``<targetRef.name>-...``.
    """

    pod_regex: Annotated[str | None, Field(max_length=MAX_SELECTOR)] = None
    window: Annotated[str, Field(pattern=DURATION_PATTERN)] = "1m"


class CacheHitRatioPreset(ApiModel):
    """Redis hits / (hits + misses) over the last minute, read from the SLO's ``cache``
    Redis with INFO (no exporter needed). Direction defaults to above. INFO counts the
    whole server, so the Redis must be one this namespace does not share."""


PRESETS = "latency, errorRatio, cpuUtilization, cacheHitRatio"


class Preset(ApiModel):
    """Exactly one of the common objectives, so users need not hand-write PromQL."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            (
                "[has(self.latency), has(self.errorRatio), has(self.cpuUtilization),"
                " has(self.cacheHitRatio)].filter(x, x).size() == 1",
                f"a preset sets exactly one of {PRESETS}",
            )
        )
    }

    latency: LatencyPreset | None = None
    error_ratio: ErrorRatioPreset | None = None
    cpu_utilization: CpuUtilizationPreset | None = None
    cache_hit_ratio: CacheHitRatioPreset | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        chosen = (self.latency, self.error_ratio, self.cpu_utilization, self.cache_hit_ratio)
        if sum(x is not None for x in chosen) != 1:
            raise ValueError(f"a preset sets exactly one of {PRESETS}")
        return self


TOTAL_BELOW = "a total objective's target is what one replica carries: direction must be below"


class Objective(ApiModel):
    """One number from Prometheus held on the good side of a target."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("has(self.query) != has(self.preset)", "set exactly one of query or preset"),
            ("self.target == self.target", "target must be a number (not NaN)"),
            (
                "!has(self.kind) || self.kind != 'total' || !has(self.direction)"
                " || self.direction == 'below'",
                TOTAL_BELOW,
            ),
        )
    }

    name: Annotated[str, Field(min_length=1, max_length=63, pattern=NAME_PATTERN)]
    query: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=MAX_QUERY,
            pattern=r"\S",
            description=(
                "PromQL returning one series (or a scalar). Several series are an error "
                "unless reduce says how to combine them. Every selector is confined to the "
                "SLO's namespace when the operator enforces a namespace label."
            ),
        ),
    ] = None
    preset: Preset | None = None
    target: Annotated[
        float, Field(gt=0, le=1e15, allow_inf_nan=False, description="A positive number.")
    ]
    reduce: Annotated[
        Reduce | None,
        Field(description="Combine several series into one number: max, min, sum or avg."),
    ] = None
    direction: Annotated[
        Direction | None,
        Field(description="Default: below (above for nothing built in)."),
    ] = None
    kind: Annotated[
        ObjectiveKind | None,
        Field(
            description=(
                "proportional (a per-pod utilization), total (a fleet-wide total with a "
                "per-replica target) or slo. Default: slo for latency/errorRatio presets, "
                "else proportional."
            )
        ),
    ] = None

    @model_validator(mode="after")
    def _query_xor_preset(self) -> Self:
        if (self.query is None) == (self.preset is None):
            raise ValueError(f"objective {self.name!r}: set exactly one of query or preset")
        if self.kind is ObjectiveKind.TOTAL and self.direction not in (None, Direction.BELOW):
            raise ValueError(TOTAL_BELOW)
        return self

    @property
    def effective_kind(self) -> ObjectiveKind:
        if self.kind is not None:
            return self.kind
        if self.preset is not None and (
            self.preset.latency or self.preset.error_ratio or self.preset.cache_hit_ratio
        ):
            return ObjectiveKind.SLO
        return ObjectiveKind.PROPORTIONAL

    @property
    def effective_direction(self) -> Direction:
        if self.direction is not None:
            return self.direction
        if self.preset is not None and self.preset.cache_hit_ratio is not None:
            return Direction.ABOVE
        return Direction.BELOW


class EvaluationSpec(ApiModel):
    interval_seconds: Annotated[int, Field(gt=0, le=3600)] = 30
    timeout_seconds: Annotated[
        int, Field(gt=0, le=300, description="Per-query timeout against Prometheus.")
    ] = 10


class SecretKeyRef(ApiModel):
    """A key of a Secret in the object's namespace. The operator uses only Secrets labelled
    ``crestline.dev/usable-by-operator: "true"``, so it never hands out a credential on a
    team member's word that the team member could not read themselves."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    key: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class PrometheusAuth(ApiModel):
    """Bearer token, or basic auth, read from Secrets in the SLO's namespace."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            (
                "has(self.bearerToken) != (has(self.username) || has(self.password))",
                "use either bearerToken or username/password",
            ),
            ("has(self.username) == has(self.password)", "username and password go together"),
        )
    }

    bearer_token: SecretKeyRef | None = None
    username: SecretKeyRef | None = None
    password: SecretKeyRef | None = None


ENDPOINT_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class PrometheusSpec(ApiModel):
    """Which Prometheus to ask. Endpoints belong to the platform team: ``endpoint`` names
    one the operator was configured with (default: its default). A free ``url`` (with
    ``auth`` and ``ca`` from this namespace's Secrets) is honoured only where the operator's
    configuration allows it for this namespace."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("!(has(self.endpoint) && has(self.url))", "set endpoint or url, not both"),
            (
                "has(self.url) || !(has(self.auth) || has(self.ca))",
                "auth and ca go with url (a configured endpoint brings its own credentials)",
            ),
        )
    }

    endpoint: Annotated[
        str | None,
        Field(
            max_length=63,
            pattern=ENDPOINT_NAME,
            description="A Prometheus endpoint configured by the operator's administrator.",
        ),
    ] = None
    url: Annotated[
        str | None,
        Field(
            max_length=MAX_NAME,
            pattern=r"^https?://",
            description="A Prometheus of your own; only where the administrator allows it.",
        ),
    ] = None
    auth: PrometheusAuth | None = None
    ca: Annotated[SecretKeyRef | None, Field(description="CA bundle for https.")] = None
    insecure_skip_verify: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.endpoint and self.url:
            raise ValueError("set endpoint or url, not both")
        if not self.url and (self.auth or self.ca):
            raise ValueError("auth and ca go with url (a configured endpoint brings its own)")
        return self


class ConfigMapKeyRef(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=253)]
    key: Annotated[str, Field(min_length=1, max_length=253)]


class PoolSpec(ApiModel):
    """A connection pool kept inside the backend's budget (see crestline.policy.pools)."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("self.minPerPod <= self.maxPerPod", "minPerPod must not exceed maxPerPod")
        )
    }

    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
    budget: Annotated[
        int,
        Field(gt=0, le=10_000_000, description="Connections the backend grants in total."),
    ]
    reserve_percent: Annotated[int, Field(ge=0, le=90)] = 10
    min_per_pod: Annotated[int, Field(ge=1, le=100_000)] = 1
    max_per_pod: Annotated[int, Field(ge=1, le=100_000)]
    config_map: Annotated[
        ConfigMapKeyRef, Field(description="Where the app reads its pool size at run time.")
    ]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_per_pod > self.max_per_pod:
            raise ValueError("minPerPod must not exceed maxPerPod")
        return self


class CacheSpec(ApiModel):
    """The Redis this SLO's service uses: measured (cacheHitRatio) and warmed by events.

    ``endpoint`` names a Redis the operator was configured with; a free ``redisUrl`` is
    honoured only where the administrator allows it for this namespace."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("has(self.endpoint) != has(self.redisUrl)", "set exactly one of endpoint or redisUrl")
        )
    }

    endpoint: Annotated[
        str | None,
        Field(max_length=63, pattern=ENDPOINT_NAME, description="A configured Redis endpoint."),
    ] = None
    redis_url: Annotated[str | None, Field(max_length=MAX_NAME, pattern=r"^rediss?://")] = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.endpoint is None) == (self.redis_url is None):
            raise ValueError("set exactly one of endpoint or redisUrl")
        return self


def _unique_names(objectives: list[Objective]) -> list[Objective]:
    names = [o.name for o in objectives]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"objective names must be unique; duplicated: {', '.join(dupes)}")
    return objectives


class PerformanceSLOSpec(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            (
                "self.objectives.all(o, self.objectives.exists_one(p, p.name == o.name))",
                "objective names must be unique",
            ),
            (
                "has(self.cache) || !self.objectives.exists(o, has(o.preset)"
                " && has(o.preset.cacheHitRatio))",
                "a cacheHitRatio objective needs spec.cache",
            ),
        )
    }

    target_ref: TargetRef
    objectives: Annotated[
        list[Objective],
        Field(
            min_length=1,
            max_length=16,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
    ]
    scaling: ScalingSpec
    evaluation: EvaluationSpec = defaulted(EvaluationSpec)
    prometheus: PrometheusSpec = defaulted(PrometheusSpec)
    mode: Mode = Mode.ENFORCE
    cache: CacheSpec | None = None
    pools: Annotated[
        list[PoolSpec],
        Field(
            max_length=10,
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            },
        ),
    ] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        _unique_names(self.objectives)
        if self.cache is None and any(
            o.preset and o.preset.cache_hit_ratio for o in self.objectives
        ):
            raise ValueError("a cacheHitRatio objective needs spec.cache")
        return self
