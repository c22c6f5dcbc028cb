"""More of "one team never reaches another", found by the end-to-end tenancy suite:

* an allow-listed path prefix must not be escaped by dot segments: HTTP clients resolve
  ``/team-a/../team-b/`` before sending, and gateways decode ``%2e%2e`` and route on the
  result, so the request would land under another team's prefix;
* the Prometheus and Alertmanager clients must not follow redirects: an allow-listed URL
  that answers 307 would take the request (method, body) to wherever it points.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from crestline.adapters.alertmanager import Alertmanager, AlertmanagerError
from crestline.adapters.prometheus import PrometheusClient, QueryError
from crestline.api.config import OperatorConfig, Tenant
from crestline.policy import tenancy
from crestline.policy.readings import ReadFailure

PREFIX = "http://ingress.example:8080/team-a/"
CONFIG = OperatorConfig(tenants=[Tenant(namespaces=["team-a"], allow_urls=[PREFIX])])


@pytest.mark.parametrize(
    "url",
    [
        "http://ingress.example:8080/team-a/../team-b/",
        "http://ingress.example:8080/team-a/./../team-b/api",
        "http://ingress.example:8080/team-a/%2e%2e/team-b/",
        "http://ingress.example:8080/team-a/%2E%2E/team-b/",
        "http://ingress.example:8080/team-a/%252e%252e/team-b/",  # decoded twice
        "http://ingress.example:8080/team-a%2f..%2fteam-b/",
        "http://ingress.example:8080/team-a/..;/team-b/",  # a path parameter
        "http://ingress.example:8080/team-a/..\\team-b/",
        "http://ingress.example:8080/team-a/%5c..%5cteam-b/",
        "http://ingress.example:8080/team-a/..",
    ],
)
def test_a_path_that_resolves_outside_the_prefix_is_refused(url: str) -> None:
    got = tenancy.warmup_url(CONFIG, "team-a", url)
    assert isinstance(got, tenancy.Refusal), url
    assert "is not allowed for namespace team-a" in got.reason


def test_the_client_really_would_have_left_the_prefix() -> None:
    """Why it matters: what requests sends for the first case above."""
    sent = requests.Request("GET", "http://ingress.example:8080/team-a/../team-b/").prepare()
    assert sent.url == "http://ingress.example:8080/team-b/"


@pytest.mark.parametrize(
    "url",
    [
        PREFIX,
        PREFIX + "warm",
        PREFIX + "cache/warm?all=1",
        PREFIX + "v1.2/warm",  # dots inside a segment are fine
        PREFIX + "...",  # so is a segment of three dots
        PREFIX + "warm%20up",
    ],
)
def test_ordinary_paths_under_the_prefix_stay_allowed(url: str) -> None:
    assert isinstance(tenancy.warmup_url(CONFIG, "team-a", url), tenancy.FreeUrl), url


# -- redirects ---------------------------------------------------------------------------------
class _Server:
    """A loopback server: ``/go`` redirects to ``/elsewhere``; records what it serves."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                owner.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if self.path.startswith("/go"):
                    self.send_response(307)
                    self.send_header("Location", "/elsewhere" + self.path.removeprefix("/go"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = b'{"status":"success","data":{"resultType":"scalar","result":[1,"7"]}}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = _handle

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.http.shutdown()
    s.http.server_close()


def test_prometheus_does_not_follow_a_redirect(server: _Server) -> None:
    with pytest.raises(QueryError) as caught:
        PrometheusClient(server.url + "/go").query("vector(1)", 5)
    assert caught.value.failure is ReadFailure.UNAVAILABLE
    assert "HTTP 307" in str(caught.value)
    assert "redirects are not followed" in str(caught.value)
    assert server.paths == ["/go/api/v1/query"]
    # The control: the same server answers where it does not redirect.
    assert PrometheusClient(server.url).query("vector(1)", 5)[0].value == 7.0


def test_alertmanager_does_not_follow_a_redirect(server: _Server) -> None:
    am = Alertmanager(server.url + "/go")
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(AlertmanagerError, match="HTTP 307"):
        am.create([], starts=now, ends=now, comment="x")
    with pytest.raises(AlertmanagerError, match="redirects are not followed"):
        am.expire("some-id")
    assert all(p.startswith("/go/") for p in server.paths), server.paths
