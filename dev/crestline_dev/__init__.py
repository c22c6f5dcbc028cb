"""Development tooling for crestline, kept out of the product wheel and image.

``crestline_dev.stack`` starts real components as local processes (a control plane,
Prometheus, Alertmanager, Redis); ``crestline_dev.sim`` is the workload simulator (a
queueing model serving real metrics, and a simulated clock that replays traces through
the operator's own plan step); ``crestline_dev.scenario`` and ``crestline_dev.demo``
compose them for the tests, the benchmarks and ``make demo``.
"""
