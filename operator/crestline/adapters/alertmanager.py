"""Alertmanager API v2 silences: create, find ours, read one, expire.

Ours carry ``createdBy: crestline`` and a marker in the comment naming the EventDay and
its activation, so a restarted operator finds the silence it made instead of adding a
duplicate, and never expires a silence it did not make. Every call has a timeout and
reads a bounded response, and redirects are not followed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from crestline.adapters.prometheus import Credentials, authorized_session, read_bounded

CREATED_BY = "crestline"
MAX_RESPONSE_BYTES = 8 << 20


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def as_api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }

    def as_filter(self) -> str:
        op = (
            ("=~" if self.is_regex else "=") if self.is_equal else ("!~" if self.is_regex else "!=")
        )
        return f"{self.name}{op}{json.dumps(self.value)}"


@dataclass(frozen=True)
class Silence:
    id: str
    state: str | None
    comment: str
    created_by: str
    matchers: tuple[Matcher, ...]
    ends_at: str | None = None  # as Alertmanager reports it (expiring sets it to then)


class AlertmanagerError(Exception):
    """Alertmanager could not be reached or refused; the message is safe to show."""


class Alertmanager:
    def __init__(
        self, url: str, *, timeout: float = 5.0, credentials: Credentials | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._session, self._verify = authorized_session(credentials or Credentials())

    def close(self) -> None:
        self._session.close()

    def _call(
        self, method: str, path: str, *, body: Any = None, params: Mapping[str, Any] | None = None
    ) -> tuple[int, Any]:
        deadline = time.monotonic() + self.timeout
        try:
            with self._session.request(
                method,
                f"{self.url}{path}",
                verify=self._verify,
                json=body,
                params=params,
                timeout=(min(self.timeout, 3.0), self.timeout),
                stream=True,
                allow_redirects=False,  # a redirect could send the call anywhere
            ) as resp:
                status = resp.status_code
                raw = b"" if resp.is_redirect else read_bounded(resp, MAX_RESPONSE_BYTES, deadline)
        except requests.RequestException as exc:
            raise AlertmanagerError(f"Alertmanager at {self.url}: {type(exc).__name__}") from exc
        if 300 <= status < 400:
            raise AlertmanagerError(
                f"Alertmanager at {self.url} answered HTTP {status}, a redirect: redirects are "
                "not followed"
            )
        if status >= 400 and status != 404:
            raise AlertmanagerError(f"Alertmanager at {self.url} answered HTTP {status}")
        try:
            return status, json.loads(raw) if raw else None
        except ValueError as exc:
            raise AlertmanagerError(f"Alertmanager at {self.url}: response is not JSON") from exc

    def find(self, marker: str, *, scope: Matcher | None = None) -> str | None:
        """The id of our unexpired silence whose comment carries ``marker``."""
        params = {"filter": scope.as_filter()} if scope is not None else None
        _, listing = self._call("GET", "/api/v2/silences", params=params)
        for s in listing or []:
            if (
                s.get("createdBy") == CREATED_BY
                and marker in s.get("comment", "")
                and s.get("status", {}).get("state") in ("active", "pending")
            ):
                return str(s["id"])
        return None

    def create(
        self,
        matchers: list[Matcher],
        *,
        starts: dt.datetime,
        ends: dt.datetime,
        comment: str,
    ) -> str:
        body = {
            "matchers": [m.as_api() for m in matchers],
            "startsAt": starts.isoformat(),
            "endsAt": ends.isoformat(),
            "createdBy": CREATED_BY,
            "comment": comment,
        }
        _, answer = self._call("POST", "/api/v2/silences", body=body)
        if not isinstance(answer, dict) or "silenceID" not in answer:
            raise AlertmanagerError(f"Alertmanager at {self.url} did not return a silence id")
        return str(answer["silenceID"])

    def get(self, silence_id: str) -> Silence | None:
        status, s = self._call("GET", f"/api/v2/silence/{silence_id}")
        if status == 404 or not isinstance(s, dict):
            return None
        return Silence(
            id=str(s.get("id", silence_id)),
            state=s.get("status", {}).get("state"),
            comment=str(s.get("comment", "")),
            created_by=str(s.get("createdBy", "")),
            matchers=tuple(
                Matcher(
                    str(m.get("name")),
                    str(m.get("value")),
                    bool(m.get("isRegex", False)),
                    bool(m.get("isEqual", True)),
                )
                for m in s.get("matchers", [])
            ),
            ends_at=str(s["endsAt"]) if s.get("endsAt") else None,
        )

    def expire(self, silence_id: str) -> None:
        self._call("DELETE", f"/api/v2/silence/{silence_id}")
