"""Failpoints: a real SIGKILL when armed, nothing when not; and every ledger point, through
the fakes of test_eventday_runtime, ends like an uninterrupted run.

Here a kill is :class:`Killed`, a ``BaseException`` raised where the process would die
(like the fakes' ``Crash``): nothing in the product catches it, so nothing after the
point runs. The fresh runner
after it is the restarted process, without the failpoint. The end-to-end variant
(tests/e2e/test_faults.py) does the same with a real SIGKILL on the real stack.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pytest

from crestline.api.eventday import LedgerState
from crestline.runtime import failpoints
from crestline.runtime.eventdays import FINALIZER
from tests.unit.test_eventday_runtime import NS, START, World

MOMENTS = ("before-persist", "before-effect", "after-effect", "after-persist")
# World's EventDay changes a monitor and makes a silence (restored), and with cache
# overrides extends TTLs (done, never restored).
RESTORED_KINDS = ("monitor", "silence")
POINTS = [
    *(f"ledger.{d}.{k}.{m}" for d in ("apply", "restore") for k in RESTORED_KINDS for m in MOMENTS),
    *(f"ledger.apply.cache/ttl.{m}" for m in MOMENTS),
]
FINALIZER_POINTS = ["eventday.finalizer.before-remove", "eventday.finalizer.after-remove"]


class Killed(BaseException):
    """The process died at a failpoint."""


@pytest.fixture
def armed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Failpoints that raise :class:`Killed` instead of killing pytest; returns the hits."""
    hits: list[str] = []

    def die(name: str) -> None:
        hits.append(name)
        raise Killed(name)

    monkeypatch.setattr(failpoints, "_die", die)
    return hits


def test_parse_reads_a_comma_separated_list() -> None:
    assert failpoints.parse(None) == frozenset()
    assert failpoints.parse("") == frozenset()
    assert failpoints.parse(" a.b , c ,,") == frozenset({"a.b", "c"})


def test_unarmed_points_do_nothing() -> None:
    assert not failpoints.ARMED  # the test run itself never arms any
    failpoints.hit("ledger.apply.silence.after-effect")


def test_an_armed_point_sigkills_the_process_and_says_which() -> None:
    code = (
        "from crestline.runtime import failpoints\n"
        "failpoints.hit('other')\n"
        "print('alive', flush=True)\n"
        "failpoints.hit('ledger.apply.silence.after-effect')\n"
        "print('survived', flush=True)\n"
    )
    env = {**os.environ, failpoints.ENV: "x, ledger.apply.silence.after-effect"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    assert done.stdout == "alive\n"
    assert "failpoint ledger.apply.silence.after-effect: SIGKILL" in done.stderr


def _run_event(world: World) -> None:
    """Warm-up, active, then past the trail, a few evaluations (fresh runners) at each."""
    for now in (
        START - dt.timedelta(minutes=30),
        START + dt.timedelta(minutes=30),
        START + dt.timedelta(hours=2),
    ):
        world.now = now
        for _ in range(4):
            _evaluate(world)


def _evaluate(world: World) -> None:
    try:
        world.evaluate()
    except Killed:
        world.refresh()  # what the restarted process lists
        failpoints.ARMED = frozenset()  # restarted without the failpoint


@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_every_ledger_point_repeats_nothing_and_reports_no_false_drift(
    point: str, armed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(failpoints, "ARMED", frozenset({point}))
    world = World(cache_overrides={"extendTtl": {"pattern": "product:*", "ttlSeconds": 3600}})
    _run_event(world)
    assert armed == [point], "the point was never reached"
    assert world.interval() == ["30s"]
    assert world.am.created == 1, "a duplicate silence"
    assert world.am.active() == []
    status = world.status()
    states = {r.key: r.state for r in status.actions}
    assert states == {
        "monitor/ServiceMonitor/web": LedgerState.RESTORED,
        "silence": LedgerState.RESTORED,
        "cache/ttl": LedgerState.DONE,
    }
    # two bounded calls; at most the interrupted one repeated, from its recorded cursor
    assert {c for _, c in world.ttl.calls} == {0, 1}
    assert len(world.ttl.calls) <= 3
    drift = next(c for c in status.conditions if c.type == "Drift")
    assert drift.status == "False"
    reasons = list(world.writer.reasons())
    assert "Drift" not in reasons
    # every change's Event, even when the kill came between the change and its record
    for reason in (
        "MonitorInterval",
        "AlertsSilenced",
        "CacheWarmup",
        "MonitorRestored",
        "SilenceExpired",
    ):
        assert reasons.count(reason) == 1, (reason, reasons)


@pytest.mark.parametrize("point", [p for p in POINTS if ".restore." in p] + FINALIZER_POINTS)
def test_a_kill_while_deleting_restores_once_and_lets_the_eventday_go(
    point: str, armed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World()
    world.now = START + dt.timedelta(minutes=10)
    world.evaluate()
    assert world.interval() == ["10s"]
    monkeypatch.setattr(failpoints, "ARMED", frozenset({point}))
    world.delete()
    for _ in range(4):
        _evaluate(world)
    assert armed == [point], "the point was never reached"
    assert world.interval() == ["30s"]
    assert world.am.created == 1
    assert world.am.active() == []
    body = world.writer.get_custom("eventdays", NS, "sale")
    assert body is not None
    assert FINALIZER not in body["metadata"].get("finalizers", [])
    assert "Drift" not in world.writer.reasons()


def test_a_kill_between_the_scale_and_the_status_write_ends_like_no_kill(
    armed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.test_slo_runtime import World as SloWorld

    twin, world = SloWorld(), SloWorld()  # the same SLO and demand, one of them killed
    monkeypatch.setattr(failpoints, "ARMED", frozenset({"slo.after-scale"}))
    with pytest.raises(Killed):
        world.evaluate()
    assert armed == ["slo.after-scale"]
    target = (NS, "Deployment", "web")
    assert world.writer.replicas == {target: 8}
    assert "currentReplicas" not in world.status()  # the status never heard of it
    failpoints.ARMED = frozenset()
    world.runner._states.clear()  # the restarted process: nothing in memory
    world.refresh()
    twin.evaluate()
    for _ in range(5):
        twin.evaluate()
        world.evaluate()
    assert world.writer.replicas == twin.writer.replicas
    assert world.status()["currentReplicas"] == twin.status()["currentReplicas"]
    assert max(world.writer.replicas.values()) <= 20


def test_a_kill_between_the_scale_and_its_status_does_not_loosen_the_rate_limit(
    armed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from crestline.adapters.objects import WorkloadRecord
    from tests.unit.test_slo_runtime import World as SloWorld

    up = {
        "stabilizationWindowSeconds": 0,
        "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
    }
    world = SloWorld(spec={"scaling": {"maxReplicas": 20, "behavior": {"scaleUp": up}}})
    world.readings.demand = 2.0  # 4 pods at 0.5 CPU: on target
    world.evaluate()
    assert world.status()["currentReplicas"] == 4
    world.readings.demand = 4.0  # twice that: 8 wanted, 2 pods per minute allowed
    monkeypatch.setattr(failpoints, "ARMED", frozenset({"slo.after-scale"}))
    with pytest.raises(Killed):
        world.evaluate()  # 4 -> 6 written (2 pods per 60 s), then killed
    target = (NS, "Deployment", "web")
    assert world.writer.replicas == {target: 6}
    failpoints.ARMED = frozenset()
    world.runner._states.clear()  # the restarted process: nothing in memory
    world.refresh()
    world.cache.put_workload(NS, "Deployment", "web", WorkloadRecord(6, 6, 0, ()))  # the watch
    world.evaluate()  # the same minute: the policy allows no more pods yet
    assert world.writer.replicas == {target: 6}, "a second step inside the policy's period"
    # The change the kill kept out of the status still gets its Event.
    assert "ScaledUp" in world.writer.reasons()
    assert world.status()["currentReplicas"] == 6
    world.t += 60
    world.evaluate()
    assert world.writer.replicas == {target: 8}  # and the next step when it is due
