"""The custom resources as pydantic v2 models.

These models are the single source of truth for the API: the operator parses resources
with them, and ``crestline crds generate`` renders the CRD YAML in ``crds/`` from them
(see :mod:`crestline.api.crdgen`).
"""

from crestline.api.base import GROUP, VERSION
from crestline.api.scaling import (
    Behavior,
    MetricsUnavailableAction,
    ScalingPolicy,
    ScalingRules,
    ScalingSpec,
)
from crestline.api.slo import (
    Direction,
    EvaluationSpec,
    Mode,
    Objective,
    ObjectiveKind,
    PerformanceSLOSpec,
    PrometheusSpec,
    TargetRef,
)

__all__ = [
    "GROUP",
    "VERSION",
    "Behavior",
    "Direction",
    "EvaluationSpec",
    "MetricsUnavailableAction",
    "Mode",
    "Objective",
    "ObjectiveKind",
    "PerformanceSLOSpec",
    "PrometheusSpec",
    "ScalingPolicy",
    "ScalingRules",
    "ScalingSpec",
    "TargetRef",
]
