"""Run the stack's kubectl the way a user would, for tests."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import yaml

from crestline_dev.stack import Stack


def kubectl(
    stack: Stack, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [stack.kubectl, "--kubeconfig", str(stack.kubeconfig), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result


def apply(
    stack: Stack, obj: dict[str, Any] | str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    text = obj if isinstance(obj, str) else yaml.safe_dump(obj)
    return kubectl(stack, "apply", "-f", "-", stdin=text, check=check)


def wait_established(stack: Stack, crd_name: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            kubectl(
                stack,
                "wait",
                "--for=condition=Established",
                f"crd/{crd_name}",
                "--timeout=10s",
                check=False,
            ).returncode
            == 0
        ):
            return
        time.sleep(0.5)
    raise TimeoutError(f"CRD {crd_name} not established")
