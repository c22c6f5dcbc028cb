"""What every EventDay action is: begun (its original recorded), applied, restored.

An action is one small class per kind of change, registered in
:mod:`crestline.runtime.actions` (the way KEDA registers scalers). The ledger engine
(:mod:`crestline.runtime.ledger`) persists each step before and after the action's side
effect; the action itself only reads and changes the outside system, idempotently, and
says what happened. An action raises :class:`ActionProblem` (or any exception) when it
cannot do its step now; the engine reports it and retries on the next evaluation.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from crestline.api.config import OperatorConfig
from crestline.api.eventday import ActionRecord, EventDaySpec, Overrides
from crestline.policy.conditions import Event
from crestline.policy.windows import Activation
from crestline.runtime.ports import JobPort, MonitorPort, SilencePort, TtlPort, WarmupPort


class ActionProblem(Exception):
    """A step could not be done now; the message is safe to show on the EventDay."""


@dataclass(frozen=True)
class Services:
    """The outside systems actions reach, each resolved per endpoint reference."""

    monitors: MonitorPort
    alertmanager: Callable[[str], SilencePort]  # endpoint reference -> client
    redis: Callable[[str], TtlPort]
    jobs: JobPort
    warmup: WarmupPort


@dataclass(frozen=True)
class Context:
    namespace: str
    name: str
    spec: EventDaySpec | None  # None when it is invalid: only restoring is possible then
    config: OperatorConfig
    services: Services
    now: dt.datetime
    activation: Activation | None = None  # the one being applied (None while restoring)
    deadline: float = field(default_factory=lambda: time.monotonic() + 60.0)

    @property
    def overrides(self) -> Overrides:
        """The spec's overrides (applying needs a valid spec; restoring never does)."""
        if self.spec is None:
            raise ActionProblem("the EventDay's spec is invalid; only restoring is possible")
        return self.spec.overrides


@dataclass(frozen=True)
class Step:
    record: ActionRecord
    events: tuple[Event, ...] = ()


class Action(Protocol):
    """One kind of change an EventDay makes."""

    def keys(self, spec: EventDaySpec) -> list[str]:
        """The ledger keys this kind wants for ``spec`` (e.g. one per monitor)."""
        ...

    def begin(self, ctx: Context, key: str) -> ActionRecord:
        """The first record (``pending`` with the original, or ``inProgress``); no change yet."""
        ...

    def apply(self, ctx: Context, record: ActionRecord) -> Step:
        """Make (or finish) the change; idempotent."""
        ...

    def due(self, ctx: Context, record: ActionRecord) -> bool:
        """Whether an ``applied`` record needs ``apply`` again (e.g. a silence ran out)."""
        ...

    def restore(self, ctx: Context, record: ActionRecord) -> Step:
        """Undo the change unless someone else changed it meanwhile; idempotent."""
        ...
