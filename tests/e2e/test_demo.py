"""The README's main command works: a short `crestline demo` on its own stack."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stack


def test_demo_runs_and_writes_plot_and_summary(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "crestline", "demo", "--seconds", "45", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"\[[#.]+\]\s+\d+%", result.stdout)  # the live progress lines
    summary = json.loads((tmp_path / "crestline-demo-summary.json").read_text())
    assert summary["peak_replicas"] > 2  # the event floor pre-scaled the shop
    png = tmp_path / "crestline-demo.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
