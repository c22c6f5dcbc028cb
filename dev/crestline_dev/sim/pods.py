"""The simulator's kubelet stand-in: pods report Ready when the model says they serve.

There is no kubelet in the node-less stack, so a Deployment's pods would stay Pending
and its ``readyReplicas`` at 0, which is not what a cluster running this service would
show. Like kwok, this marks pods Running and Ready through the pods' status subresource
(the Deployment and ReplicaSet controllers then count them as they would in a cluster):
the oldest ``ready`` pods are Ready, the rest are starting. Only pods whose state must
change are patched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from kubernetes import client

log = logging.getLogger(__name__)


def _ready_status(ready: bool) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    state = "True" if ready else "False"
    return {
        "status": {
            "phase": "Running" if ready else "Pending",
            "conditions": [
                {"type": "Ready", "status": state, "lastTransitionTime": now},
                {"type": "ContainersReady", "status": state, "lastTransitionTime": now},
            ],
        }
    }


def _name(pod: Any) -> str:
    return str(pod.metadata.name)


def _is_ready(pod: Any) -> bool:
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def kube_pod_readiness(api_client: object, namespace: str, app: str) -> Callable[[int], bool]:
    """A hook for :class:`SimulatedService`: make ``ready`` of the app's pods Ready.

    Returns False while fewer than ``ready`` pods exist: the controllers create them
    after the scale (seconds later on a busy control plane), and a count reported
    before they exist would leave them unready for good."""
    core: Any = client.CoreV1Api(api_client)

    def mark(ready: int) -> bool:
        pods = core.list_namespaced_pod(
            namespace, label_selector=f"app={app}", _request_timeout=(3, 10)
        ).items
        live = sorted(
            (p for p in pods if p.metadata and not p.metadata.deletion_timestamp),
            key=lambda p: (p.metadata.creation_timestamp, p.metadata.name),
        )
        for i, pod in enumerate(live):
            want = i < ready
            if _is_ready(pod) != want:
                body: Any = _ready_status(want)
                core.patch_namespaced_pod_status(
                    pod.metadata.name, namespace, body, _request_timeout=(3, 10)
                )
        return len(live) >= ready

    return mark


def mark_all_ready(api_client: object, namespace: str) -> int:
    """Every pod of ``namespace`` Running and Ready (a kubelet stand-in for fleets of
    workloads that serve nothing in particular); returns how many were changed."""
    core: Any = client.CoreV1Api(api_client)
    changed = 0
    for pod in core.list_namespaced_pod(namespace, _request_timeout=(3, 10)).items:
        if pod.metadata and not pod.metadata.deletion_timestamp and not _is_ready(pod):
            body: Any = _ready_status(True)
            core.patch_namespaced_pod_status(
                pod.metadata.name, namespace, body, _request_timeout=(3, 10)
            )
            changed += 1
    return changed
