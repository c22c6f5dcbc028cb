"""The EventDay ledger: every change recorded before it is made, undone exactly once.

The ledger is ``status.actions`` of the EventDay, read fresh from the API server when
there is work to do and written after every step with a resourceVersion precondition:
if anyone else wrote the EventDay meanwhile (another replica during a failover), the
write fails with 409 and this evaluation stops before its next side effect, so two
writers can never both record an "original".

Each step is persisted before its side effect (``pending`` with the original value;
``restoring``) and after it (``applied``; ``restored`` or ``drifted``). A restart at any
moment therefore finds a record that says exactly which step to resume, and every
action's step is idempotent, so resuming never repeats a change nor reports drift the
operator caused itself. Events are posted before the step's completion is persisted:
at worst one is posted twice, never lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from crestline.api.eventday import OPEN_STATES, ActionRecord, LedgerState
from crestline.policy.conditions import Event
from crestline.runtime import failpoints
from crestline.runtime.actions import REGISTRY, action_for, all_actions
from crestline.runtime.actions.base import ActionProblem, Context, Step
from crestline.runtime.errors import Stale

log = logging.getLogger("crestline.ledger")
KEEP_ACTIVATIONS = 2

Persist = Callable[[list[ActionRecord]], None]  # raises when the precondition fails
Post = Callable[[Event], None]
Fence = Callable[[], None]  # raises when this replica may no longer act


@dataclass
class Outcome:
    records: list[ActionRecord]
    problems: list[str] = field(default_factory=list)

    @property
    def open(self) -> list[ActionRecord]:
        return [r for r in self.records if r.state in OPEN_STATES]


class Ledger:
    """Records plus how to persist them, events to post, and the fence to check."""

    def __init__(
        self, records: Sequence[ActionRecord], *, persist: Persist, post: Post, fence: Fence
    ) -> None:
        self.records = list(records)
        self._persist = persist
        self._post = post
        self._fence = fence

    def find(self, key: str, activation: str) -> ActionRecord | None:
        return next((r for r in self.records if r.key == key and r.activation == activation), None)

    def _put(self, record: ActionRecord) -> None:
        self.records = [
            r
            for r in self.records
            if not (r.key == record.key and r.activation == record.activation)
        ]
        self.records.append(record)
        self._persist(bounded(self.records))

    def _finish(self, step: Step) -> None:
        for event in step.events:
            self._post(event)
        self._put(step.record)

    # -- the two directions -----------------------------------------------------------------
    def restore(self, ctx: Context, *, keep: str | None) -> list[str]:
        """Undo every open record whose activation is not ``keep`` (all, if None)."""
        problems = []
        for found in [r for r in self.records if r.state in OPEN_STATES]:
            if found.activation == keep:
                continue
            action = action_for(found.key)
            if action is None:
                continue
            record = found
            try:
                self._fence()
                if record.state is not LedgerState.RESTORING:
                    record = record.model_copy(update={"state": LedgerState.RESTORING})
                    _point("restore", record.key, "before-persist")
                    self._put(record)
                self._fence()
                _point("restore", record.key, "before-effect")
                step = action.restore(ctx, record)
                _point("restore", record.key, "after-effect")
                self._finish(step)
                _point("restore", record.key, "after-persist")
            except Stale:
                raise
            except Exception as exc:  # reported; retried on the next evaluation
                problems.append(f"restoring {record.key}: {_describe(exc)}")
        return problems

    def apply(self, ctx: Context) -> list[str]:
        """Make every change the current activation wants that is not made yet."""
        assert ctx.activation is not None
        assert ctx.spec is not None
        act = ctx.activation.id
        problems = []
        for action in all_actions():
            for key in action.keys(ctx.spec):
                record = self.find(key, act)
                try:
                    if record is None:
                        self._fence()
                        record = action.begin(ctx, key)
                        _point("apply", key, "before-persist")
                        self._put(record)  # the original is safe before anything changes
                    if record.state in (LedgerState.PENDING, LedgerState.IN_PROGRESS) or (
                        record.state is LedgerState.APPLIED and action.due(ctx, record)
                    ):
                        self._fence()
                        _point("apply", key, "before-effect")
                        step = action.apply(ctx, record)
                        _point("apply", key, "after-effect")
                        self._finish(step)
                        _point("apply", key, "after-persist")
                except Stale:
                    raise
                except Exception as exc:  # reported; retried on the next evaluation
                    problems.append(f"{key}: {_describe(exc)}")
        return problems


def pending_work(records: Sequence[ActionRecord], ctx: Context, want: str | None) -> bool:
    """Whether :class:`Ledger` has anything to do (so the fresh read can be skipped)."""
    if any(r.state in OPEN_STATES and r.activation != want for r in records):
        return True
    if want is None or ctx.spec is None:
        return False
    for action in all_actions():
        for key in action.keys(ctx.spec):
            record = next((r for r in records if r.key == key and r.activation == want), None)
            if record is None or record.state in (LedgerState.PENDING, LedgerState.IN_PROGRESS):
                return True
            if record.state is LedgerState.APPLIED and action.due(ctx, record):
                return True
    return False


def bounded(records: Sequence[ActionRecord], keep: int = KEEP_ACTIVATIONS) -> list[ActionRecord]:
    """Records of the last ``keep`` activations, and everything still to undo."""
    recent: list[str] = []
    for r in reversed(records):
        if r.activation not in recent:
            recent.append(r.activation)
    kept = set(recent[:keep])
    return [r for r in records if r.activation in kept or r.state in OPEN_STATES]


def _point(direction: str, key: str, moment: str) -> None:
    """A failpoint at one ledger step (a testing hook: crestline.runtime.failpoints)."""
    if failpoints.ARMED:
        kind = next((p.rstrip("/") for p, _ in REGISTRY if key.startswith(p)), key)
        failpoints.hit(f"ledger.{direction}.{kind}.{moment}")


def _describe(exc: Exception) -> str:
    """A short, safe description: no response bodies or headers."""
    if isinstance(exc, ActionProblem):
        return str(exc)
    status, reason = getattr(exc, "status", None), getattr(exc, "reason", None)
    if isinstance(status, int):
        return f"API server answered {status} {reason or ''}".strip()
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]
