"""Team Secrets labelled for the operator: listed, then watched, into the runtime's cache.

Every other resource comes to the operator through kopf, which watches each resource in
every namespace it serves. Secrets cannot: RBAC grants them only where a tenant has
``allowSecrets`` (a ``list`` cannot be narrowed by label, so a namespace is the narrowest
grant there is), and a watch kopf started in any other watched namespace would be
refused. So the operator follows Secrets itself, in exactly the namespaces it was given
(:func:`crestline.policy.tenancy.secret_scope`), or cluster-wide when its ClusterRole
grants them everywhere - always with the label selector, so it never receives any other
Secret.

One daemon thread per namespace followed (one in all, cluster-wide): their number is the
administrator's list, not the number of objects. The sync client blocks, so it never
runs on kopf's event loop; the cache it feeds is safe to write from any thread. Each
thread lists (replacing what it knew, so a Secret deleted while the watch was down is
dropped), then watches from the list's resourceVersion until the server ends the watch,
and watches again from where it got. It lists again when that version is too old (410
Gone), and after any error, following a pause.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from crestline.adapters.kube import TIMEOUT
from crestline.adapters.objects import secret_data
from crestline.api.config import SECRET_LABEL

log = logging.getLogger("crestline.secrets")

Key = tuple[str, str]  # (namespace, name)
OnChange = Callable[[Key, Mapping[str, str] | None], None]  # None: the Secret is gone
GONE = 410


class SecretsApi(Protocol):
    """The two calls of ``kubernetes.client.CoreV1Api`` used here (raw responses)."""

    def list_namespaced_secret(self, namespace: str, **kwargs: Any) -> Any: ...

    def list_secret_for_all_namespaces(self, **kwargs: Any) -> Any: ...


@dataclass
class Follow:
    """What one thread knows of one namespace (``None``: all of them)."""

    namespace: str | None
    known: set[Key] = field(default_factory=set)
    version: str | None = None  # where the next watch starts; None: list first

    @property
    def where(self) -> str:
        return f"namespace {self.namespace}" if self.namespace else "all namespaces"


class SecretWatch:
    """Labelled Secrets of ``namespaces`` (``None``: every namespace) into ``on_change``."""

    def __init__(
        self,
        core: SecretsApi,
        *,
        namespaces: Sequence[str] | None,
        on_change: OnChange,
        watch_seconds: int = 300,
        backoff_seconds: float = 5.0,
    ) -> None:
        self._core = core
        self._scopes: list[str | None] = (
            [None] if namespaces is None else list(dict.fromkeys(namespaces))
        )
        self._selector = f"{SECRET_LABEL}=true"
        self._on_change = on_change
        self._watch_seconds = watch_seconds
        self._backoff = backoff_seconds
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def scopes(self) -> list[str | None]:
        return list(self._scopes)

    def start(self) -> None:
        for scope in self._scopes:
            thread = threading.Thread(
                target=self._follow,
                args=(Follow(scope),),
                name=f"crestline-secrets-{scope or 'all'}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """No new list or watch starts; one under way ends with its server timeout (the
        threads are daemons, so they never hold the process up)."""
        self._stopped.set()

    # -- one namespace ------------------------------------------------------------------------
    def _follow(self, follow: Follow) -> None:
        while not self._stopped.is_set():
            try:
                self.step(follow)
            except ApiException as exc:
                follow.version = None
                if exc.status == GONE:
                    continue  # the version is too old: list again, now
                log.warning(
                    "Secrets of %s: the API server answered %s %s; listing again in %ss",
                    follow.where,
                    exc.status,
                    exc.reason,
                    self._backoff,
                )
                self._stopped.wait(self._backoff)
            except Exception as exc:  # a reset connection, a timeout: list again, later
                follow.version = None
                log.warning(
                    "Secrets of %s: %s; listing again in %ss",
                    follow.where,
                    type(exc).__name__,
                    self._backoff,
                )
                self._stopped.wait(self._backoff)

    def step(self, follow: Follow) -> None:
        """One list (when there is no version to watch from) or one watch, to its end."""
        if follow.version is None:
            self._relist(follow)
        else:
            self._watch(follow)

    def _call(self, follow: Follow, **kwargs: Any) -> Any:
        kwargs |= {"label_selector": self._selector, "_preload_content": False}
        if follow.namespace is None:
            return self._core.list_secret_for_all_namespaces(**kwargs)
        return self._core.list_namespaced_secret(follow.namespace, **kwargs)

    def _relist(self, follow: Follow) -> None:
        body = json.loads(self._call(follow, _request_timeout=TIMEOUT).data)
        found = {_key(item): secret_data(item) for item in body.get("items") or []}
        for key in follow.known - found.keys():
            self._on_change(key, None)
        for key, data in found.items():
            self._on_change(key, data)
        follow.known = set(found)
        version = (body.get("metadata") or {}).get("resourceVersion")
        if not version:
            raise ValueError("the Secret list carries no resourceVersion")
        follow.version = str(version)

    def _watch(self, follow: Follow) -> None:
        resp = self._call(
            follow,
            watch=True,
            resource_version=follow.version,
            allow_watch_bookmarks=True,
            timeout_seconds=self._watch_seconds,
            _request_timeout=(TIMEOUT[0], self._watch_seconds + 30),
        )
        try:
            lines = iter_resp_lines(resp)  # type: ignore[no-untyped-call]
            for event in _events(lines):
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    raise ApiException(status=int(obj.get("code") or 0), reason=obj.get("reason"))
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if kind != "BOOKMARK":
                    key = _key(obj)
                    if kind == "DELETED":
                        follow.known.discard(key)
                        self._on_change(key, None)
                    else:
                        follow.known.add(key)
                        self._on_change(key, secret_data(obj))
                if version:
                    follow.version = str(version)
                if self._stopped.is_set():
                    return
        finally:
            resp.close()
            resp.release_conn()


def _events(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        if line.strip():
            event = json.loads(line)
            if isinstance(event, dict):
                yield event


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("name", ""))
