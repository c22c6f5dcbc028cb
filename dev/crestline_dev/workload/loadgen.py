"""An open-loop load generator that follows a trace, bounded in count and time.

Requests are sent at the rate the trace gives for each moment (open loop: a slow
service does not slow the sender, as with real users), spread round-robin over the
target URLs. Three bounds keep it a good citizen on a shared machine: at most
``max_in_flight`` requests at once (beyond that a request is *shed*, counted and not
sent), at most ``max_requests`` in total, and at most ``max_seconds`` of run time.

Targets must be on this host: loopback, or the pods on the local node's bridge (see
:mod:`crestline_dev.stack.node`). Anything else is refused before a packet is sent.
"""

from __future__ import annotations

import http.client
import ipaddress
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from crestline_dev.sim.trace import LoadTrace
from crestline_dev.stack.node_config import POD_CIDR

ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network(POD_CIDR))


def check_target(url: str) -> tuple[str, int, str]:
    """Split ``url`` into host, port, path; refuse a host outside loopback and the pod network."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url}: only http://<ip>:<port>/... targets")
    address = ipaddress.ip_address(parts.hostname)
    if not any(address in net for net in ALLOWED_NETWORKS):
        raise ValueError(f"{url}: load goes only to loopback or the local pod network {POD_CIDR}")
    return parts.hostname, parts.port or 80, parts.path or "/"


@dataclass
class LoadReport:
    """What the generator saw from the client side."""

    sent: int = 0
    ok: int = 0
    errors: int = 0
    shed: int = 0
    latencies: list[float] = field(default_factory=list)

    def quantile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 64
    max_requests: int = 20_000
    max_seconds: float = 120.0
    request_timeout: float = 5.0


class LoadGenerator:
    """Replay ``trace`` (requests/s over time) against ``targets`` for ``seconds``."""

    def __init__(
        self, targets: Sequence[str], trace: LoadTrace, limits: Limits | None = None
    ) -> None:
        if not targets:
            raise ValueError("no targets")
        self.targets = [check_target(u) for u in targets]
        self.trace = trace
        self.limits = limits or Limits()
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.limits.max_in_flight)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def run(self, seconds: float) -> LoadReport:
        """Send load for ``seconds`` (capped by the limits and the trace); return the report."""
        limits = self.limits
        seconds = min(seconds, limits.max_seconds, self.trace.duration)
        start = time.monotonic()
        next_send = 0.0  # trace time of the next request
        with ThreadPoolExecutor(limits.max_in_flight, thread_name_prefix="loadgen") as pool:
            while (
                not self._stop.is_set()
                and self.report.sent + self.report.shed < limits.max_requests
            ):
                rate = self.trace.rps(next_send)
                # At zero load, look again a little later.
                next_send += 1.0 / rate if rate > 0 else 0.1
                if next_send >= seconds:
                    break
                delay = start + next_send - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if rate <= 0:
                    continue
                if not self._slots.acquire(blocking=False):
                    with self._lock:
                        self.report.shed += 1
                    continue
                target = self.targets[(self.report.sent + self.report.shed) % len(self.targets)]
                with self._lock:
                    self.report.sent += 1
                pool.submit(self._one, target)
        return self.report

    def _one(self, target: tuple[str, int, str]) -> None:
        host, port, path = target
        begin = time.monotonic()
        ok = False
        try:
            conn = http.client.HTTPConnection(host, port, timeout=self.limits.request_timeout)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            finally:
                conn.close()
        except OSError:
            ok = False
        finally:
            self._slots.release()
        elapsed = time.monotonic() - begin
        with self._lock:
            if ok:
                self.report.ok += 1
                self.report.latencies.append(elapsed)
            else:
                self.report.errors += 1
