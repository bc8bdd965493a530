{{/* Names, labels and the pieces every component's pod shares. */}}

{{/* The chart's name, or nameOverride. */}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "<release>-<chart>" (just the release when it already holds the chart name), or fullnameOverride.
     Component objects append "-router" etc., so it is cut to 52 characters. */}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A component's object name: (dict "ctx" $ "component" "router") → "<fullname>-router". */}}
{{- define "sluice.componentName" -}}
{{- printf "%s-%s" (include "sluice.fullname" .ctx) .component -}}
{{- end -}}

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels on every object; (dict "ctx" $ "component" "router"), component optional. */}}
{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" .ctx }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: sluice
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The labels a component's Deployment selects its pods by. */}}
{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- if .component }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
{{- end -}}

{{/* The image reference: registry/repository, then @digest or :tag (default: appVersion). */}}
{{- define "sluice.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry $repo -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the token and the hop secret. */}}
{{- define "sluice.secretName" -}}
{{- default (include "sluice.fullname" .) .Values.auth.existingSecret -}}
{{- end -}}

{{/* The autoscaler Service's host names, short to fully qualified. */}}
{{- define "sluice.autoscalerHosts" -}}
{{- $name := include "sluice.componentName" (dict "ctx" . "component" "autoscaler") -}}
{{- $ns := .Release.Namespace -}}
{{- printf "%s,%s.%s,%s.%s.svc,%s.%s.svc.%s" $name $name $ns $name $ns $name $ns .Values.clusterDomain -}}
{{- end -}}

{{/* AUTOSCALER_URL for router and activator. */}}
{{- define "sluice.autoscalerUrl" -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "sluice.componentName" (dict "ctx" . "component" "autoscaler")) .Release.Namespace .Values.clusterDomain .Values.autoscaler.ports.http -}}
{{- end -}}

{{/* ACTIVATOR_URL for the router. */}}
{{- define "sluice.activatorUrl" -}}
{{- printf "http://%s.%s.svc.%s:%v" (include "sluice.componentName" (dict "ctx" . "component" "activator")) .Release.Namespace .Values.clusterDomain .Values.activator.ports.http -}}
{{- end -}}

{{/* The Lease the autoscaler replicas elect a leader on. */}}
{{- define "sluice.leaseName" -}}
{{- default (include "sluice.componentName" (dict "ctx" . "component" "autoscaler")) .Values.autoscaler.leaderElection.leaseName -}}
{{- end -}}

{{/* Grace period: the component's drain timeout plus 15 s for the last responses and exit. */}}
{{- define "sluice.gracePeriod" -}}
{{- add (int (ceil .)) 15 -}}
{{- end -}}

{{/* Env shared by every component: SLUICE_TOKEN and SLUICE_HOP_SECRET from the Secret, the log
     level, the pod's identity, and the OTel exporter settings; (dict "ctx" $ "component" "router"). */}}
{{- define "sluice.commonEnv" -}}
{{- $v := .ctx.Values -}}
- name: SLUICE_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "sluice.secretName" .ctx }}
      key: token
- name: SLUICE_HOP_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "sluice.secretName" .ctx }}
      key: hop-secret
- name: LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
{{- with $v.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- with $v.otel.tracesEndpoint }}
- name: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $v.otel.protocol | quote }}
- name: OTEL_TRACES_SAMPLER
  value: {{ $v.otel.sampler | quote }}
{{- if ne (toString $v.otel.samplerArg) "" }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $v.otel.samplerArg | toString | quote }}
{{- end }}
{{- $attributes := printf "service.namespace=%s,k8s.namespace.name=%s" .ctx.Release.Namespace .ctx.Release.Namespace }}
{{- with $v.otel.resourceAttributes }}
{{- $attributes = printf "%s,%s" $attributes . }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "%s,k8s.pod.name=$(POD_NAME)" $attributes | quote }}
{{- if $v.otel.headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ $v.otel.headersSecret.name }}
      key: {{ $v.otel.headersSecret.key }}
{{- end }}
{{- end -}}

{{/* The pod-level part every component's pod spec shares; (dict "ctx" $ "component" "router" "values" .Values.router). */}}
{{- define "sluice.podCommon" -}}
{{- $v := .ctx.Values -}}
serviceAccountName: {{ include "sluice.componentName" (dict "ctx" .ctx "component" .component) }}
automountServiceAccountToken: {{ has .component (list "autoscaler" "eventing") }}
securityContext:
  {{- toYaml $v.podSecurityContext | nindent 2 }}
{{- with $v.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .values.affinity }}
affinity:
  {{- toYaml .values.affinity | nindent 2 }}
{{- else if ne .component "autoscaler" }}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "sluice.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 14 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Container-level settings every component shares: image, command, security context, probes on
     the admin port; (dict "ctx" $ "component" "router" "values" .Values.router "probePort" "admin"). */}}
{{- define "sluice.containerCommon" -}}
{{- $v := .ctx.Values -}}
image: {{ include "sluice.image" .ctx }}
imagePullPolicy: {{ $v.image.pullPolicy }}
command: [{{ .component | quote }}]
securityContext:
  {{- toYaml $v.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml .values.resources | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .probePort }}
  periodSeconds: {{ .values.probes.periodSeconds }}
  timeoutSeconds: {{ .values.probes.timeoutSeconds }}
  failureThreshold: {{ .values.probes.livenessFailureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .probePort }}
  periodSeconds: {{ .values.probes.periodSeconds }}
  timeoutSeconds: {{ .values.probes.timeoutSeconds }}
  failureThreshold: {{ .values.probes.readinessFailureThreshold }}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .probePort }}
  periodSeconds: 1
  timeoutSeconds: {{ .values.probes.timeoutSeconds }}
  failureThreshold: 60
{{- end -}}

{{- /* prometheus.io/* pod annotations for a component's /metrics on `port`
     (prometheusAnnotations.enabled). */ -}}
{{- define "sluice.prometheusAnnotations" -}}
{{- if .ctx.Values.prometheusAnnotations.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end -}}
