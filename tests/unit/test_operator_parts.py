"""Pure parts of the operator: preset PromQL, conditions, tick scheduling."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crestline.api import Objective
from crestline.policy.conditions import changed, cond, merge
from crestline.policy.queries import render
from crestline.runtime.scheduler import next_tick


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


@given(st.floats(0, 1e6), st.floats(0.1, 600), st.floats(0, 5000))
def test_ticks_are_anchored_and_in_the_future(prev: float, interval: float, lag: float) -> None:
    now = prev + lag
    nxt = next_tick(prev, interval, now)
    assert nxt > now
    assert nxt - now <= interval + 1e-6  # never waits more than one interval
    k = (nxt - prev) / interval
    assert abs(k - round(k)) < 1e-6  # on the anchored grid: no drift
