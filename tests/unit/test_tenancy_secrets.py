"""Team Secrets are followed exactly where RBAC grants them, and nowhere else.

Found while auditing the chart's watchNamespaces mode: the chart granted Secrets in every
watched namespace as soon as any tenant had ``allowSecrets``, and kopf watched Secrets in
every namespace the operator served. The grant now follows the tenants (one Role per
namespace, only where a tenant allows Secrets), and so must the watch, which kopf cannot
narrow per resource: the operator follows Secrets itself
(:mod:`crestline.adapters.secrets`), in :func:`crestline.policy.tenancy.secret_scope`.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from crestline.adapters.secrets import Follow, SecretWatch
from crestline.api.config import SECRET_LABEL, OperatorConfig, Tenant
from crestline.cli import UsageError, secret_scope
from crestline.policy import tenancy

CONFIG = OperatorConfig(
    tenants=[
        Tenant(namespaces=["pay*"], allow_secrets=True),
        Tenant(namespaces=["shop"], allow_urls=["http://web.shop.svc/"]),
    ]
)


# -- where ------------------------------------------------------------------------------------
def test_secrets_are_followed_only_in_watched_namespaces_whose_tenant_allows_them() -> None:
    scope = tenancy.secret_scope(CONFIG, ["shop", "payments", "payroll", "other", "payments"])
    assert scope == tenancy.SecretScope(namespaces=("payments", "payroll"))
    assert tenancy.secret_scope(CONFIG, None) == tenancy.SecretScope(cluster_wide=True)
    assert tenancy.secret_scope(CONFIG, ["shop"]).nowhere
    no_secrets = OperatorConfig(tenants=[Tenant(namespaces=["*"])])
    assert tenancy.secret_scope(no_secrets, None).nowhere
    assert tenancy.secret_scope(OperatorConfig(), ["payments"]).nowhere


def _args(*namespaces: str, all_namespaces: bool = False) -> argparse.Namespace:
    return argparse.Namespace(namespace=list(namespaces) or None, all_namespaces=all_namespaces)


def test_the_command_line_names_the_scope_and_refuses_patterns_with_team_secrets() -> None:
    assert secret_scope(CONFIG, _args("payments", "shop")).namespaces == ("payments",)
    assert secret_scope(CONFIG, _args(all_namespaces=True)).cluster_wide
    with pytest.raises(UsageError, match=r"--namespace pay\* is a pattern"):
        secret_scope(CONFIG, _args("pay*"))
    # Without tenants that may use Secrets, kopf's patterns are fine.
    assert secret_scope(OperatorConfig(), _args("pay*")).nowhere


# -- how --------------------------------------------------------------------------------------
def _secret(namespace: str, name: str, version: str, token: str = "dA==") -> dict[str, Any]:
    meta = {"namespace": namespace, "name": name, "resourceVersion": version}
    return {"metadata": meta, "data": {"token": token}}


@dataclass
class _Listing:
    data: bytes


@dataclass
class _Stream:
    """A watch response: JSON lines, in chunks that split lines anywhere."""

    lines: list[dict[str, Any]]
    closed: bool = False

    def stream(self, amt: Any = None, decode_content: bool = False) -> Iterator[bytes]:
        blob = b"".join(json.dumps(e).encode() + b"\n" for e in self.lines)
        for i in range(0, len(blob), 7):
            yield blob[i : i + 7]

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None:
        pass


@dataclass
class FakeCore:
    """The API server's Secrets endpoints: lists and watches queued per call."""

    lists: list[dict[str, Any] | Exception] = field(default_factory=list)
    watches: list[list[dict[str, Any]] | Exception] = field(default_factory=list)
    calls: list[tuple[str | None, dict[str, Any]]] = field(default_factory=list)

    def _answer(self, namespace: str | None, kwargs: dict[str, Any]) -> Any:
        self.calls.append((namespace, kwargs))
        queue: list[Any] = self.watches if kwargs.get("watch") else self.lists
        if not queue:
            raise ConnectionError("nothing more to say")
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if kwargs.get("watch"):
            return _Stream(answer)
        return _Listing(json.dumps(answer).encode())

    def list_namespaced_secret(self, namespace: str, **kwargs: Any) -> Any:
        return self._answer(namespace, kwargs)

    def list_secret_for_all_namespaces(self, **kwargs: Any) -> Any:
        return self._answer(None, kwargs)


@dataclass
class Seen:
    cache: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def __call__(self, key: tuple[str, str], data: Any) -> None:
        if data is None:
            self.cache.pop(key, None)
        else:
            self.cache[key] = dict(data)


def test_a_list_then_a_watch_keep_the_cache_and_ask_only_for_labelled_secrets() -> None:
    core = FakeCore(
        lists=[
            {
                "metadata": {"resourceVersion": "10"},
                "items": [_secret("payments", "a", "5"), _secret("payments", "b", "6")],
            }
        ],
        watches=[
            [
                {"type": "MODIFIED", "object": _secret("payments", "a", "11", "eA==")},
                {"type": "DELETED", "object": _secret("payments", "b", "12")},
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "13"}}},
                {"type": "ADDED", "object": _secret("payments", "c", "14")},
            ]
        ],
    )
    seen = Seen()
    watch = SecretWatch(core, namespaces=["payments"], on_change=seen)
    follow = Follow("payments")
    watch.step(follow)  # the list
    assert seen.cache == {("payments", "a"): {"token": "t"}, ("payments", "b"): {"token": "t"}}
    assert follow.version == "10"
    watch.step(follow)  # the watch, to its end
    assert seen.cache == {("payments", "a"): {"token": "x"}, ("payments", "c"): {"token": "t"}}
    assert follow.version == "14"
    assert follow.known == {("payments", "a"), ("payments", "c")}
    assert [ns for ns, _ in core.calls] == ["payments", "payments"]
    assert all(kw["label_selector"] == f"{SECRET_LABEL}=true" for _, kw in core.calls)
    assert core.calls[1][1]["resource_version"] == "10"
    assert core.calls[1][1]["allow_watch_bookmarks"] is True


def test_a_relist_drops_what_vanished_while_the_watch_was_down() -> None:
    core = FakeCore(
        lists=[
            {"metadata": {"resourceVersion": "1"}, "items": [_secret("p", "a", "1")]},
            {"metadata": {"resourceVersion": "9"}, "items": [_secret("p", "b", "8")]},
        ]
    )
    seen = Seen()
    watch = SecretWatch(core, namespaces=None, on_change=seen)
    follow = Follow(None)
    watch.step(follow)
    follow.version = None  # as after an error
    watch.step(follow)
    assert seen.cache == {("p", "b"): {"token": "t"}}
    assert [ns for ns, _ in core.calls] == [None, None]  # cluster-wide


def test_an_expired_version_lists_again_at_once_and_errors_after_a_pause() -> None:
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
    empty: dict[str, Any] = {"metadata": {"resourceVersion": "1"}, "items": []}
    core = FakeCore(
        lists=[empty, ApiException(status=500, reason="boom"), empty, empty],
        watches=[[gone]],
    )
    seen = Seen()
    watch = SecretWatch(core, namespaces=["p"], on_change=seen, backoff_seconds=0.01)
    done = threading.Event()
    original = core._answer

    def answer(namespace: str | None, kwargs: dict[str, Any]) -> Any:
        if not core.lists and not core.watches:
            watch.stop()
            done.set()
        return original(namespace, kwargs)

    core._answer = answer  # type: ignore[method-assign]
    watch.start()
    assert done.wait(5)
    kinds = ["watch" if kw.get("watch") else "list" for _, kw in core.calls]
    # list, watch (410: list again at once), list (500: a pause, then list again), list,
    # and the watch from that list's version
    assert kinds[:5] == ["list", "watch", "list", "list", "watch"], kinds
    assert core.calls[4][1]["resource_version"] == "1"
