"""An open-loop load generator that follows a trace, bounded in count and time.

Requests are sent at the rate the trace gives for each moment (open loop: a slow
service does not slow the sender, as with real users), spread round-robin over the
target URLs. Three bounds keep it a good citizen on a shared machine: at most
``max_in_flight`` requests at once (beyond that a request is *shed*, counted and not
sent), at most ``max_requests`` in total, and at most ``max_seconds`` of run time.

Targets must be on this host: loopback or the pods on the local node's bridge (see
:mod:`crestline_dev.stack.node`). With ``cluster_ips=True`` also a Service's cluster IP,
where kube-proxy sends each connection to one of the Ready pods - but only while the
Service CIDR is routed onto the node's bridge (the node runs): otherwise such a packet
would take the default route off the machine. Anything else is refused before a packet
is sent.

:class:`SettableRate` is a trace whose rate a test changes while the generator runs
(:meth:`LoadGenerator.start` runs it in a thread): a load step at a moment the test
chooses, e.g. the moment an operator pod is deleted.
"""

from __future__ import annotations

import http.client
import ipaddress
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from crestline_dev.sim.trace import LoadTrace
from crestline_dev.stack.controlplane import SERVICE_CIDR
from crestline_dev.stack.node_config import BRIDGE, POD_CIDR

ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network(POD_CIDR))
SERVICE_NETWORK = ipaddress.ip_network(SERVICE_CIDR)


def service_cidr_on_bridge(route_table: Path = Path("/proc/net/route")) -> bool:
    """Whether the kernel routes the Service CIDR onto the node's bridge right now."""
    want = (
        int(SERVICE_NETWORK.network_address).to_bytes(4, "big"),
        int(SERVICE_NETWORK.netmask).to_bytes(4, "big"),
    )
    try:
        lines = route_table.read_text().splitlines()[1:]
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        # Iface Destination Gateway Flags RefCnt Use Metric Mask ...: hex, host order.
        if len(fields) < 8 or fields[0] != BRIDGE:
            continue
        dest, mask = (int(fields[i], 16).to_bytes(4, "little") for i in (1, 7))
        if (dest, mask) == want:
            return True
    return False


def check_target(url: str, *, cluster_ips: bool = False) -> tuple[str, int, str]:
    """Split ``url`` into host, port, path; refuse a host outside loopback and the pod
    network (and, with ``cluster_ips``, a routed cluster IP)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url}: only http://<ip>:<port>/... targets")
    address = ipaddress.ip_address(parts.hostname)
    if any(address in net for net in ALLOWED_NETWORKS):
        return parts.hostname, parts.port or 80, parts.path or "/"
    if cluster_ips and address in SERVICE_NETWORK and service_cidr_on_bridge():
        return parts.hostname, parts.port or 80, parts.path or "/"
    raise ValueError(
        f"{url}: load goes only to loopback or the local pod network {POD_CIDR} "
        f"(or, asked for and while the node runs, a cluster IP of {SERVICE_CIDR})"
    )


@dataclass
class LoadReport:
    """What the generator saw from the client side."""

    sent: int = 0
    ok: int = 0
    errors: int = 0
    shed: int = 0
    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # monotonic end of each latency

    def quantile(self, q: float, since: float | None = None) -> float:
        """The ``q`` quantile of successful requests' latency (finished after ``since``)."""
        chosen = (
            self.latencies
            if since is None
            else [x for x, t in zip(self.latencies, self.finished, strict=True) if t >= since]
        )
        if not chosen:
            return float("nan")
        ordered = sorted(chosen)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class SettableRate:
    """A constant rate that can be changed at any moment (thread-safe)."""

    def __init__(self, rps: float, duration: float = 3600.0) -> None:
        self._rps = rps
        self._duration = duration
        self._lock = threading.Lock()
        self.changed_at: float | None = None  # time.monotonic() of the last change

    def set(self, rps: float) -> None:
        with self._lock:
            self._rps = rps
            self.changed_at = time.monotonic()

    def rps(self, t: float) -> float:
        with self._lock:
            return self._rps

    @property
    def duration(self) -> float:
        return self._duration


@dataclass(frozen=True)
class Limits:
    max_in_flight: int = 64
    max_requests: int = 20_000
    max_seconds: float = 120.0
    request_timeout: float = 5.0


class LoadGenerator:
    """Replay ``trace`` (requests/s over time) against ``targets`` for ``seconds``."""

    def __init__(
        self,
        targets: Sequence[str],
        trace: LoadTrace,
        limits: Limits | None = None,
        *,
        cluster_ips: bool = False,
    ) -> None:
        if not targets:
            raise ValueError("no targets")
        self.targets = [check_target(u, cluster_ips=cluster_ips) for u in targets]
        self.trace = trace
        self.limits = limits or Limits()
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.limits.max_in_flight)
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def start(self, seconds: float) -> threading.Thread:
        """:meth:`run` in a daemon thread; :meth:`stop` ends it early."""
        thread = threading.Thread(target=self.run, args=(seconds,), name="loadgen", daemon=True)
        thread.start()
        return thread

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
                self.report.finished.append(begin + elapsed)
            else:
                self.report.errors += 1
