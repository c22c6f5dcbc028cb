"""The real outside systems EventDay actions reach, assembled for the runtime."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import redis
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from crestline.adapters import redis as redis_adapter
from crestline.adapters.alertmanager import Alertmanager
from crestline.adapters.http import warm_up
from crestline.adapters.kube import TIMEOUT, RateLimiter
from crestline.adapters.monitors import Monitors
from crestline.adapters.prometheus import Credentials as HttpCredentials
from crestline.adapters.redis import TtlReport
from crestline.api.config import OperatorConfig
from crestline.runtime.actions.base import Services
from crestline.runtime.endpoints import (
    ENDPOINT,
    URL,
    ClientCache,
    Credentials,
    file_credentials,
    find_endpoint,
)
from crestline.runtime.ports import SilencePort, TtlPort


class _Jobs:
    def __init__(self, api: client.ApiClient, limiter: RateLimiter) -> None:
        self._batch = client.BatchV1Api(api)
        self._limiter = limiter

    def create_job(self, namespace: str, body: Mapping[str, Any]) -> bool:
        self._limiter.acquire()
        try:
            job: Any = dict(body)
            self._batch.create_namespaced_job(namespace, job, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status == 409:  # created before a restart: it is the same Job
                return False
            raise
        return True


class _Warmup:
    def call(self, url: str, method: str) -> int:
        return warm_up(url, method=method)


class _Ttl:
    def __init__(self, client_: redis.Redis) -> None:
        self._client = client_

    def extend_ttls(
        self, pattern: str, ttl_seconds: int, *, batch: int, deadline: float, cursor: int
    ) -> TtlReport:
        return redis_adapter.extend_ttls(
            self._client, pattern, ttl_seconds, batch=batch, deadline=deadline, cursor=cursor
        )


def build_services(
    api: client.ApiClient, limiter: RateLimiter, config: OperatorConfig, clients: ClientCache
) -> Services:
    def alertmanager(ref: str) -> SilencePort:
        if ref.startswith(ENDPOINT):
            endpoint = find_endpoint(config, "alertmanager", ref.removeprefix(ENDPOINT))
            url, creds = endpoint.url, file_credentials(endpoint)
        else:
            url, creds = ref.removeprefix(URL), Credentials()

        def build(c: Credentials) -> tuple[Alertmanager, Callable[[], None]]:
            am = Alertmanager(
                url,
                credentials=HttpCredentials(
                    bearer_token=c.bearer_token,
                    username=c.username,
                    password=c.password,
                    ca_file=c.ca_file,
                    insecure_skip_verify=c.insecure_skip_verify,
                ),
            )
            return am, am.close

        found: Alertmanager = clients.get("alertmanager", ref, creds, build)
        return found

    def ttl(ref: str) -> TtlPort:
        password = None
        if ref.startswith(ENDPOINT):
            endpoint = find_endpoint(config, "redis", ref.removeprefix(ENDPOINT))
            url = endpoint.url
            if endpoint.password_file:
                with open(endpoint.password_file) as fh:
                    password = fh.read().strip()
        else:
            url = ref.removeprefix(URL)

        def build(c: Credentials) -> tuple[redis.Redis, Callable[[], None]]:
            made = redis_adapter.connect(url, password=c.password)
            return made, made.close

        return _Ttl(clients.get("redis", ref, Credentials(password=password), build))

    return Services(
        monitors=Monitors(api, limiter),
        alertmanager=alertmanager,
        redis=ttl,
        jobs=_Jobs(api, limiter),
        warmup=_Warmup(),
    )
