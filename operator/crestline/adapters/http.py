"""An HTTP call to an application's warm-up endpoint: bounded in time and in what is read."""

from __future__ import annotations

import contextlib
import time

import requests

from crestline.adapters.prometheus import read_bounded

MAX_BODY = 64 << 10  # the body is only drained, never kept or shown


class WarmupError(Exception):
    """The call failed; the message names the status or the transport error, never the body."""


def warm_up(url: str, *, method: str = "GET", timeout: float = 30.0) -> int:
    """Call ``url``; returns the HTTP status (raises :class:`WarmupError` on >= 400)."""
    deadline = time.monotonic() + timeout
    try:
        with requests.request(
            method, url, timeout=(min(timeout, 5.0), timeout), stream=True, allow_redirects=False
        ) as resp:
            # A large or slow body does not undo a call the app accepted.
            with contextlib.suppress(requests.RequestException):
                read_bounded(resp, MAX_BODY, deadline)
            status = resp.status_code
    except requests.RequestException as exc:
        raise WarmupError(f"{method} failed: {type(exc).__name__}") from exc
    if status >= 400:
        raise WarmupError(f"{method} answered HTTP {status}")
    return status
