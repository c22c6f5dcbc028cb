"""Reading the permissions a user really used from a kube-apiserver JSON audit log."""

from __future__ import annotations

import json
from typing import Any

from crestline_dev.audit import requests_in_audit_log, used_by_namespace, used_in_audit_log

SA = "system:serviceaccount:crestline-system:crestline"


def _event(user: str, verb: str, code: int, **ref: str) -> str:
    event: dict[str, Any] = {
        "kind": "Event",
        "stage": "ResponseComplete",
        "verb": verb,
        "user": {"username": user},
        "responseStatus": {"code": code},
    }
    if ref:
        event["objectRef"] = ref
    return json.dumps(event)


def test_keeps_authorized_resource_requests_of_the_user_only() -> None:
    lines = [
        _event(SA, "patch", 200, apiGroup="apps", resource="deployments", subresource="scale"),
        _event(SA, "list", 404, apiGroup="keda.sh", resource="scaledobjects"),  # still allowed
        _event(SA, "get", 200, resource="secrets"),  # core group: no apiGroup key
        _event(SA, "delete", 403, resource="pods"),  # refused: not granted
        _event(SA, "get", 200),  # /version: no objectRef
        _event("admin", "create", 201, resource="namespaces"),
    ]
    assert used_in_audit_log(lines, SA) == {
        ("apps", "deployments/scale", "patch"),
        ("keda.sh", "scaledobjects", "list"),
        ("", "secrets", "get"),
    }


def test_tells_namespaces_apart_and_keeps_refusals() -> None:
    lines = [
        _event(SA, "list", 200, resource="secrets", namespace="payments"),
        _event(SA, "list", 403, resource="secrets", namespace="shop"),  # refused
        _event(SA, "patch", 200, apiGroup="apps", resource="deployments", namespace="shop"),
        _event(SA, "watch", 200, resource="namespaces"),  # cluster-scoped
    ]
    assert used_by_namespace(lines, SA) == {
        "payments": {("", "secrets", "list")},
        "shop": {("apps", "deployments", "patch")},
        None: {("", "namespaces", "watch")},
    }
    refused = [r for r in requests_in_audit_log(lines, SA) if r.refused]
    assert [(r.rule, r.namespace) for r in refused] == [(("", "secrets", "list"), "shop")]
