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

{{/* The secret and TLS settings as files: `<NAME>_FILE` and `<STORE>_TLS_*_FILE` variables. */}}
{{- define "invalidator.fileEnv" -}}
{{- $root := . -}}
{{- if .Values.existingSecret }}
{{- range .Values.secretKeys }}
- { name: {{ printf "%s_FILE" . }}, value: {{ printf "%s/%s" $root.Values.secretsMountPath . | quote }} }
{{- end }}
{{- end }}
{{- if .Values.tls.existingSecret }}
{{- range $store := list "kafka" "redis" "mysql" }}
{{- $tls := index $root.Values.tls $store }}
{{- if $tls.enabled }}
{{- $prefix := upper $store }}
- { name: {{ $prefix }}_TLS, value: "true" }
{{- if $tls.caKey }}
- { name: {{ $prefix }}_TLS_CA_FILE, value: {{ printf "%s/%s" $root.Values.tls.mountPath $tls.caKey | quote }} }
{{- end }}
{{- if $tls.certKey }}
- { name: {{ $prefix }}_TLS_CERT_FILE, value: {{ printf "%s/%s" $root.Values.tls.mountPath $tls.certKey | quote }} }
- { name: {{ $prefix }}_TLS_KEY_FILE, value: {{ printf "%s/%s" $root.Values.tls.mountPath $tls.keyKey | quote }} }
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Modes in decimal (288 = 0440, 292 = 0444): YAML 1.1 and 1.2 read a leading 0 differently. */}}
{{/* Volume mounts of the secrets, the TLS files and the only writable directory, /tmp. */}}
{{- define "invalidator.volumeMounts" -}}
- { name: tmp, mountPath: /tmp }
{{- if .Values.existingSecret }}
- { name: secrets, mountPath: {{ .Values.secretsMountPath }}, readOnly: true }
{{- end }}
{{- if .Values.tls.existingSecret }}
- { name: tls, mountPath: {{ .Values.tls.mountPath }}, readOnly: true }
{{- end }}
{{- end -}}

{{- define "invalidator.volumes" -}}
- name: tmp
  emptyDir: { sizeLimit: 64Mi }
{{- if .Values.existingSecret }}
- name: secrets
  secret: { secretName: {{ .Values.existingSecret }}, defaultMode: 288 }
{{- end }}
{{- if .Values.tls.existingSecret }}
- name: tls
  secret: { secretName: {{ .Values.tls.existingSecret }}, defaultMode: 292 }
{{- end }}
{{- end -}}

{{/* The CDC mapping as JSON: given as a string, as it is; as a YAML object, rendered. */}}
{{- define "invalidator.cdcMapping" -}}
{{- if kindIs "string" .Values.cdc.mapping -}}
{{ .Values.cdc.mapping }}
{{- else -}}
{{ toPrettyJson .Values.cdc.mapping }}
{{- end -}}
{{- end -}}
