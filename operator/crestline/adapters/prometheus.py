"""Prometheus: run one instant query, return its samples, and say precisely why not.

Plain HTTP on ``requests`` (no client library): the operator needs one endpoint,
``/api/v1/query``, and it needs control the libraries do not give - a deadline on the
whole exchange, and a cap on how much of a response is read, so one object's query that
returns a huge result cannot exhaust the operator's memory.

Redirects are not followed: an allow-listed URL that redirects would otherwise take the
query, and its credentials' reach, to wherever the redirect points.

Errors are classified because they lead to different conditions: a query Prometheus
rejects (``bad_data``, e.g. a PromQL syntax error) is the user's to fix and will not
heal by waiting, while an unreachable or slow server is transient and the operator
holds replicas until it answers again. An answer over the size cap is the query's too
(an instant query for one number is a few hundred bytes; megabytes are thousands of
series), so it is a ``QueryError`` that says the answer was too large, not an
"unreachable" server. Messages never carry response bodies beyond Prometheus' own short
``error`` field, bounded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import requests

from crestline.policy.readings import ReadFailure, Sample

MAX_RESPONSE_BYTES = 1 << 20  # an instant query for one number is a few hundred bytes
MAX_ERROR_CHARS = 300


class QueryError(Exception):
    def __init__(self, failure: ReadFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class Credentials:
    """Resolved credentials for an HTTP endpoint (the Secret values, not references)."""

    bearer_token: str | None = None
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # a path: requests verifies against a file
    insecure_skip_verify: bool = False


def authorized_session(creds: Credentials) -> tuple[requests.Session, bool | str]:
    """A session that sends ``creds``, and the ``verify`` to pass with every request.

    ``verify`` is returned rather than set on the session: requests lets
    REQUESTS_CA_BUNDLE in the environment override a session's verify, which would
    silently drop the endpoint's own CA.
    """
    session = requests.Session()
    if creds.bearer_token:
        session.headers["Authorization"] = f"Bearer {creds.bearer_token}"
    elif creds.username and creds.password:
        session.auth = (creds.username, creds.password)
    if creds.insecure_skip_verify:
        return session, False
    return session, creds.ca_file or True


QueryObserver = Callable[[float, ReadFailure | None], None]


class PrometheusClient:
    """Instant queries against one Prometheus server, bounded in time and size."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        credentials: Credentials | None = None,
        observe: QueryObserver | None = None,
        max_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        creds = credentials or Credentials()
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._observe = observe
        self._session, self._verify = authorized_session(creds)

    def close(self) -> None:
        self._session.close()

    def query(self, promql: str, timeout: float | None = None) -> list[Sample]:
        """The samples of an instant query at the server's now."""
        start = time.monotonic()
        failure: ReadFailure | None = None
        limit = timeout if timeout is not None else self.timeout
        try:
            body = self._post(promql, limit)
            return _samples(body)
        except QueryError as exc:
            failure = exc.failure
            raise
        finally:
            if self._observe is not None:
                self._observe(time.monotonic() - start, failure)

    def _post(self, promql: str, limit: float) -> dict[str, object]:
        deadline = time.monotonic() + limit
        try:
            with self._session.post(
                f"{self.url}/api/v1/query",
                verify=self._verify,
                data={"query": promql, "timeout": f"{max(int(limit * 1000), 100)}ms"},
                timeout=(min(limit, 5.0), limit),
                stream=True,
                allow_redirects=False,  # a redirect could send the query anywhere
            ) as resp:
                status = resp.status_code
                raw = b"" if resp.is_redirect else read_bounded(resp, self.max_bytes, deadline)
        except ResponseTooLarge as exc:
            raise QueryError(
                ReadFailure.BAD_QUERY,
                f"the answer of Prometheus at {self.url} is too large: {exc}, and reading "
                "stopped there. An objective needs one number: aggregate the query (e.g. "
                "max(...), sum(...)) or narrow its selectors",
            ) from exc
        except requests.RequestException as exc:
            raise QueryError(
                ReadFailure.UNAVAILABLE, f"Prometheus at {self.url} unreachable: {_short(exc)}"
            ) from exc
        if 300 <= status < 400:
            raise QueryError(
                ReadFailure.UNAVAILABLE,
                f"Prometheus at {self.url} answered HTTP {status}, a redirect: redirects are not "
                "followed; configure the URL it serves the API at",
            )
        if status in (401, 403):
            raise QueryError(
                ReadFailure.UNAVAILABLE,
                f"Prometheus at {self.url} refused the request (HTTP {status}): check the "
                "credentials configured for it",
            )
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise QueryError(
                ReadFailure.UNAVAILABLE,
                f"Prometheus at {self.url} answered HTTP {status} with a body that is not JSON",
            ) from exc
        if not isinstance(body, dict):
            raise QueryError(ReadFailure.UNAVAILABLE, "Prometheus answered an unexpected shape")
        if body.get("status") != "success":
            error = _bounded(str(body.get("error", f"HTTP {status}")))
            if body.get("errorType") == "bad_data" or status in (400, 422):
                raise QueryError(ReadFailure.BAD_QUERY, error)
            raise QueryError(ReadFailure.UNAVAILABLE, f"Prometheus at {self.url}: {error}")
        return body


class ResponseTooLarge(requests.RequestException):
    """The response exceeded the configured size cap; reading stopped there."""


def read_bounded(resp: requests.Response, max_bytes: int, deadline: float) -> bytes:
    """Read at most ``max_bytes`` of a streamed response, before ``deadline`` (monotonic).

    Raises :class:`ResponseTooLarge` (a ``RequestException``) past the cap and
    ``requests.Timeout`` past the deadline, so callers handle both as transport errors.
    """
    declared = resp.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseTooLarge(f"response of {declared} bytes exceeds the {max_bytes} byte cap")
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > max_bytes:
            raise ResponseTooLarge(f"response exceeds the {max_bytes} byte cap")
        if time.monotonic() > deadline:
            raise requests.Timeout("response not complete before the deadline")
        chunks.append(chunk)
    return b"".join(chunks)


def _value(raw: object) -> float:
    """Prometheus sends sample values as strings: "0.3", "+Inf", "NaN"."""
    try:
        return float(str(raw))
    except ValueError as exc:
        raise QueryError(ReadFailure.NO_DATA, "a sample value is not a number") from exc


def _samples(body: Mapping[str, object]) -> list[Sample]:
    data = body.get("data")
    if not isinstance(data, dict):
        raise QueryError(ReadFailure.NO_DATA, "response has no data")
    kind, result = data.get("resultType"), data.get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return [Sample({}, _value(result[1]))]
    if kind == "vector" and isinstance(result, list):
        out = []
        for item in result:
            if not isinstance(item, dict) or not isinstance(item.get("value"), list):
                raise QueryError(ReadFailure.NO_DATA, "a vector sample has no value")
            labels = item.get("metric") or {}
            out.append(
                Sample(
                    {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
                    _value(item["value"][1]),
                )
            )
        return out
    raise QueryError(
        ReadFailure.BAD_QUERY,
        f"the query returns a {kind}; an objective needs an instant vector or a scalar",
    )


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _short(exc: Exception) -> str:
    """A transport error without the URL-and-pool noise requests wraps around it."""
    text = str(exc)
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS handshake failed (check the CA)"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed"
    return _bounded(text)
