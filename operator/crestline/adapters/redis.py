"""Redis: hit/miss counters from INFO, and TTL extension for cache warm-up.

SCAN walks the keyspace in batches without blocking Redis the way KEYS does. Only keys
that already expire are touched, and only to lengthen their TTL: persistent keys stay
persistent, and nothing is shortened. Every call has a socket timeout, and a TTL
extension stops at a deadline and after a bounded number of keys, so a hung or huge
Redis costs one bounded attempt, reported, never a stuck worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

SOCKET_TIMEOUT = 3.0


def connect(
    url: str, *, password: str | None = None, timeout: float = SOCKET_TIMEOUT
) -> redis.Redis:
    """A client for ``url`` whose every call gives up after ``timeout`` seconds."""
    client: redis.Redis = redis.Redis.from_url(
        url,
        password=password,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry_on_timeout=False,
        single_connection_client=False,
    )
    return client


def hit_counters(client: redis.Redis) -> tuple[int, int]:
    """Redis' own (keyspace_hits, keyspace_misses) since it started, from INFO stats."""
    stats = client.info("stats")
    return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])


@dataclass(frozen=True)
class TtlReport:
    scanned: int
    extended: int
    cursor: int  # 0: the scan is complete; else where to resume it


def extend_ttls(
    client: redis.Redis,
    pattern: str,
    ttl_seconds: int,
    *,
    batch: int = 500,
    deadline: float,
    cursor: int = 0,
) -> TtlReport:
    """Raise the TTL of every expiring key matching ``pattern`` to at least ``ttl_seconds``.

    Starts at ``cursor`` and stops at ``deadline`` (monotonic); the report's cursor says
    where to resume (0: done), so a large keyspace is covered over several bounded calls.
    Repeating it is harmless: a key already at or above the TTL is left alone.
    """
    scanned = extended = 0
    while True:
        cursor, keys = client.scan(cursor=cursor, match=pattern, count=batch)
        scanned += len(keys)
        if keys:
            pipe = client.pipeline(transaction=False)
            for key in keys:
                pipe.ttl(key)
            ttls = pipe.execute()
            todo = [k for k, t in zip(keys, ttls, strict=True) if 0 < int(t) < ttl_seconds]
            if todo:
                pipe = client.pipeline(transaction=False)
                for key in todo:
                    pipe.expire(key, ttl_seconds)
                pipe.execute()
            extended += len(todo)
        cursor = int(cursor)
        if cursor == 0 or time.monotonic() > deadline:
            return TtlReport(scanned, extended, cursor)
