"""Shard assignment and Lease ownership: every shard has at most one owner at any time,
every shard has an owner once the members settle, and a dead member's shards move."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from crestline.runtime.shards import (
    MEMBER_PREFIX,
    SHARD_PREFIX,
    ShardLeases,
    assignment,
    shard_of,
)
from tests.unit.fakes import FakeLeases


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_shard_of_is_stable_and_spreads_objects() -> None:
    # Pinned: changing the hash would move every object between replicas on upgrade.
    assert shard_of("team-a", "checkout", 16) == shard_of("team-a", "checkout", 16)
    counts = Counter(shard_of("ns", f"slo-{i}", 8) for i in range(8000))
    assert set(counts) == set(range(8))
    assert min(counts.values()) > 800  # 1000 expected per shard


@given(st.lists(st.text("abcdef", min_size=1, max_size=6), min_size=1, max_size=6, unique=True))
def test_assignment_covers_every_shard_and_moves_only_to_a_newcomer(members: list[str]) -> None:
    before = assignment(members, 16)
    assert set(before) == set(range(16))
    assert set(before.values()) <= set(members)
    after = assignment([*members, "newcomer"], 16)
    moved = {s for s in range(16) if before[s] != after[s]}
    assert all(after[s] == "newcomer" for s in moved)


def replicas(api: FakeLeases, clock: Clock, names: list[str], shards: int = 8) -> list[ShardLeases]:
    return [ShardLeases(api, n, shards, lease_seconds=10, clock=clock) for n in names]


def owners(reps: list[ShardLeases], shards: int = 8) -> dict[int, list[str]]:
    return {s: [r.identity for r in reps if r.owns(s)] for s in range(shards)}


def test_one_replica_owns_every_shard() -> None:
    api, clock = FakeLeases(), Clock()
    (one,) = replicas(api, clock, ["a"])
    one.step()
    assert one.owned() == frozenset(range(8))
    assert f"{MEMBER_PREFIX}a" in api.leases
    assert all(f"{SHARD_PREFIX}{s}" in api.leases for s in range(8))


def test_two_replicas_split_the_shards_and_never_share_one() -> None:
    api, clock = FakeLeases(), Clock()
    reps = replicas(api, clock, ["a", "b"])
    reps[0].step()  # a alone first: it takes everything
    for _ in range(6):
        for r in reps:
            clock.t += 1.0
            r.step()
            assert all(len(o) <= 1 for o in owners(reps).values())
    settled = owners(reps)
    assert all(len(o) == 1 for o in settled.values())
    want = assignment(["a", "b"], 8)
    assert {s: o[0] for s, o in settled.items()} == want


def test_a_dead_replicas_shards_are_taken_within_a_lease_duration() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = replicas(api, clock, ["a", "b"])
    for _ in range(4):
        clock.t += 1.0
        a.step()
        b.step()
    lost = {s for s in range(8) if a.owns(s)}
    assert lost
    died = clock.t
    while not all(b.owns(s) for s in range(8)):
        clock.t += 1.0
        b.step()
        assert not any(a.owns(s) and b.owns(s) for s in range(8))
        assert clock.t - died < 15, "takeover took longer than lease + a pass"
    assert not a.owned()  # a's own view: it stopped acting before b started


def test_a_replica_cut_off_from_the_api_server_stops_acting() -> None:
    api, clock = FakeLeases(), Clock()
    (a,) = replicas(api, clock, ["a"])
    a.step()
    api.down = True
    clock.t += 7.0
    a.step()  # renewals fail
    assert a.owned()  # still inside lease - margin
    clock.t += 1.5
    assert not a.owned()  # fenced before anyone else may take over (10 s)


def test_release_all_hands_shards_over_without_waiting_for_expiry() -> None:
    api, clock = FakeLeases(), Clock()
    a, b = replicas(api, clock, ["a", "b"])
    a.step()
    b.step()
    a.release_all()
    assert not a.owned()
    clock.t += 0.5
    b.step()  # a's member lease has no holder now: b is alone
    clock.t += 0.5
    b.step()
    assert b.owned() == frozenset(range(8))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.floats(0.1, 4.0)), min_size=5, max_size=60))
def test_no_shard_ever_has_two_owners(schedule: list[tuple[str, float]]) -> None:
    """Any interleaving of passes (a replica may pause for seconds): never two owners."""
    api, clock = FakeLeases(), Clock()
    reps = {r.identity: r for r in replicas(api, clock, ["a", "b", "c"])}
    for name, pause in schedule:
        clock.t += pause
        reps[name].step()
        held = owners(list(reps.values()))
        assert all(len(o) <= 1 for o in held.values()), held
