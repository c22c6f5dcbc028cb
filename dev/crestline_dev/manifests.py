"""Render ``manifests/crestline.yaml`` from the Helm chart (``make manifests``).

GitOps users apply plain YAML; it is the chart rendered with its defaults (CRDs
included), so the two can never disagree: a test re-renders and compares.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crestline_dev.stack.binaries import repo_root

KUBE_VERSION = "1.35.4"  # helm template's default (1.20) is below the chart's kubeVersion
HEADER = (
    "# Generated from helm/crestline by `make manifests` (helm template, default values,\n"
    "# namespace crestline-system). Do not edit; change the chart and re-render.\n"
)


def helm_binary(root: Path) -> str:
    out = subprocess.run(
        ["bash", str(root / "controlplane" / "helm.sh")], check=True, capture_output=True, text=True
    ).stdout
    return out.strip().splitlines()[-1]


def render(root: Path) -> str:
    out = subprocess.run(
        [
            helm_binary(root),
            "template",
            "crestline",
            str(root / "helm" / "crestline"),
            "--namespace",
            "crestline-system",
            "--include-crds",
            "--kube-version",
            KUBE_VERSION,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    namespace = "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: crestline-system\n"
    return HEADER + namespace + out


def main() -> int:
    root = repo_root()
    if root is None:
        print("crestline_dev.manifests: run from a checkout", file=sys.stderr)
        return 1
    target = root / "manifests" / "crestline.yaml"
    target.write_text(render(root))
    print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
