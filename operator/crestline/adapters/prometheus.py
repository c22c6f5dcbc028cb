"""Prometheus: run one instant query, return one number, and say precisely why not.

Errors are classified because they lead to different conditions: a query Prometheus
rejects (``bad_data``, e.g. a PromQL syntax error) is the user's to fix and will not
heal by waiting, while an unreachable or slow server is transient and the operator
holds replicas until it answers again.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.util.retry import Retry


class QueryFailure(StrEnum):
    UNAVAILABLE = "PrometheusUnavailable"
    BAD_QUERY = "QueryError"
    NO_DATA = "NoData"


class QueryError(Exception):
    def __init__(self, failure: QueryFailure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True)
class PrometheusAuth:
    """Resolved credentials (the Secret values, not references)."""

    bearer_token: str | None = None
    username: str | None = None
    password: str | None = None
    ca_pem: str | None = None
    insecure_skip_verify: bool = False


QueryObserver = Callable[[float, QueryFailure | None], None]


class PrometheusSource:
    """Instant queries against one Prometheus server."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10.0,
        auth: PrometheusAuth | None = None,
        observe: QueryObserver | None = None,
    ) -> None:
        auth = auth or PrometheusAuth()
        headers = {}
        if auth.bearer_token:
            headers["Authorization"] = f"Bearer {auth.bearer_token}"
        basic = (auth.username, auth.password) if auth.username and auth.password else None
        session = requests.Session()
        session.verify = not auth.insecure_skip_verify
        if auth.ca_pem and not auth.insecure_skip_verify:
            # requests wants a path; the file lives as long as this source.
            self._ca_file = tempfile.NamedTemporaryFile("w", suffix=".pem")  # noqa: SIM115
            self._ca_file.write(auth.ca_pem)
            self._ca_file.flush()
            session.verify = self._ca_file.name
        self._client = PrometheusConnect(
            url=url.rstrip("/"),
            headers=headers or None,
            retry=Retry(total=0),
            auth=basic,
            session=session,
            timeout=math.ceil(timeout),
        )
        self.url = url
        self._observe = observe

    def query(self, promql: str) -> float:
        """The first sample's value; raises :class:`QueryError` when there is none."""
        start = time.monotonic()
        failure: QueryFailure | None = None
        try:
            result = self._client.custom_query(promql)
        except PrometheusApiClientException as exc:
            failure = _classify(str(exc))
            raise QueryError(failure, _message(str(exc), self.url)) from exc
        except (requests.RequestException, OSError) as exc:
            failure = QueryFailure.UNAVAILABLE
            raise QueryError(failure, f"Prometheus at {self.url} unreachable: {exc}") from exc
        finally:
            if self._observe is not None:
                self._observe(time.monotonic() - start, failure)
        return _first_value(result)


def _classify(text: str) -> QueryFailure:
    if "HTTP Status Code 400" in text or "HTTP Status Code 422" in text:
        return QueryFailure.BAD_QUERY
    return QueryFailure.UNAVAILABLE


def _message(text: str, url: str) -> str:
    """Prometheus' own error text, e.g. 'parse error: unexpected ...'; or, when it refused
    us, which setting to look at (its body is just 'Unauthorized')."""
    for code in ("401", "403"):
        if f"HTTP Status Code {code}" in text:
            return (
                f"Prometheus at {url} refused the request (HTTP {code}): "
                "check spec.prometheus.auth and the Secret it names"
            )
    start = text.find("{")
    end = text.rfind("}")
    if start >= 0 and end > start:
        try:
            body = json.loads(text[start : end + 1].encode().decode("unicode_escape"))
            return str(body.get("error", text))
        except (ValueError, UnicodeDecodeError):
            pass
    return text


def _first_value(result: object) -> float:
    if isinstance(result, list) and result:
        first = result[0]
        if isinstance(first, dict) and "value" in first:
            return float(first["value"][1])
    if isinstance(result, list) and not result:
        raise QueryError(QueryFailure.NO_DATA, "query returned no samples")
    if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
        return float(result[1])  # a scalar result
    raise QueryError(QueryFailure.NO_DATA, f"unexpected result shape: {result!r:.200}")
