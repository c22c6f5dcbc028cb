"""``python -m crestline_dev.stack.node_reaper``: the node's watchdog process.

It blocks reading a pipe from the harness. One byte means "stopped cleanly, nothing to
do"; end of file without it means the harness died, and it runs
:func:`~crestline_dev.stack.node_cleanup.cleanup`. See :mod:`crestline_dev.stack.node_cleanup`.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from crestline_dev.stack.node_cleanup import DISARM, NodeLeftovers, cleanup


def main(argv: list[str]) -> int:
    workdir, socket, kube_proxy = argv
    # Ignore the terminal's Ctrl-C: the harness handles that and then disarms us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.stdin.buffer.read(1) == DISARM:
        return 0
    # The harness is gone; give the parent-death signal a moment to stop the kubelet
    # and containerd, so they do not start new containers while we clean up.
    time.sleep(1.0)
    left = NodeLeftovers(Path(workdir), Path(socket), Path(kube_proxy) if kube_proxy else None)
    cleanup(left, remove_workdir=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
