"""The ``crestline`` command line: ``run`` (the operator) and ``crds`` (the CRD YAML).

Development commands (``stack up``, ``demo``) come from the ``crestline_dev`` package
when it is installed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import re
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import kopf
from kubernetes import config as kube_config
from kubernetes.config.config_exception import ConfigException
from pydantic import ValidationError

from crestline import handlers
from crestline.api import crdgen
from crestline.api.config import (
    Endpoints,
    HttpEndpoint,
    OperatorConfig,
    PrometheusEndpoint,
    RedisEndpoint,
)
from crestline.policy import tenancy
from crestline.runtime.operator import Sizing

CRD_DIRS = ("crds", "helm/crestline/crds")  # the Helm chart ships the same files


def _crds(args: argparse.Namespace) -> int:
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


class UsageError(Exception):
    """A bad option or setting: one line to the user, exit status 2."""


def _url(flag: str, env: str, value: str | None) -> str | None:
    url = value or os.environ.get(env)
    if url and "@" in url.split("//", 1)[-1].split("/", 1)[0]:
        raise UsageError(
            f"{flag} carries credentials; put them in a Secret and name its file in --config "
            "(credentials are never read from arguments or the environment)"
        )
    return url


def load_config(args: argparse.Namespace) -> OperatorConfig:
    """The operator configuration: ``--config`` plus the plain default-endpoint flags."""
    try:
        cfg = OperatorConfig.load(Path(args.config)) if args.config else OperatorConfig()
    except (OSError, ValidationError, ValueError) as exc:
        raise UsageError(f"--config {args.config}: {str(exc).splitlines()[0]}") from exc
    prom = _url("--prometheus-url", "CRESTLINE_PROMETHEUS_URL", args.prometheus_url)
    am = _url("--alertmanager-url", "CRESTLINE_ALERTMANAGER_URL", args.alertmanager_url)
    rd = _url("--redis-url", "CRESTLINE_REDIS_URL", args.redis_url)
    eps = cfg.endpoints
    defaults: dict[str, Any] = {}
    if prom and not any(e.name == "default" for e in eps.prometheus):
        defaults["prometheus"] = [*eps.prometheus, PrometheusEndpoint(url=prom)]
    if am and not any(e.name == "default" for e in eps.alertmanager):
        defaults["alertmanager"] = [*eps.alertmanager, HttpEndpoint(url=am)]
    if rd and not any(e.name == "default" for e in eps.redis):
        defaults["redis"] = [*eps.redis, RedisEndpoint(url=rd)]
    if defaults:
        cfg = cfg.model_copy(update={"endpoints": Endpoints(**{**dict(eps), **defaults})})
    return cfg


def _credentials() -> None:
    """Fail fast, in one line, when there is no way to reach a cluster."""
    try:
        kube_config.load_incluster_config()  # type: ignore[no-untyped-call]
        return
    except ConfigException:
        pass
    try:
        kube_config.load_kube_config()  # type: ignore[no-untyped-call]
    except (ConfigException, OSError, TypeError) as exc:
        raise UsageError(
            "no cluster credentials: not running in a pod (no service account token) and "
            f"no usable kubeconfig ({str(exc).splitlines()[0] or type(exc).__name__})"
        ) from exc


NAMESPACE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def secret_scope(cfg: OperatorConfig, args: argparse.Namespace) -> tenancy.SecretScope:
    """Where team Secrets are followed: where RBAC grants them (the chart's rule). A
    ``--namespace`` pattern cannot say which namespaces those are, and RBAC grants
    Secrets per namespace, so patterns are refused when some tenant may use Secrets."""
    watched = None if args.all_namespaces else list(args.namespace)
    scope = tenancy.secret_scope(cfg, watched)
    patterns = [ns for ns in watched or [] if not NAMESPACE_NAME.match(ns)]
    if patterns and any(t.allow_secrets for t in cfg.tenants):
        raise UsageError(
            f"--namespace {patterns[0]} is a pattern: with tenants that allow Secrets, name "
            "the namespaces (Secrets are followed, and granted by RBAC, per namespace)"
        )
    return scope


def _run(args: argparse.Namespace) -> int:
    if not args.namespace and not args.all_namespaces:
        raise UsageError("pass --namespace NS (repeatable) or --all-namespaces")
    if args.namespace and args.all_namespaces:
        raise UsageError("pass --namespace NS (repeatable) or --all-namespaces, not both")
    cfg = load_config(args)
    options = handlers.Options(
        config=cfg,
        namespace=args.lease_namespace or handlers.operator_namespace(),
        identity=args.identity or socket.gethostname(),
        sizing=Sizing(workers=args.workers, shards=args.shards, lease_seconds=args.lease_seconds),
        metrics_port=args.metrics_port,
        kube_qps=args.kube_qps,
        kube_burst=args.kube_burst,
        secrets=secret_scope(cfg, args),
    )
    _credentials()
    kopf.configure(
        verbose=args.verbose,
        log_format=kopf.LogFormat.JSON if args.log_format == "json" else kopf.LogFormat.FULL,
    )
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    kopf.run(
        registry=handlers.registry(options),
        standalone=True,  # several replicas coordinate through shard Leases, not kopf peering
        namespaces=args.namespace or (),
        clusterwide=args.all_namespaces,
        liveness_endpoint=args.liveness,
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crestline", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the operator (kopf) against the current cluster")
    run.add_argument("-n", "--namespace", action="append", help="watch this namespace")
    run.add_argument("-A", "--all-namespaces", action="store_true", help="watch all namespaces")
    run.add_argument("--config", help="operator configuration (endpoints, tenants, limits)")
    run.add_argument("--prometheus-url", help="default Prometheus without credentials")
    run.add_argument("--alertmanager-url", help="default Alertmanager without credentials")
    run.add_argument("--redis-url", help="default Redis without credentials")
    run.add_argument("--metrics-port", type=int, help="serve the operator's metrics on this port")
    run.add_argument("--liveness", help="kopf liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    run.add_argument("--workers", type=int, default=8, help="concurrent evaluations (default 8)")
    run.add_argument(
        "--shards", type=int, default=4, help="work shards shared by all replicas (default 4)"
    )
    run.add_argument("--lease-seconds", type=int, default=10, help="shard lease duration")
    run.add_argument("--lease-namespace", help="where shard Leases live (default: own namespace)")
    run.add_argument("--identity", help="this replica's name in the Leases (default: hostname)")
    run.add_argument("--kube-qps", type=float, default=50.0, help="API requests per second")
    run.add_argument("--kube-burst", type=int, default=100, help="API request burst")
    run.add_argument("--log-format", choices=["text", "json"], default="text")
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
    except UsageError as exc:
        print(f"crestline: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"crestline: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
