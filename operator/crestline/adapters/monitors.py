"""Prometheus Operator monitors: read and set the scrape interval of every endpoint.

ServiceMonitors keep endpoints in ``spec.endpoints``, PodMonitors in
``spec.podMetricsEndpoints``. The interval is per endpoint (absent means Prometheus'
global default), so the original is recorded as a list, one entry per endpoint. The
endpoint list is replaced as a whole by a merge patch, so the write carries the
resourceVersion it was read at: a concurrent change makes it fail (409) instead of
being overwritten.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from crestline.adapters.kube import TIMEOUT, RateLimiter

GROUP, VERSION = "monitoring.coreos.com", "v1"
KINDS = {
    "ServiceMonitor": ("servicemonitors", "endpoints"),
    "PodMonitor": ("podmonitors", "podMetricsEndpoints"),
}


class Monitors:
    def __init__(self, api_client: client.ApiClient, limiter: RateLimiter) -> None:
        self.custom = client.CustomObjectsApi(api_client)
        self._limiter = limiter

    def _read(self, namespace: str, kind: str, name: str) -> Any:
        plural, _ = KINDS[kind]
        self._limiter.acquire()
        return self.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, name, _request_timeout=TIMEOUT
        )

    def intervals(self, namespace: str, kind: str, name: str) -> list[str | None]:
        _, field = KINDS[kind]
        obj = self._read(namespace, kind, name)
        return [e.get("interval") for e in obj.get("spec", {}).get(field, [])]

    def set_intervals(
        self, namespace: str, kind: str, name: str, intervals: list[str | None]
    ) -> None:
        """Set each endpoint's interval (None removes it); other endpoint fields are kept."""
        plural, field = KINDS[kind]
        obj = self._read(namespace, kind, name)
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
        self._limiter.acquire()
        self.custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {
                "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
                "spec": {field: endpoints},
            },
            _content_type="application/merge-patch+json",
            _request_timeout=TIMEOUT,
        )
