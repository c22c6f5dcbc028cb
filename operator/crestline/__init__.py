"""crestline: an operator that keeps workloads inside performance SLOs and ready for event days.

The package is layered so that data flows one way, observe -> decide -> act -> report:
``crestline.api`` holds the resource models, the decision core is pure, adapters talk to
the outside systems, handlers only wire them together. ``crestline_dev.stack`` is the local
test stack (a real control plane, Prometheus, Alertmanager and Redis as local processes)
shared by the tests, the benchmarks and the demo.
"""

__version__ = "0.1.0"
