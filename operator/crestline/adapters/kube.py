"""Kubernetes writes, and the few reads that are not served by the watch caches.

Replicas are written with server-side apply on the scale subresource under the field
manager ``crestline`` (forced: taking over ``spec.replicas`` from imperative writers such
as ``kubectl scale``), so GitOps tools can be told to ignore exactly that field. Pool
sizes are one ConfigMap key, applied the same way. Status is a JSON merge patch on the
status subresource; a patch that carries ``metadata.resourceVersion`` is refused with
409 when the object changed meanwhile, which is how the EventDay ledger is written
(two writers can never both record an "original").

Every call has a timeout and passes a client-side rate limiter, so a thousand objects
cannot flood the API server and a slow API server cannot hold a worker forever.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from crestline.api.base import GROUP, VERSION
from crestline.policy.conditions import Event

FIELD_MANAGER = "crestline"
TIMEOUT = (3.0, 10.0)  # (connect, read) seconds for every call


class RateLimiter:
    """A token bucket: ``qps`` requests per second on average, bursts up to ``burst``.

    Shared by every worker thread; ``acquire`` waits (never longer than ``max_wait``)
    for a token, the way client-go's default limiter throttles a controller.
    """

    def __init__(self, qps: float, burst: int, *, max_wait: float = 30.0) -> None:
        self.qps, self.burst, self.max_wait = qps, float(burst), max_wait
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        give_up = time.monotonic() + self.max_wait
        while True:
            with self._lock:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.qps)
                self._stamp = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                wait = (1 - self._tokens) / self.qps
            if time.monotonic() + wait > give_up:
                raise TimeoutError("client-side rate limit: no request slot within the wait")
            time.sleep(wait)


@dataclass(frozen=True)
class ObjectRef:
    """Enough of an object to address it and to post Events about it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""


_SCALE_READERS = {"Deployment": "deployment", "StatefulSet": "stateful_set"}


class Kube:
    """The operator's calls to the API server (writes, and reads not served by caches)."""

    def __init__(self, api_client: client.ApiClient, limiter: RateLimiter) -> None:
        self._apps = client.AppsV1Api(api_client)
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._limiter = limiter

    # -- writes ------------------------------------------------------------------------------
    def write_replicas(self, namespace: str, kind: str, name: str, replicas: int) -> None:
        """Server-side apply ``spec.replicas`` through the scale subresource."""
        self._limiter.acquire()
        patch = getattr(self._apps, f"patch_namespaced_{_SCALE_READERS[kind]}_scale")
        body = {
            "apiVersion": "autoscaling/v1",
            "kind": "Scale",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"replicas": replicas},
        }
        patch(
            name,
            namespace,
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
            _request_timeout=TIMEOUT,
        )

    def apply_config_key(self, namespace: str, name: str, key: str, value: str) -> None:
        """Server-side apply one ConfigMap key as field manager crestline (creates it)."""
        self._limiter.acquire()
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {key: value},
        }
        self._core.patch_namespaced_config_map(
            name,
            namespace,
            body,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type="application/apply-patch+yaml",
            _request_timeout=TIMEOUT,
        )

    def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        """Merge-patch the status subresource; with ``resource_version``, only if unchanged
        (raises ApiException 409 otherwise). Returns the object as written."""
        self._limiter.acquire()
        body: dict[str, Any] = {"status": dict(status)}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        written: Any = self._custom.patch_namespaced_custom_object_status(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            body,
            _content_type="application/merge-patch+json",
            _request_timeout=TIMEOUT,
        )
        return dict(written)

    def set_finalizers(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        finalizers: list[str],
        resource_version: str,
    ) -> dict[str, Any]:
        """Replace ``metadata.finalizers``, only if the object is still at
        ``resource_version`` (a finalizer list is never merged blindly)."""
        self._limiter.acquire()
        written: Any = self._custom.patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            plural,
            name,
            {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}},
            _content_type="application/merge-patch+json",
            _request_timeout=TIMEOUT,
        )
        return dict(written)

    def get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A fresh read of one of our objects (None when it is gone)."""
        self._limiter.acquire()
        try:
            obj: Any = self._custom.get_namespaced_custom_object(
                GROUP, VERSION, namespace, plural, name, _request_timeout=TIMEOUT
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(obj)

    def post_event(self, ref: ObjectRef, event: Event) -> None:
        """Record a Kubernetes Event about ``ref`` (core/v1, as kubectl describe shows)."""
        self._limiter.acquire()
        now = dt.datetime.now(dt.UTC)
        body: Any = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{ref.name[:200]}.{uuid.uuid4().hex[:16]}",
                "namespace": ref.namespace,
            },
            "involvedObject": {
                "apiVersion": ref.api_version,
                "kind": ref.kind,
                "namespace": ref.namespace,
                "name": ref.name,
                "uid": ref.uid,
            },
            "type": event.type.value,
            "reason": event.reason[:128],
            "message": event.message[:1024],
            "source": {"component": FIELD_MANAGER},
            "reportingComponent": FIELD_MANAGER,
            "firstTimestamp": now.isoformat(),
            "lastTimestamp": now.isoformat(),
            "count": 1,
        }
        try:
            self._core.create_namespaced_event(ref.namespace, body, _request_timeout=TIMEOUT)
        except ApiException as exc:
            # The object goes with its namespace in a moment; the API server refuses new
            # content there with a 403 that is no RBAC problem, so it is not worth a warning.
            if not namespace_terminating(exc):
                raise

    # -- reads not served by the caches ------------------------------------------------------
    def read_secret_key(self, namespace: str, name: str, key: str) -> tuple[str, dict[str, str]]:
        """A Secret's key (decoded) and the Secret's labels (the caller checks the mark)."""
        self._limiter.acquire()
        secret = self._core.read_namespaced_secret(name, namespace, _request_timeout=TIMEOUT)
        data = (secret.data or {}).get(key)
        if data is None:
            raise KeyError(f"Secret {name} has no key {key!r}")
        labels = dict((secret.metadata.labels if secret.metadata else None) or {})
        return base64.b64decode(data).decode(), labels


def namespace_terminating(exc: ApiException) -> bool:
    """The API server refused a create because the namespace is being deleted."""
    body = exc.body if isinstance(exc.body, str) else ""
    return exc.status == 403 and "NamespaceTerminating" in body
