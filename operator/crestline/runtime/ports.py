"""The narrow interfaces the runtime calls outside systems through.

Each adapter in :mod:`crestline.adapters` satisfies one of these structurally; the
runtime is handed implementations (real ones by :mod:`crestline.handlers`, in-memory
fakes by the unit tests), so nothing here knows HTTP, Redis or the Kubernetes client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from crestline.adapters.alertmanager import Matcher, Silence
from crestline.adapters.kube import ObjectRef
from crestline.adapters.redis import TtlReport
from crestline.api.slo import PerformanceSLOSpec
from crestline.policy.conditions import Event
from crestline.policy.readings import SourceResult


class Writer(Protocol):
    """Writes to the API server (and the one fresh read the ledger needs)."""

    def write_replicas(self, namespace: str, kind: str, name: str, replicas: int) -> None: ...

    def apply_config_key(self, namespace: str, name: str, key: str, value: str) -> None: ...

    def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> dict[str, Any]: ...

    def set_finalizers(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        finalizers: list[str],
        resource_version: str,
    ) -> dict[str, Any]: ...

    def get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def post_event(self, ref: ObjectRef, event: Event) -> None: ...


class ReadingsPort(Protocol):
    """The readings of an SLO's objectives (crestline.runtime.sources.Readings)."""

    def read(
        self, namespace: str, spec: PerformanceSLOSpec, *, deadline: float
    ) -> Mapping[str, SourceResult]: ...


class MonitorPort(Protocol):
    def intervals(self, namespace: str, kind: str, name: str) -> list[str | None]: ...

    def set_intervals(
        self, namespace: str, kind: str, name: str, intervals: list[str | None]
    ) -> None: ...


class SilencePort(Protocol):
    """One Alertmanager's silences API."""

    def find(self, marker: str, *, scope: Matcher | None = None) -> str | None: ...

    def create(
        self, matchers: list[Matcher], *, starts: dt.datetime, ends: dt.datetime, comment: str
    ) -> str: ...

    def get(self, silence_id: str) -> Silence | None: ...

    def expire(self, silence_id: str) -> None: ...


class TtlPort(Protocol):
    """One Redis, for extending TTLs."""

    def extend_ttls(
        self, pattern: str, ttl_seconds: int, *, batch: int, deadline: float, cursor: int
    ) -> TtlReport: ...


class JobPort(Protocol):
    def create_job(self, namespace: str, body: Mapping[str, Any]) -> bool:
        """Create the Job; False when it exists already (created before a restart)."""
        ...


class WarmupPort(Protocol):
    def call(self, url: str, method: str) -> int: ...
