"""Prometheus Operator monitors: read and set the scrape interval of every endpoint.

ServiceMonitors keep endpoints in ``spec.endpoints``, PodMonitors in
``spec.podMetricsEndpoints``. The interval is per endpoint (absent means Prometheus'
global default), so the original is recorded as a list, one entry per endpoint.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

GROUP, VERSION = "monitoring.coreos.com", "v1"
KINDS = {
    "ServiceMonitor": ("servicemonitors", "endpoints"),
    "PodMonitor": ("podmonitors", "podMetricsEndpoints"),
}


class Monitors:
    def __init__(self, api_client: client.ApiClient) -> None:
        self.custom = client.CustomObjectsApi(api_client)

    def intervals(self, namespace: str, kind: str, name: str) -> list[str | None]:
        plural, field = KINDS[kind]
        obj: Any = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        return [e.get("interval") for e in obj.get("spec", {}).get(field, [])]

    def set_intervals(
        self, namespace: str, kind: str, name: str, intervals: list[str | None]
    ) -> None:
        """Set each endpoint's interval (None removes it); other endpoint fields are kept."""
        plural, field = KINDS[kind]
        obj: Any = self.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
        endpoints = obj.get("spec", {}).get(field, [])
        if len(endpoints) != len(intervals):
            raise ValueError(
                f"{kind} {name} has {len(endpoints)} endpoints, expected {len(intervals)}"
            )
        for endpoint, interval in zip(endpoints, intervals, strict=True):
            if interval is None:
                endpoint.pop("interval", None)
            else:
                endpoint["interval"] = interval
        self.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"spec": {field: endpoints}},
            _content_type="application/merge-patch+json",
        )
