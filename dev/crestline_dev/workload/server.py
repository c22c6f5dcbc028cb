"""A small HTTP service whose latency comes from real requests, for real pods.

Each pod serves ``GET /`` with a bounded worker pool: ``--workers`` requests are served
at a time, each taking ``--service-ms`` (a sleep, so a pod's capacity is the same on a
busy 2-core test machine as on an idle one: ``workers / service time`` requests per
second). Requests beyond that wait in a queue of at most ``--max-queue``; past it the
pod answers 503 at once, as an overloaded service sheds load. So latency is queueing
plus service time, measured per request, and it climbs when the offered load nears the
pod's capacity: exactly what the operator's latency objective reacts to.

``/metrics`` is the Prometheus text format, written here by hand so the image needs no
package from outside the standard library:

* ``http_request_duration_seconds`` histogram (time in the pod, queue included);
* ``http_requests_total{code}`` counter; ``http_requests_in_flight`` gauge;
* ``workload_workers`` gauge (the pod's concurrency, for capacity queries);
* ``workload_busy_seconds_total`` counter: time the workers spent serving, so
  ``rate(busy) / workers`` is the pod's utilization, the way CPU seconds per core are;
* ``workload_warmups_total`` counter: calls of ``/warmup`` (an event's cache warm-up).

``/healthz`` answers 200; ``/readyz`` answers 200 once the pod has started
(``--ready-after-seconds``: a slow start, as a JVM or a cache load has), or always 503
with ``--never-ready`` (a Deployment whose pods never become Ready).

``--mode-file`` names a file read once, at start (a ConfigMap key mounted as a file):
``crash`` exits at once (the kubelet restarts the container, which reads it again:
CrashLoopBackOff), ``never-ready`` never becomes Ready, anything else is normal. So a
changed ConfigMap breaks only the pods that start after the change, as a bad
configuration does in production: the pods already serving keep serving.

The image runs this file alone (``python3 server.py``), so it imports nothing but the
standard library.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.075,
    0.1,
    0.15,
    0.2,
    0.3,
    0.5,
    0.75,
    1.0,
    2.5,
    5.0,
)


class Metrics:
    """Thread-safe counters behind ``/metrics``."""

    def __init__(self, workers: int) -> None:
        self._lock = threading.Lock()
        self.workers = workers
        self.bucket_counts = [0] * len(BUCKETS)
        self.count = 0
        self.total_seconds = 0.0
        self.codes: dict[str, int] = {}
        self.in_flight = 0
        self.busy_seconds = 0.0
        self.warmups = 0

    def observe(self, seconds: float, code: int) -> None:
        with self._lock:
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self.bucket_counts[i] += 1
            self.count += 1
            self.total_seconds += seconds
            self.codes[str(code)] = self.codes.get(str(code), 0) + 1

    def enter(self, delta: int) -> None:
        with self._lock:
            self.in_flight += delta

    def busy(self, seconds: float) -> None:
        with self._lock:
            self.busy_seconds += seconds

    def warmed(self) -> None:
        with self._lock:
            self.warmups += 1

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        with self._lock:
            name = "http_request_duration_seconds"
            out = [
                f"# HELP {name} Time from accept to response, queue included.",
                f"# TYPE {name} histogram",
            ]
            for bound, n in zip(BUCKETS, self.bucket_counts, strict=True):
                out.append(f'{name}_bucket{{le="{bound}"}} {n}')
            out += [
                f'{name}_bucket{{le="+Inf"}} {self.count}',
                f"{name}_sum {self.total_seconds}",
                f"{name}_count {self.count}",
                "# HELP http_requests_total Requests answered, by status code.",
                "# TYPE http_requests_total counter",
            ]
            out += [f'http_requests_total{{code="{c}"}} {n}' for c, n in sorted(self.codes.items())]
            out += [
                "# HELP http_requests_in_flight Requests queued or being served.",
                "# TYPE http_requests_in_flight gauge",
                f"http_requests_in_flight {self.in_flight}",
                "# HELP workload_workers Requests this pod serves at once.",
                "# TYPE workload_workers gauge",
                f"workload_workers {self.workers}",
                "# HELP workload_busy_seconds_total Time the workers spent serving.",
                "# TYPE workload_busy_seconds_total counter",
                f"workload_busy_seconds_total {self.busy_seconds}",
                "# HELP workload_warmups_total Calls of /warmup.",
                "# TYPE workload_warmups_total counter",
                f"workload_warmups_total {self.warmups}",
            ]
        return "\n".join(out) + "\n"


class Service:
    """The bounded worker pool: ``workers`` slots, at most ``max_queue`` waiting."""

    def __init__(self, workers: int, service_seconds: float, max_queue: int) -> None:
        self.metrics = Metrics(workers)
        self.service_seconds = service_seconds
        self._slots = threading.BoundedSemaphore(workers)
        self._admitted = threading.BoundedSemaphore(workers + max_queue)

    def serve_one(self) -> int:
        """Serve one request: wait for a slot, do the work; 503 when the queue is full."""
        if not self._admitted.acquire(blocking=False):
            return 503
        try:
            with self._slots:
                time.sleep(self.service_seconds)
                self.metrics.busy(self.service_seconds)
            return 200
        finally:
            self._admitted.release()


class Readiness:
    """Ready from ``after`` seconds past start on, or never."""

    def __init__(self, *, never: bool = False, after: float = 0.0) -> None:
        self.never = never
        self.ready_at = time.monotonic() + after

    def ready(self) -> bool:
        return not self.never and time.monotonic() >= self.ready_at


def read_mode(path: str | None) -> str:
    """The mode a ``--mode-file`` asks for (``ok`` when there is no such file)."""
    if not path:
        return "ok"
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


def make_handler(
    service: Service, never_ready: bool = False, *, readiness: Readiness | None = None
) -> type[BaseHTTPRequestHandler]:
    ready = readiness or Readiness(never=never_ready)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            if self.path == "/warmup":
                self._warmup()
            else:
                self._reply(404, "not found\n")

        def _warmup(self) -> None:
            service.metrics.warmed()
            self._reply(200, "warmed\n")

        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(200, service.metrics.render(), "text/plain; version=0.0.4")
            elif self.path == "/healthz":
                self._reply(200, "ok\n")
            elif self.path == "/readyz":
                ok = ready.ready()
                self._reply(200 if ok else 503, "ok\n" if ok else "not ready\n")
            elif self.path == "/warmup":
                self._warmup()
            elif self.path == "/":
                start = time.monotonic()
                service.metrics.enter(1)
                try:
                    code = service.serve_one()
                finally:
                    service.metrics.enter(-1)
                service.metrics.observe(time.monotonic() - start, code)
                self._reply(code, "ok\n" if code == 200 else "overloaded\n")
            else:
                self._reply(404, "not found\n")

        def _reply(self, code: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: one line per request would drown the pod's log."""

    return Handler


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--service-ms", type=float, default=50.0)
    parser.add_argument("--max-queue", type=int, default=200)
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--ready-after-seconds", type=float, default=0.0)
    parser.add_argument("--mode-file", help="crash | never-ready | ok, read once at start")
    args = parser.parse_args(argv)
    mode = read_mode(args.mode_file)
    if mode == "crash":
        print(f"workload: {args.mode_file} says crash: exiting", flush=True)
        return 1
    readiness = Readiness(
        never=args.never_ready or mode == "never-ready", after=args.ready_after_seconds
    )
    service = Service(args.workers, args.service_ms / 1000.0, args.max_queue)
    server = ThreadingHTTPServer(("0.0.0.0", args.port), make_handler(service, readiness=readiness))
    server.daemon_threads = True
    # The kubelet stops a pod with SIGTERM: finish at once (no connection is precious).
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(
        f"workload: serving on :{args.port}, {args.workers} workers x {args.service_ms} ms",
        flush=True,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
