"""The Kubernetes permissions the operator's code uses: one entry per call site family.

The Helm chart's ClusterRole/Role (``helm/crestline/templates/_helpers.tpl``) must grant
exactly these; ``tests/e2e/test_helm.py`` renders the chart and compares, runs the
operator with the chart's ServiceAccount through a scenario that takes every code path
here, requires that nothing was refused (they suffice), and reads the API server's audit
log to require that every rule was used (none is spare).
"""

from __future__ import annotations

# (apiGroup, resource, verb): where it is used
RULES: dict[tuple[str, str, str], str] = {
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"): "kopf: resource discovery",
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"): "kopf: resource discovery",
    ("crestline.dev", "performanceslos", "list"): "kopf: watch-list",
    ("crestline.dev", "performanceslos", "watch"): "kopf: watch-list",
    ("crestline.dev", "performanceslos", "patch"): "kopf: handler-progress annotations",
    ("crestline.dev", "eventdays", "list"): "kopf watch; SLOs list EventDays (eventdays.py)",
    ("crestline.dev", "eventdays", "watch"): "kopf: watch-list",
    ("crestline.dev", "eventdays", "patch"): "kopf: finalizer for restore-on-delete",
    ("crestline.dev", "performanceslos/status", "patch"): "handlers._write",
    ("crestline.dev", "eventdays/status", "patch"): "handlers._write, eventdays._persist",
    ("apps", "deployments", "get"): "kube: managed fields (owners), maxSurge (pools)",
    ("apps", "statefulsets", "get"): "kube: managed fields (owners)",
    ("apps", "deployments/scale", "get"): "kube.read_scale",
    ("apps", "deployments/scale", "patch"): "kube.write_replicas (server-side apply)",
    ("apps", "statefulsets/scale", "get"): "kube.read_scale",
    ("apps", "statefulsets/scale", "patch"): "kube.write_replicas (server-side apply)",
    ("autoscaling", "horizontalpodautoscalers", "list"): "kube.other_owners",
    ("keda.sh", "scaledobjects", "list"): "kube.other_owners",
    ("", "events", "create"): "kopf.event",
    ("", "secrets", "get"): "kube.read_secret_key (Prometheus auth)",
    ("", "configmaps", "create"): "kube.apply_config_key (pools; apply may create)",
    ("", "configmaps", "patch"): "kube.apply_config_key (pools)",
    ("batch", "jobs", "create"): "actions._run_job (cache warm-up)",
    ("monitoring.coreos.com", "servicemonitors", "get"): "monitors.intervals",
    ("monitoring.coreos.com", "servicemonitors", "patch"): "monitors.set_intervals",
    ("monitoring.coreos.com", "podmonitors", "get"): "monitors.intervals",
    ("monitoring.coreos.com", "podmonitors", "patch"): "monitors.set_intervals",
}


# Cluster-scoped even when the operator watches only some namespaces.
CLUSTER_ONLY = {k for k in RULES if k[0] == "apiextensions.k8s.io"}


def granted(rules: list[dict[str, list[str]]]) -> set[tuple[str, str, str]]:
    """Flatten RBAC PolicyRules into (apiGroup, resource, verb) triples."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }
