"""Cache warm-up for events: Redis TTL extension (SCAN, never KEYS) and an HTTP call.

SCAN walks the keyspace in batches without blocking Redis the way KEYS does. Only keys
that already expire are touched, and only to lengthen their TTL: persistent keys stay
persistent, and nothing is shortened.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
import requests


@dataclass(frozen=True)
class TtlReport:
    scanned: int
    extended: int


def extend_ttls(url: str, pattern: str, ttl_seconds: int, batch: int = 500) -> TtlReport:
    """Raise the TTL of every expiring key matching ``pattern`` to at least ``ttl_seconds``."""
    client = redis.Redis.from_url(url, socket_timeout=10)
    scanned = extended = 0
    try:
        cursor = 0
        while True:
            cursor, keys = client.scan(cursor=cursor, match=pattern, count=batch)
            scanned += len(keys)
            if keys:
                pipe = client.pipeline(transaction=False)
                for key in keys:
                    pipe.ttl(key)
                ttls = pipe.execute()
                pipe = client.pipeline(transaction=False)
                todo = [k for k, t in zip(keys, ttls, strict=True) if 0 < int(t) < ttl_seconds]
                for key in todo:
                    pipe.expire(key, ttl_seconds)
                pipe.execute()
                extended += len(todo)
            if int(cursor) == 0:
                return TtlReport(scanned, extended)
    finally:
        client.close()


def hit_counters(url: str) -> tuple[int, int]:
    """Redis' own (keyspace_hits, keyspace_misses) since it started, from INFO stats."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        stats = client.info("stats")
    finally:
        client.close()
    return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])


def hit_ratio(previous: tuple[int, int] | None, now: tuple[int, int]) -> float | None:
    """Hit ratio between two counter readings; None without lookups (or after a reset)."""
    if previous is None:
        return None
    hits, misses = now[0] - previous[0], now[1] - previous[1]
    if hits < 0 or misses < 0 or hits + misses == 0:
        return None
    return hits / (hits + misses)


def http_warmup(url: str, method: str = "GET", timeout: float = 30.0) -> int:
    """Call the app's warm-up endpoint; returns the HTTP status (raises on >= 400)."""
    resp = requests.request(method, url, timeout=timeout)
    resp.raise_for_status()
    return resp.status_code
