"""A silence's Alertmanager read back from the ledger (the EventDay's status) is called only
if the EventDay could have recorded it, as warm-ups already check theirs.

Found while closing the tenancy suite's gaps: ``AlertSilence.apply`` and ``restore``
called whatever Alertmanager the ledger named, so a status edited to a forged
``url:`` reference made the operator call that URL (list silences there, create one,
expire one). Now the reference is re-resolved for the namespace under the configuration
in force; when it is refused nothing is called and the record ends ``drifted``, saying
why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from crestline.api.config import Endpoints, HttpEndpoint, OperatorConfig, Tenant
from crestline.api.eventday import ActionRecord, EventDaySpec, LedgerState
from crestline.policy.conditions import EventType
from crestline.policy.windows import Activation
from crestline.runtime.actions.base import Context, Services
from crestline.runtime.actions.silence import KEY, AlertSilence, marker
from crestline.runtime.ports import SilencePort
from tests.unit.fakes import FakeAlertmanager, FakeJobs, FakeMonitors, FakeTtl, FakeWarmup

NS = "team-a"
ALLOWED = "http://am.team-a.svc:9093/"
CONFIG = OperatorConfig(
    endpoints=Endpoints(
        alertmanager=[
            HttpEndpoint(url="http://am.shared:9093"),
            HttpEndpoint(name="b-only", url="http://am.team-b:9093", namespaces=["team-b"]),
        ]
    ),
    tenants=[Tenant(namespaces=[NS], allow_urls=[ALLOWED])],
)
NOW = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
SPEC = EventDaySpec.model_validate(
    {
        "selector": {"matchLabels": {"tier": "shop"}},
        "schedule": {
            "timezone": "UTC",
            "windows": [{"start": "2026-11-27T09:00:00", "end": "2026-11-27T12:00:00"}],
        },
        "overrides": {"alerts": {}},
    }
)


@dataclass
class Alertmanagers:
    """Every Alertmanager the action asks the services for, by reference."""

    asked: list[str] = field(default_factory=list)
    fake: FakeAlertmanager = field(default_factory=FakeAlertmanager)

    def __call__(self, ref: str) -> SilencePort:
        self.asked.append(ref)
        return self.fake


def _ctx(ams: Alertmanagers, *, active: bool) -> Context:
    services = Services(
        monitors=FakeMonitors({}),
        alertmanager=ams,
        redis=lambda ref: FakeTtl(),
        jobs=FakeJobs(),
        warmup=FakeWarmup(),
    )
    activation = Activation(
        id="a1",
        start=NOW,
        end=NOW + dt.timedelta(hours=3),
        active_from=NOW,
        active_until=NOW + dt.timedelta(hours=3),
    )
    return Context(NS, "sale", SPEC, CONFIG, services, NOW, activation if active else None)


def _record(endpoint: str, state: LedgerState) -> ActionRecord:
    return ActionRecord(key=KEY, activation="a1", state=state, ref="s1", endpoint=endpoint)


FORGED = [
    ("url:http://am.team-b.svc:9093/", "is not allowed for namespace team-a"),
    ("url:http://am.team-a.svc:9093/../team-b/", "is not allowed for namespace team-a"),
    ("url:http://169.254.169.254/latest/", "is not allowed for namespace team-a"),
    ("endpoint:b-only", "does not serve namespace team-a"),
    ("endpoint:gone", "is not configured"),
    ("http://am.team-b.svc:9093/", "neither a configured endpoint nor a URL"),
]


@pytest.mark.parametrize(("endpoint", "why"), FORGED)
def test_a_forged_alertmanager_is_never_called_when_restoring(endpoint: str, why: str) -> None:
    ams = Alertmanagers()
    step = AlertSilence().restore(_ctx(ams, active=False), _record(endpoint, LedgerState.RESTORING))
    assert ams.asked == [], "the forged Alertmanager was called"
    assert step.record.state is LedgerState.DRIFTED
    message = step.record.message or ""
    assert "the Alertmanager recorded in the status may not be used" in message, message
    assert why in message, message
    assert "nothing expired there; left alone" in message, message
    assert [(e.type, e.reason) for e in step.events] == [(EventType.WARNING, "Drift")]


@pytest.mark.parametrize("state", [LedgerState.PENDING, LedgerState.APPLIED])
@pytest.mark.parametrize(("endpoint", "why"), FORGED)
def test_a_forged_alertmanager_is_never_called_when_applying(
    endpoint: str, why: str, state: LedgerState
) -> None:
    ams = Alertmanagers()
    step = AlertSilence().apply(_ctx(ams, active=True), _record(endpoint, state))
    assert ams.asked == [], "the forged Alertmanager was called"
    assert ams.fake.created == 0
    assert step.record.state is LedgerState.DRIFTED
    assert why in (step.record.message or "")
    assert "no silence made there" in (step.record.message or "")


def test_a_very_long_forged_url_still_fits_the_record() -> None:
    ams = Alertmanagers()
    forged = "url:http://am.team-b.svc:9093/" + "x" * 260
    step = AlertSilence().restore(_ctx(ams, active=False), _record(forged, LedgerState.RESTORING))
    assert ams.asked == []
    assert len(step.record.message or "") <= 1024
    ActionRecord.model_validate(step.record.model_dump())  # still a valid record


@pytest.mark.parametrize("endpoint", ["endpoint:default", f"url:{ALLOWED}"])
def test_an_alertmanager_the_eventday_could_use_is_called(endpoint: str) -> None:
    """The control: a configured endpoint serving the namespace, and an allow-listed URL."""
    ams = Alertmanagers()
    applied = AlertSilence().apply(_ctx(ams, active=True), _record(endpoint, LedgerState.PENDING))
    assert applied.record.state is LedgerState.APPLIED
    assert ams.fake.created == 1
    sid = applied.record.ref
    assert sid is not None
    assert marker(NS, "sale", "a1") in ams.fake.silences[sid]["comment"]
    restoring = applied.record.model_copy(update={"state": LedgerState.RESTORING})
    restored = AlertSilence().restore(_ctx(ams, active=False), restoring)
    assert restored.record.state is LedgerState.RESTORED
    assert ams.fake.silences[sid]["state"] == "expired"
    assert set(ams.asked) == {endpoint}
