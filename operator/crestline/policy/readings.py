"""From what a source returned for an objective to the one number the decision uses.

A source (Prometheus, Redis INFO) answers with samples - one per series - or with a
classified failure. The objective is one number, so the rule is strict: exactly one
series, or an error naming how many came back and which (bounded, so one query cannot
flood the status); an objective may say ``reduce: max|min|sum|avg`` to mean an
aggregate of several. The value itself is passed on as it is: what NaN, +Inf or a
negative value mean is the decision's to say (:mod:`crestline.policy.decide`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from crestline.api.slo import Objective, Reduce
from crestline.policy.decide import Reading

MAX_LABELS_SHOWN = 3
MAX_LABEL_TEXT = 120


class ReadFailure(StrEnum):
    """Why a source could not answer; each leads to its own condition reason."""

    UNAVAILABLE = "SourceUnavailable"  # transient: unreachable, slow, refused
    BAD_QUERY = "QueryError"  # the user's to fix: a PromQL syntax error, a wrong shape
    NO_DATA = "NoData"  # the query is fine but matched nothing (yet)
    NOT_ALLOWED = "NotAllowed"  # the operator's configuration forbids it (tenancy)


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector (a scalar has no labels)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Sampled:
    """A source's answer for one objective."""

    samples: tuple[Sample, ...]


@dataclass(frozen=True)
class ReadFailed:
    """A source's failure for one objective, with a message safe to show the user."""

    failure: ReadFailure
    message: str


SourceResult = Sampled | ReadFailed

_REDUCERS: dict[Reduce, Callable[[Sequence[float]], float]] = {
    Reduce.MAX: max,
    Reduce.MIN: min,
    Reduce.SUM: math.fsum,
    Reduce.AVG: lambda xs: math.fsum(xs) / len(xs),
}


def _describe(labels: Mapping[str, str]) -> str:
    text = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"
    return text if len(text) <= MAX_LABEL_TEXT else text[: MAX_LABEL_TEXT - 1] + "…}"


def to_reading(objective: Objective, result: SourceResult) -> tuple[Reading, ReadFailure | None]:
    """The reading of ``objective`` from its source's answer, and the failure class if any."""
    if isinstance(result, ReadFailed):
        return Reading(None, f"{result.failure.value}: {result.message}"), result.failure
    samples = result.samples
    if not samples:
        return Reading(None, "the query returned no series"), ReadFailure.NO_DATA
    if len(samples) == 1:
        return Reading(samples[0].value), None
    if objective.reduce is not None:
        return Reading(_REDUCERS[objective.reduce]([s.value for s in samples])), None
    shown = ", ".join(_describe(s.labels) for s in samples[:MAX_LABELS_SHOWN])
    more = f" and {len(samples) - MAX_LABELS_SHOWN} more" if len(samples) > MAX_LABELS_SHOWN else ""
    message = (
        f"the query returned {len(samples)} series ({shown}{more}); aggregate it to one "
        "(e.g. max(...)) or set reduce: max|min|sum|avg"
    )
    return Reading(None, message), ReadFailure.BAD_QUERY


def interpret(
    objectives: Sequence[Objective], results: Mapping[str, SourceResult]
) -> tuple[dict[str, Reading], dict[str, ReadFailure]]:
    """Readings per objective name, and the failure class of each unreadable one."""
    readings: dict[str, Reading] = {}
    failures: dict[str, ReadFailure] = {}
    for obj in objectives:
        result = results.get(obj.name, ReadFailed(ReadFailure.NO_DATA, "not read"))
        reading, failure = to_reading(obj, result)
        readings[obj.name] = reading
        if failure is not None:
            failures[obj.name] = failure
    return readings, failures
