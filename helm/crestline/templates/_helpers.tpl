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
The operator's permissions: exactly what the code calls (see operator/crestline/adapters/rbac.py,
which a test compares with these lists). "rules" go to the ClusterRole, or to one Role
per watched namespace; "clusterRules" (kopf's CRD discovery) are always cluster-wide.
*/}}
{{- define "crestline.clusterRules" -}}
- apiGroups: ["apiextensions.k8s.io"]
  resources: ["customresourcedefinitions"]
  verbs: ["list", "watch"]
{{- end -}}

{{- define "crestline.rules" -}}
- apiGroups: ["crestline.dev"]
  resources: ["performanceslos", "eventdays"]
  verbs: ["list", "watch", "patch"]
- apiGroups: ["crestline.dev"]
  resources: ["performanceslos/status", "eventdays/status"]
  verbs: ["patch"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets"]
  verbs: ["get"]
- apiGroups: ["apps"]
  resources: ["deployments/scale", "statefulsets/scale"]
  verbs: ["get", "patch"]
- apiGroups: ["autoscaling"]
  resources: ["horizontalpodautoscalers"]
  verbs: ["list"]
- apiGroups: ["keda.sh"]
  resources: ["scaledobjects"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
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
