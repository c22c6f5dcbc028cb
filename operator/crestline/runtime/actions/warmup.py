"""Warm the cache before the peak, once per activation: Redis TTLs, an HTTP call, a Job.

None of these is undone when the event ends (a longer TTL simply runs out; nothing is
shortened), so they finish as ``done``. A TTL extension over a large keyspace resumes
where it stopped: its SCAN cursor is in the ledger, and it stops for good after the
administrator's ``limits.maxKeysPerWarmup`` keys.

The ledger is the object's status, read back on every step: what a step finds there
(the Redis, the SCAN pattern, the TTL, the URL) is used only if ``begin`` could have
written it for this namespace under the configuration in force, so a status written by
anyone else can never widen what the action reaches.
"""

from __future__ import annotations

import hashlib
import json

from crestline.api.eventday import ActionRecord, EventDaySpec, LedgerState
from crestline.policy import tenancy
from crestline.policy.conditions import Event, EventType
from crestline.runtime.actions.base import ActionProblem, Context, Step
from crestline.runtime.endpoints import ENDPOINT, URL, endpoint_ref

TTL, HTTP, JOB = "cache/ttl", "cache/http", "cache/job"
MAX_BATCH = 10_000  # the most EventDaySpec allows for extendTtl.batch


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
        _check_plan(ctx, record.endpoint, plan)
        ttl = min(int(plan["ttl"]), ctx.config.limits.max_ttl_seconds)
        report = ctx.services.redis(record.endpoint).extend_ttls(
            plan["pattern"],
            ttl,
            batch=min(int(plan["batch"]), MAX_BATCH),
            deadline=ctx.deadline,
            cursor=int(record.ref or 0),
        )
        done = json.loads(record.progress or "{}")
        scanned = int(done.get("scanned", 0)) + report.scanned
        extended = int(done.get("extended", 0)) + report.extended
        summary = (
            f"scanned {scanned} keys matching {plan['pattern']!r}, extended {extended} to {ttl}s"
        )
        limit = ctx.config.limits.max_keys_per_warmup
        if report.cursor and scanned >= limit:
            return _done(record, f"{summary}; stopped there, at the limit of {limit} keys")
        if report.cursor:
            progress = json.dumps({"scanned": scanned, "extended": extended})
            return Step(record.model_copy(update={"ref": str(report.cursor), "progress": progress}))
        return _done(record, summary)

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        return False

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        return Step(record)


def _check_plan(ctx: Context, ref: str, plan: dict[str, object]) -> None:
    """Raise unless ``plan`` on Redis ``ref`` is one ``begin`` could have made for this
    namespace now: a Redis it may use, a pattern under its prefix (the TTL and the batch
    are clamped to their bounds where they are used)."""
    if ref.startswith(ENDPOINT):
        where = tenancy.redis(
            ctx.config, ctx.namespace, endpoint=ref.removeprefix(ENDPOINT), url=None
        )
    elif ref.startswith(URL):
        where = tenancy.redis(ctx.config, ctx.namespace, endpoint=None, url=ref.removeprefix(URL))
    else:
        where = tenancy.Refusal(f"the ledger names an unknown Redis {ref!r}")
    if isinstance(where, tenancy.Refusal):
        raise ActionProblem(f"the TTL extension recorded in the status: {where.reason}")
    prefix = tenancy.confine_pattern("", tenancy.key_prefix(where, ctx.namespace))
    pattern = plan.get("pattern")
    numbers = [plan.get("ttl"), plan.get("batch")]
    if (
        not isinstance(pattern, str)
        or not pattern.startswith(prefix)
        or not all(isinstance(n, int) and n > 0 for n in numbers)
    ):
        raise ActionProblem(
            "the TTL extension recorded in the status is not one this EventDay could make "
            f"(keys under {prefix!r}); not run"
        )


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
        refused = tenancy.warmup_url(ctx.config, ctx.namespace, record.endpoint)
        if isinstance(refused, tenancy.Refusal):
            raise ActionProblem(refused.reason)
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
