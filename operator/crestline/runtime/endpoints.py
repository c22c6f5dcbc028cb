"""Clients for the outside endpoints, bounded and evicted, with their credentials.

Endpoints are addressed by a reference string: ``endpoint:<name>`` for one the
administrator configured, ``url:<url>`` for a free URL a namespace is allowed to name.
The reference is what the EventDay ledger records, so a change is undone where it was
made even if the spec changed since.

Clients are kept in a small LRU (sessions are expensive to build, and cheap to keep
for a while): at most ``max_clients``, each dropped after ``idle_seconds`` unused. A
client's credentials are part of its key, so a rotated Secret or file yields a new
client and the old one ages out; a CA given as PEM gets a private temp file that is
deleted with its client. Credentials come from files (the administrator's endpoints,
mounted from Secrets of the operator's namespace) or from a team's Secrets (only where
allowed, only those labelled for the operator) - never from command-line arguments.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crestline.api.config import HttpEndpoint, OperatorConfig, PrometheusEndpoint, RedisEndpoint
from crestline.policy.tenancy import FreeUrl

ENDPOINT, URL = "endpoint:", "url:"


def endpoint_ref(resolved: PrometheusEndpoint | HttpEndpoint | RedisEndpoint | FreeUrl) -> str:
    if isinstance(resolved, FreeUrl):
        return URL + resolved.url
    return ENDPOINT + resolved.name


@dataclass(frozen=True)
class Credentials:
    """Resolved secret values for an endpoint (never logged, never shown)."""

    bearer_token: str | None = None
    username: str | None = None
    password: str | None = None
    ca_pem: str | None = None
    ca_file: str | None = None
    insecure_skip_verify: bool = False

    def fingerprint(self) -> str:
        text = "\0".join(
            str(v)
            for v in (
                self.bearer_token,
                self.username,
                self.password,
                self.ca_pem,
                self.ca_file,
                self.insecure_skip_verify,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read(path: str | None) -> str | None:
    if not path:
        return None
    return Path(path).read_text().strip()


def file_credentials(endpoint: HttpEndpoint) -> Credentials:
    """The credentials an administrator's endpoint names, read from their files now
    (so a rotated Secret is picked up without a restart)."""
    return Credentials(
        bearer_token=_read(endpoint.bearer_token_file),
        username=_read(endpoint.username_file),
        password=_read(endpoint.password_file),
        ca_file=endpoint.ca_file,
        insecure_skip_verify=endpoint.insecure_skip_verify,
    )


@dataclass
class _Slot:
    client: Any
    used: float
    cleanup: Callable[[], None]


class ClientCache:
    """An LRU of clients by (reference, credentials), bounded in count and idle time."""

    def __init__(
        self,
        *,
        max_clients: int = 64,
        idle_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_clients = max_clients
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._slots: OrderedDict[tuple[str, str, str], _Slot] = OrderedDict()
        self._lock = threading.Lock()
        self._ca_dir = tempfile.mkdtemp(prefix="crestline-ca-")

    def get(
        self,
        kind: str,
        ref: str,
        credentials: Credentials,
        build: Callable[[Credentials], tuple[Any, Callable[[], None]]],
    ) -> Any:
        """The ``kind`` client (prometheus, alertmanager, redis) for ``ref`` with
        ``credentials``; ``build`` makes one (and says how to close it) when none is cached."""
        key = (kind, ref, credentials.fingerprint())
        now = self._clock()
        with self._lock:
            self._expire(now)
            slot = self._slots.get(key)
            if slot is not None:
                slot.used = now
                self._slots.move_to_end(key)
                return slot.client
        creds, remove_ca = self._materialize(credentials)
        client, close = build(creds)

        def cleanup() -> None:
            close()
            remove_ca()

        with self._lock:
            self._slots[key] = _Slot(client, now, cleanup)
            while len(self._slots) > self.max_clients:
                _, old = self._slots.popitem(last=False)
                old.cleanup()
        return client

    def _expire(self, now: float) -> None:
        stale = [k for k, s in self._slots.items() if now - s.used > self.idle_seconds]
        for k in stale:
            self._slots.pop(k).cleanup()

    def _materialize(self, creds: Credentials) -> tuple[Credentials, Callable[[], None]]:
        """A PEM CA becomes a private file (requests verifies against a path)."""
        if not creds.ca_pem or creds.insecure_skip_verify:
            return creds, lambda: None
        fd, path = tempfile.mkstemp(suffix=".pem", dir=self._ca_dir)
        with os.fdopen(fd, "w") as fh:
            fh.write(creds.ca_pem)

        def remove() -> None:
            Path(path).unlink(missing_ok=True)

        return Credentials(
            bearer_token=creds.bearer_token,
            username=creds.username,
            password=creds.password,
            ca_file=path,
        ), remove

    def __len__(self) -> int:
        return len(self._slots)

    def files(self) -> list[str]:
        return sorted(os.listdir(self._ca_dir))

    def close(self) -> None:
        with self._lock:
            for slot in self._slots.values():
                slot.cleanup()
            self._slots.clear()


def find_endpoint(config: OperatorConfig, kind: str, name: str) -> Any:
    """The configured endpoint of ``kind`` (prometheus, alertmanager, redis) called ``name``."""
    for endpoint in getattr(config.endpoints, kind):
        if endpoint.name == name:
            return endpoint
    raise KeyError(f"no {kind} endpoint {name!r} is configured")
