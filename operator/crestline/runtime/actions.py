"""EventDay actions, each done and undone exactly once, recorded in the EventDay's status.

The ledger (``status.actions``) is the memory. Applying a change first records it as
``pending`` *with the original value* and persists that, then changes the target, then
marks it ``applied``: a crash between the two leaves a pending record whose original is
still the real one, and the retry is idempotent (setting the same interval; finding
our silence by its marker instead of creating another). Restoring compares the target
with what we applied: if someone changed it meanwhile, it is left alone and reported
as drift.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from crestline.adapters.alertmanager import Alertmanager, Matcher
from crestline.adapters.cache import extend_ttls, http_warmup
from crestline.adapters.monitors import Monitors
from crestline.api.eventday import ActionRecord, CacheOverride, EventDaySpec
from crestline.calendar.instants import format_instant
from crestline.policy.windows import Activation
from crestline.runtime.reconcile import Event

Persist = Callable[[list[ActionRecord]], None]


@dataclass
class ActionResult:
    ledger: list[ActionRecord]
    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    drifted: list[str] = field(default_factory=list)


def activation_id(act: Activation) -> str:
    return f"{format_instant(act.active_from)}/{format_instant(act.active_until)}"


class ActionRunner:
    def __init__(
        self,
        monitors: Monitors,
        default_alertmanager_url: str | None,
        jobs: client.BatchV1Api | None = None,
        default_redis_url: str | None = None,
    ) -> None:
        self.monitors = monitors
        self.default_alertmanager_url = default_alertmanager_url
        self.jobs = jobs
        self.default_redis_url = default_redis_url

    def _alertmanager(self, spec: EventDaySpec) -> Alertmanager | None:
        alerts = spec.overrides.alerts
        url = (alerts.alertmanager_url if alerts else None) or self.default_alertmanager_url
        return Alertmanager(url) if url else None

    def reconcile(
        self,
        namespace: str,
        name: str,
        spec: EventDaySpec,
        current: Activation | None,
        ledger: list[ActionRecord],
        persist: Persist,
    ) -> ActionResult:
        """Apply what the activation needs, restore what no activation needs any more."""
        result = ActionResult(list(ledger))
        act = activation_id(current) if current else None
        # Restore everything applied for an activation that is not the current one.
        for i, rec in enumerate(result.ledger):
            if rec.state in ("pending", "applied") and rec.activation != act:
                result.ledger[i] = self._restore(namespace, spec, rec, result)
        if current is not None and act is not None:
            self._apply_all(namespace, name, spec, current, act, result, persist)
        return result

    def restore_all(
        self, namespace: str, spec: EventDaySpec, ledger: list[ActionRecord]
    ) -> ActionResult:
        result = ActionResult(list(ledger))
        for i, rec in enumerate(result.ledger):
            if rec.state in ("pending", "applied"):
                result.ledger[i] = self._restore(namespace, spec, rec, result)
        return result

    # -- apply ---------------------------------------------------------------------------
    def _apply_all(
        self,
        namespace: str,
        name: str,
        spec: EventDaySpec,
        current: Activation,
        act: str,
        result: ActionResult,
        persist: Persist,
    ) -> None:
        done = {r.key for r in result.ledger if r.activation == act and r.state != "pending"}
        mon = spec.overrides.monitoring
        for ref in mon.monitors if mon else []:
            key = f"monitor/{ref.kind}/{ref.name}"
            if key in done:
                continue
            try:
                self._apply_monitor(
                    namespace,
                    ref.kind,
                    ref.name,
                    mon.interval if mon else "",
                    key,
                    act,
                    result,
                    persist,
                )
            except Exception as exc:  # reported, retried next time
                result.problems.append(f"{key}: {exc}")
        if spec.overrides.alerts is not None and "silence" not in done:
            try:
                self._apply_silence(namespace, name, spec, current, act, result)
            except Exception as exc:
                result.problems.append(f"silence: {exc}")
        cache = spec.overrides.cache
        if cache is not None:
            steps: list[tuple[str, Callable[[], str]]] = []
            if cache.extend_ttl is not None:
                steps.append(("cache/ttl", lambda: self._extend_ttl(cache)))
            if cache.http_warmup is not None:
                warm = cache.http_warmup
                steps.append(("cache/http", lambda: f"HTTP {http_warmup(warm.url, warm.method)}"))
            if cache.job_template is not None:
                template = cache.job_template
                steps.append(("cache/job", lambda: self._run_job(namespace, name, act, template)))
            for key, step in steps:
                if key in done:
                    continue
                try:
                    message = step()
                except Exception as exc:  # reported, retried next evaluation
                    result.problems.append(f"{key}: {exc}")
                    continue
                self._record(
                    result, ActionRecord(key=key, activation=act, state="done", message=message)
                )
                result.events.append(Event("Normal", "CacheWarmup", f"{key}: {message}"))

    def _extend_ttl(self, cache: CacheOverride) -> str:
        url = cache.redis_url or self.default_redis_url
        if not url or cache.extend_ttl is None:
            raise ValueError("no Redis URL (spec.overrides.cache.redisUrl or --redis-url)")
        ext = cache.extend_ttl
        report = extend_ttls(url, ext.pattern, ext.ttl_seconds, ext.batch)
        return (
            f"scanned {report.scanned} keys matching {ext.pattern!r}, extended "
            f"{report.extended} to {ext.ttl_seconds}s"
        )

    def _run_job(self, namespace: str, name: str, act: str, template: dict[str, Any]) -> str:
        if self.jobs is None:
            raise ValueError("no Kubernetes client for Jobs")
        job_name = f"{name[:40]}-warmup-{hashlib.sha1(act.encode()).hexdigest()[:8]}"
        body: Any = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": job_name, "labels": {"crestline.dev/eventday": name}},
            "spec": template,
        }
        try:
            self.jobs.create_namespaced_job(namespace, body)
        except ApiException as exc:
            if exc.status != 409:  # 409: created before a restart; it is the same Job
                raise
        return f"Job {job_name}"

    def _record(self, result: ActionResult, rec: ActionRecord) -> None:
        result.ledger = [
            r for r in result.ledger if not (r.key == rec.key and r.activation == rec.activation)
        ]
        result.ledger.append(rec)

    def _apply_monitor(
        self,
        namespace: str,
        kind: str,
        mon_name: str,
        interval: str,
        key: str,
        act: str,
        result: ActionResult,
        persist: Persist,
    ) -> None:
        pending = next(
            (
                r
                for r in result.ledger
                if r.key == key and r.activation == act and r.state == "pending"
            ),
            None,
        )
        if pending is None:
            original = self.monitors.intervals(namespace, kind, mon_name)
            target = [interval] * len(original)
            pending = ActionRecord(
                key=key,
                activation=act,
                state="pending",
                original=json.dumps(original),
                applied=json.dumps(target),
            )
            self._record(result, pending)
            persist(result.ledger)  # the original is safe before anything changes
        target = json.loads(pending.applied or "[]")
        self.monitors.set_intervals(namespace, kind, mon_name, target)
        self._record(result, pending.model_copy(update={"state": "applied"}))
        result.events.append(
            Event(
                "Normal",
                "MonitorInterval",
                f"{kind} {mon_name}: interval {pending.original} -> {interval}",
            )
        )

    def _apply_silence(
        self,
        namespace: str,
        name: str,
        spec: EventDaySpec,
        current: Activation,
        act: str,
        result: ActionResult,
    ) -> None:
        am = self._alertmanager(spec)
        if am is None:
            raise ValueError(
                "no Alertmanager URL (spec.overrides.alerts.alertmanagerUrl or "
                "crestline run --alertmanager-url)"
            )
        alerts = spec.overrides.alerts
        assert alerts is not None
        marker = f"eventday={namespace}/{name} activation={act}"
        silence_id = am.find(marker)
        if silence_id is None:
            matchers = [Matcher(m.name, m.value, m.is_regex, m.is_equal) for m in alerts.matchers]
            now = dt.datetime.now(dt.UTC)
            silence_id = am.create(
                matchers,
                now,
                max(current.active_until, now),
                f"EventDay {namespace}/{name}: non-critical alerts muted for the event ({marker})",
            )
            result.events.append(
                Event(
                    "Normal", "AlertsSilenced", f"silence {silence_id} until {current.active_until}"
                )
            )
        self._record(
            result, ActionRecord(key="silence", activation=act, state="applied", ref=silence_id)
        )

    # -- restore -------------------------------------------------------------------------
    def _restore(
        self, namespace: str, spec: EventDaySpec, rec: ActionRecord, result: ActionResult
    ) -> ActionRecord:
        try:
            if rec.key.startswith("monitor/"):
                _, kind, mon_name = rec.key.split("/", 2)
                now = self.monitors.intervals(namespace, kind, mon_name)
                if rec.state == "applied" and now != json.loads(rec.applied or "[]"):
                    message = (
                        f"{kind} {mon_name} interval changed to {now} during the event; "
                        f"left as is (original {rec.original})"
                    )
                    result.drifted.append(message)
                    result.events.append(Event("Warning", "Drift", message))
                    return rec.model_copy(update={"state": "drifted", "message": message})
                self.monitors.set_intervals(
                    namespace, kind, mon_name, json.loads(rec.original or "[]")
                )
                result.events.append(
                    Event(
                        "Normal",
                        "MonitorRestored",
                        f"{kind} {mon_name}: interval back to {rec.original}",
                    )
                )
            elif rec.key == "silence" and rec.ref:
                am = self._alertmanager(spec)
                if am is None:
                    raise ValueError("no Alertmanager URL to expire the silence")
                if am.state(rec.ref) in ("active", "pending"):  # else it ended on its own
                    am.expire(rec.ref)
                    result.events.append(Event("Normal", "SilenceExpired", f"silence {rec.ref}"))
        except Exception as exc:  # reported; tried again on the next evaluation
            result.problems.append(f"restoring {rec.key}: {exc}")
            return rec
        return rec.model_copy(update={"state": "restored"})
