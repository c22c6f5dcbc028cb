"""coordination.k8s.io Leases for shard ownership (see crestline.runtime.shards).

Updates replace the whole Lease with the resourceVersion it was read at, so two
replicas racing for one Lease cannot both win: the loser gets 409.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from crestline.adapters.kube import TIMEOUT, RateLimiter

LABEL = "crestline.dev/lease"


@dataclass(frozen=True)
class LeaseRecord:
    """What a Lease says (the part that matters here)."""

    name: str
    holder: str | None
    renew_time: str | None
    duration: int
    resource_version: str


def lease_record(obj: Any) -> LeaseRecord:
    """From the kubernetes client's V1Lease."""
    spec = obj.spec
    renew = getattr(spec, "renew_time", None)
    return LeaseRecord(
        name=obj.metadata.name,
        holder=getattr(spec, "holder_identity", None) or None,
        renew_time=renew.isoformat() if isinstance(renew, dt.datetime) else renew,
        duration=int(getattr(spec, "lease_duration_seconds", None) or 15),
        resource_version=obj.metadata.resource_version,
    )


class KubeLeases:
    def __init__(self, api_client: client.ApiClient, namespace: str, limiter: RateLimiter) -> None:
        self._api = client.CoordinationV1Api(api_client)
        self._namespace = namespace
        self._limiter = limiter

    def list(self) -> list[LeaseRecord]:
        self._limiter.acquire()
        found = self._api.list_namespaced_lease(
            self._namespace, label_selector=LABEL, _request_timeout=TIMEOUT
        )
        return [lease_record(item) for item in found.items]

    def _body(
        self,
        name: str,
        holder: str | None,
        duration: int,
        *,
        labels: dict[str, str],
        rv: str | None,
    ) -> Any:
        now = dt.datetime.now(dt.UTC)
        meta: dict[str, Any] = {"name": name, "namespace": self._namespace, "labels": labels}
        if rv is not None:
            meta["resourceVersion"] = rv
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": holder,
                "leaseDurationSeconds": duration,
                "renewTime": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            },
        }

    def create(self, name: str, holder: str, duration: int, labels: dict[str, str]) -> LeaseRecord:
        self._limiter.acquire()
        made = self._api.create_namespaced_lease(
            self._namespace,
            self._body(name, holder, duration, labels=labels, rv=None),
            _request_timeout=TIMEOUT,
        )
        return lease_record(made)

    def update(self, record: LeaseRecord, holder: str | None, duration: int) -> LeaseRecord:
        self._limiter.acquire()
        kind = "member" if "member" in record.name else "shard"
        done = self._api.replace_namespaced_lease(
            record.name,
            self._namespace,
            self._body(
                record.name, holder, duration, labels={LABEL: kind}, rv=record.resource_version
            ),
            _request_timeout=TIMEOUT,
        )
        return lease_record(done)
