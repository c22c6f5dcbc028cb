"""Several replicas share the work through Leases: every object is evaluated by one.

The objects are split into ``shards`` by a stable hash of ``namespace/name``. Each shard
has a ``coordination.k8s.io`` Lease; a replica acts on an object only while it holds
the Lease of the object's shard. This is leader election (one shard) generalised to
scale-out, the way kube-controller-manager elects a leader and sharded controllers
split their keys.

* **Membership.** Every replica also renews a member Lease of its own; the live members
  are those whose member Lease was renewed within one lease duration.
* **Assignment.** Each shard goes to the live member with the highest rendezvous hash of
  (member, shard): every replica computes the same assignment from the same members, it
  moves as few shards as possible when a member comes or goes, and it spreads shards
  evenly in expectation.
* **Handover.** A replica acquires the shards assigned to it once they are free or
  expired, renews what it holds, and releases a shard assigned to another live member,
  so the new owner can take it at its next pass.
* **Expiry without trusting clocks.** Like client-go, a Lease counts as expired when its
  record has not changed for a lease duration *as measured locally since it was last
  seen changing*, so clock skew between replicas cannot make two of them hold it.
* **Fencing.** :meth:`ShardLeases.owns` is true only while the last successful renewal is
  younger than the lease duration minus a margin: a replica cut off from the API server
  stops acting before anyone else may start.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from crestline.adapters.leases import LABEL, LeaseRecord

log = logging.getLogger("crestline.shards")

SHARD_PREFIX = "crestline-shard-"
MEMBER_PREFIX = "crestline-member-"


def shard_of(namespace: str, name: str, shards: int) -> int:
    """The shard of an object: stable across processes and versions (not Python's hash)."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards


def _score(member: str, shard: int) -> int:
    digest = hashlib.sha256(f"{member}#{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def assignment(members: list[str], shards: int) -> dict[int, str]:
    """Rendezvous (highest-random-weight) assignment of shards to members."""
    if not members:
        return {}
    return {s: max(members, key=lambda m: (_score(m, s), m)) for s in range(shards)}


class LeaseApi(Protocol):
    """The Lease calls the manager needs (the Kubernetes adapter implements them)."""

    def list(self) -> list[LeaseRecord]: ...

    def create(
        self, name: str, holder: str, duration: int, labels: dict[str, str]
    ) -> LeaseRecord: ...

    def update(self, record: LeaseRecord, holder: str | None, duration: int) -> LeaseRecord:
        """Set holder and renew time now, only if still at ``record.resource_version``."""
        ...


@dataclass
class _Seen:
    record: LeaseRecord
    at: float  # local monotonic time the record was last seen to change


@dataclass
class ShardLeases:
    api: LeaseApi
    identity: str
    shards: int
    lease_seconds: int = 10
    margin: float = 2.0
    clock: Callable[[], float] = time.monotonic
    on_change: Callable[[frozenset[int]], None] = lambda owned: None
    _seen: dict[str, _Seen] = field(default_factory=dict)
    _held: dict[int, float] = field(default_factory=dict)  # shard -> last renewal (local)
    _owned: frozenset[int] = frozenset()

    @property
    def renew_every(self) -> float:
        return max(0.5, self.lease_seconds / 4)

    def owns(self, shard: int) -> bool:
        renewed = self._held.get(shard)
        return renewed is not None and self.clock() - renewed < self.lease_seconds - self.margin

    def owned(self) -> frozenset[int]:
        return frozenset(s for s in self._held if self.owns(s))

    def _observe(self, records: list[LeaseRecord]) -> dict[str, LeaseRecord]:
        now = self.clock()
        by_name = {r.name: r for r in records}
        for name, rec in by_name.items():
            seen = self._seen.get(name)
            if seen is None or (seen.record.holder, seen.record.renew_time) != (
                rec.holder,
                rec.renew_time,
            ):
                self._seen[name] = _Seen(rec, now)
            else:
                seen.record = rec
        for name in list(self._seen):
            if name not in by_name:
                del self._seen[name]
        return by_name

    def _expired(self, name: str) -> bool:
        seen = self._seen.get(name)
        if seen is None:
            return True
        rec = seen.record
        return not rec.holder or self.clock() - seen.at > rec.duration

    def members(self) -> list[str]:
        live = [
            name.removeprefix(MEMBER_PREFIX)
            for name in self._seen
            if name.startswith(MEMBER_PREFIX) and not self._expired(name)
        ]
        return sorted({*live, self.identity})

    def step(self) -> None:
        """One pass: renew, observe, acquire what is ours, release what is not.

        Never raises: when the API server cannot be reached, nothing is renewed and the
        shards held lapse (:meth:`owns` turns false) before anyone else may take them.
        """
        try:
            records = self._observe(self.api.list())
        except Exception as exc:
            log.warning("cannot list shard leases: %s", type(exc).__name__)
            self._publish()
            return
        self._renew_member(records)
        plan = assignment(self.members(), self.shards)
        for shard in range(self.shards):
            name = f"{SHARD_PREFIX}{shard}"
            rec = records.get(name)
            mine = plan.get(shard) == self.identity
            try:
                if rec is None:
                    if mine:
                        self._took(
                            shard,
                            self.api.create(
                                name, self.identity, self.lease_seconds, {LABEL: "shard"}
                            ),
                        )
                elif rec.holder == self.identity:
                    if mine:
                        self._took(shard, self.api.update(rec, self.identity, self.lease_seconds))
                    else:  # hand it over: the assignee takes it at its next pass
                        self._held.pop(shard, None)
                        self.api.update(rec, None, self.lease_seconds)
                elif mine and self._expired(name):
                    self._took(shard, self.api.update(rec, self.identity, self.lease_seconds))
                else:
                    self._held.pop(shard, None)
            except Exception as exc:  # a conflict or an unreachable API server
                log.debug("lease %s: %s", name, exc)
                if rec is not None and rec.holder != self.identity:
                    self._held.pop(shard, None)
        self._publish()

    def _took(self, shard: int, rec: LeaseRecord) -> None:
        self._held[shard] = self.clock()
        self._seen[rec.name] = _Seen(rec, self.clock())

    def _renew_member(self, records: dict[str, LeaseRecord]) -> None:
        name = f"{MEMBER_PREFIX}{self.identity}"
        try:
            rec = records.get(name)
            if rec is None:
                rec = self.api.create(name, self.identity, self.lease_seconds, {LABEL: "member"})
            else:
                rec = self.api.update(rec, self.identity, self.lease_seconds)
            self._seen[name] = _Seen(rec, self.clock())
        except Exception as exc:
            log.debug("member lease: %s", exc)

    def _publish(self) -> None:
        owned = self.owned()
        if owned != self._owned:
            self._owned = owned
            log.info("shards owned: %s", sorted(owned) or "none")
            self.on_change(owned)

    def release_all(self) -> None:
        """Give every shard up at once (a clean shutdown): no waiting for expiry."""
        records = {r.name: r for r in self.api.list()}
        for shard in list(self._held):
            rec = records.get(f"{SHARD_PREFIX}{shard}")
            if rec is not None and rec.holder == self.identity:
                try:
                    self.api.update(rec, None, self.lease_seconds)
                except Exception as exc:
                    log.debug("releasing shard %d: %s", shard, exc)
        member = records.get(f"{MEMBER_PREFIX}{self.identity}")
        if member is not None:
            try:
                self.api.update(member, None, self.lease_seconds)
            except Exception as exc:
                log.debug("releasing member lease: %s", exc)
        self._held.clear()
        self._publish()
