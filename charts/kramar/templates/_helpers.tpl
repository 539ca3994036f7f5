{{/*
Expand the name of the chart.
*/}}
{{- define "kramar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Create a default fully qualified app name.
We truncate at 63 chars because some Kubernetes name fields are limited to this (by the DNS naming spec).
If release name contains chart name it will be used as a full name.
*/}}
{{- define "kramar.fullname" -}}
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

{{/*
Create chart name and version as used by the chart label.
*/}}
{{- define "kramar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels
*/}}
{{- define "kramar.labels" -}}
helm.sh/chart: {{ include "kramar.chart" . }}
{{ include "kramar.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
Selector labels
*/}}
{{- define "kramar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kramar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The "and on () (...)" condition of KramarNoTelegramUpdates for monitoring.openingHours: the UTC
hours from startUtc (inclusive) to endUtc (exclusive). A start after the end means the shop is
open over midnight UTC.
*/}}
{{- define "kramar.openingHoursExpr" -}}
{{- $start := int .Values.monitoring.openingHours.startUtc }}
{{- $end := int .Values.monitoring.openingHours.endUtc }}
{{- if eq $start $end }}
{{- fail "monitoring.openingHours: startUtc and endUtc are equal; the shop would never be open" }}
{{- else if lt $start $end }}
{{- printf "hour() >= %d and hour() < %d" $start $end }}
{{- else }}
{{- printf "hour() >= %d or hour() < %d" $start $end }}
{{- end }}
{{- end }}
