"""What a team reads on its SLO when a reading is refused or too large: the reason it can
act on, not a transient-looking one.

Found with the end-to-end tenancy suite:

* a Secret that is not labelled for the operator was reported as ``SourceUnavailable``
  (as if Prometheus were down), though it is the same kind of refusal as a Secret of a
  namespace that may not use Secrets: ``NotAllowed``, saying which label is missing;
* a Prometheus answer over the size cap was reported as "unreachable: response exceeds
  the ... byte cap": the server was reachable, the answer was too large.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from crestline.adapters.prometheus import PrometheusClient, QueryError
from crestline.api.config import SECRET_LABEL, OperatorConfig, Tenant
from crestline.api.slo import PerformanceSLOSpec
from crestline.policy.readings import ReadFailed, ReadFailure
from crestline.runtime.endpoints import ClientCache
from crestline.runtime.sources import Readings

URL = "http://prom.team-a.svc:9090/"
CONFIG = OperatorConfig(
    tenants=[Tenant(namespaces=["team-a"], allow_urls=[URL], allow_secrets=True)]
)


def _spec(secret: str) -> PerformanceSLOSpec:
    return PerformanceSLOSpec.model_validate(
        {
            "targetRef": {"name": "web"},
            "objectives": [{"name": "p", "query": "up", "target": 1}],
            "scaling": {"maxReplicas": 3},
            "prometheus": {"url": URL, "auth": {"bearerToken": {"name": secret, "key": "t"}}},
        }
    )


def _read(secrets: dict[tuple[str, str], dict[str, str]], secret: str) -> ReadFailed:
    readings = Readings(CONFIG, ClientCache(), lambda ns, name: secrets.get((ns, name)))
    got = readings.read("team-a", _spec(secret), deadline=1e18)["p"]
    assert isinstance(got, ReadFailed)
    return got


def test_a_secret_without_the_label_is_not_allowed_and_the_message_names_the_label() -> None:
    # The operator only ever sees labelled Secrets: an unlabelled one looks absent.
    got = _read({}, "prom-token")
    assert got.failure is ReadFailure.NOT_ALLOWED
    assert f"Secret prom-token not found, or not labelled {SECRET_LABEL}=true" in got.message
    assert f"uses only Secrets that carry the label {SECRET_LABEL}=true" in got.message
    assert f"kubectl label secret prom-token {SECRET_LABEL}=true" in got.message


def test_a_labelled_secret_without_the_key_is_still_reported_as_such() -> None:
    got = _read({("team-a", "prom-token"): {"other": "x"}}, "prom-token")
    assert "Secret prom-token has no key 't'" in got.message


class _Big:
    """A loopback "Prometheus" answering ``size`` bytes, with or without Content-Length."""

    def __init__(self, size: int, *, declared: bool) -> None:
        body = b'{"status":"success","data":{"resultType":"vector","result":[' + b" " * size
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                owner.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                if declared:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for i in range(0, len(body), 4096):
                        part = body[i : i + 4096]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client stopped reading

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http.server_address[1]}"


@pytest.fixture(params=[True, False], ids=["content-length", "chunked"])
def big(request: pytest.FixtureRequest) -> Iterator[_Big]:
    server = _Big(64 << 10, declared=request.param)
    yield server
    server.http.shutdown()
    server.http.server_close()


def test_an_answer_over_the_cap_says_it_was_too_large_not_unreachable(big: _Big) -> None:
    with pytest.raises(QueryError) as caught:
        PrometheusClient(big.url, max_bytes=16 << 10).query("{__name__=~'.+'}", 5)
    message = str(caught.value)
    assert caught.value.failure is ReadFailure.BAD_QUERY, message
    assert "is too large" in message, message
    assert "16384 byte cap" in message, message
    assert "aggregate the query" in message, message
    assert "unreachable" not in message, message
    assert big.requests == 1
