"""The decision core: pure functions from (spec, readings, state, now) to a decision.

Nothing here does I/O or reads a clock; every input is an argument. That is what
lets the same code run in the operator, in the benchmark's simulated clock, and under
hypothesis. Anchor: the HPA's ReplicaCalculator (a pure proposal) vs its
HorizontalController (stabilization, rate limits, conditions) - here both are pure.
"""
