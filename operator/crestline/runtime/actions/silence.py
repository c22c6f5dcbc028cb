"""Mute the namespace's non-critical alerts for the activation: one Alertmanager silence.

The silence always carries ``namespace="<ns>"`` on top of the user's matchers, so an
EventDay can mute only its own namespace. It lasts until the activation ends but never
longer than the administrator's bound at a time (renewed while the event is in force).
The ledger records the Alertmanager it was made on, and restoring expires it there only
if it still carries crestline's marker for this EventDay and activation: a silence id
that points at someone else's silence is never expired.

The ledger is the object's status, read back on every step, so the Alertmanager it
names is called only if ``begin`` could have recorded it for this namespace under the
configuration in force (a configured endpoint that serves the namespace, or a URL under
its allow-list), as the warm-ups check theirs. Otherwise nothing is called: the record
ends ``drifted``, saying why, since someone else changed what the ledger says.
"""

from __future__ import annotations

import datetime as dt
import json

from crestline.adapters.alertmanager import CREATED_BY, Matcher, Silence
from crestline.api.eventday import ActionRecord, EventDaySpec, LedgerState
from crestline.calendar.instants import format_instant
from crestline.policy import tenancy
from crestline.policy.conditions import Event, EventType
from crestline.runtime.actions.base import ActionProblem, Context, Step
from crestline.runtime.endpoints import ENDPOINT, URL, endpoint_ref

KEY = "silence"
RENEW_BEFORE = dt.timedelta(minutes=5)
# A silence whose end is this much before the one it was made with was expired early.
EARLY = dt.timedelta(seconds=5)
MAX_REASON = 600  # ActionRecord.message holds 1024 characters; the rest is our own text


def marker(namespace: str, name: str, activation: str) -> str:
    return f"crestline eventday={namespace}/{name} activation={activation}"


def _scope(namespace: str) -> Matcher:
    return Matcher("namespace", namespace)


def _refusal(ctx: Context, ref: str) -> str | None:
    """Why the Alertmanager ``ref`` read back from the ledger may not be called for this
    namespace now, or None when ``begin`` could have recorded it."""
    if ref.startswith(ENDPOINT):
        name = ref.removeprefix(ENDPOINT)
        where = tenancy.alertmanager(ctx.config, ctx.namespace, endpoint=name, url=None)
    elif ref.startswith(URL):
        url = ref.removeprefix(URL)
        where = tenancy.alertmanager(ctx.config, ctx.namespace, endpoint=None, url=url)
    else:
        where = tenancy.Refusal("it is neither a configured endpoint nor a URL")
    return where.reason if isinstance(where, tenancy.Refusal) else None


def _refused(record: ActionRecord, reason: str, left: str) -> Step:
    """The record ends ``drifted``: the ledger names an Alertmanager this EventDay could
    not have used, so nothing is called and the team (and admin) are told why."""
    if len(reason) > MAX_REASON:
        reason = reason[: MAX_REASON - 1] + "…"
    message = f"the Alertmanager recorded in the status may not be used: {reason}; {left}"
    return Step(
        record.model_copy(update={"state": LedgerState.DRIFTED, "message": message}),
        (Event(EventType.WARNING, "Drift", message),),
    )


class AlertSilence:
    def keys(self, spec: EventDaySpec) -> list[str]:
        return [KEY] if spec.overrides.alerts is not None else []

    def begin(self, ctx: Context, key: str) -> ActionRecord:
        alerts = ctx.overrides.alerts
        assert ctx.activation is not None
        assert alerts is not None
        where = tenancy.alertmanager(
            ctx.config, ctx.namespace, endpoint=alerts.alertmanager, url=alerts.alertmanager_url
        )
        if isinstance(where, tenancy.Refusal):
            raise ActionProblem(where.reason)
        return ActionRecord(
            key=key,
            activation=ctx.activation.id,
            state=LedgerState.PENDING,
            endpoint=endpoint_ref(where),
        )

    def _ends(self, ctx: Context) -> dt.datetime:
        assert ctx.activation is not None
        bound = ctx.now + dt.timedelta(seconds=ctx.config.limits.max_silence_seconds)
        return min(ctx.activation.active_until, bound)

    def apply(self, ctx: Context, record: ActionRecord) -> Step:
        alerts = ctx.overrides.alerts
        assert ctx.activation is not None
        assert alerts is not None
        assert record.endpoint
        refused = _refusal(ctx, record.endpoint)
        if refused is not None:
            return _refused(record, refused, "no silence made there")
        am = ctx.services.alertmanager(record.endpoint)
        mark = marker(ctx.namespace, ctx.name, record.activation)
        ends = self._ends(ctx)
        events: tuple[Event, ...] = ()
        found = am.find(mark, scope=_scope(ctx.namespace))
        if found is None or self.due(ctx, record):
            matchers = [
                Matcher(m.name, m.value, m.is_regex, m.is_equal)
                for m in alerts.matchers
                if m.name != "namespace"
            ]
            matchers.append(_scope(ctx.namespace))
            found = am.create(
                matchers,
                starts=ctx.now,
                ends=ends,
                comment=f"EventDay {ctx.namespace}/{ctx.name}: alerts muted for the event ({mark})",
            )
            events = (
                Event(
                    EventType.NORMAL,
                    "AlertsSilenced",
                    f"silence {found} on namespace {ctx.namespace} until {format_instant(ends)}",
                ),
            )
        elif record.state is LedgerState.PENDING:
            # Made by a process killed before recording it: its Event may never have been
            # posted (at worst it is posted twice, never lost).
            events = (
                Event(
                    EventType.NORMAL,
                    "AlertsSilenced",
                    f"silence {found} on namespace {ctx.namespace} (made before a restart)",
                ),
            )
        applied = json.dumps({"endsAt": format_instant(ends)})
        update = {"state": LedgerState.APPLIED, "ref": found, "applied": applied}
        return Step(record.model_copy(update=update), events)

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        """A silence that ends before the activation does is renewed shortly before."""
        if ctx.activation is None or record.state is not LedgerState.APPLIED:
            return False
        ends = json.loads(record.applied or "{}").get("endsAt")
        if not ends:
            return True
        end = dt.datetime.fromisoformat(ends.replace("Z", "+00:00"))
        return end < ctx.activation.active_until and ctx.now >= end - RENEW_BEFORE

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        if not record.endpoint:
            return Step(record.model_copy(update={"state": LedgerState.RESTORED}))
        refused = _refusal(ctx, record.endpoint)
        if refused is not None:
            return _refused(record, refused, "nothing expired there; left alone")
        am = ctx.services.alertmanager(record.endpoint)
        mark = marker(ctx.namespace, ctx.name, record.activation)
        ids = [record.ref] if record.ref else []
        found = am.find(mark, scope=_scope(ctx.namespace))
        if found and found not in ids:
            ids.append(found)  # renewed, or created just before a restart
        expired, earlier = [], []
        for silence_id in ids:
            silence = am.get(silence_id)
            if silence is None or silence.state not in ("active", "pending"):
                if silence is not None and _ended_early(silence, mark, record):
                    earlier.append(silence_id)  # expired by a process killed after it
                continue  # ended on its own
            if silence.created_by != CREATED_BY or mark not in silence.comment:
                message = f"silence {silence_id} is not crestline's for this EventDay; left alone"
                return Step(
                    record.model_copy(update={"state": LedgerState.DRIFTED, "message": message}),
                    (Event(EventType.WARNING, "Drift", message),),
                )
            am.expire(silence_id)
            expired.append(silence_id)
        events = tuple(Event(EventType.NORMAL, "SilenceExpired", f"silence {i}") for i in expired)
        events += tuple(
            Event(
                EventType.NORMAL,
                "SilenceExpired",
                f"silence {i} (found expired before its end: before a restart, or by hand)",
            )
            for i in earlier
        )
        return Step(record.model_copy(update={"state": LedgerState.RESTORED}), events)


def _ended_early(silence: Silence, mark: str, record: ActionRecord) -> bool:
    """crestline's silence for this record, expired before the end it was made with.

    The restore that expires a silence and the record of it are two steps; a process
    killed between them leaves a silence already expired and no Event for it. The
    resumed restore recognizes that case by the silence's end (expiring sets it to the
    moment of expiry) lying before the end recorded when it was made, and posts the
    Event then (at worst for a silence someone expired by hand, which the message says).
    """
    if silence.state != "expired" or silence.created_by != CREATED_BY:
        return False
    if mark not in silence.comment or not silence.ends_at:
        return False
    planned = json.loads(record.applied or "{}").get("endsAt")
    if not planned:
        return False
    try:
        ended = dt.datetime.fromisoformat(silence.ends_at.replace("Z", "+00:00"))
        until = dt.datetime.fromisoformat(str(planned).replace("Z", "+00:00"))
    except ValueError:
        return False
    return ended < until - EARLY
