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
The operator's permissions: exactly what the code calls (see operator/crestline/adapters/rbac.py,
which a test compares with these lists). "rules" go to the ClusterRole, or to one Role
per watched namespace; "clusterRules" (kopf's CRD discovery) are always cluster-wide;
"leaseRules" (the shard Leases) only in the operator's own namespace.
*/}}
{{- define "crestline.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
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
{{- if include "crestline.teamSecrets" . }}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["list", "watch"]
{{- end }}
{{- end -}}
