"""Bad PerformanceSLOs are rejected by `kubectl apply` with a clear message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from crestline_dev.stack import Stack
from tests.kubectl import apply, kubectl

pytestmark = pytest.mark.stack

VALID: dict[str, Any] = {
    "apiVersion": "crestline.dev/v1alpha1",
    "kind": "PerformanceSLO",
    "metadata": {"name": "valid", "namespace": "default"},
    "spec": {
        "targetRef": {"name": "web"},
        "objectives": [
            {
                "name": "p95",
                "preset": {"latency": {"metric": "http_request_duration_seconds"}},
                "target": 0.25,
            },
            {"name": "cpu", "query": "avg(cpu_util)", "target": 0.7},
        ],
        "scaling": {"minReplicas": 2, "maxReplicas": 20},
    },
}


def _variant(name: str, **changes: Any) -> dict[str, Any]:
    obj = copy.deepcopy(VALID)
    obj["metadata"]["name"] = name
    for path, value in changes.items():
        node = obj["spec"]
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return obj


def test_valid_slo_is_accepted_with_defaults(stack: Stack, crds: None) -> None:
    apply(stack, VALID)
    got = kubectl(
        stack,
        "get",
        "pslo",
        "valid",
        "-o",
        "jsonpath={.spec.evaluation.intervalSeconds} {.spec.mode} {.spec.scaling.tolerance}",
    ).stdout
    assert got == "30 enforce 0.1"
    columns = kubectl(stack, "get", "pslo", "valid").stdout.splitlines()[0].split()
    assert columns == ["NAME", "TARGET", "CURRENT", "DESIRED", "WORST", "MODE", "AGE"]


@pytest.mark.parametrize(
    ("case", "changes", "message"),
    [
        ("min-gt-max", {"scaling__minReplicas": 30}, "minReplicas must not exceed maxReplicas"),
        ("zero-target", {"objectives__1__target": 0}, "target"),
        ("negative-target", {"objectives__1__target": -1}, "should be greater than 0"),
        ("zero-interval", {"evaluation": {"intervalSeconds": 0}}, "intervalSeconds"),
        ("dup-names", {"objectives__1__name": "p95"}, "Duplicate value"),
        ("empty-query", {"objectives__1__query": ""}, "query"),
        ("blank-query", {"objectives__1__query": "   "}, "query"),
        (
            "query-and-preset",
            {"objectives__1__preset": {"latency": {"metric": "x"}}},
            "set exactly one of query or preset",
        ),
        (
            "two-presets",
            {
                "objectives__0__preset": {
                    "latency": {"metric": "lat"},
                    "errorRatio": {"metric": "errors_total", "errorSelector": 'code=~"5.."'},
                }
            },
            "a preset sets exactly one of latency, errorRatio, cpuUtilization",
        ),
        (
            "fallback-outside",
            {"scaling__onMetricsUnavailable": {"action": "fallback", "fallbackReplicas": 50}},
            "fallbackReplicas must lie within [minReplicas, maxReplicas]",
        ),
        (
            "fallback-missing",
            {"scaling__onMetricsUnavailable": {"action": "fallback"}},
            "onMetricsUnavailable.action=fallback needs fallbackReplicas",
        ),
        (
            "total-above",
            {"objectives__1__kind": "total", "objectives__1__direction": "above"},
            "a total objective's target is what one replica carries",
        ),
        ("short-growth-window", {"scaling__demandHeadroom": {"windowSeconds": 60}}, "3600"),
        ("bad-mode", {"mode": "yolo"}, "mode"),
        ("bad-kind", {"targetRef": {"kind": "Pod", "name": "x"}}, "kind"),
    ],
)
def test_invalid_slo_is_rejected_at_apply(
    stack: Stack, crds: None, case: str, changes: dict[str, Any], message: str
) -> None:
    result = apply(stack, _variant(f"bad-{case}", **changes), check=False)
    assert result.returncode != 0, f"{case} was accepted"
    assert message in result.stderr, result.stderr
