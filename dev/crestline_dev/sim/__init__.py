"""The workload simulator: an honest stand-in for an application and its traffic.

There is no kubelet and no real traffic here, so the service under control is a
queueing model (:mod:`.model`) fed by a load trace (:mod:`.trace`). The same model runs
in two clocks: in real time behind a Prometheus ``/metrics`` endpoint whose capacity
follows the target Deployment's replica count read from the API server
(:mod:`.server`), and in simulated time for the benchmarks.
"""
