"""Kubernetes: the target's scale, writing replicas, finding other owners, reading Secrets.

Replicas are written with server-side apply on the scale subresource under the field
manager ``crestline`` (forced: taking over ``spec.replicas`` from imperative writers
such as ``kubectl scale``). GitOps tools can then be told to ignore exactly that field.

Before writing we look for another owner of the replica count; if there is one the
operator reports ``Conflict`` and stands back instead of fighting it:

* an HPA (``autoscaling/v2``) whose ``scaleTargetRef`` is the target;
* a KEDA ``ScaledObject`` whose ``scaleTargetRef`` is the target (when KEDA is installed);
* another field manager that *applies* ``spec.replicas`` (server-side apply: a GitOps
  controller declaring the field). Managers that merely *updated* it once (``kubectl
  scale``, client-side apply) do not keep owning it and are not a conflict.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

FIELD_MANAGER = "crestline"
_IGNORED_MANAGERS = {FIELD_MANAGER, "kube-controller-manager"}


def _server_side_apply(patch: Any, name: str, namespace: str, body: dict[str, Any]) -> None:
    """Apply ``body`` as field manager crestline, taking over fields others last set."""
    patch(
        name,
        namespace,
        body,
        field_manager=FIELD_MANAGER,
        force=True,
        _content_type="application/apply-patch+yaml",
    )


class TargetNotFound(Exception):
    """The workload named by ``targetRef`` does not exist (or is not a scalable kind)."""


@dataclass(frozen=True)
class TargetScale:
    desired: int  # spec.replicas
    observed: int  # status.replicas (pods that exist)


@dataclass(frozen=True)
class Owner:
    """Something other than crestline that controls the replica count."""

    kind: str
    name: str

    def describe(self) -> str:
        return f"{self.kind} {self.name}"


class KubeTarget:
    """Scale subresource access for Deployments and StatefulSets."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = api_client
        self._apps = client.AppsV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self._autoscaling = client.AutoscalingV2Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)

    def _plural(self, kind: str) -> str:
        return {"Deployment": "deployment", "StatefulSet": "stateful_set"}[kind]

    def read_scale(self, namespace: str, kind: str, name: str) -> TargetScale:
        read = getattr(self._apps, f"read_namespaced_{self._plural(kind)}_scale")
        try:
            scale = read(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise TargetNotFound(f"{kind} {namespace}/{name} not found") from exc
            raise
        spec = scale.spec
        status = scale.status
        return TargetScale(
            desired=int(spec.replicas or 0) if spec else 0,
            observed=int(status.replicas or 0) if status else 0,
        )

    def write_replicas(self, namespace: str, kind: str, name: str, replicas: int) -> None:
        """Server-side apply ``spec.replicas`` through the scale subresource."""
        patch = getattr(self._apps, f"patch_namespaced_{self._plural(kind)}_scale")
        body = {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas},
        }
        _server_side_apply(patch, name, namespace, body)

    def other_owners(self, namespace: str, kind: str, name: str) -> list[Owner]:
        """Every other controller of the target's replica count (empty: we may write)."""
        owners = [Owner("HorizontalPodAutoscaler", h) for h in self._hpas(namespace, kind, name)]
        owners += [Owner("ScaledObject", s) for s in self._scaled_objects(namespace, kind, name)]
        owners += [Owner("FieldManager", m) for m in self._replica_appliers(namespace, kind, name)]
        return owners

    def _hpas(self, namespace: str, kind: str, name: str) -> list[str]:
        hpas = self._autoscaling.list_namespaced_horizontal_pod_autoscaler(namespace).items
        return [
            str(h.metadata.name)
            for h in hpas
            if h.metadata
            and h.spec
            and h.spec.scale_target_ref.kind == kind
            and h.spec.scale_target_ref.name == name
        ]

    def _scaled_objects(self, namespace: str, kind: str, name: str) -> list[str]:
        try:
            listing: Any = self._custom.list_namespaced_custom_object(
                "keda.sh", "v1alpha1", namespace, "scaledobjects"
            )
        except ApiException as exc:
            if exc.status in (403, 404):  # KEDA not installed, or not ours to see
                return []
            raise
        found = []
        for item in listing.get("items", []):
            ref = item.get("spec", {}).get("scaleTargetRef", {})
            if ref.get("name") == name and ref.get("kind", "Deployment") == kind:
                found.append(item["metadata"]["name"])
        return found

    def _replica_appliers(self, namespace: str, kind: str, name: str) -> list[str]:
        read = getattr(self._apps, f"read_namespaced_{self._plural(kind)}")
        obj = read(name, namespace)
        managers = []
        for entry in obj.metadata.managed_fields or []:
            if entry.operation != "Apply" or entry.manager in _IGNORED_MANAGERS:
                continue
            fields = entry.fields_v1 or {}
            if isinstance(fields, dict) and "f:replicas" in fields.get("f:spec", {}):
                managers.append(entry.manager)
        return managers

    def max_surge(self, namespace: str, kind: str, name: str) -> int | str:
        """The rollout surge of the target (StatefulSets do not surge)."""
        if kind != "Deployment":
            return 0
        obj = self._apps.read_namespaced_deployment(name, namespace)
        strategy = obj.spec.strategy if obj.spec else None
        rolling = strategy.rolling_update if strategy else None
        if strategy is not None and strategy.type == "Recreate":
            return 0
        value = rolling.max_surge if rolling and rolling.max_surge is not None else "25%"
        return value if isinstance(value, int | str) else str(value)

    def apply_config_key(self, namespace: str, name: str, key: str, value: str) -> None:
        """Server-side apply one ConfigMap key as field manager crestline (creates it)."""
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {key: value},
        }
        _server_side_apply(self._core.patch_namespaced_config_map, name, namespace, body)

    def read_secret_key(self, namespace: str, name: str, key: str) -> str:
        secret = self._core.read_namespaced_secret(name, namespace)
        data = (secret.data or {}).get(key)
        if data is None:
            raise KeyError(f"Secret {namespace}/{name} has no key {key!r}")
        return base64.b64decode(data).decode()
