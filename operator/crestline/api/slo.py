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
    requests per pod); the HPA ratio law applies. ``slo``: a service-level signal
    (latency, error ratio) that is flat until saturation and then explodes; it gets the
    breach-driven law in :mod:`crestline.policy.laws`.
    """

    PROPORTIONAL = "proportional"
    SLO = "slo"


class Mode(StrEnum):
    ENFORCE = "enforce"
    DRY_RUN = "dryRun"


class TargetRef(ApiModel):
    """The workload whose scale subresource is changed."""

    api_version: Annotated[str, Field(pattern=r"^apps/v1$")] = "apps/v1"
    kind: Annotated[str, Field(pattern=r"^(Deployment|StatefulSet)$")] = "Deployment"
    name: Annotated[str, Field(min_length=1, max_length=253)]


class LatencyPreset(ApiModel):
    """A latency quantile from a Prometheus histogram (``<metric>_bucket``)."""

    metric: Annotated[str, Field(min_length=1, description="Histogram base name.")]
    quantile: Annotated[float, Field(gt=0, lt=1)] = 0.95
    selector: Annotated[str, Field(description='Label matchers, e.g. job="web".')] = ""
    window: Annotated[str, Field(pattern=DURATION_PATTERN)] = "1m"


class ErrorRatioPreset(ApiModel):
    """Errors over all requests, from one request counter split by a label."""

    metric: Annotated[str, Field(min_length=1, description="Request counter name.")]
    error_selector: Annotated[
        str, Field(min_length=1, description='Matchers picking errors, e.g. code=~"5..".')
    ]
    selector: str = ""
    window: Annotated[str, Field(pattern=DURATION_PATTERN)] = "1m"


class CpuUtilizationPreset(ApiModel):
    """CPU used over CPU requested, from cAdvisor and kube-state-metrics series.

    Without ``podRegex`` the pods are those named ``<targetRef.name>-...``.
    """

    pod_regex: str | None = None
    window: Annotated[str, Field(pattern=DURATION_PATTERN)] = "1m"


class CacheHitRatioPreset(ApiModel):
    """Redis hits / (hits + misses) since the previous evaluation, read from the SLO's
    ``cache.redisUrl`` with INFO (no exporter needed). Direction defaults to above."""


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


class Objective(ApiModel):
    """One number from Prometheus held on the good side of a target."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("has(self.query) != has(self.preset)", "set exactly one of query or preset"),
        )
    }

    name: Annotated[str, Field(min_length=1, max_length=63, pattern=NAME_PATTERN)]
    query: Annotated[
        str | None,
        Field(
            min_length=1,
            pattern=r"\S",
            description="PromQL returning one number (the first sample is used).",
        ),
    ] = None
    preset: Preset | None = None
    target: Annotated[float, Field(gt=0, description="Must be positive.")]
    direction: Annotated[
        Direction | None,
        Field(description="Default: below (above for nothing built in)."),
    ] = None
    kind: Annotated[
        ObjectiveKind | None,
        Field(description="Default: slo for latency/errorRatio presets, else proportional."),
    ] = None

    @model_validator(mode="after")
    def _query_xor_preset(self) -> Self:
        if (self.query is None) == (self.preset is None):
            raise ValueError(f"objective {self.name!r}: set exactly one of query or preset")
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
    name: Annotated[str, Field(min_length=1)]
    key: Annotated[str, Field(min_length=1)]


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


class PrometheusSpec(ApiModel):
    url: Annotated[
        str | None,
        Field(
            pattern=r"^https?://",
            description="Default: the operator's --prometheus-url / CRESTLINE_PROMETHEUS_URL.",
        ),
    ] = None
    auth: PrometheusAuth | None = None
    ca: Annotated[SecretKeyRef | None, Field(description="CA bundle for https.")] = None
    insecure_skip_verify: bool = False


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
    budget: Annotated[int, Field(gt=0, description="Connections the backend grants in total.")]
    reserve_percent: Annotated[int, Field(ge=0, le=90)] = 10
    min_per_pod: Annotated[int, Field(ge=1)] = 1
    max_per_pod: Annotated[int, Field(ge=1)]
    config_map: Annotated[
        ConfigMapKeyRef, Field(description="Where the app reads its pool size at run time.")
    ]

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_per_pod > self.max_per_pod:
            raise ValueError("minPerPod must not exceed maxPerPod")
        return self


class CacheSpec(ApiModel):
    """The Redis this SLO's service uses: measured (cacheHitRatio) and warmed by events."""

    redis_url: Annotated[str, Field(pattern=r"^rediss?://")]


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
                "a cacheHitRatio objective needs spec.cache.redisUrl",
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
            raise ValueError("a cacheHitRatio objective needs spec.cache.redisUrl")
        return self
