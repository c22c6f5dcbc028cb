"""Which outside endpoint an object may use, and under which confinement (pure).

The threat model: a team member can edit PerformanceSLOs and EventDays in their own
namespace and nothing else. The operator acts with much wider permissions and
connections, so every reach into a shared system is decided here, from the
administrator's :class:`~crestline.api.config.OperatorConfig` and the object's namespace:

* a spec names an endpoint the administrator declared (or gets ``default``), and only
  endpoints that serve its namespace;
* a free URL is honoured only under a prefix the administrator allow-listed for the
  namespace (nothing is allow-listed by default), compared after normalising scheme,
  host and port so ``http://allowed.example@evil/`` cannot pass as an allowed prefix,
  and never with a path that could resolve elsewhere (``/team-a/../team-b/``);
* Secrets of the namespace are used only where the administrator allows it, and are
  followed only there (:func:`secret_scope`), where RBAC grants them;
* a warm-up Job runs only as an allowed ServiceAccount and never with host access.

Every refusal is a :class:`Refusal` with a reason a user can act on; it names no other
namespace's objects and no credential.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from crestline.api.config import (
    DEFAULT,
    HttpEndpoint,
    OperatorConfig,
    PrometheusEndpoint,
    RedisEndpoint,
    serves,
)


@dataclass(frozen=True)
class Refusal:
    """Not allowed, and why (safe to show on the object)."""

    reason: str


@dataclass(frozen=True)
class FreeUrl:
    """A URL the spec named itself, allowed by the namespace's allow-list."""

    url: str


def redact(url: str) -> str:
    """``url`` without any user:password part, for messages and status."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"***@{host}").geturl()


def _escapes(path: str) -> bool:
    """Whether ``path`` could resolve outside the prefix it seems to lie under: a ``.`` or
    ``..`` segment (HTTP clients resolve them before sending: ``/team-a/../team-b/`` is
    requested as ``/team-b/``), a backslash, in any percent-decoding a gateway may apply,
    and with ``;parameters`` stripped as some servers do."""
    seen = path
    for _ in range(4):
        if "\\" in seen or any(s.split(";", 1)[0] in (".", "..") for s in seen.split("/")):
            return True
        decoded = unquote(seen)
        if decoded == seen:
            return False
        seen = decoded
    return True  # still decoding after several rounds: no real URL needs that


def _origin(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None  # credentials in a URL are never accepted from a spec
    if _escapes(parts.path):
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port, parts.path or "/"


ANY_PORT = ":*"


def url_allowed(url: str, prefixes: list[str]) -> bool:
    """Whether ``url`` lies under one of the allow-listed ``prefixes``: same scheme, host
    and port (``host:*`` allows any port of that host), and a path under the prefix's."""
    got = _origin(url)
    if got is None:
        return False
    for prefix in prefixes:
        any_port = ANY_PORT in prefix
        want = _origin(prefix.replace(ANY_PORT, "", 1))
        if want is None:
            continue
        same_port = any_port or got[2] == want[2]
        if (
            got[:2] == want[:2]
            and same_port
            and (got[3] == want[3] or got[3].startswith(want[3].rstrip("/") + "/"))
        ):
            return True
    return False


E = TypeVar("E", PrometheusEndpoint, HttpEndpoint, RedisEndpoint)


def _named(endpoints: list[E], name: str | None, namespace: str, what: str) -> E | Refusal:
    wanted = name or DEFAULT
    found = next((e for e in endpoints if e.name == wanted), None)
    if found is None:
        if name is None:
            return Refusal(f"no {what} endpoint is configured for this operator (ask the admin)")
        return Refusal(f"{what} endpoint {name!r} is not configured for this operator")
    if not serves(found.namespaces, namespace):
        return Refusal(f"{what} endpoint {wanted!r} does not serve namespace {namespace}")
    return found


def prometheus(
    config: OperatorConfig, namespace: str, *, endpoint: str | None, url: str | None
) -> PrometheusEndpoint | FreeUrl | Refusal:
    if url is not None:
        return _free(config, namespace, url, "Prometheus")
    return _named(config.endpoints.prometheus, endpoint, namespace, "Prometheus")


def alertmanager(
    config: OperatorConfig, namespace: str, *, endpoint: str | None, url: str | None
) -> HttpEndpoint | FreeUrl | Refusal:
    if url is not None:
        return _free(config, namespace, url, "Alertmanager")
    return _named(config.endpoints.alertmanager, endpoint, namespace, "Alertmanager")


def redis(
    config: OperatorConfig, namespace: str, *, endpoint: str | None, url: str | None
) -> RedisEndpoint | FreeUrl | Refusal:
    if url is not None:
        return _free(config, namespace, url, "Redis")
    return _named(config.endpoints.redis, endpoint, namespace, "Redis")


def _free(config: OperatorConfig, namespace: str, url: str, what: str) -> FreeUrl | Refusal:
    if url_allowed(url, config.tenant(namespace).allow_urls):
        return FreeUrl(url)
    return Refusal(
        f"{what} URL {redact(url)} is not allowed for namespace {namespace}: name a configured "
        "endpoint instead, or ask the admin to allow-list it"
    )


def warmup_url(config: OperatorConfig, namespace: str, url: str) -> FreeUrl | Refusal:
    return _free(config, namespace, url, "warm-up")


def secrets_allowed(config: OperatorConfig, namespace: str) -> Refusal | None:
    if config.tenant(namespace).allow_secrets:
        return None
    return Refusal(
        f"Secrets of namespace {namespace} may not be used for credentials (ask the admin)"
    )


@dataclass(frozen=True)
class SecretScope:
    """Where the operator follows team Secrets (only those labelled for it): nowhere,
    every namespace, or these namespaces. It must be exactly where RBAC grants them: a
    watch anywhere else is refused."""

    cluster_wide: bool = False
    namespaces: tuple[str, ...] = ()

    @property
    def nowhere(self) -> bool:
        return not self.cluster_wide and not self.namespaces


def secret_scope(config: OperatorConfig, watched: Sequence[str] | None) -> SecretScope:
    """Where to follow Secrets for an operator watching ``watched`` (``None``: every
    namespace): nowhere unless some tenant has ``allowSecrets``; cluster-wide when every
    namespace is watched (a tenant's patterns may match namespaces created later, so the
    ClusterRole grants Secrets everywhere); otherwise only the watched namespaces whose
    tenant allows Secrets - the same rule the chart applies when it renders one Role per
    watched namespace."""
    if not any(t.allow_secrets for t in config.tenants):
        return SecretScope()
    if watched is None:
        return SecretScope(cluster_wide=True)
    return SecretScope(
        namespaces=tuple(ns for ns in dict.fromkeys(watched) if config.tenant(ns).allow_secrets)
    )


def key_prefix(endpoint: RedisEndpoint | FreeUrl, namespace: str) -> str:
    """The prefix every key pattern is confined under (a free URL is the team's own)."""
    if isinstance(endpoint, FreeUrl):
        return ""
    return endpoint.key_prefix.replace("{namespace}", namespace)


def confine_pattern(pattern: str, prefix: str) -> str:
    """A SCAN MATCH pattern under ``prefix``; glob characters in the prefix are escaped so
    the prefix matches only itself."""
    escaped = "".join("\\" + c if c in "*?[]\\" else c for c in prefix)
    return escaped + pattern


def hit_ratio_allowed(endpoint: RedisEndpoint | FreeUrl, namespace: str) -> Refusal | None:
    """INFO counters are the whole server's: only a Redis of this namespace's own."""
    if isinstance(endpoint, FreeUrl) or endpoint.dedicated_to == namespace:
        return None
    return Refusal(
        f"cacheHitRatio needs a Redis dedicated to namespace {namespace}; endpoint "
        f"{endpoint.name!r} is shared, and its counters count every team's lookups"
    )


_HOST_FIELDS = ("hostNetwork", "hostPID", "hostIPC")


def job_template(
    config: OperatorConfig, namespace: str, template: Mapping[str, Any]
) -> Refusal | None:
    """A warm-up Job template may run only as an allowed ServiceAccount, without host
    namespaces, host paths or privileged containers."""
    pod = ((template.get("template") or {}).get("spec")) or {}
    account = pod.get("serviceAccountName") or pod.get("serviceAccount") or "default"
    allowed = config.tenant(namespace).job_service_accounts
    if account != "default" and account not in allowed:
        return Refusal(
            f"jobTemplate runs as ServiceAccount {account!r}, which is not allowed for "
            f"namespace {namespace} (allowed: {', '.join(['default', *allowed])})"
        )
    for name in _HOST_FIELDS:
        if pod.get(name):
            return Refusal(f"jobTemplate may not set {name}")
    for volume in pod.get("volumes") or []:
        if isinstance(volume, dict) and "hostPath" in volume:
            return Refusal(f"jobTemplate volume {volume.get('name')!r} mounts a host path")
    for group in ("containers", "initContainers", "ephemeralContainers"):
        for container in pod.get(group) or []:
            ctx = (container or {}).get("securityContext") or {}
            if ctx.get("privileged") or ctx.get("allowPrivilegeEscalation"):
                return Refusal(f"jobTemplate container {container.get('name')!r} is privileged")
    return None
