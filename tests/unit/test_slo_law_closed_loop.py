"""The SLO law in a closed loop: ``decide`` against queueing replicas, no limit cycles.

The plant is pure Python here (no simulator): ``n`` ready replicas share a steady load
evenly, each an M/M/1 queue or an M/M/c queue (``c`` workers); the reading is the p95
sojourn time at the replicas that are ready (``+Inf`` when they are overloaded, which is
what histogram_quantile reports from the top bucket). New replicas serve only after a
start-up delay; removed ones stop at once. ``decide`` runs with the default behaviour
(300 s scale-down window, HPA rate limits) every evaluation interval, carrying its
history, knee memory and scale events like the operator does, and is told how many
replicas are Ready.

What must hold for every load, target and starting fleet, once the loop has had time
to learn (the first two thirds of the run): the replica count does not move (no
sustained oscillation), the objective is met when ``maxReplicas`` can meet it, and the
fleet is not larger than the band the law holds in (or than where it started).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crestline.api import Objective, ScalingSpec
from crestline.api.slo import ObjectiveKind
from crestline.policy.behavior import Timed
from crestline.policy.decide import Reading, ScaleState, decide, record_scale

if TYPE_CHECKING:
    from crestline.policy.laws import Knee

P95_Z = math.log(20)  # an exponential's 95th percentile in units of its mean


def erlang_c(servers: int, offered: float) -> float:
    """P(wait) in an M/M/c queue with ``offered`` = lambda/mu erlangs."""
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1 - rho + rho * b)


@dataclass(frozen=True)
class Replica:
    """One replica: ``workers`` servers, each serving ``rate`` requests/s on average."""

    rate: float = 10.0
    workers: int = 1

    @property
    def capacity(self) -> float:
        return self.rate * self.workers

    def p95(self, load: float) -> float:
        """p95 sojourn time (s) at ``load`` requests/s; ``inf`` when overloaded."""
        mu, c = self.rate, self.workers
        if load >= c * mu:
            return math.inf
        if c == 1:
            return P95_Z / (mu - load)
        wait = erlang_c(c, load / mu)
        theta = c * mu - load

        def cdf(t: float) -> float:
            service = 1 - math.exp(-mu * t)
            if abs(theta - mu) < 1e-9:
                waited = 1 - math.exp(-mu * t) * (1 + mu * t)
            else:
                waited = 1 - (theta * math.exp(-mu * t) - mu * math.exp(-theta * t)) / (theta - mu)
            return (1 - wait) * service + wait * waited

        lo, hi = 0.0, 1.0
        while cdf(hi) < 0.95:
            hi *= 2
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if cdf(mid) < 0.95 else (lo, mid)
        return hi

    @property
    def unloaded_p95(self) -> float:
        return self.p95(0.0)


@dataclass
class Fleet:
    """Replicas asked for; those started more than ``startup`` seconds ago serve."""

    startup: float
    ready: int
    pending: list[float] = field(default_factory=list)  # ready-at times

    @property
    def total(self) -> int:
        return self.ready + len(self.pending)

    def set(self, desired: int, now: float) -> None:
        if desired > self.total:
            self.pending += [now + self.startup] * (desired - self.total)
        cut = self.total - desired
        if cut > 0:
            drop = min(cut, len(self.pending))
            self.pending = self.pending[: len(self.pending) - drop]
            self.ready -= cut - drop

    def advance(self, now: float) -> None:
        self.ready += sum(1 for t in self.pending if t <= now)
        self.pending = [t for t in self.pending if t > now]


@dataclass(frozen=True)
class Case:
    """One closed loop: a steady load (in replicas' worth), a target (in unloaded p95s)."""

    load: float  # offered requests/s / one replica's capacity
    target_factor: float  # latency target / the replica's unloaded p95
    initial: int
    workers: int = 1
    startup: float = 60.0
    interval: float = 30.0
    max_replicas: int = 200
    hours: float = 6.0
    overload_p95: float = math.inf  # the reading of overloaded replicas (a timeout caps it)
    later: tuple[float, float] | None = None  # (at hour, load from then on)
    noise: float = 0.0  # each reading is off by up to this fraction, either way
    seed: int = 0
    tolerance: float = 0.1  # spec.scaling.tolerance: the band a user allows for noise

    def load_at(self, t: float) -> float:
        if self.later is not None and t >= self.later[0] * 3600:
            return self.later[1]
        return self.load

    @property
    def replica(self) -> Replica:
        return Replica(workers=self.workers)

    @property
    def target(self) -> float:
        return self.target_factor * self.replica.unloaded_p95

    def p95(self, ready: int, t: float | None = None) -> float:
        """The reading with ``ready`` replicas serving (at time ``t``, else the final load)."""
        if ready <= 0:
            return math.inf
        replica = self.replica
        load = self.load_at(math.inf if t is None else t)
        return min(replica.p95(load * replica.capacity / ready), self.overload_p95)

    def needed(self) -> int:
        """The fewest replicas meeting the target at this load (``max_replicas + 1``: none)."""
        n = 1
        while self.p95(n) > self.target and n <= self.max_replicas:
            n += 1
        return n

    def comfortable(self, band: float = 0.8) -> int | None:
        """The fewest replicas reading below ``band`` of the target, if any can.

        None when ``band`` of the target is below the unloaded latency: then no fleet
        size reads "comfortable" and the law never probes down.
        """
        if band * self.target <= self.replica.unloaded_p95:
            return None
        n = 1
        while self.p95(n) >= band * self.target:
            n += 1
        return n


@dataclass(frozen=True)
class Step:
    t: float
    desired: int
    ready: int
    p95: float  # the plant's true p95
    reading: float  # what decide was told (p95 with noise)


Decide = Callable[..., Any]


def run(case: Case, decide_fn: Decide = decide, *, memory: bool = True) -> list[Step]:
    """Close the loop for ``case.hours``; one :class:`Step` per evaluation."""
    objective = Objective(name="p95", query="(plant)", target=case.target, kind=ObjectiveKind.SLO)
    spec = ScalingSpec.model_validate(
        {
            "minReplicas": 1,
            "maxReplicas": case.max_replicas,
            # start-up plus one evaluation: a new replica shows in the next reading
            "warmupSeconds": int(case.startup + case.interval),
            "tolerance": case.tolerance,
        }
    )
    fleet = Fleet(case.startup, ready=case.initial)
    recommendations: tuple[Timed, ...] = ()
    events: tuple[Timed, ...] = ()
    knees: tuple[Knee, ...] = ()
    steps = []
    rng = random.Random(case.seed)
    t = 0.0
    while t < case.hours * 3600:
        fleet.advance(t)
        p95 = case.p95(fleet.ready, t)
        reading = p95 * (1 + case.noise * rng.uniform(-1, 1))
        extra: dict[str, Any] = {"ready": fleet.ready, "knees": knees} if memory else {}
        state = ScaleState(fleet.total, recommendations, events, **extra)
        d = decide_fn(spec, [objective], {"p95": Reading(reading)}, state, t)
        events = record_scale(events, t, d.desired - fleet.total, spec)
        recommendations = d.recommendations
        knees = getattr(d, "knees", ()) if memory else ()
        fleet.set(d.desired, t)
        steps.append(Step(t, d.desired, fleet.ready, p95, reading))
        t += case.interval
    return steps


def settled_part(steps: list[Step]) -> list[Step]:
    """The last third of the run: what the loop does once it has learned."""
    return steps[2 * len(steps) // 3 :]


def reversals(steps: list[Step]) -> int:
    """How often the replica count changed direction (up after down or down after up)."""
    moves = [b.desired - a.desired for a, b in itertools.pairwise(steps)]
    signs = [m > 0 for m in moves if m != 0]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def breach_episodes(case: Case, steps: list[Step]) -> int:
    """Stretches of consecutive evaluations whose true p95 breached the target."""
    flags = [s.p95 > case.target for s in steps]
    return sum(1 for i, f in enumerate(flags) if f and (i == 0 or not flags[i - 1]))


def lean_bound(case: Case) -> int:
    """The most replicas the law may settle at for ``case``.

    Not above the band the law holds in, nor above where it started (a fleet under five
    replicas is not shrunk on latency alone), plus the one replica a learned knee may
    add. If no size reads below the band, the law cannot probe; then not above where it
    started or one up-step (at most 2x) past what is needed.
    """
    comfortable = case.comfortable()
    if comfortable is None:
        return max(case.initial, 2 * case.needed())
    return max(comfortable, min(case.initial, 4), case.needed()) + 1


def check(case: Case, steps: list[Step]) -> None:
    """Noise-free readings: the last third is one replica count, meeting the target."""
    tail = settled_part(steps)
    counts = {s.desired for s in tail}
    assert len(counts) == 1, f"{case}: still moving at the end: {sorted(counts)}"
    final = tail[-1].desired
    if case.needed() <= case.max_replicas:
        breaches = [s for s in tail if s.p95 > case.target]
        assert not breaches, f"{case}: breaches the target at steady load ({final} replicas)"
        assert final >= case.needed()
    assert final <= lean_bound(case), f"{case}: settled at {final} > {lean_bound(case)}"


def check_noisy(case: Case, steps: list[Step]) -> None:
    """Noisy readings: a lesson may come late (when noise first dips below the band, or a
    noisy breach raises the knee by one), but lessons are few and do not repeat.

    Each breach episode is one lesson; a sustained oscillation would be an unbounded
    number of them, and of direction changes. A lesson turns the fleet at most four
    times: the probe down, the restore up (a breach while the restore still starts may
    grow past it), the way back down, and a last probe that the knee then stops.
    """
    episodes = breach_episodes(case, steps)
    assert episodes <= 6, f"{case}: {episodes} breach episodes"
    assert reversals(steps) <= 4 * episodes + 2, f"{case}: {reversals(steps)} reversals"
    late = steps[len(steps) // 2 :]
    if case.needed() <= case.max_replicas:
        breached = sum(1 for s in late if s.p95 > case.target) / len(late)
        assert breached <= 0.02, f"{case}: in breach {breached:.1%} of the second half"
    typical = sorted(s.desired for s in late)[len(late) // 2]
    bound = max(lean_bound(case), case.needed() + 2)  # a noisy breach teaches a knee early
    assert typical <= bound, f"{case}: typically {typical} > {bound}"


# -- the grid from the fault review: 60 load/target/fleet combinations -----------------
# Each for M/M/1 and M/M/4 replicas, once with overloaded replicas reading +Inf and once
# capped by a 10 s timeout. The law before this one cycled in 21 (M/M/1) and 32 (M/M/4)
# of the capped combinations and sat in breach in 34 and 42 of the +Inf ones (it took
# +Inf for missing data); this law without its knee memory passed back cycles in 23-33.

LOADS = (0.6, 1.5, 3.2, 7.5, 16.0, 37.0)
TARGETS = (1.5, 2.5, 5.0, 12.0, 30.0)
GRID = [
    Case(load, target, initial=initial, workers=workers, overload_p95=overload)
    for workers in (1, 4)
    for overload in (math.inf, 10.0)
    for initial in (20, 2)
    for load in LOADS
    for target in TARGETS
]


def _id(case: Case) -> str:
    cap = "inf" if math.isinf(case.overload_p95) else "timeout"
    return f"MM{case.workers}-load{case.load}-x{case.target_factor}-n{case.initial}-{cap}"


@pytest.mark.parametrize("case", GRID, ids=_id)
def test_no_limit_cycle_on_the_review_grid(case: Case) -> None:
    check(case, run(case))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    load=st.floats(0.2, 60.0),
    target_factor=st.floats(1.2, 40.0),
    initial=st.integers(1, 80),
    workers=st.sampled_from([1, 4]),
    startup=st.sampled_from([0.0, 30.0, 90.0, 180.0]),
    interval=st.sampled_from([15.0, 30.0]),
    timeout=st.booleans(),
)
def test_no_limit_cycle_anywhere(
    load: float,
    target_factor: float,
    initial: int,
    workers: int,
    startup: float,
    interval: float,
    timeout: bool,
) -> None:
    overload = 3 * target_factor * Replica(workers=workers).unloaded_p95 if timeout else math.inf
    case = Case(load, target_factor, initial, workers, startup, interval, overload_p95=overload)
    check(case, run(case))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    load=st.floats(0.2, 60.0),
    target_factor=st.floats(1.2, 40.0),
    initial=st.integers(1, 80),
    workers=st.sampled_from([1, 4]),
    noise=st.sampled_from([0.05, 0.1]),
    seed=st.integers(0, 2**16),
)
def test_noisy_readings_settle_after_a_few_lessons(
    load: float, target_factor: float, initial: int, workers: int, noise: float, seed: int
) -> None:
    # Two readings off by +-noise differ by up to 2 * noise: the tolerance a user with
    # such readings sets (for the HPA as much as for crestline).
    case = Case(
        load, target_factor, initial, workers, hours=8, noise=noise, seed=seed, tolerance=2 * noise
    )
    check_noisy(case, run(case))


def test_learning_costs_at_most_a_few_breaches() -> None:
    """Probing finds the knee; at steady load it does not keep paying for it."""
    case = Case(load=7.5, target_factor=30.0, initial=40)
    steps = run(case)
    breached = [s for s in steps if s.p95 > case.target]
    episodes = sum(
        1
        for a, b in zip([None, *breached], breached, strict=False)
        if a is None or b.t - a.t > case.interval
    )
    assert 1 <= episodes <= 3  # it did have to learn, and learned quickly
    assert reversals(settled_part(steps)) == 0


def test_the_fleet_follows_demand_down_and_up() -> None:
    """The knee is forgotten on evidence (less demand reads lower at the same fleet)."""
    falling = Case(load=16.0, target_factor=5.0, initial=30, hours=9, later=(3.0, 16.0 / 3))
    steps = run(falling)
    before = steps[int(3 * 3600 / falling.interval) - 1].desired
    check(falling, steps)
    assert steps[-1].desired < before
    rising = Case(load=16.0 / 3, target_factor=5.0, initial=30, hours=9, later=(3.0, 16.0))
    steps = run(rising)
    check(rising, steps)
    assert steps[-1].desired > steps[int(3 * 3600 / rising.interval) - 1].desired


def test_without_knee_memory_the_probe_cycles() -> None:
    """Why callers must pass Decision.knees back: the memory is what ends the cycle."""
    case = Case(load=7.5, target_factor=30.0, initial=40, overload_p95=10.0)
    check(case, run(case))
    with pytest.raises(AssertionError, match="still moving"):
        check(case, run(case, memory=False))
