"""What the operator keeps of watched Kubernetes objects: a few fields, not the body.

The watch caches hold one small record per Deployment, StatefulSet, HPA and
ScaledObject in the watched namespaces, so a cluster of thousands costs a few hundred
bytes each. These functions read those fields from the raw objects kopf delivers.

Other owners of a target's replica count (crestline then reports ``Conflict`` and
stands back):

* an HPA (``autoscaling/v2``) whose ``scaleTargetRef`` is the target;
* a KEDA ``ScaledObject`` whose ``scaleTargetRef`` is the target;
* another field manager that *applies* ``spec.replicas`` (server-side apply: a GitOps
  controller declaring the field). Managers that merely *updated* it once (``kubectl
  scale``, client-side apply) do not keep owning it and are not a conflict.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crestline.adapters.kube import FIELD_MANAGER

_IGNORED_MANAGERS = frozenset({FIELD_MANAGER, "kube-controller-manager"})


@dataclass(frozen=True)
class WorkloadRecord:
    """A Deployment or StatefulSet as the scaler needs it."""

    replicas: int
    ready: int | None
    surge: int | str
    replica_appliers: tuple[str, ...]


@dataclass(frozen=True)
class ScalerRecord:
    """An HPA or ScaledObject: which workload it scales."""

    kind: str
    name: str
    target_kind: str
    target_name: str


def _surge(kind: str, spec: Mapping[str, Any]) -> int | str:
    if kind != "Deployment":
        return 0  # StatefulSets do not surge
    strategy = spec.get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0
    value = (strategy.get("rollingUpdate") or {}).get("maxSurge", "25%")
    return value if isinstance(value, int) else str(value)


def _appliers(meta: Mapping[str, Any]) -> tuple[str, ...]:
    found = []
    for entry in meta.get("managedFields") or []:
        if entry.get("operation") != "Apply" or entry.get("manager") in _IGNORED_MANAGERS:
            continue
        fields = entry.get("fieldsV1") or {}
        if isinstance(fields, dict) and "f:replicas" in (fields.get("f:spec") or {}):
            found.append(str(entry.get("manager")))
    return tuple(found)


def workload(kind: str, body: Mapping[str, Any]) -> WorkloadRecord:
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    ready = status.get("readyReplicas")
    observed = status.get("observedGeneration")
    generation = (body.get("metadata") or {}).get("generation")
    return WorkloadRecord(
        replicas=int(spec.get("replicas", 1)),
        # Before the controller has seen this generation the ready count is stale.
        ready=int(ready or 0) if observed is not None and observed == generation else None,
        surge=_surge(kind, spec),
        replica_appliers=_appliers(body.get("metadata") or {}),
    )


def hpa(body: Mapping[str, Any]) -> ScalerRecord:
    ref = (body.get("spec") or {}).get("scaleTargetRef") or {}
    return ScalerRecord(
        "HorizontalPodAutoscaler",
        str(body["metadata"]["name"]),
        str(ref.get("kind", "")),
        str(ref.get("name", "")),
    )


def scaled_object(body: Mapping[str, Any]) -> ScalerRecord:
    ref = (body.get("spec") or {}).get("scaleTargetRef") or {}
    return ScalerRecord(
        "ScaledObject",
        str(body["metadata"]["name"]),
        str(ref.get("kind", "Deployment")),
        str(ref.get("name", "")),
    )


def secret_data(body: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's data, decoded (keys that are not UTF-8 text are left out)."""
    out = {}
    for key, value in (body.get("data") or {}).items():
        try:
            out[str(key)] = base64.b64decode(value).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
    return out
