{{/* The name every object of a release shares. */}}
{{- define "invalidator.fullname" -}}
{{- printf "%s-invalidator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the release's pods; never change them after the first install. */}}
{{- define "invalidator.selectorLabels" -}}
app.kubernetes.io/name: invalidator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "invalidator.labels" -}}
{{ include "invalidator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
