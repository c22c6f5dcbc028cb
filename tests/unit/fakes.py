"""In-memory fakes of the runtime's ports, for unit tests of the runtime without a cluster.

Each fake keeps the state the real system would keep (a resourceVersion that moves on
every write, silences with states, monitor intervals) and can be told to fail, so the
tests exercise the same branches the real systems drive. The end-to-end tests use the
real systems.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client.exceptions import ApiException

from crestline.adapters.alertmanager import CREATED_BY, Matcher, Silence
from crestline.adapters.kube import ObjectRef
from crestline.adapters.leases import LeaseRecord
from crestline.adapters.redis import TtlReport
from crestline.policy.conditions import Event


class Crash(BaseException):
    """A simulated SIGKILL: raised by a fake at a chosen call, nothing after it runs (a
    BaseException, so no `except Exception` in the product can carry on past it)."""


@dataclass
class FakeWriter:
    """The API server, for our own objects: status with resourceVersions, Events, scale."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    replicas: dict[tuple[str, str, str], int] = field(default_factory=dict)
    config: dict[tuple[str, str, str], str] = field(default_factory=dict)
    events: list[tuple[ObjectRef, Event]] = field(default_factory=list)
    status_writes: int = 0
    crash_after: int | None = None  # status writes before a simulated kill
    fail_scale: int | None = None  # HTTP status a scale write answers with
    _rv: itertools.count[int] = field(default_factory=lambda: itertools.count(100))

    def put(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        meta = body.setdefault("metadata", {})
        meta["resourceVersion"] = str(next(self._rv))
        self.objects[(plural, meta["namespace"], meta["name"])] = body
        return body

    def write_replicas(self, namespace: str, kind: str, name: str, replicas: int) -> None:
        if self.fail_scale is not None:
            raise ApiException(status=self.fail_scale, reason="Forbidden")
        self.replicas[(namespace, kind, name)] = replicas

    def apply_config_key(self, namespace: str, name: str, key: str, value: str) -> None:
        self.config[(namespace, name, key)] = value

    def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        resource_version: str | None = None,
    ) -> dict[str, Any]:
        if self.crash_after is not None and self.status_writes >= self.crash_after:
            raise Crash(f"killed before status write {self.status_writes + 1}")
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            raise ApiException(status=404, reason="NotFound")
        if resource_version is not None and obj["metadata"]["resourceVersion"] != resource_version:
            raise ApiException(status=409, reason="Conflict")
        obj.setdefault("status", {}).update(copy.deepcopy(dict(status)))
        self.status_writes += 1
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        return copy.deepcopy(obj)

    def set_finalizers(
        self,
        plural: str,
        namespace: str,
        name: str,
        *,
        finalizers: list[str],
        resource_version: str,
    ) -> dict[str, Any]:
        obj = self.objects[(plural, namespace, name)]
        if obj["metadata"]["resourceVersion"] != resource_version:
            raise ApiException(status=409, reason="Conflict")
        obj["metadata"]["finalizers"] = list(finalizers)
        obj["metadata"]["resourceVersion"] = str(next(self._rv))
        return copy.deepcopy(obj)

    def get_custom(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.objects.get((plural, namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def post_event(self, ref: ObjectRef, event: Event) -> None:
        self.events.append((ref, event))

    def reasons(self) -> list[str]:
        return [e.reason for _, e in self.events]


@dataclass
class FakeMonitors:
    intervals_by_name: dict[tuple[str, str, str], list[str | None]] = field(default_factory=dict)
    sets: int = 0

    def intervals(self, namespace: str, kind: str, name: str) -> list[str | None]:
        found = self.intervals_by_name.get((namespace, kind, name))
        if found is None:
            raise ApiException(status=404, reason="NotFound")
        return list(found)

    def set_intervals(
        self, namespace: str, kind: str, name: str, intervals: list[str | None]
    ) -> None:
        self.sets += 1
        self.intervals_by_name[(namespace, kind, name)] = list(intervals)


@dataclass
class FakeAlertmanager:
    silences: dict[str, dict[str, Any]] = field(default_factory=dict)
    created: int = 0
    down: bool = False

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("Alertmanager unreachable")

    def add_foreign(self, silence_id: str, comment: str = "someone else's") -> None:
        self.silences[silence_id] = {
            "state": "active",
            "comment": comment,
            "createdBy": "alice",
            "matchers": [],
        }

    def find(self, marker: str, *, scope: Matcher | None = None) -> str | None:
        self._check()
        for sid, s in self.silences.items():
            if s["createdBy"] == CREATED_BY and marker in s["comment"] and s["state"] == "active":
                return sid
        return None

    def create(
        self, matchers: list[Matcher], *, starts: dt.datetime, ends: dt.datetime, comment: str
    ) -> str:
        self._check()
        self.created += 1
        sid = f"s{self.created}"
        self.silences[sid] = {
            "state": "active",
            "comment": comment,
            "createdBy": CREATED_BY,
            "matchers": matchers,
            "ends": ends,
        }
        return sid

    def get(self, silence_id: str) -> Silence | None:
        self._check()
        s = self.silences.get(silence_id)
        if s is None:
            return None
        ends = s.get("ends")
        return Silence(
            silence_id,
            s["state"],
            s["comment"],
            s["createdBy"],
            tuple(s["matchers"]),
            ends_at=ends.isoformat() if isinstance(ends, dt.datetime) else None,
        )

    def expire(self, silence_id: str) -> None:
        self._check()
        if silence_id in self.silences:
            # Alertmanager sets the end to the moment of expiry; long before the planned one.
            self.silences[silence_id]["state"] = "expired"
            self.silences[silence_id]["ends"] = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def active(self) -> list[str]:
        return [k for k, s in self.silences.items() if s["state"] == "active"]


@dataclass
class FakeTtl:
    calls: list[tuple[str, int]] = field(default_factory=list)
    chunks: int = 1  # calls needed to finish the scan

    def extend_ttls(
        self, pattern: str, ttl_seconds: int, *, batch: int, deadline: float, cursor: int
    ) -> TtlReport:
        self.calls.append((pattern, cursor))
        nxt = cursor + 1
        return TtlReport(scanned=10, extended=5, cursor=0 if nxt >= self.chunks else nxt)


@dataclass
class FakeJobs:
    created: list[dict[str, Any]] = field(default_factory=list)

    def create_job(self, namespace: str, body: Mapping[str, Any]) -> bool:
        name = body["metadata"]["name"]
        if any(j["metadata"]["name"] == name for j in self.created):
            return False
        self.created.append(dict(body))
        return True


@dataclass
class FakeWarmup:
    calls: list[tuple[str, str]] = field(default_factory=list)

    def call(self, url: str, method: str) -> int:
        self.calls.append((url, method))
        return 200


@dataclass
class FakeLeases:
    """coordination.k8s.io Leases: create refuses duplicates, update checks the version."""

    leases: dict[str, LeaseRecord] = field(default_factory=dict)
    down: bool = False
    _rv: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def list(self) -> list[LeaseRecord]:
        if self.down:
            raise ConnectionError("API server unreachable")
        return list(self.leases.values())

    def _store(self, name: str, holder: str | None, duration: int) -> LeaseRecord:
        rec = LeaseRecord(name, holder, str(next(self._rv)), duration, str(next(self._rv)))
        self.leases[name] = rec
        return rec

    def create(self, name: str, holder: str, duration: int, labels: dict[str, str]) -> LeaseRecord:
        if self.down:
            raise ConnectionError("API server unreachable")
        if name in self.leases:
            raise ApiException(status=409, reason="AlreadyExists")
        return self._store(name, holder, duration)

    def update(self, record: LeaseRecord, holder: str | None, duration: int) -> LeaseRecord:
        if self.down:
            raise ConnectionError("API server unreachable")
        now = self.leases.get(record.name)
        if now is None or now.resource_version != record.resource_version:
            raise ApiException(status=409, reason="Conflict")
        return self._store(record.name, holder, duration)
