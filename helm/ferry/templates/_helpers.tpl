{{/*
Chart name, overridable with nameOverride.
*/}}
{{- define "ferry.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified name used as the prefix of every resource: <release>-<chart name>,
or just the release name when it already contains the chart name.
*/}}
{{- define "ferry.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "ferry.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Selector labels. Call with (dict "ctx" $ "component" "worker"); component is optional.
*/}}
{{- define "ferry.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ferry.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/*
Standard labels. Call with (dict "ctx" $ "component" "control-plane"); component is optional.
*/}}
{{- define "ferry.labels" -}}
helm.sh/chart: {{ include "ferry.chart" .ctx }}
{{ include "ferry.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ferry
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
{{- end }}

{{- define "ferry.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{- define "ferry.configMapName" -}}
{{- printf "%s-config" (include "ferry.fullname" .) }}
{{- end }}

{{- define "ferry.secretName" -}}
{{- printf "%s-secret" (include "ferry.fullname" .) }}
{{- end }}

{{/*
Secret holding the database credentials: postgresql.existingSecret or the chart Secret.
*/}}
{{- define "ferry.databaseSecretName" -}}
{{- .Values.postgresql.existingSecret | default (include "ferry.secretName" .) }}
{{- end }}

{{/*
In-cluster URL of the control-plane Service.
*/}}
{{- define "ferry.controlPlaneUrl" -}}
{{- printf "%s://%s.%s.svc:%v" (ternary "https" "http" .Values.controlChannelTls.enabled) (include "ferry.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}

{{/*
The workers' control-plane URLs: first the headless Service, which resolves to every ready
replica's pod (a worker moves to a live replica at once when one dies, instead of retrying a
Service address that may still route to the dead pod), then the Service itself.
*/}}
{{- define "ferry.workerControlPlaneUrls" -}}
{{- printf "%s://%s-replicas.%s.svc:8080,%s" (ternary "https" "http" .Values.controlChannelTls.enabled) (include "ferry.fullname" .) .Release.Namespace (include "ferry.controlPlaneUrl" .) }}
{{- end }}

{{/*
Secret with the workers' data-plane certificates (tls.crt, tls.key, ca.crt).
*/}}
{{- define "ferry.dataPlaneTlsSecretName" -}}
{{- $tls := .Values.worker.dataPlaneTls }}
{{- if eq $tls.source "existingSecret" }}
{{- required "worker.dataPlaneTls.secretName is required with worker.dataPlaneTls.source=existingSecret" $tls.secretName }}
{{- else }}
{{- $tls.secretName | default (printf "%s-data-plane-tls" (include "ferry.fullname" .)) }}
{{- end }}
{{- end }}

{{/*
Control-channel TLS: the names the two sides' certificates carry (each side checks the other's),
and the Secrets holding them (tls.crt, tls.key, ca.crt, as cert-manager writes them).
*/}}
{{- define "ferry.controlPlaneCertName" -}}
{{- printf "%s-control-plane" (include "ferry.fullname" .) }}
{{- end }}

{{- define "ferry.workerCertName" -}}
{{- printf "%s-worker" (include "ferry.fullname" .) }}
{{- end }}

{{- define "ferry.controlPlaneTlsSecretName" -}}
{{- $tls := .Values.controlChannelTls }}
{{- if eq $tls.source "existingSecret" }}
{{- required "controlChannelTls.controlPlaneSecretName is required with controlChannelTls.source=existingSecret" $tls.controlPlaneSecretName }}
{{- else }}
{{- $tls.controlPlaneSecretName | default (printf "%s-control-plane-tls" (include "ferry.fullname" .)) }}
{{- end }}
{{- end }}

{{- define "ferry.workerControlTlsSecretName" -}}
{{- $tls := .Values.controlChannelTls }}
{{- if eq $tls.source "existingSecret" }}
{{- required "controlChannelTls.workerSecretName is required with controlChannelTls.source=existingSecret" $tls.workerSecretName }}
{{- else }}
{{- $tls.workerSecretName | default (printf "%s-worker-control-tls" (include "ferry.fullname" .)) }}
{{- end }}
{{- end }}

{{/*
HTTP probe with the control plane's scheme (HTTPS under control-channel TLS).
*/}}
{{- define "ferry.probe" -}}
{{- $probe := deepCopy .probe }}
{{- if and .ctx.Values.controlChannelTls.enabled $probe.httpGet }}
{{- $_ := set $probe.httpGet "scheme" "HTTPS" }}
{{- end }}
{{- toYaml $probe }}
{{- end }}
