"""EventDay: "this window is special" - scheduled event modes for selected SLOs.

What an EventDay changes while it is in force (objectives, a capacity floor and
headroom, faster scrapes, silences, cache warm-ups) and the ledger in its status that
makes every change restorable after a kill. When it is in force is
:mod:`crestline.api.schedule` (windows, cron, timezone, lead and trail), which also
documents the apply-time validation of those fields: CEL rules in the CRD mirrored by
pydantic with the same messages. Here the CEL covers the rest: numbers that are
numbers, bounded lists and names, one Alertmanager source or the other. What
only run time can tell (a schedule that never fires, an action the operator's
configuration does not allow) becomes a condition and an Event, never a crash.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import Field, model_validator

from crestline.api.base import NAME_PATTERN, ApiModel, cel, defaulted
from crestline.api.schedule import Schedule
from crestline.api.slo import ENDPOINT_NAME, MAX_NAME
from crestline.api.status import Condition, StatusModel


class ObjectiveOverride(ApiModel):
    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(("self.target == self.target", "target must be a number"))
    }

    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
    target: Annotated[float, Field(gt=0, le=1e15, allow_inf_nan=False)]


class CapacityOverride(ApiModel):
    """Pre-scaling from warm-up on: a floor, extra headroom, and what the previous
    activation needed (policy.peaks); the strictest floor wins."""

    min_replicas: Annotated[int | None, Field(ge=1, le=2_147_483_647)] = None
    headroom_percent: Annotated[int, Field(ge=0, le=1000)] = 0
    no_scale_down: Annotated[bool, Field(description="Hold replicas until the event ends.")] = True
    from_last_activation: Annotated[
        bool,
        Field(
            description=(
                "Keep at least the replicas the objectives asked for at the peak of this "
                "EventDay's previous activation (recorded in each SLO's status)."
            )
        ),
    ] = True


class MonitorRef(ApiModel):
    kind: Annotated[str, Field(pattern=r"^(ServiceMonitor|PodMonitor)$")] = "ServiceMonitor"
    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]


class MonitoringOverride(ApiModel):
    """A faster scrape of the workload while the event is in force, restored afterwards."""

    interval: Annotated[
        str,
        Field(
            pattern=r"^[1-9][0-9]{0,3}(s|m|h)$",
            max_length=5,
            description="At least 1s, e.g. 10s (Prometheus duration).",
        ),
    ]
    monitors: Annotated[list[MonitorRef], Field(min_length=1, max_length=20)]


class SilenceMatcher(ApiModel):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    value: Annotated[str, Field(max_length=1024)]
    is_regex: bool = False
    is_equal: bool = True


def _non_critical() -> list[SilenceMatcher]:
    return [SilenceMatcher(name="severity", value="critical", is_equal=False)]


class AlertsOverride(ApiModel):
    """An Alertmanager silence over the activation; default: every non-critical alert.

    The silence always also carries ``namespace="<this namespace>"``: an EventDay mutes
    only its own namespace's alerts. It ends with the activation, and never lasts longer
    than the administrator's bound past it."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            (
                "!(has(self.alertmanager) && has(self.alertmanagerUrl))",
                "set alertmanager or alertmanagerUrl, not both",
            )
        )
    }

    matchers: Annotated[list[SilenceMatcher], Field(min_length=1, max_length=20)] = Field(
        default_factory=_non_critical,
        json_schema_extra={
            "default": [
                {"name": "severity", "value": "critical", "isRegex": False, "isEqual": False}
            ]
        },
    )
    alertmanager: Annotated[
        str | None,
        Field(
            max_length=63,
            pattern=ENDPOINT_NAME,
            description="A configured Alertmanager endpoint (default: the default one).",
        ),
    ] = None
    alertmanager_url: Annotated[
        str | None,
        Field(
            max_length=MAX_NAME,
            pattern=r"^https?://",
            description="An Alertmanager of your own; only where the administrator allows it.",
        ),
    ] = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.alertmanager and self.alertmanager_url:
            raise ValueError("set alertmanager or alertmanagerUrl, not both")
        return self


class TtlExtension(ApiModel):
    pattern: Annotated[
        str,
        Field(
            min_length=1,
            max_length=256,
            description=(
                "SCAN MATCH pattern, e.g. product:*. It is confined under the namespace's "
                "key prefix on a shared Redis."
            ),
        ),
    ]
    ttl_seconds: Annotated[int, Field(gt=0, le=31_536_000)]
    batch: Annotated[int, Field(gt=0, le=10_000)] = 500


class HttpWarmup(ApiModel):
    url: Annotated[
        str,
        Field(
            max_length=MAX_NAME,
            pattern=r"^https?://",
            description="Called only where the administrator allow-lists it.",
        ),
    ]
    method: Annotated[str, Field(pattern=r"^(GET|POST|PUT)$")] = "GET"


class CacheOverride(ApiModel):
    """Warm the cache when the event begins warming: once per activation."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": cel(
            ("!(has(self.redis) && has(self.redisUrl))", "set redis or redisUrl, not both")
        )
    }

    redis: Annotated[
        str | None,
        Field(max_length=63, pattern=ENDPOINT_NAME, description="A configured Redis endpoint."),
    ] = None
    redis_url: Annotated[
        str | None,
        Field(
            max_length=MAX_NAME,
            pattern=r"^rediss?://",
            description="A Redis of your own; only where the administrator allows it.",
        ),
    ] = None
    extend_ttl: TtlExtension | None = None
    http_warmup: HttpWarmup | None = None
    job_template: Annotated[
        dict[str, Any] | None,
        Field(
            description=(
                "A batch/v1 Job spec run once per activation (e.g. a cache-priming job). It "
                "runs as the default ServiceAccount unless the administrator allows another, "
                "and never with host namespaces, host paths or privileged containers."
            ),
            json_schema_extra={"x-kubernetes-preserve-unknown-fields": True, "type": "object"},
        ),
    ] = None


class PoolOverride(ApiModel):
    """New limits for an SLO pool of the same name while the event is in force."""

    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=63)]
    budget: Annotated[int | None, Field(gt=0, le=10_000_000)] = None
    reserve_percent: Annotated[int | None, Field(ge=0, le=90)] = None
    min_per_pod: Annotated[int | None, Field(ge=1, le=100_000)] = None
    max_per_pod: Annotated[int | None, Field(ge=1, le=100_000)] = None


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
    match_labels: Annotated[dict[str, str], Field(max_length=32)] = Field(default_factory=dict)


class EventDaySpec(ApiModel):
    selector: LabelSelector = defaulted(LabelSelector)
    schedule: Schedule
    overrides: Overrides = defaulted(Overrides)


class LedgerState(StrEnum):
    """Where one action of an activation stands. Each step is persisted *before* its side
    effect (``pending``, ``restoring``) and after it (``applied``, ``restored``), so a
    restart at any moment resumes the step instead of guessing."""

    PENDING = "pending"  # original recorded; the change may or may not have been made
    APPLIED = "applied"  # changed; to be restored when the activation ends
    RESTORING = "restoring"  # being put back; the original may or may not be in place yet
    RESTORED = "restored"
    DRIFTED = "drifted"  # someone else changed it during the event: left alone, reported
    DONE = "done"  # a one-off action (warm-up) that has nothing to restore
    IN_PROGRESS = "inProgress"  # a one-off action that resumes where it stopped


OPEN_STATES = (LedgerState.PENDING, LedgerState.APPLIED, LedgerState.RESTORING)


class ActionRecord(StatusModel):
    """One change made for an activation, so it is undone exactly once (even after restarts).

    ``original`` and ``applied`` are JSON. ``endpoint`` records where a change lives (the
    Alertmanager a silence was created on), so it is undone there, whatever the spec
    says by then.
    """

    key: Annotated[str, Field(max_length=300)]
    activation: Annotated[str, Field(max_length=200)]
    state: LedgerState
    original: Annotated[str | None, Field(max_length=4096)] = None
    applied: Annotated[str | None, Field(max_length=4096)] = None
    ref: Annotated[str | None, Field(max_length=300)] = None
    endpoint: Annotated[str | None, Field(max_length=300)] = None
    progress: Annotated[str | None, Field(max_length=300)] = None
    message: Annotated[str | None, Field(max_length=1024)] = None


class EventDayStatus(StatusModel):
    observed_generation: int | None = None
    phase: str | None = None
    next_activation: Annotated[str | None, Field(description="When event mode next begins.")] = None
    current_window: str | None = None
    slos: Annotated[
        list[str],
        Field(max_length=100, description="The PerformanceSLOs it applies to (the first 100)."),
    ] = Field(default_factory=list)
    slo_count: Annotated[int | None, Field(description="How many SLOs it applies to.")] = None
    affected: Annotated[str | None, Field(description="The SLO names, for kubectl get.")] = None
    actions: Annotated[list[ActionRecord], Field(max_length=64)] = Field(default_factory=list)
    conditions: Annotated[list[Condition], Field(max_length=16)] = Field(default_factory=list)
