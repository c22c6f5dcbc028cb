"""What a user did, read from the local API server's JSON audit log (RBAC proofs)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

Rule = tuple[str, str, str]  # (apiGroup, resource[/subresource], verb)


@dataclass(frozen=True)
class Request:
    """One resource request a user made: what, where (``None``: cluster-scoped), and the
    API server's answer."""

    rule: Rule
    namespace: str | None
    code: int | None

    @property
    def refused(self) -> bool:
        return self.code in (401, 403)


def requests_in_audit_log(lines: Iterable[str], username: str) -> list[Request]:
    """Every resource request ``username`` made, in order, from the JSON audit log.

    Non-resource requests (discovery, /version) carry no objectRef and every
    authenticated user may make them: they are left out."""
    found = []
    for line in lines:
        event = json.loads(line)
        ref = event.get("objectRef")
        if event.get("user", {}).get("username") != username or not ref:
            continue
        resource = ref["resource"] + (f"/{ref['subresource']}" if ref.get("subresource") else "")
        found.append(
            Request(
                (ref.get("apiGroup", ""), resource, event["verb"]),
                ref.get("namespace") or None,
                event.get("responseStatus", {}).get("code"),
            )
        )
    return found


def used_in_audit_log(lines: Iterable[str], username: str) -> set[Rule]:
    """(apiGroup, resource[/subresource], verb) of every request ``username`` made that
    the API server authorized (a 404 was still authorized), from its JSON audit log."""
    return {r.rule for r in requests_in_audit_log(lines, username) if not r.refused}


def used_by_namespace(lines: Iterable[str], username: str) -> dict[str | None, set[Rule]]:
    """The same, per namespace the requests named (``None``: cluster-scoped and
    all-namespaces requests), for roles granted per namespace."""
    used: dict[str | None, set[Rule]] = {}
    for request in requests_in_audit_log(lines, username):
        if not request.refused:
            used.setdefault(request.namespace, set()).add(request.rule)
    return used
