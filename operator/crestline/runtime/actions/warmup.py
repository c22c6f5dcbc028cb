"""Warm the cache before the peak, once per activation: Redis TTLs, an HTTP call, a Job.

None of these is undone when the event ends (a longer TTL simply runs out; nothing is
shortened), so they finish as ``done``. A TTL extension over a large keyspace resumes
where it stopped: its SCAN cursor is in the ledger.
"""

from __future__ import annotations

import hashlib
import json

from crestline.api.eventday import ActionRecord, EventDaySpec, LedgerState
from crestline.policy import tenancy
from crestline.policy.conditions import Event, EventType
from crestline.runtime.actions.base import ActionProblem, Context, Step
from crestline.runtime.endpoints import endpoint_ref

TTL, HTTP, JOB = "cache/ttl", "cache/http", "cache/job"


def _started(ctx: Context, key: str, **fields: str | None) -> ActionRecord:
    assert ctx.activation is not None
    return ActionRecord(
        key=key, activation=ctx.activation.id, state=LedgerState.IN_PROGRESS, **fields
    )


def _done(record: ActionRecord, message: str) -> Step:
    update = {"state": LedgerState.DONE, "message": message}
    return Step(
        record.model_copy(update=update),
        (Event(EventType.NORMAL, "CacheWarmup", f"{record.key}: {message}"),),
    )


class TtlExtension:
    def keys(self, spec: EventDaySpec) -> list[str]:
        cache = spec.overrides.cache
        return [TTL] if cache is not None and cache.extend_ttl is not None else []

    def begin(self, ctx: Context, key: str) -> ActionRecord:
        cache = ctx.overrides.cache
        assert cache is not None
        assert cache.extend_ttl is not None
        where = tenancy.redis(ctx.config, ctx.namespace, endpoint=cache.redis, url=cache.redis_url)
        if isinstance(where, tenancy.Refusal):
            raise ActionProblem(where.reason)
        ext = cache.extend_ttl
        pattern = tenancy.confine_pattern(ext.pattern, tenancy.key_prefix(where, ctx.namespace))
        ttl = min(ext.ttl_seconds, ctx.config.limits.max_ttl_seconds)
        plan = json.dumps({"pattern": pattern, "ttl": ttl, "batch": ext.batch})
        return _started(ctx, key, endpoint=endpoint_ref(where), applied=plan, ref="0")

    def apply(self, ctx: Context, record: ActionRecord) -> Step:
        assert record.endpoint is not None
        plan = json.loads(record.applied or "{}")
        report = ctx.services.redis(record.endpoint).extend_ttls(
            plan["pattern"],
            int(plan["ttl"]),
            batch=int(plan["batch"]),
            deadline=ctx.deadline,
            cursor=int(record.ref or 0),
        )
        done = json.loads(record.progress or "{}")
        scanned = int(done.get("scanned", 0)) + report.scanned
        extended = int(done.get("extended", 0)) + report.extended
        if report.cursor:
            progress = json.dumps({"scanned": scanned, "extended": extended})
            return Step(record.model_copy(update={"ref": str(report.cursor), "progress": progress}))
        return _done(
            record,
            f"scanned {scanned} keys matching {plan['pattern']!r}, extended {extended} "
            f"to {plan['ttl']}s",
        )

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        return False

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        return Step(record)


class HttpWarmup:
    def keys(self, spec: EventDaySpec) -> list[str]:
        cache = spec.overrides.cache
        return [HTTP] if cache is not None and cache.http_warmup is not None else []

    def begin(self, ctx: Context, key: str) -> ActionRecord:
        cache = ctx.overrides.cache
        assert cache is not None
        assert cache.http_warmup is not None
        where = tenancy.warmup_url(ctx.config, ctx.namespace, cache.http_warmup.url)
        if isinstance(where, tenancy.Refusal):
            raise ActionProblem(where.reason)
        return _started(ctx, key, endpoint=where.url, applied=cache.http_warmup.method)

    def apply(self, ctx: Context, record: ActionRecord) -> Step:
        assert record.endpoint is not None
        status = ctx.services.warmup.call(record.endpoint, record.applied or "GET")
        return _done(record, f"HTTP {status}")

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        return False

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        return Step(record)


class WarmupJob:
    def keys(self, spec: EventDaySpec) -> list[str]:
        cache = spec.overrides.cache
        return [JOB] if cache is not None and cache.job_template is not None else []

    def begin(self, ctx: Context, key: str) -> ActionRecord:
        cache = ctx.overrides.cache
        assert cache is not None
        assert cache.job_template is not None
        refused = tenancy.job_template(ctx.config, ctx.namespace, cache.job_template)
        if refused is not None:
            raise ActionProblem(refused.reason)
        return _started(ctx, key)

    def apply(self, ctx: Context, record: ActionRecord) -> Step:
        cache = ctx.overrides.cache
        if cache is None or cache.job_template is None:
            return _done(record, "the jobTemplate was removed; nothing to run")
        refused = tenancy.job_template(ctx.config, ctx.namespace, cache.job_template)
        if refused is not None:
            raise ActionProblem(refused.reason)
        digest = hashlib.sha256(record.activation.encode()).hexdigest()[:8]
        job_name = f"{ctx.name[:40]}-warmup-{digest}"
        body = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name,
                "namespace": ctx.namespace,
                "labels": {"crestline.dev/eventday": ctx.name[:63]},
            },
            "spec": cache.job_template,
        }
        created = ctx.services.jobs.create_job(ctx.namespace, body)
        return _done(record, f"Job {job_name}" + ("" if created else " (created before)"))

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        return False

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        return Step(record)
