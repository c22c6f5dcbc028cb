"""Every kind of change an EventDay makes, registered in one place.

To add one: a class satisfying :class:`~crestline.runtime.actions.base.Action`, and a
line below. The order is the order they are applied in (monitors first: a faster scrape
helps see the warm-up; the silence before the warm-up so its noise is muted).
"""

from __future__ import annotations

from crestline.runtime.actions.base import Action
from crestline.runtime.actions.monitor import PREFIX as MONITOR
from crestline.runtime.actions.monitor import MonitorInterval
from crestline.runtime.actions.silence import KEY as SILENCE
from crestline.runtime.actions.silence import AlertSilence
from crestline.runtime.actions.warmup import HTTP, JOB, TTL, HttpWarmup, TtlExtension, WarmupJob

REGISTRY: tuple[tuple[str, Action], ...] = (
    (MONITOR, MonitorInterval()),
    (SILENCE, AlertSilence()),
    (TTL, TtlExtension()),
    (HTTP, HttpWarmup()),
    (JOB, WarmupJob()),
)


def action_for(key: str) -> Action | None:
    """The action that owns ledger ``key`` (by prefix)."""
    return next((a for prefix, a in REGISTRY if key.startswith(prefix)), None)


def all_actions() -> tuple[Action, ...]:
    return tuple(a for _, a in REGISTRY)
