"""How a PerformanceSLO may change replicas: bounds, tolerance, warm-up, demand headroom,
HPA-style behaviour (stabilization windows and rate limits), and what to do when metrics
are missing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import Field, model_validator

from crestline.api.base import ApiModel, cel, defaulted


class PolicyType(StrEnum):
    PODS = "Pods"
    PERCENT = "Percent"


class SelectPolicy(StrEnum):
    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


class ScalingPolicy(ApiModel):
    """At most ``value`` pods (or percent of the current count) per ``periodSeconds``."""

    type: PolicyType
    value: Annotated[int, Field(gt=0)]
    period_seconds: Annotated[int, Field(gt=0, le=1800)]


class ScalingRules(ApiModel):
    """HPA-style behaviour for one direction."""

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)]
    select_policy: SelectPolicy = SelectPolicy.MAX
    policies: Annotated[list[ScalingPolicy], Field(max_length=10)]


def _default_up() -> ScalingRules:
    return ScalingRules(
        stabilization_window_seconds=0,
        policies=[
            ScalingPolicy(type=PolicyType.PERCENT, value=100, period_seconds=15),
            ScalingPolicy(type=PolicyType.PODS, value=4, period_seconds=15),
        ],
    )


def _default_down() -> ScalingRules:
    return ScalingRules(
        stabilization_window_seconds=300,
        policies=[ScalingPolicy(type=PolicyType.PERCENT, value=100, period_seconds=15)],
    )


class Behavior(ApiModel):
    """Per-direction stabilization and rate limits; defaults are the HPA's."""

    scale_up: ScalingRules = defaulted(_default_up)
    scale_down: ScalingRules = defaulted(_default_down)


class DemandHeadroom(ApiModel):
    """Headroom for proportional objectives that grows with how bursty demand has been.

    Demand is the objective's value times the replicas serving (e.g. busy cores). The
    ratio law then sizes for ``mean + deviations * stddev`` of the demand over the last
    ``windowSeconds`` when that exceeds the current demand: calm periods run close to the
    target, volatile ones keep spare capacity for the bursts a reactive scaler cannot
    catch (new replicas take a while to serve). It only ever adds replicas.
    ``deviations: 0`` turns it off (the plain HPA ratio law).
    """

    window_seconds: Annotated[int, Field(ge=60, le=86400)] = 1800
    deviations: Annotated[float, Field(ge=0, le=10)] = 1.5


class MetricsUnavailableAction(StrEnum):
    HOLD = "hold"
    FALLBACK = "fallback"


class MetricsUnavailable(ApiModel):
    """What to do when an objective cannot be read. Never a scale-down either way."""

    action: MetricsUnavailableAction = MetricsUnavailableAction.HOLD
    fallback_replicas: Annotated[int | None, Field(ge=0)] = None


class ScalingSpec(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("self.minReplicas <= self.maxReplicas", "minReplicas must not exceed maxReplicas"),
            (
                "!has(self.onMetricsUnavailable)"
                " || !has(self.onMetricsUnavailable.fallbackReplicas)"
                " || (self.onMetricsUnavailable.fallbackReplicas >= self.minReplicas"
                " && self.onMetricsUnavailable.fallbackReplicas <= self.maxReplicas)",
                "onMetricsUnavailable.fallbackReplicas must lie within [minReplicas, maxReplicas]",
            ),
            (
                "!has(self.onMetricsUnavailable) || self.onMetricsUnavailable.action != 'fallback'"
                " || has(self.onMetricsUnavailable.fallbackReplicas)",
                "onMetricsUnavailable.action=fallback needs fallbackReplicas",
            ),
        )
    }

    min_replicas: Annotated[int, Field(ge=1)] = 1
    max_replicas: Annotated[int, Field(ge=1)]
    tolerance: Annotated[float, Field(ge=0, lt=1)] = 0.1
    warmup_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description=(
                "How long a new replica takes to show in the metrics (start-up, readiness "
                "and the query window). Until then decisions count it as not yet serving, "
                "so a breach that is already being fixed does not trigger more scale-ups."
            ),
        ),
    ] = 60
    demand_headroom: DemandHeadroom = defaulted(DemandHeadroom)
    behavior: Behavior = defaulted(Behavior)
    on_metrics_unavailable: MetricsUnavailable = defaulted(MetricsUnavailable)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        fallback = self.on_metrics_unavailable.fallback_replicas
        if fallback is not None and not self.min_replicas <= fallback <= self.max_replicas:
            raise ValueError(
                "onMetricsUnavailable.fallbackReplicas must lie within [minReplicas, maxReplicas]"
            )
        if (
            self.on_metrics_unavailable.action == MetricsUnavailableAction.FALLBACK
            and fallback is None
        ):
            raise ValueError("onMetricsUnavailable.action=fallback needs fallbackReplicas")
        return self
