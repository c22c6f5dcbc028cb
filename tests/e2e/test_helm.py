"""The Helm chart: lint, template, install, and the operator on the chart's own RBAC.

helm is built from the Go module proxy (controlplane/helm.sh). The permission tests run
the operator with a token of the chart's ServiceAccount - not admin - through a scale
scenario and an EventDay with every kind of action, and require that no request was
refused (the rules suffice) and, from the API server's audit log, that every granted rule
was used (none is spare): once cluster-wide (a ClusterRole), once with watchNamespaces (a
Role per namespace, compared namespace by namespace; team Secrets only where a tenant
allows them). The chart's rules are also compared with what the code declares it uses
(crestline.adapters.rbac), and its tenant patterns with the operator's matching.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from crestline.adapters.leases import LABEL as LEASE_LABEL
from crestline.adapters.rbac import (
    CLUSTER_ONLY,
    LEASE_RULES,
    NAMESPACE_RULES,
    RULES,
    TEAM_SECRET_RULES,
    granted,
)
from crestline.api.config import SECRET_LABEL, OperatorConfig
from crestline.policy import tenancy
from crestline_dev.audit import requests_in_audit_log, used_by_namespace, used_in_audit_log
from crestline_dev.manifests import KUBE_VERSION, helm_binary
from crestline_dev.scenario import (
    OperatorProcess,
    create_deployment,
    create_eventday,
    eventday_body,
    get_slo,
    start_operator,
)
from crestline_dev.sim.pods import kube_pod_readiness, mark_all_ready
from crestline_dev.stack import Stack
from crestline_dev.stack.binaries import repo_root
from crestline_dev.stack.controlplane import AUDITED_NAMESPACE
from tests.e2e.conftest import Workload, create_slo, replicas, slo_body, wait_for
from tests.kubectl import kubectl

pytestmark = pytest.mark.stack
ROOT = repo_root() or Path(".")
CHART = ROOT / "helm" / "crestline"


@pytest.fixture(scope="session")
def helm() -> str:
    return helm_binary(ROOT)


def render(helm: str, *args: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [
            helm,
            "template",
            "crestline",
            str(CHART),
            "-n",
            "crestline-system",
            "--kube-version",
            KUBE_VERSION,
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def test_chart_lints(helm: str) -> None:
    result = subprocess.run(
        [helm, "lint", "--strict", str(CHART)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_grants_exactly_what_the_code_uses(helm: str) -> None:
    docs = render(helm)
    roles = [d for d in docs if d["kind"] == "ClusterRole"]
    assert len(roles) == 1
    assert granted(roles[0]["rules"]) == set(RULES) | set(CLUSTER_ONLY)  # no Secrets at all
    (leases,) = [d for d in docs if d["kind"] == "Role"]
    assert leases["metadata"]["namespace"] == "crestline-system"
    assert granted(leases["rules"]) == set(LEASE_RULES)
    with_secrets = render(
        helm, "--set-json", 'config.tenants=[{"namespaces":["team-a"],"allowSecrets":true}]'
    )
    (role,) = [d for d in with_secrets if d["kind"] == "ClusterRole"]
    assert granted(role["rules"]) == set(RULES) | set(CLUSTER_ONLY) | set(TEAM_SECRET_RULES)
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "--all-namespaces" in container["args"]


def test_namespaced_mode_uses_roles_only(helm: str) -> None:
    docs = render(helm, "--set", "watchNamespaces={shop,payments}")
    cluster = [d for d in docs if d["kind"] == "ClusterRole"]
    assert len(cluster) == 1  # only kopf's discovery (CRDs, Namespaces) is cluster-wide
    assert granted(cluster[0]["rules"]) == set(CLUSTER_ONLY) | set(NAMESPACE_RULES)
    roles = {r["metadata"]["namespace"]: r for r in docs if r["kind"] == "Role"}
    assert sorted(roles) == ["crestline-system", "payments", "shop"]
    assert granted(roles["crestline-system"]["rules"]) == set(LEASE_RULES)
    assert all(granted(roles[ns]["rules"]) == set(RULES) for ns in ("shop", "payments"))
    args = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert "--namespace=shop" in args
    assert "--all-namespaces" not in args


def _roles(docs: list[dict[str, Any]]) -> dict[str, set[tuple[str, str, str]]]:
    """What each namespaced Role grants, by namespace."""
    return {d["metadata"]["namespace"]: granted(d["rules"]) for d in docs if d["kind"] == "Role"}


def test_namespaced_mode_grants_secrets_only_where_a_tenant_allows_them(helm: str) -> None:
    """Secrets go into the Roles of the watched namespaces whose tenant has allowSecrets,
    matched by the same patterns the operator matches - not into every watched namespace
    as soon as any tenant has it - and the operator follows them in exactly those."""
    tenants = [
        {"namespaces": ["pay*", "billing"], "allowSecrets": True},
        {"namespaces": ["shop"], "allowUrls": ["http://web.shop.svc/"]},
        {"namespaces": ["ledger"], "allowSecrets": False, "jobServiceAccounts": ["w"]},
    ]
    watched = ["shop", "payments", "payroll", "ledger", "billing"]
    docs = render(
        helm,
        "--set",
        "watchNamespaces={" + ",".join(watched) + "}",
        "--set-json",
        f"config.tenants={json.dumps(tenants)}",
    )
    roles = _roles(docs)
    with_secrets = {ns for ns in watched if set(TEAM_SECRET_RULES) <= roles[ns]}
    assert with_secrets == {"payments", "payroll", "billing"}
    assert all(roles[ns] in (set(RULES), set(RULES) | set(TEAM_SECRET_RULES)) for ns in watched)
    (cluster,) = [d for d in docs if d["kind"] == "ClusterRole"]
    assert not set(TEAM_SECRET_RULES) & granted(cluster["rules"])
    # The operator follows Secrets where the chart grants them, and nowhere else.
    config = OperatorConfig.model_validate({"tenants": tenants})
    assert set(tenancy.secret_scope(config, watched).namespaces) == with_secrets
    # Cluster-wide, a pattern may match namespaces created later: the ClusterRole has them.
    (everywhere,) = [
        d
        for d in render(helm, "--set-json", f"config.tenants={json.dumps(tenants)}")
        if d["kind"] == "ClusterRole"
    ]
    assert set(TEAM_SECRET_RULES) <= granted(everywhere["rules"])
    assert tenancy.secret_scope(config, None).cluster_wide


NAMES = ["shop", "shop-eu", "team-a", "team-b", "team-ab", "payments", "a1", "xay", "ledger"]


@pytest.mark.parametrize(
    "pattern",
    [
        "shop",
        "shop*",
        "*-eu",
        "team-?",
        "team-[ab]",
        "team-[!a]",
        "team-[a-b]*",
        "[]a]1",
        "[^s]*",
        "*a*",
        "Shop",
        "x.y",
        "x?y",
        "*",
    ],
)
def test_tenant_patterns_match_in_the_chart_as_in_the_operator(helm: str, pattern: str) -> None:
    """The chart turns the glob into a regular expression; fnmatch is the reference."""
    tenants = [{"namespaces": [pattern], "allowSecrets": True}]
    docs = render(
        helm,
        "--set-json",
        f"watchNamespaces={json.dumps(NAMES)}",
        "--set-json",
        f"config.tenants={json.dumps(tenants)}",
    )
    chart = {ns for ns, rules in _roles(docs).items() if set(TEAM_SECRET_RULES) <= rules}
    config = OperatorConfig.model_validate({"tenants": tenants})
    assert chart == {ns for ns in NAMES if config.tenant(ns).allow_secrets}


def test_a_pattern_the_chart_cannot_match_fails_the_render(helm: str) -> None:
    """An unclosed or reversed [...] matches no namespace in the operator (fnmatch reads
    it as a literal "[" or drops the range); the chart says so rather than guess."""
    for pattern in ("team-[", "team-[b-a]"):
        result = subprocess.run(
            [
                helm,
                "template",
                "x",
                str(CHART),
                "--kube-version",
                KUBE_VERSION,
                "--set",
                "watchNamespaces={team-a}",
                "--set-json",
                f'config.tenants=[{{"namespaces":["{pattern}"],"allowSecrets":true}}]',
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode != 0, pattern
        assert f"namespace pattern {pattern!r}" in result.stderr.replace('"', "'"), result.stderr


def test_values_schema_rejects_bad_values(helm: str) -> None:
    result = subprocess.run(
        [
            helm,
            "template",
            "x",
            str(CHART),
            "--kube-version",
            KUBE_VERSION,
            "--set",
            "prometheusUrl=http://user:pw@prometheus:9090",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "prometheusUrl" in result.stderr


def test_config_renders_default_endpoints_and_pdb_only_with_replicas(helm: str) -> None:
    docs = render(helm, "--set", "alertmanagerUrl=http://am:9093")
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    rendered = yaml.safe_load(config["data"]["config.yaml"])
    assert rendered["endpoints"]["alertmanager"] == [{"name": "default", "url": "http://am:9093"}]
    assert rendered["endpoints"]["prometheus"][0]["name"] == "default"
    assert not [d for d in docs if d["kind"] == "PodDisruptionBudget"]
    (pdb,) = [d for d in render(helm, "--set", "replicas=3") if d["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"]["maxUnavailable"] == 1


def test_optional_monitoring_objects_render(helm: str) -> None:
    docs = render(
        helm,
        "--set",
        "metrics.serviceMonitor.enabled=true",
        "--set",
        "metrics.prometheusRule.enabled=true",
        "--set",
        "dashboard.enabled=true",
    )
    kinds = {d["kind"] for d in docs}
    assert {"ServiceMonitor", "PrometheusRule", "ConfigMap"} <= kinds


@contextlib.contextmanager
def _install(stack: Stack, helm: str, *values: str) -> Iterator[Path]:
    """helm install into the stack with ``values``; yields a kubeconfig holding the chart
    SA's token. Uninstalled on the way out."""
    env = ["--kubeconfig", str(stack.kubeconfig)]
    subprocess.run(
        [
            helm,
            "install",
            "crestline",
            str(CHART),
            "-n",
            "crestline-system",
            "--create-namespace",
            *values,
            *env,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    try:
        token = kubectl(
            stack, "create", "token", "crestline", "-n", "crestline-system", "--duration", "1h"
        ).stdout.strip()
        assert stack.control_plane is not None
        assert stack.control_plane.pki is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "sa",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {
                        "server": stack.control_plane.api_url,
                        "certificate-authority": str(stack.control_plane.pki.ca.cert),
                    },
                }
            ],
            "users": [{"name": "sa", "user": {"token": token}}],
            "contexts": [{"name": "sa", "context": {"cluster": "local", "user": "sa"}}],
        }
        path = stack.kubeconfig.parent / "sa-kubeconfig"
        path.write_text(yaml.safe_dump(config))
        yield path
    finally:
        subprocess.run(
            [helm, "uninstall", "crestline", "-n", "crestline-system", *env],
            check=False,
            capture_output=True,
        )


@pytest.fixture
def installed(stack: Stack, crds: None, helm: str) -> Iterator[Path]:
    """The chart installed cluster-wide, team Secrets allowed for the e2e namespaces."""
    with _install(
        stack,
        helm,
        "--set-json",
        'config.tenants=[{"namespaces":["e2e-*"],"allowSecrets":true}]',
    ) as kubeconfig:
        yield kubeconfig


@pytest.fixture(scope="module")
def operator_stopped(stack: Stack, operator: OperatorProcess) -> Iterator[None]:
    """One operator at a time: the audited ones have only the chart's rights. The
    session's operator makes way once for every audit of this module, and comes back
    after them."""
    if stack.control_plane is None:
        pytest.skip("needs the local control plane (it mints the ServiceAccount token)")
    operator.stop()
    try:
        yield
    finally:
        operator.restart()


class _AuditTail:
    """The API server's audit log from now on (earlier tests used the same SA name)."""

    def __init__(self, stack: Stack) -> None:
        assert stack.control_plane is not None
        self.path = stack.control_plane.audit_log
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def lines(self) -> list[str]:
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            return fh.read().decode().splitlines()


def _monitors(kube: client.ApiClient, namespace: str) -> None:
    """A ServiceMonitor for ``web`` and a PodMonitor for ``db`` (30 s), for an EventDay."""
    for kind, plural, name in (
        ("ServiceMonitor", "servicemonitors", "web"),
        ("PodMonitor", "podmonitors", "db"),
    ):
        client.CustomObjectsApi(kube).create_namespaced_custom_object(
            "monitoring.coreos.com",
            "v1",
            namespace,
            plural,
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": kind,
                "metadata": {"name": name},
                "spec": {
                    "selector": {"matchLabels": {"app": name}},
                    ("endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints"): [
                        {"port": "http", "interval": "30s"}
                    ],
                },
            },
        )


def test_operator_runs_on_the_charts_serviceaccount(
    stack: Stack,
    kube: client.ApiClient,
    operator_stopped: None,
    namespace: str,
    workload: Callable[..., Workload],
    installed: Path,
    tmp_path: Path,
) -> None:
    assert stack.control_plane is not None
    log = tmp_path / "sa-operator.log"
    sa_stack_env = {"KUBECONFIG": str(installed)}
    audit = _AuditTail(stack)  # this operator's requests only (other tests use the SA name)
    sa_operator = start_operator(
        stack, log, "--lease-namespace", "crestline-system", env_override=sa_stack_env
    )
    try:
        workload(replicas=2, rps=100)
        slo = slo_body(
            "web",
            "web",
            namespace,
            pools=[
                {
                    "name": "db",
                    "budget": 200,
                    "maxPerPod": 20,
                    "configMap": {"name": "web-pools", "key": "size"},
                }
            ],
        )
        slo["metadata"]["labels"] = {"tier": "shop"}
        create_slo(kube, namespace, slo)
        try:
            # Generous: after the fault suite the stack is still settling (a restarted API
            # server and Prometheus); what this test checks is the permissions.
            wait_for(lambda: replicas(kube, namespace, "web") > 2, 90, "a scale-up as the SA")
        except TimeoutError as exc:
            status: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
                "crestline.dev", "v1alpha1", namespace, "performanceslos", "web"
            )
            raise AssertionError(
                f"{exc}\nSLO status: {json.dumps(status.get('status'))[:3000]}\n"
                f"operator log:\n{log.read_text()[-3000:]}"
            ) from exc
        # A StatefulSet target, with Prometheus credentials from a Secret (the stack's
        # Prometheus is open and ignores them; reading the Secret is what counts here).
        _statefulset(kube, namespace, "db", 2)
        # no kubelet here: the pods are marked Ready the way the simulator marks its own
        ready = kube_pod_readiness(kube, namespace, "db")
        wait_for(
            lambda: (
                len(
                    client.CoreV1Api(kube)
                    .list_namespaced_pod(namespace, label_selector="app=db")
                    .items
                )
                == 2
            ),
            20,
            "the StatefulSet's pods",
        )
        ready(2)
        _core(kube).create_namespaced_secret(
            namespace,
            {
                "metadata": {
                    "name": "prom",
                    "labels": {"crestline.dev/usable-by-operator": "true"},
                },
                "stringData": {"token": "t0ken"},
            },
        )
        create_slo(
            kube,
            namespace,
            slo_body(
                "db",
                "db",
                namespace,
                targetRef={"kind": "StatefulSet", "name": "db"},
                objectives=[{"name": "queue", "query": "vector(4)", "target": 1}],
                prometheus={
                    "url": stack.env()["CRESTLINE_PROMETHEUS_URL"],  # a team URL, allowed for e2e-*
                    "auth": {"bearerToken": {"name": "prom", "key": "token"}},
                },
            ),
        )
        apps = client.AppsV1Api(kube)
        wait_for(
            lambda: (_replicas(apps.read_namespaced_stateful_set_scale("db", namespace)) or 0) > 2,
            40,
            "a StatefulSet scale-up as the SA",
        )
        _monitors(kube, namespace)
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        job = {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "p", "image": "x.invalid/p"}],
                }
            }
        }
        create_eventday(
            kube,
            namespace,
            eventday_body(
                "sale",
                now,
                now + dt.timedelta(seconds=20),
                monitoring={
                    "interval": "5s",
                    "monitors": [{"name": "web"}, {"kind": "PodMonitor", "name": "db"}],
                },
                alerts={},
                cache={"jobTemplate": job},
            ),
        )

        def actions_done() -> bool:
            obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
                "crestline.dev", "v1alpha1", namespace, "eventdays", "sale"
            )
            states = {r["key"]: r["state"] for r in obj.get("status", {}).get("actions", [])}
            return all(
                states.get(key) == state
                for key, state in (
                    ("monitor/ServiceMonitor/web", "applied"),
                    ("monitor/PodMonitor/db", "applied"),
                    ("cache/job", "done"),
                    ("silence", "applied"),
                )
            )

        wait_for(actions_done, 30, "every EventDay action, as the SA")
        assert sa_operator.alive()
        text = log.read_text()
        assert not re.search(r"\b403\b", text), sa_operator.tail()  # not in a port number
        assert "Forbidden" not in text, sa_operator.tail()
        # Nothing was refused, so the rules suffice; and every one of them was used, so
        # none is spare. The API server's audit log says what the SA really asked for.
        user = f"system:serviceaccount:{AUDITED_NAMESPACE}:crestline"
        lines = audit.lines()
        refusals = [r for r in requests_in_audit_log(lines, user) if r.refused]
        assert refusals == [], refusals
        used = used_in_audit_log(lines, user)
        declared = set(RULES) | set(CLUSTER_ONLY) | set(LEASE_RULES) | set(TEAM_SECRET_RULES)
        assert used <= declared, f"undeclared: {sorted(used - declared)}"
        # An apply that creates its object is authorized as 'create' inside the 'patch'
        # request; the audit log records only the patch. The ConfigMap exists, so it ran.
        implied = {("", "configmaps", "create")}
        client.CoreV1Api(kube).read_namespaced_config_map("web-pools", namespace)
        assert declared - used == implied, f"granted, never used: {declared - used}"
    finally:
        sa_operator.stop()


def _statefulset(kube: client.ApiClient, namespace: str, name: str, replicas: int) -> None:
    labels = {"app": name}
    body: Any = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "db", "image": "example.invalid/db"}]},
            },
        },
    }
    client.AppsV1Api(kube).create_namespaced_stateful_set(namespace, body)


QUEUE = [{"name": "queue", "query": "vector(4)", "target": 1}]  # always 4x over: scale up
SECRET = {"name": "prom", "key": "token"}


def _team_at_work(kube: client.ApiClient, stack: Stack, ns: str, *, own_secrets: bool) -> None:
    """Everything crestline does in a namespace, cheaply (no simulated traffic: a query
    always over its target): a Deployment with a pool and a StatefulSet scaled up,
    monitors and an EventDay with every kind of action; and a labelled Secret, used for
    Prometheus credentials where the tenant allows it and refused where it does not."""
    create_deployment(kube, ns, "web", 2)
    _statefulset(kube, ns, "db", 2)
    _core(kube).create_namespaced_secret(
        ns,
        {
            "metadata": {"name": "prom", "labels": {SECRET_LABEL: "true"}},
            "stringData": {"token": "t0ken"},
        },
    )
    pool = {"budget": 200, "maxPerPod": 20, "configMap": {"name": "web-pools", "key": "size"}}
    pools = [{"name": "db", **pool}]
    web = slo_body("web", "web", ns, objectives=QUEUE, pools=pools)
    web["metadata"]["labels"] = {"tier": "shop"}
    create_slo(kube, ns, web)
    # The stack's Prometheus is open and ignores the token; reading the Secret counts.
    with_token = {"url": stack.env()["CRESTLINE_PROMETHEUS_URL"], "auth": {"bearerToken": SECRET}}
    db = slo_body("db", "db", ns, targetRef={"kind": "StatefulSet", "name": "db"}, objectives=QUEUE)
    if own_secrets:
        db["spec"]["prometheus"] = with_token
    else:  # the default endpoint scales it; a dry-run SLO asks for the Secret, refused
        create_slo(kube, ns, slo_body("borrowed", "web", ns, mode="dryRun", prometheus=with_token))
    create_slo(kube, ns, db)
    _monitors(kube, ns)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    job = {
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "p", "image": "x.invalid/p"}],
            }
        }
    }
    create_eventday(
        kube,
        ns,
        eventday_body(
            "sale",
            now,
            now + dt.timedelta(seconds=20),
            monitoring={
                "interval": "5s",
                "monitors": [{"name": "web"}, {"kind": "PodMonitor", "name": "db"}],
            },
            alerts={},
            cache={"jobTemplate": job},
        ),
    )


def _all_done(kube: client.ApiClient, ns: str) -> bool:
    """Both workloads scaled up and every EventDay action done, in ``ns``."""
    mark_all_ready(kube, ns)  # no kubelet: pods are marked Ready as the simulator does
    apps = client.AppsV1Api(kube)
    if replicas(kube, ns, "web") <= 2:
        return False
    if (_replicas(apps.read_namespaced_stateful_set_scale("db", ns)) or 0) <= 2:
        return False
    obj: Any = client.CustomObjectsApi(kube).get_namespaced_custom_object(
        "crestline.dev", "v1alpha1", ns, "eventdays", "sale"
    )
    states = {r["key"]: r["state"] for r in obj.get("status", {}).get("actions", [])}
    return all(
        states.get(key) == state
        for key, state in (
            ("monitor/ServiceMonitor/web", "applied"),
            ("monitor/PodMonitor/db", "applied"),
            ("cache/job", "done"),
            ("silence", "applied"),
        )
    )


def test_operator_runs_on_the_charts_roles_when_watching_some_namespaces(
    stack: Stack,
    kube: client.ApiClient,
    crds: None,
    helm: str,
    operator_stopped: None,
    tmp_path: Path,
) -> None:
    """watchNamespaces mode installed for real: the operator on the chart's SA, given the
    two watched namespaces, one whose tenant may use its own Secrets and one whose may
    not. From the audit log: nothing refused, nothing asked outside the two namespaces
    (and the cluster-scoped discovery and the Leases), and every rule of every Role used
    in its own namespace - Secrets only where the tenant allows them."""
    hexa = uuid.uuid4().hex[:8]
    pay, shop, elsewhere = f"e2e-{hexa}-pay", f"e2e-{hexa}-shop", f"e2e-{hexa}-else"
    tenants = [
        {
            "namespaces": [f"*-{hexa}-pay"],
            "allowSecrets": True,
            "allowUrls": ["http://127.0.0.1:*/"],
        },
        {"namespaces": [f"*-{hexa}-shop"], "allowUrls": ["http://127.0.0.1:*/"]},
    ]
    core = _core(kube)
    for ns in (pay, shop, elsewhere):
        core.create_namespace({"metadata": {"name": ns}})
    try:
        with _install(
            stack,
            helm,
            "--set",
            f"watchNamespaces={{{pay},{shop}}}",
            "--set-json",
            f"config.tenants={json.dumps(tenants)}",
        ) as sa_kubeconfig:
            # The shard Leases an earlier operator left here would spare 'create'.
            client.CoordinationV1Api(kube).delete_collection_namespaced_lease(
                AUDITED_NAMESPACE, label_selector=LEASE_LABEL
            )
            audit = _AuditTail(stack)
            log = tmp_path / "sa-operator.log"
            sa_operator = start_operator(
                stack,
                log,
                "--lease-namespace",
                "crestline-system",
                env_override={"KUBECONFIG": str(sa_kubeconfig)},
                config={"tenants": tenants},
                namespaces=[pay, shop],
            )
            try:
                for ns in (pay, shop):
                    _team_at_work(kube, stack, ns, own_secrets=ns == pay)
                create_slo(kube, elsewhere, slo_body("web", "web", elsewhere, objectives=QUEUE))
                wait_for(lambda: all(_all_done(kube, ns) for ns in (pay, shop)), 60, "both teams")
                borrowed = get_slo(kube, shop, "borrowed")
                refused = next(
                    c for c in borrowed["status"]["conditions"] if c["type"] == "MetricsAvailable"
                )
                assert refused["reason"] == "NotAllowed", refused
                assert f"Secrets of namespace {shop} may not be used" in refused["message"]
                assert "status" not in get_slo(kube, elsewhere, "web")  # not watched there
                assert sa_operator.alive()
                text = log.read_text()
                assert not re.search(r"\b403\b", text), sa_operator.tail()
                assert "Forbidden" not in text, sa_operator.tail()
            finally:
                sa_operator.stop()
            user = f"system:serviceaccount:{AUDITED_NAMESPACE}:crestline"
            lines = audit.lines()
            refusals = [r for r in requests_in_audit_log(lines, user) if r.refused]
            assert refusals == [], refusals
            used = used_by_namespace(lines, user)
            assert set(used) == {None, AUDITED_NAMESPACE, pay, shop}, sorted(map(str, used))
            assert used[None] == set(CLUSTER_ONLY) | set(NAMESPACE_RULES)
            assert used[AUDITED_NAMESPACE] == set(LEASE_RULES)
            # As in cluster-wide mode, an apply that creates its ConfigMap is authorized as
            # 'create' inside the 'patch' request: the ConfigMap exists, so it ran.
            implied = {("", "configmaps", "create")}
            for ns, granted_here in (
                (pay, set(RULES) | set(TEAM_SECRET_RULES)),
                (shop, set(RULES)),
            ):
                core.read_namespaced_config_map("web-pools", ns)
                assert used[ns] <= granted_here, f"{ns}: undeclared {used[ns] - granted_here}"
                spare = granted_here - used[ns]
                assert spare == implied, f"{ns}: granted, never used: {spare}"
    finally:
        for ns in (pay, shop, elsewhere):
            core.delete_namespace(ns)


def test_plain_manifests_match_the_chart(helm: str) -> None:
    from crestline_dev.manifests import render as render_manifests

    checked_in = (ROOT / "manifests" / "crestline.yaml").read_text()
    assert checked_in == render_manifests(ROOT), "run `make manifests` and commit the result"


def test_examples_apply_cleanly(stack: Stack, crds: None, namespace: str) -> None:
    for example in sorted((ROOT / "manifests" / "examples").glob("*.yaml")):
        kubectl(stack, "apply", "-n", namespace, "-f", str(example))
    kubectl(stack, "get", "pslo,evd", "-n", namespace)


def _core(kube: client.ApiClient) -> Any:
    """The core API taking plain dict bodies (the client's stubs want model classes)."""
    return client.CoreV1Api(kube)


def _replicas(scale: Any) -> int | None:
    return scale.spec.replicas if scale.spec else None
