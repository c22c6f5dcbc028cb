"""Alertmanager API v2 silences: create, find ours, expire.

Ours are recognised by ``createdBy`` and a marker in the comment naming the EventDay
activation, so a restarted operator finds the silence it made instead of adding a
duplicate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import requests

CREATED_BY = "crestline"


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


class Alertmanager:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def find(self, marker: str) -> str | None:
        """The id of our unexpired silence whose comment carries ``marker``."""
        resp = requests.get(f"{self.url}/api/v2/silences", timeout=self.timeout)
        resp.raise_for_status()
        for s in resp.json():
            if (
                s.get("createdBy") == CREATED_BY
                and marker in s.get("comment", "")
                and s.get("status", {}).get("state") in ("active", "pending")
            ):
                return str(s["id"])
        return None

    def create(
        self, matchers: list[Matcher], starts: dt.datetime, ends: dt.datetime, comment: str
    ) -> str:
        body = {
            "matchers": [m.as_api() for m in matchers],
            "startsAt": starts.isoformat(),
            "endsAt": ends.isoformat(),
            "createdBy": CREATED_BY,
            "comment": comment,
        }
        resp = requests.post(f"{self.url}/api/v2/silences", json=body, timeout=self.timeout)
        resp.raise_for_status()
        return str(resp.json()["silenceID"])

    def expire(self, silence_id: str) -> None:
        resp = requests.delete(f"{self.url}/api/v2/silence/{silence_id}", timeout=self.timeout)
        if resp.status_code not in (200, 404):
            resp.raise_for_status()

    def state(self, silence_id: str) -> str | None:
        resp = requests.get(f"{self.url}/api/v2/silence/{silence_id}", timeout=self.timeout)
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        state: str | None = resp.json().get("status", {}).get("state")
        return state
