"""The Helm chart: lint, template, install, and the operator on the chart's own RBAC.

helm is built from the Go module proxy (controlplane/helm.sh). The permission test runs
the operator with a token of the chart's ServiceAccount - not admin - through a scale
scenario and an EventDay with every kind of action, and requires that no request was
refused (the rules suffice) and, from the API server's audit log, that every granted rule
was used (none is spare). The chart's rules are also compared with what the code declares
it uses (crestline.adapters.rbac.RULES).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from crestline.adapters.rbac import (
    CLUSTER_ONLY,
    LEASE_RULES,
    RULES,
    TEAM_SECRET_RULES,
    granted,
)
from crestline_dev.audit import used_in_audit_log
from crestline_dev.manifests import KUBE_VERSION, helm_binary
from crestline_dev.scenario import (
    OperatorProcess,
    create_eventday,
    eventday_body,
    start_operator,
)
from crestline_dev.sim.pods import kube_pod_readiness
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
    assert len(cluster) == 1  # only kopf's CRD discovery is cluster-wide
    assert granted(cluster[0]["rules"]) == set(CLUSTER_ONLY)
    roles = {r["metadata"]["namespace"]: r for r in docs if r["kind"] == "Role"}
    assert sorted(roles) == ["crestline-system", "payments", "shop"]
    assert granted(roles["crestline-system"]["rules"]) == set(LEASE_RULES)
    assert all(granted(roles[ns]["rules"]) == set(RULES) for ns in ("shop", "payments"))
    args = next(d for d in docs if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    assert "--namespace=shop" in args
    assert "--all-namespaces" not in args


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


@pytest.fixture
def installed(stack: Stack, crds: None, helm: str) -> Iterator[Path]:
    """helm install into the stack; yields a kubeconfig holding the chart SA's token."""
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
            "--set-json",
            'config.tenants=[{"namespaces":["e2e-*"],"allowSecrets":true}]',
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


def test_operator_runs_on_the_charts_serviceaccount(
    stack: Stack,
    kube: client.ApiClient,
    operator: OperatorProcess,
    namespace: str,
    workload: Callable[..., Workload],
    installed: Path,
    tmp_path: Path,
) -> None:
    if stack.control_plane is None:
        pytest.skip("needs the local control plane (it mints the ServiceAccount token)")
    operator.stop()  # one operator at a time: this one only has the chart's rights
    log = tmp_path / "sa-operator.log"
    sa_stack_env = {"KUBECONFIG": str(installed)}
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
        wait_for(lambda: replicas(kube, namespace, "web") > 2, 40, "a scale-up as the SA")
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
        assert "403" not in text, sa_operator.tail()
        assert "Forbidden" not in text, sa_operator.tail()
        # Nothing was refused, so the rules suffice; and every one of them was used, so
        # none is spare. The API server's audit log says what the SA really asked for.
        used = used_in_audit_log(
            stack.control_plane.audit_log.read_text().splitlines(),
            f"system:serviceaccount:{AUDITED_NAMESPACE}:crestline",
        )
        declared = set(RULES) | set(CLUSTER_ONLY) | set(LEASE_RULES) | set(TEAM_SECRET_RULES)
        assert used <= declared, f"undeclared: {sorted(used - declared)}"
        # An apply that creates its object is authorized as 'create' inside the 'patch'
        # request; the audit log records only the patch. The ConfigMap exists, so it ran.
        implied = {("", "configmaps", "create")}
        client.CoreV1Api(kube).read_namespaced_config_map("web-pools", namespace)
        assert declared - used == implied, f"granted, never used: {declared - used}"
    finally:
        sa_operator.stop()
        operator.restart()


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
