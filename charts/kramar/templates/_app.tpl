{{/*
The web and the worker Deployment: the same pod, `kramar serve`, with KRAMAR_TELEGRAM_WORKERS 0 on
web (acknowledge only) and worker.telegramWorkers on workers.
(dict "ctx" $ "component" "web" "values" .Values.web "workers" 0)
*/}}
{{- define "kramar.appDeployment" -}}
{{- $ := .ctx }}
{{- $v := .values }}
{{- $selector := dict "ctx" $ "component" .component }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "kramar.fullname" $ }}-{{ .component }}
  labels:
    {{- include "kramar.componentLabels" $selector | nindent 4 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "kramar.componentSelector" $selector | nindent 6 }}
  template:
    metadata:
      annotations:
        {{- include "kramar.checksums" $ | nindent 8 }}
        {{- with $.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      labels:
        {{- include "kramar.componentLabels" $selector | nindent 8 }}
        {{- include "kramar.clientLabels" $ | nindent 8 }}
        {{- with $.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "kramar.serviceAccountName" $ }}
      automountServiceAccountToken: false
      {{- with $.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $.Values.podSecurityContext | nindent 8 }}
      # uvicorn finishes in-flight requests; the inbox lease covers an update cut off mid-way.
      terminationGracePeriodSeconds: 30
      initContainers:
        {{- include "kramar.waitForSchema" $ | nindent 8 }}
      containers:
        - name: kramar
          image: {{ include "kramar.image" $ }}
          imagePullPolicy: {{ $.Values.image.pullPolicy }}
          command: ["kramar"]
          args: ["serve", "--host", "0.0.0.0", "--port", "8000"]
          ports:
            - name: http
              containerPort: 8000
              protocol: TCP
          env:
            {{- include "kramar.env" $ | nindent 12 }}
            - name: KRAMAR_TELEGRAM_WORKERS
              value: {{ .workers | quote }}
            {{- if $.Values.operator.enabled }}
            # The operator re-embeds after catalog writes; every replica doing it too is waste.
            - name: KRAMAR_RAG_SYNC
              value: operator
            {{- end }}
          envFrom:
            {{- include "kramar.envFrom" $ | nindent 12 }}
          startupProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet:
              path: /health/live
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet:
              path: /health/ready
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 3
          securityContext:
            {{- toYaml $.Values.securityContext | nindent 12 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            {{- include "kramar.volumeMounts" $ | nindent 12 }}
      volumes:
        {{- include "kramar.volumes" $ | nindent 8 }}
      topologySpreadConstraints:
        {{- if $v.topologySpreadConstraints }}
        {{- toYaml $v.topologySpreadConstraints | nindent 8 }}
        {{- else }}
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "kramar.componentSelector" $selector | nindent 14 }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}

{{/* HPA and PDB of one Deployment: (dict "ctx" $ "component" "web" "values" .Values.web) */}}
{{- define "kramar.scaling" -}}
{{- $ := .ctx }}
{{- $v := .values }}
{{- $selector := dict "ctx" $ "component" .component }}
{{- if $v.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "kramar.fullname" $ }}-{{ .component }}
  labels:
    {{- include "kramar.componentLabels" $selector | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "kramar.fullname" $ }}-{{ .component }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- /* One replica with minAvailable 1 would block every node drain: no PDB then. */}}
{{- if and $v.pdb.enabled (or $v.autoscaling.enabled (gt (int $v.replicas) 1)) }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "kramar.fullname" $ }}-{{ .component }}
  labels:
    {{- include "kramar.componentLabels" $selector | nindent 4 }}
spec:
  minAvailable: {{ $v.pdb.minAvailable }}
  selector:
    matchLabels:
      {{- include "kramar.componentSelector" $selector | nindent 6 }}
{{- end }}
{{- end }}
