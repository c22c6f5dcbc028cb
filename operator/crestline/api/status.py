"""Status of a PerformanceSLO: what the operator saw, decided, and did.

The status is also the operator's memory across restarts: recent recommendations (for
the scale-down stabilization window) and recent scale events (for rate limits) are kept
here, bounded, so a restarted operator neither scales down early nor exceeds a rate.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from crestline.api.base import ApiModel


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """A Kubernetes-style condition (``type``, ``status``, ``reason``, ``message``)."""

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    last_transition_time: str | None = None
    observed_generation: int | None = None


class ObjectiveStatus(ApiModel):
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


class Decision(ApiModel):
    """One evaluation's outcome with the reason a human can read."""

    time: str
    current_replicas: int
    recommended_replicas: int
    desired_replicas: int
    direction: Annotated[str, Field(pattern=r"^(up|down|none)$")]
    reason: str
    applied: bool


class TimedReplicas(ApiModel):
    """``replicas`` at epoch second ``t``: a recommendation, or a scale change (delta)."""

    t: float
    replicas: int


class PoolStatus(ApiModel):
    name: str
    per_pod: int
    max_replicas: int
    usable: int


class PerformanceSLOStatus(ApiModel):
    observed_generation: int | None = None
    current_replicas: int | None = None
    desired_replicas: int | None = None
    recommended_replicas: int | None = None
    worst_objective: Annotated[
        str | None, Field(description="The objective furthest from good, as 'name ratio'.")
    ] = None
    mode: Annotated[
        str | None, Field(description="enforce, dryRun, Paused, or the EventDay in force.")
    ] = None
    last_evaluation_time: str | None = None
    active_events: Annotated[
        list[str], Field(description="EventDays in force (warming, active or cooling).")
    ] = Field(default_factory=list)
    event_baseline: Annotated[
        int | None, Field(description="Replicas when the EventDays in force began.")
    ] = None
    conditions: list[Condition] = Field(default_factory=list)
    objectives: list[ObjectiveStatus] = Field(default_factory=list)
    last_decision: Decision | None = None
    decisions: Annotated[
        list[Decision], Field(description="Recent decisions that changed or wanted to change.")
    ] = Field(default_factory=list)
    pools: list[PoolStatus] = Field(default_factory=list)
    recommendations: list[TimedReplicas] = Field(default_factory=list)
    scale_events: list[TimedReplicas] = Field(default_factory=list)
