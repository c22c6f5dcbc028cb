"""Reasons an evaluation stops before its next side effect, without being an error."""

from __future__ import annotations


class Stale(Exception):
    """What this evaluation read is out of date: the object changed under it (409)."""


class Fenced(Stale):
    """This replica no longer holds the object's shard: someone else may act now."""
