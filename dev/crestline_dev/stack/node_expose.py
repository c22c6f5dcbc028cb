"""Let pods reach services of the stack that listen on loopback only.

Everything in the stack listens on 127.0.0.1, which a pod cannot reach: its loopback is
its own. :class:`LoopbackForwarder` listens on the node's IP (the bridge's address,
which pods do reach) and forwards each connection to the same port on 127.0.0.1. It
runs as threads of the harness, so it lives and dies with it; connections are bounded.

:func:`kubernetes_service_endpoints` points the ``default/kubernetes`` Service at such
a forwarder for the API server: the local API server runs without an endpoint
reconciler, so the Service has no endpoints, and a pod's in-cluster client
(``KUBERNETES_SERVICE_HOST`` = the Service's cluster IP) would reach nothing. With
them, kube-proxy sends it to the forwarder, and the API server's certificate (issued
for the Service IP) verifies as it does in a cluster.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class LoopbackForwarder:
    """``<bind_ip>:<port>`` -> ``127.0.0.1:<port>``, at most ``max_connections`` at once."""

    def __init__(self, bind_ip: str, port: int, max_connections: int = 64) -> None:
        self.bind_ip = bind_ip
        self.port = port
        self._slots = threading.BoundedSemaphore(max_connections)
        self._listener = socket.create_server((bind_ip, port), reuse_port=False)
        self._closed = threading.Event()
        threading.Thread(target=self._accept_loop, name=f"expose-{port}", daemon=True).start()

    @property
    def address(self) -> str:
        return f"{self.bind_ip}:{self.port}"

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                conn.close()
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        except OSError:
            conn.close()
            self._slots.release()
            return
        upstream.settimeout(None)
        done = threading.Event()
        for src, dst in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=_pump, args=(src, dst, done), daemon=True).start()
        done.wait()
        for sock in (conn, upstream):
            with contextlib.suppress(OSError):
                sock.close()
        self._slots.release()


def _pump(src: socket.socket, dst: socket.socket, done: threading.Event) -> None:
    """Copy bytes one way until either side closes; then end the whole connection."""
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        done.set()


def kubernetes_service_endpoints(node_ip: str, port: int) -> dict[str, Any]:
    """The ``default/kubernetes`` Endpoints, pointing at the API server's forwarder."""
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "kubernetes", "namespace": "default"},
        "subsets": [
            {
                "addresses": [{"ip": node_ip}],
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            }
        ],
    }
