"""Pure parts of the operator: preset PromQL, conditions."""

from __future__ import annotations

from kubernetes.client.exceptions import ApiException

from crestline.adapters.kube import namespace_terminating
from crestline.api import Objective
from crestline.policy.conditions import changed, cond, merge
from crestline.policy.queries import render


def _obj(preset: dict[str, object]) -> Objective:
    return Objective.model_validate({"name": "o", "preset": preset, "target": 1})


def test_presets_render_promql() -> None:
    lat = render(
        _obj({"latency": {"metric": "h", "selector": 'job="w"', "quantile": 0.99}}), "ns", "web"
    )
    assert lat == 'histogram_quantile(0.99, sum by (le) (rate(h_bucket{job="w"}[1m])))'
    err = render(
        _obj({"errorRatio": {"metric": "r_total", "errorSelector": 'code=~"5.."'}}), "ns", "web"
    )
    assert 'r_total{code=~"5.."}' in err
    assert "clamp_min(sum(rate(r_total{}[1m])), 1e-9)" in err
    cpu = render(_obj({"cpuUtilization": {}}), "ns", "web")
    assert 'pod=~"web-.*"' in cpu
    assert 'namespace="ns"' in cpu
    raw = Objective.model_validate({"name": "o", "query": "up", "target": 1})
    assert render(raw, "ns", "web") == "up"


def test_condition_transition_time_only_moves_on_change() -> None:
    first = merge([], [cond("Ready", True, "Evaluated")], "t1")
    same = merge(first, [cond("Ready", True, "Evaluated", "new message")], "t2")
    assert same[0].last_transition_time == "t1"
    flipped = merge(same, [cond("Ready", False, "Conflict")], "t3")
    assert flipped[0].last_transition_time == "t3"
    assert changed(same, flipped, "Ready")
    assert not changed(first, same, "Ready")


def test_only_a_namespace_being_deleted_counts_as_terminating() -> None:
    """An RBAC 403 must stay loud; the API server names the terminating cause itself."""
    rbac = ApiException(status=403)
    rbac.body = '{"kind":"Status","reason":"Forbidden","message":"events is forbidden: User x"}'
    going = ApiException(status=403)
    going.body = (
        '{"kind":"Status","reason":"Forbidden","details":{"causes":'
        '[{"reason":"NamespaceTerminating","field":"metadata.namespace"}]}}'
    )
    assert not namespace_terminating(rbac)
    assert namespace_terminating(going)
    assert not namespace_terminating(ApiException(status=500))
