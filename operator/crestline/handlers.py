"""kopf wiring, and nothing else: watch events in, the runtime out.

kopf lists and watches the resources; the handlers here hand each event to the runtime
(:mod:`crestline.runtime.operator`), which owns the caches, the scheduler and the shard
Leases. Team Secrets are the exception: kopf would watch them in every namespace it
serves, RBAC grants them only where a tenant allows them, so the operator follows them
itself (:mod:`crestline.adapters.secrets`), started here with the runtime.

No handler here changes an object, so kopf adds no finalizers or annotations of its own
to anything: the EventDay finalizer is the runtime's, added only before an EventDay's
first change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kopf
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from crestline.adapters import objects
from crestline.adapters.kube import Kube, RateLimiter
from crestline.adapters.leases import KubeLeases
from crestline.adapters.secrets import SecretWatch
from crestline.api.base import GROUP, VERSION
from crestline.api.config import OperatorConfig
from crestline.policy.tenancy import SecretScope
from crestline.runtime import metrics
from crestline.runtime.cache import ClusterCache
from crestline.runtime.endpoints import ClientCache
from crestline.runtime.eventdays import EventDayRunner, EventDayView
from crestline.runtime.operator import Runtime, Sizing
from crestline.runtime.services import build_services
from crestline.runtime.shards import ShardLeases
from crestline.runtime.slos import SloRunner
from crestline.runtime.sources import Readings
from crestline.runtime.writes import StatusQueue

log = logging.getLogger("crestline")


@dataclass
class Options:
    """Process-wide settings from the command line (see crestline.cli)."""

    config: OperatorConfig = field(default_factory=OperatorConfig)
    namespace: str = "default"  # where the shard Leases live (the operator's own)
    identity: str = field(default_factory=socket.gethostname)
    sizing: Sizing = field(default_factory=Sizing)
    metrics_port: int | None = None
    kube_qps: float = 50.0
    kube_burst: int = 100
    # Where team Secrets (labelled for the operator) are followed: exactly where RBAC
    # grants them (crestline.policy.tenancy.secret_scope); nowhere by default.
    secrets: SecretScope = field(default_factory=SecretScope)


def api_client(identity: str) -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig. The user agent
    names the replica, so the API server's audit log tells replicas apart."""
    try:
        config.load_incluster_config()  # type: ignore[no-untyped-call]
    except ConfigException:
        config.load_kube_config()  # type: ignore[no-untyped-call]
    api = client.ApiClient()
    api.user_agent = f"crestline/{identity}"
    return api


def build_runtime(options: Options, api: client.ApiClient) -> Runtime:
    limiter = RateLimiter(options.kube_qps, options.kube_burst)
    kube = Kube(api, limiter)
    cache = ClusterCache()
    view = EventDayView(cache, clock=time.time)
    clients = ClientCache()
    readings = Readings(options.config, clients, cache.secret, observe=metrics.observe_query)
    leases = ShardLeases(
        KubeLeases(api, options.namespace, limiter),
        options.identity,
        options.sizing.shards,
        lease_seconds=options.sizing.lease_seconds,
    )
    queue = StatusQueue(kube, fence=lambda key: runtime.fence(key))  # noqa: PLW0108
    runtime = Runtime(
        slos=SloRunner(
            view=view,
            readings=readings,
            queue=queue,
            config=options.config,
            fence=lambda key: runtime.fence(key),  # noqa: PLW0108 - runtime is assigned below
            identity=options.identity,
        ),
        eventdays=EventDayRunner(
            cache=cache,
            view=view,
            writer=kube,
            services=build_services(api, limiter, options.config, clients),
            config=options.config,
            fence=lambda key: runtime.fence(key),  # noqa: PLW0108 - runtime is assigned below
        ),
        leases=leases,
        sizing=options.sizing,
        queue=queue,
    )
    return runtime


def registry(options: Options) -> kopf.OperatorRegistry:
    """The handlers, registered explicitly (what is watched depends on the options)."""
    reg = kopf.OperatorRegistry()
    state: dict[str, Any] = {}

    @kopf.on.login(registry=reg)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        """kopf's own login from the kubernetes client's configuration (in-cluster or a
        kubeconfig), the one the rest of the operator uses."""
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=reg)
    async def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # we post our own Events, on transitions only
        # One line per watch event would flood the log of a cluster with thousands of
        # objects; kopf's warnings and errors still show.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.watching.connect_timeout = 10
        settings.networking.request_timeout = 30
        runtime = build_runtime(options, api_client(options.identity))
        state["runtime"] = runtime
        state["task"] = asyncio.create_task(runtime.serve(), name="crestline-runtime")
        if not options.secrets.nowhere:
            state["secrets"] = follow_secrets(options, runtime)
        if options.metrics_port:
            metrics.serve(options.metrics_port)
            log.info("metrics on :%d/metrics", options.metrics_port)

    @kopf.on.cleanup(registry=reg)
    async def cleanup(**_: Any) -> None:
        secrets = state.get("secrets")
        if secrets is not None:
            secrets.stop()
        task = state.get("task")
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def runtime() -> Runtime:
        found: Runtime = state["runtime"]
        return found

    @kopf.on.event(GROUP, VERSION, "performanceslos", registry=reg)
    async def slo(type: str, body: kopf.Body, **_: Any) -> None:
        runtime().slo_event(body, kind=type)

    @kopf.on.event(GROUP, VERSION, "eventdays", registry=reg)
    async def eventday(type: str, body: kopf.Body, **_: Any) -> None:
        runtime().eventday_event(body, kind=type)

    for kind, plural in (("Deployment", "deployments"), ("StatefulSet", "statefulsets")):

        @kopf.on.event("apps", "v1", plural, registry=reg)
        async def workload(type: str, body: kopf.Body, kind: str = kind, **_: Any) -> None:
            meta = body.get("metadata", {})
            deleted = type == "DELETED"
            runtime().workload_event(
                meta.get("namespace", ""),
                kind,
                meta.get("name", ""),
                None if deleted else objects.workload(kind, body),
            )

    @kopf.on.event("autoscaling", "v2", "horizontalpodautoscalers", registry=reg)
    async def hpa(type: str, body: kopf.Body, **_: Any) -> None:
        ns = body.get("metadata", {}).get("namespace", "")
        runtime().scaler_event(ns, objects.hpa(body), deleted=type == "DELETED")

    @kopf.on.event("keda.sh", "v1alpha1", "scaledobjects", registry=reg)
    async def scaled_object(type: str, body: kopf.Body, **_: Any) -> None:
        ns = body.get("metadata", {}).get("namespace", "")
        runtime().scaler_event(ns, objects.scaled_object(body), deleted=type == "DELETED")

    return reg


def follow_secrets(options: Options, runtime: Runtime) -> SecretWatch:
    """Team Secrets are followed by the operator itself, not by kopf: kopf watches every
    resource in every namespace it serves, while RBAC grants Secrets only where a tenant
    allows them (crestline.adapters.secrets)."""
    scope = options.secrets
    core: Any = client.CoreV1Api(api_client(options.identity))  # its own connections
    watch = SecretWatch(
        core,
        namespaces=None if scope.cluster_wide else scope.namespaces,
        on_change=runtime.secret_event,
    )
    watch.start()
    return watch


def operator_namespace() -> str:
    """The namespace the operator runs in (its Leases live there)."""
    env = os.environ.get("POD_NAMESPACE")
    if env:
        return env
    path = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
    return path.read_text().strip() if path.exists() else "default"
