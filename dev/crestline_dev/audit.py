"""What a user did, read from the local API server's JSON audit log (RBAC proofs)."""

from __future__ import annotations

import json
from collections.abc import Iterable


def used_in_audit_log(lines: Iterable[str], username: str) -> set[tuple[str, str, str]]:
    """(apiGroup, resource[/subresource], verb) of every request ``username`` made that
    the API server authorized (a 404 was still authorized), from its JSON audit log.

    Non-resource requests (discovery, /version) carry no objectRef and every
    authenticated user may make them: they are left out."""
    used = set()
    for line in lines:
        event = json.loads(line)
        ref = event.get("objectRef")
        if event.get("user", {}).get("username") != username or not ref:
            continue
        if event.get("responseStatus", {}).get("code") in (401, 403):
            continue  # refused: not something the role grants
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        used.add((ref.get("apiGroup", ""), resource, event["verb"]))
    return used
