{{- define "crestline.name" -}}crestline{{- end -}}

{{- define "crestline.fullname" -}}
{{- if contains "crestline" .Release.Name -}}{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else -}}{{ printf "%s-crestline" .Release.Name | trunc 63 | trimSuffix "-" }}{{- end -}}
{{- end -}}

{{- define "crestline.labels" -}}
app.kubernetes.io/name: crestline
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "crestline.selectorLabels" -}}
app.kubernetes.io/name: crestline
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "crestline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "crestline.fullname" .) .Values.serviceAccount.name }}
{{- else -}}{{ required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{/*
The operator configuration: .Values.config, with the URL shortcuts as default endpoints
when config.endpoints does not name them.
*/}}
{{- define "crestline.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $endpoints := default (dict) $config.endpoints -}}
{{- if and .Values.prometheusUrl (not (hasKey $endpoints "prometheus")) -}}
{{- $_ := set $endpoints "prometheus" (list (dict "name" "default" "url" .Values.prometheusUrl)) -}}
{{- end -}}
{{- if and .Values.alertmanagerUrl (not (hasKey $endpoints "alertmanager")) -}}
{{- $_ := set $endpoints "alertmanager" (list (dict "name" "default" "url" .Values.alertmanagerUrl)) -}}
{{- end -}}
{{- if and .Values.redisUrl (not (hasKey $endpoints "redis")) -}}
{{- $_ := set $endpoints "redis" (list (dict "name" "default" "url" .Values.redisUrl)) -}}
{{- end -}}
{{- $_ := set $config "endpoints" $endpoints -}}
{{ toYaml $config }}
{{- end -}}

{{/* "true" when a tenant may use Secrets of its namespace (then Secrets are watched). */}}
{{- define "crestline.teamSecrets" -}}
{{- range .Values.config.tenants }}{{ if .allowSecrets }}true{{ end }}{{ end -}}
{{- end -}}

{{/*
"true" when a tenant with allowSecrets matches the namespace (dict "root" . "namespace" NS),
as crestline.api.config.OperatorConfig.tenant matches it: tenants name namespaces by glob
pattern (fnmatch: *, ?, [abc], [!abc], [a-z]), never by label, so the chart can decide
for every watched namespace when it renders. The pattern becomes an anchored regular
expression; one that cannot (an unclosed or reversed [...]) fails the render rather than
grant something the operator would not use.
*/}}
{{- define "crestline.secretsAllowedIn" -}}
{{- $namespace := .namespace -}}
{{- range .root.Values.config.tenants }}
{{- if .allowSecrets }}
{{- range .namespaces }}
{{- $re := regexQuoteMeta . | replace "\\*" ".*" | replace "\\?" "." | replace "\\[!" "[^" | replace "\\[" "[" | replace "\\]" "]" -}}
{{- if not (regexMatch (printf "^(?:%s)$|^" $re) "") }}
{{- fail (printf "config.tenants: namespace pattern %q has an unclosed or reversed [...]: it matches no namespace, so the chart cannot tell where to grant Secrets; fix the pattern" .) }}
{{- end }}
{{- if regexMatch (printf "^(?:%s)$" $re) $namespace }}true{{ end }}
{{- end }}
{{- end }}
{{- end -}}
{{- end -}}

{{/*
The operator's permissions: exactly what the code calls (see operator/crestline/adapters/rbac.py,
which a test compares with these lists). "rules" go to the ClusterRole, or to one Role
per watched namespace; "clusterRules" (kopf's CRD discovery) are always cluster-wide,
"namespaceRules" too but only with watchNamespaces; "secretRules" go with "rules" where
a tenant allows Secrets; "leaseRules" (the shard Leases) only in the operator's own
namespace.
*/}}
{{- define "crestline.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end -}}

{{/* Only with watchNamespaces: given a list of namespaces, kopf lists and watches
Namespaces to start watching each one when it exists. */}}
{{- define "crestline.namespaceRules" -}}
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end -}}

{{/* Team Secrets, followed by label: cluster-wide in the ClusterRole when any tenant has
allowSecrets; with watchNamespaces, only in the Roles of the namespaces whose tenant has. */}}
{{- define "crestline.secretRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list", "watch"]
{{- end -}}

{{- define "crestline.leaseRules" -}}
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["list", "create", "update"]
{{- end -}}

{{- define "crestline.rules" -}}
- apiGroups: ["crestline.dev"]
  resources: ["performanceslos"]
  verbs: ["list", "watch"]
- apiGroups: ["crestline.dev"]
  resources: ["eventdays"]
  verbs: ["list", "watch", "get", "patch"]
- apiGroups: ["crestline.dev"]
  resources: ["performanceslos/status", "eventdays/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments/scale", "statefulsets/scale"]
  verbs: ["patch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list", "watch"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["list", "watch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["create", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs"]
  verbs: ["create"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors", "podmonitors"]
  verbs: ["get", "patch"]
{{- end -}}
