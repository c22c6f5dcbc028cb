"""The Kubernetes adapter against the real API server: answers it must tell apart."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from crestline.adapters.kube import Kube, ObjectRef, RateLimiter, namespace_terminating
from crestline.policy.conditions import Event, EventType
from crestline_dev.scenario import wait_for

pytestmark = pytest.mark.stack


def test_an_event_in_a_namespace_being_deleted_is_dropped_not_a_forbidden_error(
    kube: client.ApiClient,
) -> None:
    """A 403 there is the namespace going away, not missing RBAC: no warning is owed."""
    core: Any = client.CoreV1Api(kube)
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    # A finalizer nobody removes keeps the namespace Terminating while the test runs.
    core.create_namespaced_config_map(
        name, {"metadata": {"name": "held", "finalizers": ["crestline.dev/test-hold"]}}
    )
    ref = ObjectRef("v1", "ConfigMap", name, "held")
    event = Event(EventType.NORMAL, "Test", "posted while the namespace goes")
    try:
        core.delete_namespace(name)
        wait_for(lambda: core.read_namespace(name).status.phase == "Terminating", 30, "Terminating")
        with pytest.raises(ApiException) as refused:
            core.create_namespaced_config_map(name, {"metadata": {"name": "new"}})
        assert namespace_terminating(refused.value)
        Kube(kube, RateLimiter(50, 100)).post_event(ref, event)  # no exception
    finally:
        core.patch_namespaced_config_map("held", name, {"metadata": {"finalizers": []}})
