"""Helpers for the tenancy suite: team users on the real API server, and loopback servers
that record everything the operator sends them.

A *team* is a namespace plus a user who may edit crestline's objects there and nothing
else: a ServiceAccount of that namespace whose token comes from the TokenRequest API (so
it works on the local stack and on a kind cluster alike), bound to a namespaced Role.
Every attempt in the suite goes through the real API server with that user's token.

A :class:`LoopbackServer` answers on a loopback address and records every request it
receives (method, raw target, headers, body): the proof that something was *not* sent is
that it never arrived. Routes pick a responder by path prefix; a path is routed as a
path-normalising gateway would route it (percent-decoded, dot segments resolved), so a
request that sneaks ``/team-a/../team-b/`` past an allow-list lands on ``/team-b/``.
"""

from __future__ import annotations

import contextlib
import json
import posixpath
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from kubernetes import client, config

from crestline.api.base import GROUP, VERSION
from crestline_dev.stack import Stack

MEMBER = "member"  # the team's user: a ServiceAccount of its own namespace
TEAM_ROLE = "crestline-team"


# -- teams ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Team:
    """A namespace and an API client authenticated as its member (not admin)."""

    namespace: str
    api: client.ApiClient

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{MEMBER}"

    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    def create(self, plural: str, body: dict[str, Any]) -> None:
        """Create a crestline object in the team's namespace, as the team's member."""
        self.custom().create_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, body)

    def get(self, plural: str, name: str) -> dict[str, Any]:
        obj: Any = self.custom().get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, name
        )
        return dict(obj)


def team_role(namespace: str) -> dict[str, Any]:
    """What a service team is given: crestline's objects of its namespace (not their status
    subresource) and read access to the Events that explain them. No Secrets, no Jobs."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": TEAM_ROLE, "namespace": namespace},
        "rules": [
            {
                "apiGroups": [GROUP],
                "resources": ["performanceslos", "eventdays"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
        ],
    }


def make_team(stack: Stack, kube: client.ApiClient, namespace: str) -> Team:
    """Create ``namespace``, its member, the Role and binding; return the member's client."""
    core = client.CoreV1Api(kube)
    rbac = client.RbacAuthorizationV1Api(kube)
    meta: Any = {"metadata": {"name": namespace}}
    core.create_namespace(meta)
    account: Any = {"metadata": {"name": MEMBER}}
    core.create_namespaced_service_account(namespace, account)
    role: Any = team_role(namespace)
    rbac.create_namespaced_role(namespace, role)
    binding: Any = {
        "metadata": {"name": TEAM_ROLE, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": TEAM_ROLE},
        "subjects": [{"kind": "ServiceAccount", "name": MEMBER, "namespace": namespace}],
    }
    rbac.create_namespaced_role_binding(namespace, binding)
    request: Any = {"spec": {"expirationSeconds": 3600}}
    status = core.create_namespaced_service_account_token(MEMBER, namespace, request).status
    assert status is not None
    cfg = client.Configuration()
    config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=str(stack.kubeconfig), client_configuration=cfg
    )
    cfg.cert_file = None  # the admin's client certificate must not come along
    cfg.key_file = None
    cfg.api_key = {"authorization": f"Bearer {status.token}"}
    return Team(namespace, client.ApiClient(cfg))


# -- loopback servers -------------------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    """One request a loopback server received."""

    method: str
    target: str  # the raw request target, as sent
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def routed(self) -> str:
        """The path a normalising gateway routes on (decoded, dot segments resolved)."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.target).path)
        normal = posixpath.normpath(path) if path else "/"
        return normal + ("/" if path.endswith("/") and normal != "/" else "")

    def carries(self, text: str) -> bool:
        """Whether ``text`` appears anywhere in what was sent (target, headers, body)."""
        blob = "\n".join([self.target, *map(str, self.headers.items())])
        return text in blob or text.encode() in self.body


Responder = Callable[[BaseHTTPRequestHandler, Seen], None]


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)


EMPTY_VECTOR = json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})


def empty_vector(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
    """Answer like a Prometheus with nothing to say (so a bypass would "work")."""
    reply(handler, 200, EMPTY_VECTOR.encode(), Content_Type="application/json")


@dataclass
class LoopbackServer:
    """An HTTP server on a loopback address that records every request it gets."""

    host: str = "127.0.0.1"
    routes: list[tuple[str, Responder]] = field(default_factory=list)
    fallback: Responder = empty_vector
    _seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> LoopbackServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 1 << 20)) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers.items()), body, time.time())
                with owner._lock:
                    owner._seen.append(seen)
                self.close_connection = True
                responder = next(
                    (r for prefix, r in owner.routes if seen.routed.startswith(prefix)),
                    owner.fallback,
                )
                # The client may hang up: that is what some tests want.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    responder(self, seen)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{self.host}:{self._server.server_address[1]}"

    @property
    def address(self) -> str:
        return self.url.removeprefix("http://")

    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)


# -- responders -------------------------------------------------------------------------------
class HugeResponse:
    """A Prometheus answering an instant query with ``size`` bytes of valid-looking JSON,
    chunked (no Content-Length, so the client can only stop by counting what it reads).
    Records how much of each response was written before the client hung up."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent: list[tuple[int, bool]] = []  # (bytes written, whole body written)
        self._lock = threading.Lock()
        sample = b'{"metric":{"namespace":"x","pod":"p"},"value":[1700000000,"1"]},'
        self._chunk = sample * (65536 // len(sample))

    def __call__(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.send_header("Connection", "close")
        handler.end_headers()
        written, complete = 0, False
        try:
            for part in self._parts():
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                written += len(part)
            handler.wfile.write(b"0\r\n\r\n")
            complete = True
        except OSError:
            pass  # the client stopped reading and closed the connection
        finally:
            with self._lock:
                self.sent.append((written, complete))

    def _parts(self) -> Iterator[bytes]:
        yield b'{"status":"success","data":{"resultType":"vector","result":['
        left = self.size
        while left > len(self._chunk):
            yield self._chunk
            left -= len(self._chunk)
        yield b'{"metric":{},"value":[1700000000,"1"]}]}}'

    def attempts(self) -> list[tuple[int, bool]]:
        with self._lock:
            return list(self.sent)


def redirect_to(location: str) -> Responder:
    """A 307 (which keeps the method and body) to ``location``."""

    def respond(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        reply(handler, 307, b"", Location=location)

    return respond


def ok(handler: BaseHTTPRequestHandler, seen: Seen) -> None:
    reply(handler, 200, b"warm\n", Content_Type="text/plain")


class PrometheusProxy:
    """A transparent gateway in front of the stack's Prometheus that records every query
    the operator sends (the shared Prometheus of the suite)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.queries: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._http = requests.Session()
        self._http.trust_env = False

    def __call__(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        form = urllib.parse.parse_qs(seen.body.decode(errors="replace"))
        form.update(urllib.parse.parse_qs(urllib.parse.urlsplit(seen.target).query))
        for query in form.get("query", []):
            with self._lock:
                self.queries.append((seen.at, query))
        resp = self._http.request(
            seen.method,
            self.upstream + seen.target,
            data=seen.body or None,
            headers={"Content-Type": seen.headers.get("Content-Type", "")},
            timeout=10,
        )
        reply(
            handler,
            resp.status_code,
            resp.content,
            Content_Type=resp.headers.get("Content-Type", "application/json"),
        )

    def sent(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.queries)


@dataclass(frozen=True)
class Series:
    """One exported series: name, labels, and its value as a function of time."""

    name: str
    labels: dict[str, str]
    value: Callable[[float], float]
    kind: str = "gauge"


class Exporter:
    """A shared exporter (like kube-state-metrics) serving several namespaces' series."""

    def __init__(self, series: list[Series]) -> None:
        self.series = series
        self.started = time.time()

    def __call__(self, handler: BaseHTTPRequestHandler, seen: Seen) -> None:
        now = time.time() - self.started
        lines: list[str] = []
        for name in dict.fromkeys(s.name for s in self.series):
            of_name = [s for s in self.series if s.name == name]
            lines.append(f"# TYPE {name} {of_name[0].kind}")
            for s in of_name:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                lines.append(f"{name}{{{labels}}} {s.value(now)}")
        reply(handler, 200, ("\n".join(lines) + "\n").encode(), Content_Type="text/plain")


# -- Alertmanager -----------------------------------------------------------------------------
PROBE = "TenancyProbe"


def post_probe_alerts(am_url: str, namespaces: list[str], *, minutes: float = 15) -> None:
    """One firing warning alert per namespace, as Prometheus would send it."""
    now = time.time()
    alerts = [
        {
            "labels": {"alertname": PROBE, "namespace": ns, "severity": "warning"},
            "annotations": {"summary": "tenancy suite probe"},
            "startsAt": _iso(now - 60),
            "endsAt": _iso(now + minutes * 60),
        }
        for ns in namespaces
    ]
    requests.post(f"{am_url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()


def unsilenced_probes(am_url: str) -> set[str]:
    """Namespaces whose probe alert is firing and not silenced (nor inhibited)."""
    resp = requests.get(
        f"{am_url}/api/v2/alerts",
        params={
            "silenced": "false",
            "inhibited": "false",
            "active": "true",
            "filter": f'alertname="{PROBE}"',
        },
        timeout=10,
    )
    resp.raise_for_status()
    return {a["labels"]["namespace"] for a in resp.json()}


def probe_of(am_url: str, namespace: str) -> dict[str, Any]:
    """The status of ``namespace``'s probe alert (``state``, ``silencedBy``), or {}."""
    resp = requests.get(
        f"{am_url}/api/v2/alerts",
        params={"filter": [f'alertname="{PROBE}"', f'namespace="{namespace}"']},
        timeout=10,
    )
    resp.raise_for_status()
    found = [dict(a["status"]) for a in resp.json()]
    return found[0] if found else {}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# -- the operator process ---------------------------------------------------------------------
def vm_rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` (VmRSS in /proc/<pid>/status), in KiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise LookupError(f"no VmRSS for pid {pid}")
