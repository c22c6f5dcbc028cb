"""How a PerformanceSLO may change replicas: bounds, tolerance, warm-up, demand headroom,
HPA-style behaviour (stabilization windows and rate limits), and what to do when metrics
are missing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

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


NO_POLICY = (
    "must specify at least one policy (as the HPA requires; omit policies for the defaults, "
    "or set selectPolicy: Disabled to turn this direction off)"
)


def _policies(*policies: ScalingPolicy) -> Any:
    """A policies field defaulting to ``policies``, with the default in the schema too."""
    dumped: Any = [p.model_dump(by_alias=True, mode="json") for p in policies]
    return Field(
        default_factory=lambda: list(policies),
        max_length=10,
        json_schema_extra={"default": dumped},
    )


class ScalingRules(ApiModel):
    """HPA-style behaviour for one direction; every field is optional, as in the HPA.

    The HPA fills each field left out separately (``GenerateHPAScaleUpRules`` /
    ``GenerateHPAScaleDownRules`` in kubernetes ``pkg/apis/autoscaling/v2/defaults.go``),
    so ``scaleDown: {}`` or policies without a window are complete rules. The schema
    carries the same defaults, so ``kubectl get -o yaml`` shows the values in force.
    ``tolerance`` has no schema default on purpose: left out, it is ``spec.scaling.
    tolerance`` (the HPA falls back to its controller-wide flag the same way).
    """

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(("size(self.policies) > 0", NO_POLICY))
    }

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    select_policy: SelectPolicy = SelectPolicy.MAX
    policies: Annotated[list[ScalingPolicy], Field(max_length=10)]
    tolerance: Annotated[
        float | None,
        Field(
            ge=0,
            allow_inf_nan=False,
            description=(
                "Ratio band around the target within which this direction does not act "
                "(the HPA's per-direction tolerance). Default: spec.scaling.tolerance."
            ),
        ),
    ] = None

    @model_validator(mode="after")
    def _some_policy(self) -> Self:
        if not self.policies:
            raise ValueError(NO_POLICY)
        return self


class ScaleUpRules(ScalingRules):
    """Scale-up rules; the HPA's defaults: no window, max(+4 pods, +100 %) per 15 s."""

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)] = 0
    policies: Annotated[list[ScalingPolicy], Field(max_length=10)] = _policies(
        ScalingPolicy(type=PolicyType.PODS, value=4, period_seconds=15),
        ScalingPolicy(type=PolicyType.PERCENT, value=100, period_seconds=15),
    )


class ScaleDownRules(ScalingRules):
    """Scale-down rules; the HPA's defaults: a 300 s window, -100 % per 15 s.

    (The HPA's API leaves the window unset and its controller applies the
    ``--horizontal-pod-autoscaler-downscale-stabilization`` flag, 300 s by default;
    crestline has no such flag, so the value in force is the schema default.)
    """

    stabilization_window_seconds: Annotated[int, Field(ge=0, le=3600)] = 300
    policies: Annotated[list[ScalingPolicy], Field(max_length=10)] = _policies(
        ScalingPolicy(type=PolicyType.PERCENT, value=100, period_seconds=15),
    )


class Behavior(ApiModel):
    """Per-direction stabilization and rate limits; defaults are the HPA's."""

    scale_up: ScaleUpRules = defaulted(ScaleUpRules)
    scale_down: ScaleDownRules = defaulted(ScaleDownRules)


class DemandHeadroom(ApiModel):
    """Spare capacity for the growth a reactive scaler cannot catch (policy.demand).

    A replica asked for now serves after ``warmupSeconds`` and the next correction comes
    an evaluation interval later; only growth within that dead time can hurt. crestline
    records, at every evaluation, how much demand grew within the dead time that
    followed, over the last ``windowSeconds``, and sizes proportional objectives for
    demand plus the ``quantile`` of that growth (scaled like Poisson noise, with the
    square root of demand). Steady traffic gets almost none, bursty traffic what its
    bursts took. It only ever adds replicas; ``quantile: 0`` turns it off (the plain
    HPA ratio law). What it learned is kept in the status across restarts.
    """

    quantile: Annotated[
        float,
        Field(
            ge=0,
            le=1,
            allow_inf_nan=False,
            description="Which quantile of recent dead-time growth to hold in reserve; 0: off.",
        ),
    ] = 0.75
    window_seconds: Annotated[
        int,
        Field(
            ge=3600,
            le=86400,
            description="How far back growth is remembered (whole hours; default a day).",
        ),
    ] = 86400


class Forecast(ApiModel):
    """Learning from the service's own week (policy.season): a replica floor from the
    demand at this time of week, the lower of one and two weeks ago, forecast one dead
    time ahead. It only ever raises capacity, and needs two weeks of history to act."""

    weekly: Annotated[
        bool, Field(description="Raise capacity to what the last two weeks saw at this time.")
    ] = True


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
    tolerance: Annotated[
        float,
        Field(
            ge=0,
            allow_inf_nan=False,
            description=(
                "Do nothing while a proportional objective is within this ratio of its "
                "target (the HPA's tolerance, 0.1 = 10 %). 1 or more turns scale-down on "
                "proportional objectives off, as in the HPA. Per direction: "
                "behavior.scaleUp/scaleDown.tolerance."
            ),
        ),
    ] = 0.1
    warmup_seconds: Annotated[
        int,
        Field(
            ge=0,
            le=3600,
            description=(
                "How long a new replica takes to show in the metrics (start-up, readiness "
                "and the query window). Until then decisions count it as not yet serving, "
                "so a breach that is already being fixed does not trigger more scale-ups. "
                "A replica also counts as serving only while its pod is Ready: pods that "
                "do not serve count as idle when scaling up and as needed when scaling "
                "down, so they are never the reason for removing capacity."
            ),
        ),
    ] = 60
    demand_headroom: DemandHeadroom = defaulted(DemandHeadroom)
    forecast: Forecast = defaulted(Forecast)
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

    def tolerances(self) -> tuple[float, float]:
        """(scale-down, scale-up) tolerance in force: per direction, else the global one."""
        down = self.behavior.scale_down.tolerance
        up = self.behavior.scale_up.tolerance
        return (
            self.tolerance if down is None else down,
            self.tolerance if up is None else up,
        )
