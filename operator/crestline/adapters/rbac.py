"""The Kubernetes permissions the operator's code uses: one entry per call site family.

The Helm chart's roles (``helm/crestline/templates/_helpers.tpl``) must grant exactly
these; ``tests/e2e/test_helm.py`` renders the chart and compares, runs the operator with
the chart's ServiceAccount through a scenario that takes every code path here, requires
that nothing was refused (they suffice), and reads the API server's audit log to require
that every rule was used (none is spare), in both install modes: cluster-wide, and with
``watchNamespaces`` (there per namespace: every Role's rules used in its own namespace,
nothing asked anywhere else).

Five groups, granted in different scopes:

* :data:`RULES`: in every watched namespace (a ClusterRole, or a Role per namespace);
* :data:`CLUSTER_ONLY`: cluster-wide even when only some namespaces are watched (kopf
  discovers resources through CRDs);
* :data:`NAMESPACE_RULES`: cluster-wide, only when some namespaces are watched: given a
  list of namespaces, kopf lists and watches Namespaces to serve each one that exists
  (without them it retries the refused list for about a minute before it starts);
* :data:`LEASE_RULES`: only in the operator's own namespace (the shard Leases);
* :data:`TEAM_SECRET_RULES`: only where the configuration lets a namespace use its own
  Secrets for credentials: cluster-wide when every namespace is watched (a tenant's
  patterns may match namespaces created later), otherwise in the Roles of the watched
  namespaces whose tenant has ``allowSecrets`` - the operator follows Secrets (by label,
  into its cache) in exactly those (:func:`crestline.policy.tenancy.secret_scope`). A
  ``list`` cannot be narrowed by label in RBAC, so the default install has no Secret
  access at all: the administrator's credentials come from files mounted from the
  operator's own namespace.
"""

from __future__ import annotations

# (apiGroup, resource, verb): where it is used
RULES: dict[tuple[str, str, str], str] = {
    ("crestline.dev", "performanceslos", "list"): "kopf: watch-list (runtime cache)",
    ("crestline.dev", "performanceslos", "watch"): "kopf: watch-list (runtime cache)",
    ("crestline.dev", "eventdays", "list"): "kopf: watch-list (runtime cache)",
    ("crestline.dev", "eventdays", "watch"): "kopf: watch-list (runtime cache)",
    ("crestline.dev", "eventdays", "get"): "kube.get_custom: the ledger, read fresh",
    ("crestline.dev", "eventdays", "patch"): "kube.set_finalizers: the restore finalizer",
    ("crestline.dev", "performanceslos/status", "patch"): "kube.patch_status (SloRunner)",
    ("crestline.dev", "eventdays/status", "patch"): "kube.patch_status (ledger, status)",
    ("apps", "deployments", "list"): "kopf: watch-list (targets cache)",
    ("apps", "deployments", "watch"): "kopf: watch-list (targets cache)",
    ("apps", "statefulsets", "list"): "kopf: watch-list (targets cache)",
    ("apps", "statefulsets", "watch"): "kopf: watch-list (targets cache)",
    ("apps", "deployments/scale", "patch"): "kube.write_replicas (server-side apply)",
    ("apps", "statefulsets/scale", "patch"): "kube.write_replicas (server-side apply)",
    ("autoscaling", "horizontalpodautoscalers", "list"): "kopf: watch-list (other owners)",
    ("autoscaling", "horizontalpodautoscalers", "watch"): "kopf: watch-list (other owners)",
    ("keda.sh", "scaledobjects", "list"): "kopf: watch-list (other owners)",
    ("keda.sh", "scaledobjects", "watch"): "kopf: watch-list (other owners)",
    ("", "events", "create"): "kube.post_event",
    ("", "configmaps", "create"): "kube.apply_config_key (pools; apply may create)",
    ("", "configmaps", "patch"): "kube.apply_config_key (pools)",
    ("batch", "jobs", "create"): "actions.warmup.WarmupJob",
    ("monitoring.coreos.com", "servicemonitors", "get"): "monitors.intervals",
    ("monitoring.coreos.com", "servicemonitors", "patch"): "monitors.set_intervals",
    ("monitoring.coreos.com", "podmonitors", "get"): "monitors.intervals",
    ("monitoring.coreos.com", "podmonitors", "patch"): "monitors.set_intervals",
}

CLUSTER_ONLY: dict[tuple[str, str, str], str] = {
    ("apiextensions.k8s.io", "customresourcedefinitions", "list"): "kopf: resource discovery",
    ("apiextensions.k8s.io", "customresourcedefinitions", "watch"): "kopf: resource discovery",
}

NAMESPACE_RULES: dict[tuple[str, str, str], str] = {
    ("", "namespaces", "list"): "kopf: which of the watched namespaces exist (watchNamespaces)",
    ("", "namespaces", "watch"): "kopf: watched namespaces created or deleted later",
}

LEASE_RULES: dict[tuple[str, str, str], str] = {
    ("coordination.k8s.io", "leases", "list"): "leases.KubeLeases.list (shards)",
    ("coordination.k8s.io", "leases", "create"): "leases.KubeLeases.create (shards)",
    ("coordination.k8s.io", "leases", "update"): "leases.KubeLeases.update (shards)",
}

TEAM_SECRET_RULES: dict[tuple[str, str, str], str] = {
    ("", "secrets", "list"): "secrets.SecretWatch: labelled Secrets (team credentials)",
    ("", "secrets", "watch"): "secrets.SecretWatch: labelled Secrets (team credentials)",
}


def granted(rules: list[dict[str, list[str]]]) -> set[tuple[str, str, str]]:
    """Flatten RBAC PolicyRules into (apiGroup, resource, verb) triples."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups", [])
        for resource in rule.get("resources", [])
        for verb in rule.get("verbs", [])
    }
