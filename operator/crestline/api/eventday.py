"""EventDay: "this window is special" - scheduled event modes for selected SLOs.

Apply-time validation: windows end after they start (local wall-clock times compare
as strings because the format is fixed), cron expressions have five fields of cron
characters, durations are non-negative by their syntax, at least one window exists,
and the timezone is checked against the IANA zone list embedded in the CRD (from the
pinned ``tzdata`` package, the same list the operator uses). What only the operator
can check (a cron that never fires) becomes a condition.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from crestline.api.base import NAME_PATTERN, ApiModel, defaulted
from crestline.api.schedule import Schedule
from crestline.api.status import Condition


class ObjectiveOverride(ApiModel):
    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
    target: Annotated[float, Field(gt=0)]


class CapacityOverride(ApiModel):
    """Pre-scaling: a floor and extra headroom applied from warm-up on."""

    min_replicas: Annotated[int | None, Field(ge=1)] = None
    headroom_percent: Annotated[int, Field(ge=0, le=1000)] = 0
    no_scale_down: Annotated[bool, Field(description="Hold replicas until the event ends.")] = True


class MonitorRef(ApiModel):
    kind: Annotated[str, Field(pattern=r"^(ServiceMonitor|PodMonitor)$")] = "ServiceMonitor"
    name: Annotated[str, Field(min_length=1, max_length=253)]


class MonitoringOverride(ApiModel):
    """A faster scrape of the workload while the event is in force, restored afterwards."""

    interval: Annotated[str, Field(pattern=r"^[0-9]+(ms|s|m|h)$", description="e.g. 10s")]
    monitors: Annotated[list[MonitorRef], Field(min_length=1, max_length=20)]


class SilenceMatcher(ApiModel):
    name: Annotated[str, Field(min_length=1)]
    value: str
    is_regex: bool = False
    is_equal: bool = True


def _non_critical() -> list[SilenceMatcher]:
    return [SilenceMatcher(name="severity", value="critical", is_equal=False)]


class AlertsOverride(ApiModel):
    """An Alertmanager silence over the activation; default: every non-critical alert."""

    matchers: Annotated[list[SilenceMatcher], Field(min_length=1, max_length=20)] = Field(
        default_factory=_non_critical,
        json_schema_extra={
            "default": [
                {"name": "severity", "value": "critical", "isRegex": False, "isEqual": False}
            ]
        },
    )
    alertmanager_url: Annotated[
        str | None,
        Field(pattern=r"^https?://", description="Default: crestline run --alertmanager-url."),
    ] = None


class TtlExtension(ApiModel):
    pattern: Annotated[str, Field(min_length=1, description="SCAN MATCH pattern, e.g. product:*")]
    ttl_seconds: Annotated[int, Field(gt=0, le=31_536_000)]
    batch: Annotated[int, Field(gt=0, le=10_000)] = 500


class HttpWarmup(ApiModel):
    url: Annotated[str, Field(pattern=r"^https?://")]
    method: Annotated[str, Field(pattern=r"^(GET|POST|PUT)$")] = "GET"


class CacheOverride(ApiModel):
    """Warm the cache when the event begins warming: once per activation."""

    redis_url: Annotated[
        str | None, Field(pattern=r"^rediss?://", description="Default: crestline run --redis-url.")
    ] = None
    extend_ttl: TtlExtension | None = None
    http_warmup: HttpWarmup | None = None
    job_template: Annotated[
        dict[str, Any] | None,
        Field(
            description="A batch/v1 Job spec run once per activation (e.g. a cache-priming job).",
            json_schema_extra={"x-kubernetes-preserve-unknown-fields": True, "type": "object"},
        ),
    ] = None


class PoolOverride(ApiModel):
    """New limits for an SLO pool of the same name while the event is in force."""

    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
    budget: Annotated[int | None, Field(gt=0)] = None
    reserve_percent: Annotated[int | None, Field(ge=0, le=90)] = None
    min_per_pod: Annotated[int | None, Field(ge=1)] = None
    max_per_pod: Annotated[int | None, Field(ge=1)] = None


class Overrides(ApiModel):
    """What changes for the selected SLOs while the event is warming, active or cooling."""

    evaluation_interval_seconds: Annotated[int | None, Field(gt=0, le=3600)] = None
    objectives: Annotated[list[ObjectiveOverride], Field(max_length=16)] = Field(
        default_factory=list
    )
    capacity: CapacityOverride = defaulted(CapacityOverride)
    monitoring: MonitoringOverride | None = None
    alerts: AlertsOverride | None = None
    cache: CacheOverride | None = None
    pools: Annotated[list[PoolOverride], Field(max_length=10)] = Field(default_factory=list)


class LabelSelector(ApiModel):
    match_labels: dict[str, str] = Field(default_factory=dict)


class EventDaySpec(ApiModel):
    selector: LabelSelector = defaulted(LabelSelector)
    schedule: Schedule
    overrides: Overrides = defaulted(Overrides)


class ActionRecord(ApiModel):
    """One change made for an activation, so it is undone exactly once (even after restarts).

    ``original`` and ``applied`` are JSON; ``state`` moves pending -> applied -> restored,
    or to drifted when someone else changed the field meanwhile (then it is left alone).
    """

    key: str
    activation: str
    state: Annotated[str, Field(pattern=r"^(pending|applied|restored|drifted|failed|done)$")]
    original: str | None = None
    applied: str | None = None
    ref: str | None = None
    message: str | None = None


class EventDayStatus(ApiModel):
    observed_generation: int | None = None
    phase: str | None = None
    next_activation: Annotated[str | None, Field(description="When event mode next begins.")] = None
    current_window: str | None = None
    slos: Annotated[list[str], Field(description="The PerformanceSLOs it applies to.")] = Field(
        default_factory=list
    )
    affected: Annotated[str | None, Field(description="The SLO names, for kubectl get.")] = None
    actions: list[ActionRecord] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)
