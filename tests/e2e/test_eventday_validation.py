"""Bad EventDays are rejected by `kubectl apply` with a clear message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from crestline_dev.stack import Stack
from tests.kubectl import apply, kubectl

pytestmark = pytest.mark.stack

VALID: dict[str, Any] = {
    "apiVersion": "crestline.dev/v1alpha1",
    "kind": "EventDay",
    "metadata": {"name": "black-friday", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"tier": "shop"}},
        "schedule": {
            "timezone": "Europe/Berlin",
            "windows": [{"start": "2026-11-27T09:00:00", "end": "2026-11-27T21:00:00"}],
            "recurring": [{"cron": "0 18 * * SAT", "duration": "6h"}],
            "leadTime": "2h",
            "trailTime": "30m",
        },
        "overrides": {
            "evaluationIntervalSeconds": 10,
            "objectives": [{"name": "p95", "target": 0.25}],
            "capacity": {"minReplicas": 10, "headroomPercent": 20},
        },
    },
}


def _variant(name: str, schedule: dict[str, Any]) -> dict[str, Any]:
    obj = copy.deepcopy(VALID)
    obj["metadata"]["name"] = name
    obj["spec"]["schedule"].update(schedule)
    for key in [k for k, v in obj["spec"]["schedule"].items() if v is None]:
        del obj["spec"]["schedule"][key]
    return obj


def test_valid_eventday_is_accepted_with_defaults(stack: Stack, crds: None) -> None:
    apply(stack, VALID)
    got = kubectl(
        stack, "get", "evd", "black-friday", "-o", "jsonpath={.spec.overrides.capacity.noScaleDown}"
    ).stdout
    assert got == "true"
    header = kubectl(stack, "get", "evd", "black-friday").stdout.splitlines()[0].split()
    assert header == ["NAME", "PHASE", "NEXT", "SLOS", "AGE"]


@pytest.mark.parametrize(
    ("case", "schedule", "message"),
    [
        (
            "end-before-start",
            {"windows": [{"start": "2026-11-27T21:00:00", "end": "2026-11-27T09:00:00"}]},
            "end must be after start",
        ),
        ("bad-time", {"windows": [{"start": "tomorrow", "end": "2026-11-27T09:00:00"}]}, "start"),
        ("bad-cron", {"recurring": [{"cron": "every saturday", "duration": "6h"}]}, "cron"),
        ("unknown-tz", {"timezone": "Mars/Olympus_Mons"}, "unknown IANA timezone"),
        ("negative-lead", {"leadTime": "-2h"}, "leadTime"),
        ("no-windows", {"windows": [], "recurring": []}, "at least one window"),
        ("windows-absent", {"windows": None, "recurring": None}, "at least one window"),
    ],
)
def test_invalid_eventday_is_rejected_at_apply(
    stack: Stack, crds: None, case: str, schedule: dict[str, Any], message: str
) -> None:
    result = apply(stack, _variant(f"bad-{case}", schedule), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert message in result.stderr, result.stderr
