"""PromQL for objective presets, so users need not hand-write it.

Pure string building. Selectors are passed through as written by the user (label
matchers without braces, e.g. ``job="web"``); the renderer joins them with the
matchers it adds itself.
"""

from __future__ import annotations

from crestline.api.slo import Objective


def _matchers(*parts: str) -> str:
    inner = ",".join(p.strip().strip("{}").strip() for p in parts if p and p.strip())
    return "{" + inner + "}"


def render(objective: Objective, namespace: str, target_name: str) -> str:
    """The PromQL an objective evaluates: its own query, or its preset's."""
    if objective.query is not None:
        return objective.query
    preset = objective.preset
    assert preset is not None  # the model guarantees query xor preset
    if preset.latency is not None:
        p = preset.latency
        sel = _matchers(p.selector)
        return (
            f"histogram_quantile({p.quantile}, "
            f"sum by (le) (rate({p.metric}_bucket{sel}[{p.window}])))"
        )
    if preset.error_ratio is not None:
        e = preset.error_ratio
        errors = _matchers(e.selector, e.error_selector)
        total = _matchers(e.selector)
        # clamp_min: no traffic means no errors (0), not 0/0 (NaN, i.e. "unavailable").
        return (
            f"(sum(rate({e.metric}{errors}[{e.window}])) or vector(0)) / "
            f"clamp_min(sum(rate({e.metric}{total}[{e.window}])), 1e-9)"
        )
    c = preset.cpu_utilization
    if c is None:
        raise ValueError(f"objective {objective.name!r} is not read from Prometheus")
    pods = c.pod_regex or f"{target_name}-.*"
    usage = _matchers(f'namespace="{namespace}"', f'pod=~"{pods}"', 'container!=""')
    requests = _matchers(f'namespace="{namespace}"', f'pod=~"{pods}"', 'resource="cpu"')
    return (
        f"sum(rate(container_cpu_usage_seconds_total{usage}[{c.window}])) / "
        f"sum(kube_pod_container_resource_requests{requests})"
    )
