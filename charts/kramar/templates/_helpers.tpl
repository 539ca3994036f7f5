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
Labels of one component (web, worker, migrate, operator, postgresql, redis, test):
(dict "ctx" $ "component" "web").
*/}}
{{- define "kramar.componentLabels" -}}
{{ include "kramar.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "kramar.componentSelector" -}}
{{ include "kramar.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The kramar image, by digest when one is given. */}}
{{- define "kramar.image" -}}
{{- include "kramar.imageRef" (dict "image" .Values.image "tag" .Chart.AppVersion) }}
{{- end }}

{{/* repository:tag[@digest] of (dict "image" .Values.x.image "tag" default-tag). */}}
{{- define "kramar.imageRef" -}}
{{- $tag := .image.tag | default .tag | toString }}
{{- if .image.digest }}
{{- printf "%s:%s@%s" .image.repository $tag .image.digest }}
{{- else }}
{{- printf "%s:%s" .image.repository $tag }}
{{- end }}
{{- end }}

{{- define "kramar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kramar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kramar.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "kramar.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kramar.redis.fullname" -}}
{{- printf "%s-redis" (include "kramar.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kramar.postgresql.secretName" -}}
{{- .Values.postgresql.existingSecret | default (include "kramar.postgresql.fullname" .) }}
{{- end }}

{{- define "kramar.redis.secretName" -}}
{{- .Values.redis.existingSecret | default (include "kramar.redis.fullname" .) }}
{{- end }}

{{/*
A value kept across upgrades: the one in the live Secret (lookup), else the given one, else a new
random one. lookup finds nothing under `helm template` and --dry-run, so those show a new value.
(dict "ctx" $ "secret" NAME "key" KEY "value" GIVEN "length" N)
*/}}
{{- define "kramar.keptSecretValue" -}}
{{- $live := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if and $live $live.data (hasKey $live.data .key) }}
{{- index $live.data .key | b64dec }}
{{- else if .value }}
{{- .value }}
{{- else }}
{{- randAlphaNum (int .length) }}
{{- end }}
{{- end }}

{{/* Whether the chart renders its own app Secret (tokens, external URLs). */}}
{{- define "kramar.appSecret.enabled" -}}
{{- if or (not .Values.secrets.existingSecret) (and (not .Values.postgresql.enabled) .Values.externalDatabase.url (not .Values.externalDatabase.existingSecret)) (and (not .Values.redis.enabled) .Values.externalRedis.url (not .Values.externalRedis.existingSecret)) }}true{{- end }}
{{- end }}

{{/* The checks every render makes before anything is written. */}}
{{- define "kramar.validate" -}}
{{- /* Opening hours fail here too, not only where the PrometheusRule renders. */}}
{{- $_ := include "kramar.openingHoursExpr" . }}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.url) (not .Values.externalDatabase.existingSecret) }}
{{- fail "kramar needs a database: postgresql.enabled=true, or externalDatabase.url or externalDatabase.existingSecret" }}
{{- end }}
{{- if and .Values.secrets.telegramBotToken (not .Values.config.publicUrl) }}
{{- fail "secrets.telegramBotToken needs config.publicUrl (the webhook's HTTPS base): without it every pod would long-poll Telegram" }}
{{- end }}
{{- end }}

{{/*
env of every kramar container: the database and Redis URLs by source. The bundled databases'
passwords come from their Secrets and are put into the URL by Kubernetes ($(VAR) expansion), so no
password is ever written into a pod spec.
*/}}
{{- define "kramar.env" -}}
{{- $db := include "kramar.databaseEnv" . | trim }}
{{- $redis := include "kramar.redisEnv" . | trim }}
{{- $db }}
{{- if and $db $redis }}{{ "\n" }}{{ end }}
{{- $redis }}
{{- end }}

{{- define "kramar.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kramar.postgresql.secretName" . }}
      key: postgres-password
- name: KRAMAR_DATABASE_URL
  value: {{ printf "postgresql+asyncpg://%s:$(DATABASE_PASSWORD)@%s:5432/%s" .Values.postgresql.username (include "kramar.postgresql.fullname" .) .Values.postgresql.database | quote }}
{{- else if .Values.externalDatabase.existingSecret }}
- name: KRAMAR_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalDatabase.existingSecret }}
      key: {{ .Values.externalDatabase.existingSecretKey }}
{{- end }}
{{- end }}

{{- define "kramar.redisEnv" -}}
{{- if .Values.redis.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "kramar.redis.secretName" . }}
      key: redis-password
- name: KRAMAR_REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "kramar.redis.fullname" .) | quote }}
{{- else if .Values.externalRedis.existingSecret }}
- name: KRAMAR_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalRedis.existingSecret }}
      key: {{ .Values.externalRedis.existingSecretKey }}
{{- end }}
{{- end }}

{{/* envFrom of every kramar container: the settings ConfigMap and the secrets. */}}
{{- define "kramar.envFrom" -}}
- configMapRef:
    name: {{ include "kramar.fullname" . }}
{{- with .Values.secrets.existingSecret }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- if include "kramar.appSecret.enabled" . }}
- secretRef:
    name: {{ include "kramar.fullname" . }}
{{- end }}
{{- end }}

{{/* Pod labels that the NetworkPolicies of the bundled databases let in. */}}
{{- define "kramar.clientLabels" -}}
kramar.io/database-client: "true"
{{- end }}

{{/* The annotations that roll the pods when the settings or the secrets change. */}}
{{- define "kramar.checksums" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}

{{/* The emptyDir volumes behind the read-only root filesystem. */}}
{{- define "kramar.volumes" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 64Mi
- name: data
  emptyDir:
    sizeLimit: 256Mi
{{- end }}

{{- define "kramar.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /data
{{- end }}

{{/* The init container that waits until the database is up and migrated. */}}
{{- define "kramar.waitForSchema" -}}
{{- include "kramar.waitForSchemaWith" (dict "ctx" . "env" (include "kramar.env" .) "envFrom" (include "kramar.envFrom" .)) }}
{{- end }}

{{/* The same with the given env and envFrom (YAML lists): (dict "ctx" $ "env" ... "envFrom" ...) */}}
{{- define "kramar.waitForSchemaWith" -}}
{{- $ := .ctx -}}
- name: wait-for-schema
  image: {{ include "kramar.image" $ }}
  imagePullPolicy: {{ $.Values.image.pullPolicy }}
  command: ["kramar"]
  args: ["migrate", "--check", "--wait", {{ $.Values.migrations.schemaWaitSeconds | quote }}]
  env:
    {{- .env | trim | nindent 4 }}
  envFrom:
    {{- .envFrom | trim | nindent 4 }}
  securityContext:
    {{- toYaml $.Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml $.Values.migrations.resources | nindent 4 }}
  volumeMounts:
    {{- include "kramar.volumeMounts" $ | nindent 4 }}
{{- end }}

{{- define "kramar.operator.fullname" -}}
{{- printf "%s-operator" (include "kramar.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* envFrom of the operator: the app's settings ConfigMap (the same embedder, limits, log format). */}}
{{- define "kramar.operator.envFrom" -}}
- configMapRef:
    name: {{ include "kramar.fullname" . }}
{{- end }}

{{/*
env of the operator's containers: only the secrets it uses, each from where the app gets it: the
database URL and the embedding endpoint's key. The bot token, the model keys and the admin token
stay out of the one pod that holds a Kubernetes token.
*/}}
{{- define "kramar.operator.secretEnv" -}}
{{- $db := include "kramar.databaseEnv" . | trim }}
{{- if $db }}
{{- $db }}
{{- else }}
{{- /* externalDatabase.url: kept in the chart's Secret. */}}
- name: KRAMAR_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "kramar.fullname" . }}
      key: KRAMAR_DATABASE_URL
{{- end }}
{{- if .Values.secrets.existingSecret }}
- name: KRAMAR_RAG_OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secrets.existingSecret }}
      key: KRAMAR_RAG_OPENAI_API_KEY
      # Only an embedder=openai installation has it.
      optional: true
{{- else if .Values.secrets.ragOpenaiApiKey }}
- name: KRAMAR_RAG_OPENAI_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "kramar.fullname" . }}
      key: KRAMAR_RAG_OPENAI_API_KEY
{{- end }}
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
