"""crestline in the simulator: the operator's own plan step on a simulated clock.

The simulator does not have a copy of the operator's pipeline: every evaluation builds
the same :class:`~crestline.policy.plan.PlanInput` the runtime builds from a cluster
(the target's replicas and ready pods, the objectives' readings, the EventDays in
force) and calls :func:`crestline.policy.plan.plan`. What the plan would write is what
the simulated fleet does; its memory is carried to the next evaluation the way the
runtime carries it. So the benchmark scores the code that runs in clusters, pools,
holds, manual modes and EventDay overlays included.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from crestline.api.scaling import ScalingSpec
from crestline.api.slo import Objective, PerformanceSLOSpec, TargetRef
from crestline.policy.decide import Reading
from crestline.policy.overlay import InForce
from crestline.policy.plan import Memory, Observation, PlanInput, TargetView, plan
from crestline.policy.readings import ReadFailed, ReadFailure, Sample, Sampled, SourceResult
from crestline_dev.sim.replay import Observation as SimObservation

ReadingsFn = Callable[[SimObservation], Mapping[str, Reading]]


def standard_readings(obs: SimObservation) -> dict[str, Reading]:
    """Observation fields under the objective names the benchmarks use."""
    return {
        "p95": Reading(obs.p95),
        "cpu": Reading(obs.utilization),
        "errors": Reading(obs.error_ratio),
        # Arrivals as an ingress counts them: they do not saturate with the fleet.
        "rps": Reading(obs.offered_rps),
    }


def _result(reading: Reading) -> SourceResult:
    """What a source would have answered for this reading."""
    if reading.value is None:
        return ReadFailed(ReadFailure.NO_DATA, reading.error or "no data")
    return Sampled((Sample({}, reading.value),))


@dataclass
class CrestlineController:
    """A PerformanceSLO with this scaling and these objectives, evaluated by the plan step."""

    scaling: ScalingSpec
    objectives: tuple[Objective, ...]
    interval: float = 15.0
    readings: ReadingsFn = standard_readings
    events: Callable[[float], list[InForce]] | None = None  # EventDays in force at t
    annotations: Mapping[str, str] = field(default_factory=dict)  # on-call control
    memory: Memory = field(default_factory=Memory)

    def spec(self) -> PerformanceSLOSpec:
        return PerformanceSLOSpec(
            target_ref=TargetRef(name="sim"),
            objectives=list(self.objectives),
            scaling=self.scaling,
            evaluation={"intervalSeconds": max(1, round(self.interval))},  # type: ignore[arg-type]
        )

    def evaluate(self, obs: SimObservation) -> int:
        observation = Observation(
            target=TargetView(replicas=obs.total, ready=obs.ready),
            results={name: _result(r) for name, r in self.readings(obs).items()},
            events=tuple(self.events(obs.t) if self.events else ()),
            annotations=self.annotations,
        )
        result = plan(PlanInput(self.spec(), observation, self.memory, obs.t))
        self.memory = result.memory
        replicas = result.writes.replicas
        return obs.total if replicas is None else replicas
