"""The operator image: what a cluster runs must be the product alone, non-root, read-only.

Built by ``scripts/build-image.sh`` (``make image``) on the Debian-made base, then run
with Docker the way the Helm chart runs it: uid 65532 and a read-only root filesystem.
Its size is printed (numbers go to benchmarks/RESULTS.md), never asserted.
"""

from __future__ import annotations

import pytest

from tests.image.conftest import BuiltImage

# Generous: the first test pays for a cold `make image` (Docker install, debootstrap, pip).
pytestmark = [pytest.mark.image, pytest.mark.timeout(1800)]

RUN = ("run", "--rm", "--read-only", "--network=none")


def _python(image: BuiltImage, code: str) -> tuple[int, str]:
    done = image.docker(*RUN, "--entrypoint", "python3", image.name, "-c", code)
    return done.returncode, done.stdout + done.stderr


def test_entry_point_answers_on_a_read_only_root(operator_image: BuiltImage) -> None:
    done = operator_image.docker(*RUN, operator_image.name, "--help")
    assert done.returncode == 0, done.stderr
    assert "run" in done.stdout


def test_runs_as_non_root_user_65532(operator_image: BuiltImage) -> None:
    code, out = _python(operator_image, "import os; print(os.getuid(), os.getgid())")
    assert code == 0, out
    assert out.split() == ["65532", "65532"]
    inspect = operator_image.docker(
        "image", "inspect", "-f", "{{.Config.User}}", operator_image.name
    )
    assert inspect.stdout.strip() == "65532:65532"


def test_operator_runs_on_a_read_only_root_filesystem(operator_image: BuiltImage) -> None:
    """Even root gets EROFS (30) under --read-only, and the operator still imports."""
    code = (
        "import crestline.cli\n"
        "try:\n    open('/opt/crestline/probe', 'w')\n"
        "except OSError as e:\n    print('errno', e.errno)"
    )
    done = operator_image.docker(
        *RUN, "--user", "0", "--entrypoint", "python3", operator_image.name, "-c", code
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["errno", "30"]


@pytest.mark.parametrize("module", ["crestline_dev", "stack", "sim", "demo", "pytest", "mypy"])
def test_no_development_tooling_inside(operator_image: BuiltImage, module: str) -> None:
    code, out = _python(operator_image, f"import {module}")
    assert code != 0
    assert "ModuleNotFoundError" in out


def test_report_size(operator_image: BuiltImage) -> None:
    done = operator_image.docker("image", "inspect", "-f", "{{.Size}}", operator_image.name)
    size = int(done.stdout.strip())
    print(
        f"\nimage {operator_image.name}: {size / 1e6:.0f} MB; "
        f"build (make image) took {operator_image.build_seconds:.1f}s this session"
    )
    assert size > 0
