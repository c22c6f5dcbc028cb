"""The cluster as the watches last showed it: small records, read without API calls.

kopf delivers every watch event of the resources the operator cares about; the
handlers put a small record of each object here, and evaluations read these instead of
listing the API server on every tick. Writers are kopf's handlers on the event loop,
readers are worker threads: every read takes a snapshot under a lock, and records are
immutable, so a reader never sees half an update.

What is kept: PerformanceSLOs and EventDays as their metadata, spec and status (the
operator's own state), workloads and their other scalers as a few fields each
(:mod:`crestline.adapters.objects`), and the Secrets labelled for the operator's use.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crestline.adapters.objects import ScalerRecord, WorkloadRecord

Key = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True)
class ObjectRecord:
    """One of our custom objects, as the last watch event showed it."""

    namespace: str
    name: str
    uid: str
    generation: int | None
    resource_version: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    finalizers: tuple[str, ...]
    deleting: bool
    spec: Mapping[str, Any]
    status: Mapping[str, Any]

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ObjectRecord:
        meta = body.get("metadata") or {}
        return cls(
            namespace=str(meta.get("namespace", "")),
            name=str(meta.get("name", "")),
            uid=str(meta.get("uid", "")),
            generation=meta.get("generation"),
            resource_version=str(meta.get("resourceVersion", "")),
            labels=dict(meta.get("labels") or {}),
            annotations=dict(meta.get("annotations") or {}),
            finalizers=tuple(meta.get("finalizers") or ()),
            deleting=bool(meta.get("deletionTimestamp")),
            spec=dict(body.get("spec") or {}),
            status=dict(body.get("status") or {}),
        )


@dataclass
class ClusterCache:
    """Watch-fed records by kind; safe to read from any thread."""

    slos: dict[str, dict[str, ObjectRecord]] = field(default_factory=dict)
    eventdays: dict[str, dict[str, ObjectRecord]] = field(default_factory=dict)
    workloads: dict[tuple[str, str, str], WorkloadRecord] = field(default_factory=dict)
    scalers: dict[str, dict[tuple[str, str], ScalerRecord]] = field(default_factory=dict)
    secrets: dict[Key, Mapping[str, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- writes (kopf handlers) -------------------------------------------------------------
    def put_slo(self, record: ObjectRecord) -> None:
        with self._lock:
            self.slos.setdefault(record.namespace, {})[record.name] = record

    def drop_slo(self, key: Key) -> None:
        with self._lock:
            _drop(self.slos, key)

    def put_eventday(self, record: ObjectRecord) -> None:
        with self._lock:
            self.eventdays.setdefault(record.namespace, {})[record.name] = record

    def drop_eventday(self, key: Key) -> None:
        with self._lock:
            _drop(self.eventdays, key)

    def put_workload(self, namespace: str, kind: str, name: str, rec: WorkloadRecord) -> None:
        with self._lock:
            self.workloads[(namespace, kind, name)] = rec

    def drop_workload(self, namespace: str, kind: str, name: str) -> None:
        with self._lock:
            self.workloads.pop((namespace, kind, name), None)

    def put_scaler(self, namespace: str, rec: ScalerRecord) -> None:
        with self._lock:
            self.scalers.setdefault(namespace, {})[(rec.kind, rec.name)] = rec

    def drop_scaler(self, namespace: str, kind: str, name: str) -> None:
        with self._lock:
            ns = self.scalers.get(namespace)
            if ns is not None:
                ns.pop((kind, name), None)
                if not ns:
                    del self.scalers[namespace]

    def put_secret(self, key: Key, data: Mapping[str, str]) -> None:
        with self._lock:
            self.secrets[key] = dict(data)

    def drop_secret(self, key: Key) -> None:
        with self._lock:
            self.secrets.pop(key, None)

    # -- reads (workers) --------------------------------------------------------------------
    def slo(self, key: Key) -> ObjectRecord | None:
        with self._lock:
            return self.slos.get(key[0], {}).get(key[1])

    def slo_keys(self) -> list[Key]:
        with self._lock:
            return [(ns, name) for ns, items in self.slos.items() for name in items]

    def eventday(self, key: Key) -> ObjectRecord | None:
        with self._lock:
            return self.eventdays.get(key[0], {}).get(key[1])

    def eventday_keys(self) -> list[Key]:
        with self._lock:
            return [(ns, name) for ns, items in self.eventdays.items() for name in items]

    def eventdays_in(self, namespace: str) -> list[ObjectRecord]:
        with self._lock:
            return list(self.eventdays.get(namespace, {}).values())

    def slos_in(self, namespace: str) -> list[ObjectRecord]:
        with self._lock:
            return list(self.slos.get(namespace, {}).values())

    def workload(self, namespace: str, kind: str, name: str) -> WorkloadRecord | None:
        with self._lock:
            return self.workloads.get((namespace, kind, name))

    def scalers_of(self, namespace: str, kind: str, name: str) -> list[ScalerRecord]:
        with self._lock:
            return [
                s
                for s in self.scalers.get(namespace, {}).values()
                if s.target_kind == kind and s.target_name == name
            ]

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        with self._lock:
            return self.secrets.get((namespace, name))


def _drop(index: dict[str, dict[str, ObjectRecord]], key: Key) -> None:
    items = index.get(key[0])
    if items is not None:
        items.pop(key[1], None)
        if not items:
            del index[key[0]]
