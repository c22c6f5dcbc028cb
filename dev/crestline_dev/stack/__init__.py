"""The local stack: real components started as loopback processes.

Tests, the demo and benchmarks need a Kubernetes control plane, Prometheus,
Alertmanager and Redis. None of them is faked: etcd and the Kubernetes binaries are
built from the Go module proxy (``controlplane/build.sh``), the monitoring pieces come
from Debian packages. :class:`Stack` starts them on free ports in a private temp dir
and guarantees they are gone afterwards, including after a crash of the caller.
"""

from crestline_dev.stack.stack import Stack, StackConfig

__all__ = ["Stack", "StackConfig"]
