"""``crestline stack up`` and ``crestline demo``, registered through an entry point.

``crestline stack up`` brings up the local stack (a real control plane, Prometheus,
Alertmanager, Redis), prints where everything listens, and tears it all down on
Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from crestline_dev import demo
from crestline_dev.stack.stack import USE_EXISTING_ENV, Stack, StackConfig


def _stack_up(args: argparse.Namespace) -> int:
    config = StackConfig(
        kubernetes=not args.no_kubernetes,
        prometheus=not args.no_prometheus,
        alertmanager=not args.no_alertmanager,
        redis=not args.no_redis,
        use_existing_cluster=args.use_existing_cluster or StackConfig().use_existing_cluster,
    )
    # A shell starts background jobs with SIGINT ignored, and Python keeps an inherited
    # SIG_IGN: restore the default so Ctrl-C (or kill -INT) always tears the stack down.
    signal.signal(signal.SIGINT, signal.default_int_handler)
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


def _demo(args: argparse.Namespace) -> int:
    return demo.main(args.seconds, Path(args.out))


def register_stack(sub: Any) -> None:
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


def register_demo(sub: Any) -> None:
    demo = sub.add_parser("demo", help="the local stack running the operator on a sample shop")
    demo.add_argument("--seconds", type=float, default=180.0, help="traffic to replay")
    demo.add_argument("--out", default="demo-output", help="where the plot and summary go")
    demo.set_defaults(func=_demo)
