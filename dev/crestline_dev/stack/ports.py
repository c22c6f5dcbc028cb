"""Free loopback ports.

A port is found by binding port 0 and reading what the kernel chose. Another process
could in principle grab it before our child binds it; ports are handed out from one
process-wide set so at least we never give the same one twice.
"""

from __future__ import annotations

import socket
import threading

_lock = threading.Lock()
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a currently unused TCP port on ``host`` that this process has not handed out."""
    with _lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((host, 0))
                port: int = sock.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                return port
    raise RuntimeError("could not find a free loopback port")
