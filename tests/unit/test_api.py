"""The API models: the same rules as the CRD's CEL, and the CRD files match the models."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from crestline.api import ObjectiveKind, PerformanceSLOSpec
from crestline.api.crdgen import ALL_CRDS, drifted, render
from crestline.api.eventday import EventDaySpec
from crestline.api.schedule import iana_zones
from crestline_dev.stack.binaries import repo_root


def _spec(**overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "targetRef": {"name": "web"},
        "objectives": [{"name": "p95", "query": "x", "target": 1}],
        "scaling": {"maxReplicas": 5},
    }
    spec.update(overrides)
    return spec


def test_checked_in_crds_match_the_models() -> None:
    root = repo_root()
    assert root is not None
    for directory in ("crds", "helm/crestline/crds"):  # the chart ships the same files
        assert drifted(root / directory) == [], "run `make crds` and commit the result"


def test_schema_is_structural_enough() -> None:
    """No construct the API server refuses in a structural schema survives generation."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for bad in ("$ref", "anyOf", "oneOf", "allOf", "$defs", "title", "const"):
                assert bad not in node
            assert node.get("additionalProperties") is not False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for crd in ALL_CRDS:
        walk(render(crd))


def test_defaults_and_kinds() -> None:
    spec = PerformanceSLOSpec.model_validate(
        _spec(
            objectives=[
                {"name": "p95", "preset": {"latency": {"metric": "h"}}, "target": 0.2},
                {
                    "name": "err",
                    "preset": {"errorRatio": {"metric": "r", "errorSelector": 'c="5"'}},
                    "target": 0.01,
                },
                {"name": "cpu", "preset": {"cpuUtilization": {}}, "target": 0.7},
                {"name": "raw", "query": "q", "target": 3},
            ]
        )
    )
    kinds = [o.effective_kind for o in spec.objectives]
    assert kinds == [
        ObjectiveKind.SLO,
        ObjectiveKind.SLO,
        ObjectiveKind.PROPORTIONAL,
        ObjectiveKind.PROPORTIONAL,
    ]
    assert spec.evaluation.interval_seconds == 30
    assert spec.scaling.behavior.scale_down.stabilization_window_seconds == 300


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"scaling": {"minReplicas": 6, "maxReplicas": 5}}, "minReplicas must not exceed"),
        (
            {
                "objectives": [
                    {"name": "a", "query": "x", "target": 1},
                    {"name": "a", "query": "y", "target": 1},
                ]
            },
            "duplicated: a",
        ),
        ({"objectives": [{"name": "a", "query": " ", "target": 1}]}, "pattern"),
        ({"objectives": [{"name": "a", "target": 1}]}, "exactly one of query or preset"),
        ({"objectives": [{"name": "a", "query": "x", "target": 0}]}, "greater than 0"),
        ({"evaluation": {"intervalSeconds": 0}}, "greater than 0"),
        (
            {
                "scaling": {
                    "maxReplicas": 5,
                    "onMetricsUnavailable": {"action": "fallback", "fallbackReplicas": 9},
                }
            },
            "within [minReplicas",
        ),
        ({"scaling": {"maxReplicas": 5, "surprise": 1}}, "Extra inputs"),
    ],
)
def test_bad_specs_fail_with_a_clear_message(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[")):
        PerformanceSLOSpec.model_validate(_spec(**overrides))


def _eventday(**schedule: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "timezone": "Europe/Berlin",
        "windows": [{"start": "2026-11-27T09:00:00", "end": "2026-11-27T21:00:00"}],
    }
    base.update(schedule)
    return {"schedule": base}


def test_eventday_defaults() -> None:
    spec = EventDaySpec.model_validate(_eventday())
    assert spec.overrides.capacity.no_scale_down is True
    assert spec.schedule.lead_time == "0s"
    assert "Europe/Berlin" in iana_zones()


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"timezone": "Mars/Base"}, "unknown IANA timezone"),
        (
            {"windows": [{"start": "2026-11-27T21:00:00", "end": "2026-11-27T09:00:00"}]},
            "end must be after start",
        ),
        ({"windows": [], "recurring": []}, "at least one window"),
        ({"recurring": [{"cron": "61 * * * *", "duration": "1h"}]}, "minute"),
        ({"leadTime": "-1h"}, "pattern"),
    ],
)
def test_bad_eventdays_fail_with_a_clear_message(schedule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        EventDaySpec.model_validate(_eventday(**schedule))
