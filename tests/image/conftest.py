"""The operator image, built once per session with ``make image``'s script."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

import pytest

from crestline_dev.stack.binaries import repo_root


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "image: builds and runs the operator image (root, Docker)")


@dataclass(frozen=True)
class BuiltImage:
    name: str
    docker_host: str
    build_seconds: float

    def docker(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "DOCKER_HOST": self.docker_host},
            check=False,
        )


@pytest.fixture(scope="session")
def operator_image() -> BuiltImage:
    root = repo_root()
    assert root is not None
    start = time.monotonic()
    name = subprocess.run(
        ["bash", str(root / "scripts" / "build-image.sh")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=1800,
    ).stdout.split()[-1]
    took = time.monotonic() - start
    host = subprocess.run(
        ["bash", str(root / "scripts" / "docker-up.sh")],
        check=True,
        stdout=subprocess.PIPE,
        text=True,
        timeout=120,
    ).stdout.split()[-1]
    return BuiltImage(name, host, took)
