"""Status of a PerformanceSLO: what the operator saw, decided, and did.

The status is also the operator's memory across restarts and failovers, kept small and
written only when something a user reads changes (and at a heartbeat every few
minutes): the recent replica changes (for the rate limits and the warm-up of new
replicas), the replica count when EventDays came into force, what the SLO law learned
(``learned``), and what crestline learned about demand (``learnedDemand``: the growth
histograms behind the headroom and the weekly profile behind the forecast, a few KB at
most; ``eventPeaks``: what each EventDay's last activation needed). What changes on
every evaluation and is only minutes deep (the recent recommendations behind the
stabilization windows) stays in memory; a replica that takes over an SLO starts its
stabilization window afresh, as the HPA does after a kube-controller-manager restart,
which can only delay a scale-down, never hasten one.

Status models accept fields they do not know (``extra="ignore"``): an object written by
an older operator must still load, so nothing it remembered is lost on upgrade.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from crestline.api.base import ApiModel

MAX_DECISIONS = 10
MAX_SCALE_CHANGES = 100
MAX_CONDITIONS = 16
MAX_OBJECTIVES = 16


class StatusModel(ApiModel):
    """Base of status parts: lenient on read (see the module docstring)."""

    model_config = ConfigDict(**{**ApiModel.model_config, "extra": "ignore"})


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """A Kubernetes-style condition (``type``, ``status``, ``reason``, ``message``)."""

    type: Annotated[str, Field(max_length=64)]
    status: ConditionStatus
    reason: Annotated[str, Field(max_length=128)]
    message: Annotated[str, Field(max_length=2048)] = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


class ScaleDirection(StrEnum):
    UP = "up"
    DOWN = "down"
    NONE = "none"


class ObjectiveStatus(StatusModel):
    """One objective's latest reading and what it proposed."""

    name: str
    kind: str
    direction: str
    target: float
    value: float | None = None
    ratio: Annotated[
        float | None, Field(description="How far from good: > 1 violates (value/target for below).")
    ] = None
    proposal: int | None = None
    error: str | None = None


class DecisionRecord(StatusModel):
    """One evaluation's outcome with the reason a human can read."""

    time: str
    current_replicas: int
    recommended_replicas: int
    desired_replicas: int
    direction: ScaleDirection
    reason: Annotated[str, Field(max_length=4096)]
    applied: bool


class ScaleChange(StatusModel):
    """The replica count changed by ``delta`` (signed) at epoch second ``t``."""

    t: float
    delta: int


class LearnedKnee(StatusModel):
    """What the SLO law learned about an objective (policy.laws, "Knee memory"): the
    largest serving count a probe down proved too small, kept across restarts so a
    restarted operator does not make the same failed probe again."""

    objective: str
    floor: int
    since: float
    reference_serving: int | None = None
    reference_badness: float | None = None


class GrowthHour(StatusModel):
    """One hour's histogram of dead-time growth (policy.demand): ``"bin:count ..."``."""

    hour: Annotated[int, Field(description="Epoch hour (seconds / 3600).")]
    counts: Annotated[str, Field(max_length=512)]


class LearnedDemand(StatusModel):
    """What crestline learned about the SLO's demand, kept across restarts.

    ``growth``: per-hour histograms of how much demand grew within the dead time
    (``horizonSeconds``); ``weekly``: the mean demand of each 15-minute slot of the last
    two weeks (base64, one byte per slot as a fraction of ``weeklyScale``; ``weeklySlot``
    is the slot being filled, ``weeklyTotal``/``weeklyCount`` its sums so far).
    """

    horizon_seconds: float
    growth: Annotated[list[GrowthHour], Field(max_length=25)] = Field(default_factory=list)
    weekly: Annotated[str, Field(max_length=2048)] = ""
    weekly_scale: float = 0.0
    weekly_slot: int | None = None
    weekly_total: float = 0.0
    weekly_count: int = 0


class EventPeak(StatusModel):
    """The most replicas the objectives asked for during one activation of an EventDay."""

    event_day: str
    activation: Annotated[str, Field(max_length=256)]
    replicas: int
    at: float


class DemandSummary(StatusModel):
    """Demand as crestline sizes for it, in replicas' worth (policy.demand/season)."""

    replicas: Annotated[
        float, Field(description="What the proportional objectives need now, in replicas.")
    ]
    headroom: Annotated[
        float | None, Field(description="Replicas added for growth within the dead time.")
    ] = None
    forecast: Annotated[
        float | None,
        Field(description="Demand forecast one dead time ahead from the last two weeks."),
    ] = None
    forecast_for: str | None = None


class PoolStatus(StatusModel):
    name: str
    per_pod: int
    max_replicas: int
    usable: int


class IgnoredEventDay(StatusModel):
    """An EventDay that selects this SLO but could not be evaluated (see its conditions)."""

    name: str
    reason: Annotated[str, Field(max_length=1024)]


class PerformanceSLOStatus(StatusModel):
    observed_generation: int | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    recommended_replicas: int | None = None
    worst_objective: Annotated[
        str | None, Field(description="The objective furthest from good, as 'name ratio'.")
    ] = None
    mode: Annotated[
        str | None, Field(description="enforce, dryRun, Paused, Hold, or the EventDay in force.")
    ] = None
    interval_seconds: Annotated[
        float | None,
        Field(description="The evaluation interval in force (EventDays may shorten it)."),
    ] = None
    evaluated_by: Annotated[
        str | None,
        Field(description="The operator replica that evaluates this SLO (its shard's holder)."),
    ] = None
    last_evaluation_time: Annotated[
        str | None,
        Field(
            description=(
                "When the evaluation that produced this status ran. The status is written "
                "when something in it changes, and at least every few minutes."
            )
        ),
    ] = None
    active_events: Annotated[
        list[str],
        Field(max_length=32, description="EventDays in force (warming, active or cooling)."),
    ] = Field(default_factory=list)
    ignored_event_days: Annotated[
        list[IgnoredEventDay],
        Field(max_length=32, description="EventDays selecting this SLO that are not valid."),
    ] = Field(default_factory=list)
    event_baseline: Annotated[
        int | None, Field(description="Replicas when the EventDays in force began.")
    ] = None
    conditions: Annotated[list[Condition], Field(max_length=MAX_CONDITIONS)] = Field(
        default_factory=list
    )
    objectives: Annotated[list[ObjectiveStatus], Field(max_length=MAX_OBJECTIVES)] = Field(
        default_factory=list
    )
    last_decision: DecisionRecord | None = None
    decisions: Annotated[
        list[DecisionRecord],
        Field(
            max_length=MAX_DECISIONS,
            description="Recent decisions that changed, or wanted to change, the replicas.",
        ),
    ] = Field(default_factory=list)
    pools: Annotated[list[PoolStatus], Field(max_length=10)] = Field(default_factory=list)
    learned: Annotated[
        list[LearnedKnee],
        Field(max_length=MAX_OBJECTIVES, description="Where probes down failed (SLO law)."),
    ] = Field(default_factory=list)
    pods_unready_since: Annotated[
        float | None,
        Field(
            description=(
                "Epoch seconds since when some of the target's pods have not been Ready "
                "(kept so a restarted or new operator replica keeps counting)."
            )
        ),
    ] = None
    demand: DemandSummary | None = None
    learned_demand: LearnedDemand | None = None
    event_peaks: Annotated[
        list[EventPeak],
        Field(max_length=16, description="What recent EventDay activations needed."),
    ] = Field(default_factory=list)
    scale_changes: Annotated[
        list[ScaleChange],
        Field(
            max_length=MAX_SCALE_CHANGES,
            description="Recent replica changes (signed deltas), for rate limits and warm-up.",
        ),
    ] = Field(default_factory=list)
    scale_events: Annotated[
        list[ScaleChange],
        Field(
            max_length=MAX_SCALE_CHANGES,
            description=(
                "Deprecated: the name scaleChanges replaced (it holds deltas, not counts). "
                "Read once into scaleChanges, then removed."
            ),
        ),
    ] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _convert(cls, data: object) -> object:
        """Objects written by the previous operator kept ``scaleEvents: [{t, replicas}]``,
        where ``replicas`` was a signed delta; read them as ``scaleChanges``."""
        if not isinstance(data, dict) or not data.get("scaleEvents") or data.get("scaleChanges"):
            return data
        converted = []
        for entry in data.get("scaleEvents") or []:
            if isinstance(entry, dict) and "t" in entry:
                delta = entry.get("delta", entry.get("replicas", 0))
                converted.append({"t": entry["t"], "delta": delta})
        return {**data, "scaleChanges": converted, "scaleEvents": []}
