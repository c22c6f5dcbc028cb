"""The ``crestline`` command line.

``crestline stack up`` brings up the local stack (a real control plane, Prometheus,
Alertmanager, Redis), prints where everything listens, and tears it all down on
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from crestline.stack.stack import USE_EXISTING_ENV, Stack, StackConfig


def _stack_up(args: argparse.Namespace) -> int:
    config = StackConfig(
        kubernetes=not args.no_kubernetes,
        prometheus=not args.no_prometheus,
        alertmanager=not args.no_alertmanager,
        redis=not args.no_redis,
        use_existing_cluster=args.use_existing_cluster or StackConfig().use_existing_cluster,
    )
    print("crestline: starting the local stack ...", file=sys.stderr, flush=True)
    with Stack(config) as stack:
        width = max((len(k) for k in stack.endpoints()), default=0)
        for name, where in stack.endpoints().items():
            print(f"{name:<{width}}  {where}")
        for var, value in stack.env().items():
            print(f"export {var}={value}")
        print(
            "crestline: stack is up; Ctrl-C stops it and removes its files",
            file=sys.stderr,
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        print("crestline: stopping the stack ...", file=sys.stderr, flush=True)
    return 0


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


def _demo(args: argparse.Namespace) -> int:
    from crestline import demo

    return demo.main(args.seconds, Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crestline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="the local stack of real components")
    stack_sub = stack.add_subparsers(dest="stack_command", required=True)
    up = stack_sub.add_parser("up", help="start the stack and keep it up until Ctrl-C")
    up.add_argument(
        "--use-existing-cluster",
        action="store_true",
        help=f"use the cluster KUBECONFIG points at (also: {USE_EXISTING_ENV}=1)",
    )
    up.add_argument("--no-kubernetes", action="store_true", help="no control plane at all")
    up.add_argument("--no-prometheus", action="store_true", help="do not start Prometheus")
    up.add_argument("--no-alertmanager", action="store_true", help="do not start Alertmanager")
    up.add_argument("--no-redis", action="store_true", help="do not start Redis")
    up.set_defaults(func=_stack_up)

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

    demo = sub.add_parser("demo", help="the local stack running the operator on a sample shop")
    demo.add_argument("--seconds", type=float, default=180.0, help="traffic to replay")
    demo.add_argument("--out", default="demo-output", help="where the plot and summary go")
    demo.set_defaults(func=_demo)

    crds = sub.add_parser("crds", help="the CRD YAML generated from the API models")
    crds.add_argument("crds_command", choices=["generate", "check"])
    crds.add_argument(
        "--dir",
        action="append",
        help="where the CRD files live (default: crds and helm/crestline/crds)",
    )
    crds.set_defaults(func=_crds)
    return parser


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
