"""The ``crestline`` command line: ``run`` (the operator) and ``crds`` (the CRD YAML).

Development commands (``stack up``, ``demo``) come from the ``crestline_dev`` package
when it is installed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CRD_DIRS = ("crds", "helm/crestline/crds")  # the Helm chart ships the same files


def _crds(args: argparse.Namespace) -> int:
    from crestline.api import crdgen

    directories = [Path(d) for d in (args.dir or CRD_DIRS)]
    if args.crds_command == "generate":
        for directory in directories:
            for path in crdgen.write_all(directory):
                print(path)
        return 0
    drift = [directory / name for directory in directories for name in crdgen.drifted(directory)]
    for path in drift:
        print(f"crestline: {path} differs from the models; run `make crds`")
    return 1 if drift else 0


def _run(args: argparse.Namespace) -> int:
    import logging

    import kopf

    from crestline import handlers

    if not args.namespace and not args.all_namespaces:
        print("crestline: pass --namespace NS (repeatable) or --all-namespaces", file=sys.stderr)
        return 2
    handlers.OPTIONS.prometheus_url = args.prometheus_url or os.environ.get(
        "CRESTLINE_PROMETHEUS_URL"
    )
    handlers.OPTIONS.alertmanager_url = args.alertmanager_url or os.environ.get(
        "CRESTLINE_ALERTMANAGER_URL"
    )
    handlers.OPTIONS.redis_url = args.redis_url or os.environ.get("CRESTLINE_REDIS_URL")
    handlers.OPTIONS.metrics_port = args.metrics_port
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    kopf.configure(verbose=args.verbose)
    kopf.run(
        standalone=args.peering is None,
        peering_name=args.peering,
        namespaces=args.namespace or (),
        clusterwide=args.all_namespaces,
        liveness_endpoint=args.liveness,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crestline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator (kopf) against the current kubeconfig")
    run.add_argument("-n", "--namespace", action="append", help="watch this namespace")
    run.add_argument("-A", "--all-namespaces", action="store_true", help="watch all namespaces")
    run.add_argument("--prometheus-url", help="default Prometheus (else CRESTLINE_PROMETHEUS_URL)")
    run.add_argument(
        "--alertmanager-url", help="default Alertmanager (else CRESTLINE_ALERTMANAGER_URL)"
    )
    run.add_argument(
        "--redis-url", help="default Redis for cache actions (else CRESTLINE_REDIS_URL)"
    )
    run.add_argument("--metrics-port", type=int, help="serve the operator's metrics on this port")
    run.add_argument("--liveness", help="kopf liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--peering", help="kopf peering name for HA (default: standalone)")
    run.add_argument("-v", "--verbose", action="store_true")
    run.set_defaults(func=_run)

    crds = sub.add_parser("crds", help="the CRD YAML generated from the API models")
    crds.add_argument("crds_command", choices=["generate", "check"])
    crds.add_argument(
        "--dir",
        action="append",
        help="where the CRD files live (default: crds and helm/crestline/crds)",
    )
    crds.set_defaults(func=_crds)
    _plugins(sub)
    return parser


def _plugins(sub: Any) -> None:
    """Commands that other installed packages add (entry point group ``crestline.commands``).

    The development package (``crestline_dev``: ``stack``, ``demo``) registers here, so
    the product's command line works without it and never imports it.
    """
    for entry in importlib.metadata.entry_points(group="crestline.commands"):
        entry.load()(sub)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"crestline: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
