"""Failpoints: a testing hook that SIGKILLs the operator at one precise moment.

A crash "between the side effect and the write that records it" cannot be timed from
outside the process, yet that is exactly the moment the ledger's promises are about
(every change applied once, undone once, no false drift). So the product carries
named points at those moments, and a test arms one through the environment::

    CRESTLINE_FAILPOINTS=ledger.apply.silence.after-effect crestline run ...

When an armed point is reached the process SIGKILLs itself: no ``finally`` block, no
atexit hook, no flushing of anything, like an OOM kill or a node that vanishes. A line
naming the point goes to stderr first, so the test can tell the kill it asked for from
an unexpected death.

The variable is read once, at import. Unset (always, in production) every point is a
single lookup in an empty set. Nothing else in the product reads it; it is not a
configuration option and carries no compatibility promise.

The points (``<kind>`` is the ledger key's registered prefix: ``monitor``, ``silence``,
``cache/ttl``, ``cache/http``, ``cache/job``):

* ``ledger.apply.<kind>.before-persist``: the original is about to be recorded
  (``pending`` / ``inProgress``); nothing is written or changed yet.
* ``ledger.apply.<kind>.before-effect``: the record is persisted (or being resumed); the
  change is about to be made.
* ``ledger.apply.<kind>.after-effect``: the change is made; neither its Events nor its
  completion (``applied`` / ``done``) are recorded.
* ``ledger.apply.<kind>.after-persist``: the completion is recorded.
* ``ledger.restore.<kind>.<same four>``: the same moments of undoing (``restoring``
  recorded, change undone, ``restored`` / ``drifted`` recorded).
* ``eventday.finalizer.before-remove`` / ``after-remove``: an EventDay being deleted has
  restored everything; its finalizer is about to be removed / has been removed.
* ``slo.after-scale``: a PerformanceSLO's replicas are written; its status is not.
"""

from __future__ import annotations

import os
import signal
import sys

ENV = "CRESTLINE_FAILPOINTS"


def parse(value: str | None) -> frozenset[str]:
    """The armed names in ``value``: comma-separated, surrounding blanks ignored."""
    return frozenset(p.strip() for p in (value or "").split(",") if p.strip())


ARMED = parse(os.environ.get(ENV))


def hit(name: str) -> None:
    """SIGKILL this process if ``name`` is armed; otherwise do nothing."""
    if name in ARMED:
        _die(name)


def _die(name: str) -> None:
    try:
        sys.stderr.write(f"crestline failpoint {name}: SIGKILL\n")
        sys.stderr.flush()
    finally:
        os.kill(os.getpid(), signal.SIGKILL)
