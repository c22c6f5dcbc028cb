"""EventDay evaluation through fakes of its ports: the ledger survives a kill anywhere.

A "kill" is a fake status write that raises: nothing after it in that evaluation runs,
and a fresh runner (no memory: a restarted process) continues from what was persisted.
Every crash point must end in the same state as an uninterrupted run: the monitor back
at its original interval, exactly one silence made and expired, no Drift.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from crestline.api.config import Endpoints, HttpEndpoint, OperatorConfig, RedisEndpoint, Tenant
from crestline.api.eventday import EventDayStatus, LedgerState
from crestline.runtime.actions.base import Services
from crestline.runtime.cache import ClusterCache, ObjectRecord
from crestline.runtime.eventdays import FINALIZER, EventDayRunner, EventDayView
from tests.unit.fakes import (
    Crash,
    FakeAlertmanager,
    FakeJobs,
    FakeMonitors,
    FakeTtl,
    FakeWarmup,
    FakeWriter,
)

NS = "team-a"
START = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)


class World:
    """One EventDay, the outside systems it changes, and a clock."""

    def __init__(self, *, cache_overrides: dict[str, Any] | None = None) -> None:
        self.now = START - dt.timedelta(hours=2)
        self.writer = FakeWriter()
        self.monitors = FakeMonitors({(NS, "ServiceMonitor", "web"): ["30s"]})
        self.am = FakeAlertmanager()
        self.ttl = FakeTtl(chunks=2)
        self.jobs = FakeJobs()
        self.warmup = FakeWarmup()
        self.config = OperatorConfig(
            endpoints=Endpoints(
                alertmanager=[HttpEndpoint(url="http://am:9093")],
                redis=[RedisEndpoint(url="redis://redis:6379/0")],
            ),
            tenants=[Tenant(namespaces=[NS], allow_urls=["http://web.team-a.svc/"])],
        )
        overrides: dict[str, Any] = {
            "monitoring": {"interval": "10s", "monitors": [{"name": "web"}]},
            "alerts": {},
        }
        if cache_overrides is not None:
            overrides["cache"] = cache_overrides
        self.writer.put(
            "eventdays",
            {
                "metadata": {"namespace": NS, "name": "sale", "uid": "u1", "generation": 1},
                "spec": {
                    "schedule": {
                        "windows": [{"start": "2026-11-27T09:00:00", "end": "2026-11-27T10:00:00"}],
                        "leadTime": "1h",
                    },
                    "overrides": overrides,
                },
            },
        )
        self.cache = ClusterCache()
        self.refresh()

    def clock(self) -> float:
        return self.now.timestamp()

    def refresh(self) -> None:
        """What the watch would deliver after our writes."""
        body = self.writer.get_custom("eventdays", NS, "sale")
        if body is None:
            self.cache.drop_eventday((NS, "sale"))
        else:
            self.cache.put_eventday(ObjectRecord.from_body(body))

    def runner(self) -> EventDayRunner:
        """A fresh runner: a restarted operator with nothing in memory."""
        view = EventDayView(self.cache, self.clock)
        services = Services(
            monitors=self.monitors,
            alertmanager=lambda ref: self.am,
            redis=lambda ref: self.ttl,
            jobs=self.jobs,
            warmup=self.warmup,
        )
        return EventDayRunner(
            cache=self.cache,
            view=view,
            writer=self.writer,
            services=services,
            config=self.config,
            fence=lambda key: None,
        )

    def evaluate(self, runner: EventDayRunner | None = None) -> float:
        delay = (runner or self.runner()).evaluate((NS, "sale"))
        self.refresh()
        return delay

    def status(self) -> EventDayStatus:
        body = self.writer.get_custom("eventdays", NS, "sale")
        assert body is not None
        return EventDayStatus.model_validate(body.get("status") or {})

    def interval(self) -> list[str | None]:
        return self.monitors.intervals(NS, "ServiceMonitor", "web")

    def delete(self) -> None:
        body = self.writer.objects[("eventdays", NS, "sale")]
        body["metadata"]["deletionTimestamp"] = "2026-11-27T09:30:00Z"
        self.refresh()


def run_event(world: World, *, crash_at: int | None) -> None:
    """Warm-up, active, then past the trail; a kill at status write ``crash_at``."""
    world.writer.crash_after = crash_at
    for now in (
        START - dt.timedelta(minutes=30),  # warming: apply
        START + dt.timedelta(minutes=30),  # active
        START + dt.timedelta(hours=2),  # over: restore
    ):
        world.now = now
        for _ in range(4):  # a few evaluations at each moment (and restarts)
            try:
                world.evaluate()
            except Crash:
                world.writer.crash_after = None  # the restarted operator is not killed


def test_an_uninterrupted_event_applies_and_restores_everything_once() -> None:
    world = World()
    world.now = START - dt.timedelta(minutes=30)
    world.evaluate()
    assert world.interval() == ["10s"]
    assert len(world.am.active()) == 1
    body = world.writer.get_custom("eventdays", NS, "sale")
    assert body is not None
    assert FINALIZER in body["metadata"]["finalizers"]
    assert world.status().phase == "Warming"
    run_event(world, crash_at=None)
    assert world.interval() == ["30s"]
    assert world.am.created == 1
    assert world.am.active() == []
    states = {r.key: r.state for r in world.status().actions}
    assert states == {"monitor/ServiceMonitor/web": "restored", "silence": "restored"}
    assert "Drift" not in world.writer.reasons()


@pytest.mark.parametrize("crash_at", range(12))
def test_a_kill_at_any_write_repeats_nothing_and_reports_no_false_drift(crash_at: int) -> None:
    world = World()
    run_event(world, crash_at=crash_at)
    assert world.interval() == ["30s"]
    assert world.am.created == 1, "a duplicate silence"
    assert world.am.active() == []
    status = world.status()
    assert all(r.state is LedgerState.RESTORED for r in status.actions), status.actions
    drift = next(c for c in status.conditions if c.type == "Drift")
    assert drift.status == "False"
    assert "Drift" not in world.writer.reasons()


def test_a_monitor_changed_during_the_event_is_left_alone_and_reported() -> None:
    world = World()
    world.now = START - dt.timedelta(minutes=30)
    world.evaluate()
    world.monitors.set_intervals(NS, "ServiceMonitor", "web", ["5s"])  # an SRE's hand
    world.now = START + dt.timedelta(hours=2)
    world.evaluate()
    world.evaluate()
    assert world.interval() == ["5s"]
    assert "Drift" in world.writer.reasons()
    drift = next(c for c in world.status().conditions if c.type == "Drift")
    assert drift.status == "True"


def test_a_silence_id_pointing_at_someone_elses_silence_is_never_expired() -> None:
    world = World()
    world.now = START - dt.timedelta(minutes=30)
    world.evaluate()
    body = world.writer.objects[("eventdays", NS, "sale")]
    ours = body["status"]["actions"][-1]
    assert ours["key"] == "silence"
    world.am.add_foreign("theirs")
    ours["ref"] = "theirs"  # a ledger edited to point at another team's silence
    world.am.silences[next(iter(world.am.silences))]["state"] = "expired"
    world.refresh()
    world.now = START + dt.timedelta(hours=2)
    world.evaluate()
    assert world.am.silences["theirs"]["state"] == "active"


def test_deleting_an_active_event_restores_once_then_lets_it_go() -> None:
    world = World()
    world.now = START + dt.timedelta(minutes=10)
    world.evaluate()
    assert world.interval() == ["10s"]
    world.delete()
    world.evaluate()
    world.evaluate()  # a second pass (the watch event of our own write) changes nothing
    assert world.interval() == ["30s"]
    assert world.am.active() == []
    body = world.writer.get_custom("eventdays", NS, "sale")
    assert body is not None
    assert FINALIZER not in body["metadata"].get("finalizers", [])
    assert "Drift" not in world.writer.reasons()


def test_a_down_alertmanager_is_retried_soon_and_reported() -> None:
    world = World()
    world.am.down = True
    world.now = START - dt.timedelta(minutes=30)
    delay = world.evaluate()
    assert delay <= 10.0
    ready = next(c for c in world.status().conditions if c.type == "Ready")
    assert ready.status == "False"
    assert "silence" in ready.message
    assert world.interval() == ["10s"]  # the other action went on
    world.am.down = False
    world.evaluate()
    assert len(world.am.active()) == 1


def test_warmups_run_once_per_activation_and_a_long_scan_resumes() -> None:
    world = World(
        cache_overrides={
            "extendTtl": {"pattern": "product:*", "ttlSeconds": 3600},
            "httpWarmup": {"url": "http://web.team-a.svc/warm"},
            "jobTemplate": {"template": {"spec": {"containers": [{"name": "w", "image": "x"}]}}},
        }
    )
    world.now = START - dt.timedelta(minutes=30)
    for _ in range(4):
        world.evaluate()
    assert len(world.warmup.calls) == 1
    assert len(world.jobs.created) == 1
    # the scan took two bounded calls, the second resuming at the cursor the first left
    assert world.ttl.calls == [("team-a:product:*", 0), ("team-a:product:*", 1)]
    states = {r.key: r.state for r in world.status().actions}
    assert states["cache/ttl"] == "done"
    assert states["cache/http"] == "done"
    assert states["cache/job"] == "done"


def test_a_warmup_url_outside_the_allow_list_is_refused_with_the_reason() -> None:
    world = World(cache_overrides={"httpWarmup": {"url": "http://169.254.169.254/latest"}})
    world.now = START - dt.timedelta(minutes=30)
    world.evaluate()
    assert world.warmup.calls == []
    ready = next(c for c in world.status().conditions if c.type == "Ready")
    assert "not allowed for namespace team-a" in ready.message


def test_an_invalid_eventday_is_contained() -> None:
    world = World()
    body = world.writer.objects[("eventdays", NS, "sale")]
    body["spec"]["schedule"]["recurring"] = [{"cron": "0 0 31 2 *", "duration": "1h"}]
    body["spec"]["schedule"]["windows"] = []
    world.refresh()
    world.evaluate()
    ready = next(c for c in world.status().conditions if c.type == "Ready")
    assert ready.status == "False"
    assert ready.reason == "InvalidSpec"
    view = EventDayView(world.cache, world.clock)
    active, ignored = view.in_force(NS, {})
    assert active == ()
    assert [i.name for i in ignored] == ["sale"]
