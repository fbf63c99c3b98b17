{{/*
The shop's services: values key → image name, listen port (PORT), Service port, protocol, profiler
handling (as upstream: "disable" sets DISABLE_PROFILER=1 unless the profiler is on, "enable" only sets
ENABLE_PROFILER=1 when it is on, "none" sets neither), and what each one calls (values keys).
Ports and names follow docs/CONVENTIONS.md; scripts/check-helm.sh checks them against it.
*/}}
{{- define "ob.specs" -}}
adService:
  image: adservice
  port: 9555
  servicePort: 9555
  protocol: grpc
  profiler: none
  calls: []
  grpcPaths: [/hipstershop.AdService/GetAds]
cartService:
  image: cartservice
  port: 7070
  servicePort: 7070
  protocol: grpc
  profiler: none
  calls: []
  grpcPaths: [/hipstershop.CartService/AddItem, /hipstershop.CartService/GetCart, /hipstershop.CartService/EmptyCart]
checkoutService:
  image: checkoutservice
  port: 5050
  servicePort: 5050
  protocol: grpc
  profiler: enable
  calls: [productCatalogService, shippingService, paymentService, emailService, currencyService, cartService]
  grpcPaths: [/hipstershop.CheckoutService/PlaceOrder]
currencyService:
  image: currencyservice
  port: 7000
  servicePort: 7000
  protocol: grpc
  profiler: disable
  calls: []
  grpcPaths: [/hipstershop.CurrencyService/Convert, /hipstershop.CurrencyService/GetSupportedCurrencies]
emailService:
  image: emailservice
  port: 8080
  servicePort: 5000
  protocol: grpc
  profiler: disable
  calls: []
  grpcPaths: [/hipstershop.EmailService/SendOrderConfirmation]
frontend:
  image: frontend
  port: 8080
  servicePort: 80
  protocol: http
  profiler: enable
  calls: [productCatalogService, currencyService, cartService, recommendationService, shippingService, checkoutService, adService]
  grpcPaths: []
paymentService:
  image: paymentservice
  port: 50051
  servicePort: 50051
  protocol: grpc
  profiler: disable
  calls: []
  grpcPaths: [/hipstershop.PaymentService/Charge]
productCatalogService:
  image: productcatalogservice
  port: 3550
  servicePort: 3550
  protocol: grpc
  profiler: disable
  calls: []
  grpcPaths: [/hipstershop.ProductCatalogService/GetProduct, /hipstershop.ProductCatalogService/ListProducts, /hipstershop.ProductCatalogService/SearchProducts]
recommendationService:
  image: recommendationservice
  port: 8080
  servicePort: 8080
  protocol: grpc
  profiler: disable
  calls: [productCatalogService]
  grpcPaths: [/hipstershop.RecommendationService/ListRecommendations]
shippingService:
  image: shippingservice
  port: 50051
  servicePort: 50051
  protocol: grpc
  profiler: disable
  calls: []
  grpcPaths: [/hipstershop.ShippingService/GetQuote, /hipstershop.ShippingService/ShipOrder]
{{- end -}}

{{/* Prometheus metrics port of every Rust service (CONVENTIONS.md: METRICS_PORT). */}}
{{- define "ob.metricsPort" -}}9464{{- end -}}

{{- define "ob.chart" -}}
{{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* Labels of every object. Call with (dict "root" $ "name" <app name>). */}}
{{- define "ob.labels" -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: onlineboutique
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "ob.chart" .root }}
{{- end -}}

{{/* Pod template labels: stable across chart versions (no version label), `app` is the selector (as upstream). */}}
{{- define "ob.podLabels" -}}
app: {{ .name }}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/part-of: onlineboutique
{{- end -}}

{{/* Image of a service. Call with (dict "root" $ "values" <service values> "image" <image name>). */}}
{{- define "ob.image" -}}
{{- $img := .values.image | default dict -}}
{{- $repo := $img.repository | default (printf "%s/%s" .root.Values.images.repository .image) -}}
{{- $tag := $img.tag | default .root.Values.images.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end -}}

{{/* ServiceAccount name a pod uses. Call with (dict "root" $ "name" <app name>). */}}
{{- define "ob.serviceAccountName" -}}
{{- if .root.Values.serviceAccounts.create -}}{{ .name }}{{- else -}}default{{- end -}}
{{- end -}}

{{/*
Pod securityContext. Fixes upstream's nesting bug: the seccomp profile is rendered inside the
securityContext whether or not `securityContext.enable` is on, so the YAML is valid in every combination.
*/}}
{{- define "ob.podSecurityContext" -}}
{{- $v := .Values -}}
{{- if or $v.securityContext.enable $v.seccompProfile.enable }}
securityContext:
  {{- if $v.securityContext.enable }}
  runAsNonRoot: true
  runAsUser: {{ $v.securityContext.runAsUser }}
  runAsGroup: {{ $v.securityContext.runAsGroup }}
  fsGroup: {{ $v.securityContext.fsGroup }}
  {{- end }}
  {{- if $v.seccompProfile.enable }}
  seccompProfile:
    type: {{ $v.seccompProfile.type }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Container securityContext (hardened when securityContext.enable). */}}
{{- define "ob.containerSecurityContext" -}}
{{- if .Values.securityContext.enable }}
securityContext:
  allowPrivilegeEscalation: false
  privileged: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop:
      - ALL
{{- end }}
{{- end -}}

{{/* Pod-level scheduling and lifecycle shared by every workload. Call with (dict "root" $ "name" <app name>). */}}
{{- define "ob.podCommon" -}}
serviceAccountName: {{ include "ob.serviceAccountName" . }}
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ add .root.Values.shutdownGraceSeconds 5 }}
{{- include "ob.podSecurityContext" .root }}
{{- with .root.Values.topologySpread }}
{{- if .enable }}
topologySpreadConstraints:
  - maxSkew: {{ .maxSkew }}
    topologyKey: {{ .topologyKey }}
    whenUnsatisfiable: {{ .whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        app: {{ $.name }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Environment every Rust service reads (crates/runtime), tracing and profiler compatibility vars. */}}
{{- define "ob.commonEnv" -}}
{{- $v := .root.Values -}}
- name: PORT
  value: {{ .spec.port | quote }}
- name: METRICS_PORT
  value: {{ include "ob.metricsPort" . | quote }}
- name: SHUTDOWN_GRACE_SECONDS
  value: {{ $v.shutdownGraceSeconds | quote }}
{{- with $v.logLevel }}
- name: RUST_LOG
  value: {{ . | quote }}
{{- end }}
{{- if $v.opentelemetryCollector.create }}
- name: COLLECTOR_SERVICE_ADDR
  value: "{{ $v.opentelemetryCollector.name }}:4317"
- name: OTEL_SERVICE_NAME
  value: {{ .name | quote }}
{{- end }}
{{- if $v.googleCloudOperations.tracing }}
- name: ENABLE_TRACING
  value: "1"
{{- end }}
{{- if and $v.googleCloudOperations.profiler (eq .spec.profiler "enable") }}
- name: ENABLE_PROFILER
  value: "1"
{{- else if and (not $v.googleCloudOperations.profiler) (eq .spec.profiler "disable") }}
- name: DISABLE_PROFILER
  value: "1"
{{- end }}
{{- end -}}

{{/* Resources block. */}}
{{- define "ob.resources" -}}
resources:
  {{- toYaml . | nindent 2 }}
{{- end -}}

{{/* Common metadata: name, namespace, labels. Call with (dict "root" $ "name" <object name> "app" <app name>). */}}
{{- define "ob.metadata" -}}
metadata:
  name: {{ .name }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "ob.labels" (dict "root" .root "name" (.app | default .name)) | nindent 4 }}
{{- end -}}

{{/* Sanity checks of combinations the schema cannot express. */}}
{{- define "ob.validate" -}}
{{- $v := .Values -}}
{{- if and $v.googleCloudOperations.tracing (not $v.opentelemetryCollector.create) -}}
{{- fail "googleCloudOperations.tracing needs opentelemetryCollector.create=true (our services require COLLECTOR_SERVICE_ADDR when tracing is on)" -}}
{{- end -}}
{{- if and $v.frontend.httpRoute.create (not $v.frontend.httpRoute.parentRefs) -}}
{{- fail "frontend.httpRoute.create needs at least one frontend.httpRoute.parentRefs entry" -}}
{{- end -}}
{{- if and $v.cartDatabase.externalRedisTlsOrigination.enable (not (and $v.cartDatabase.externalRedisTlsOrigination.endpointAddress $v.cartDatabase.externalRedisTlsOrigination.endpointPort $v.cartDatabase.externalRedisTlsOrigination.certificate)) -}}
{{- fail "cartDatabase.externalRedisTlsOrigination.enable needs endpointAddress, endpointPort and certificate" -}}
{{- end -}}
{{- end -}}

{{/*
checkov skips of our service Deployments, each with its reason (checkov reads `checkov.io/skip<N>`
annotations on the resource). Call with (dict "root" $ "values" <service values> "extra" <list of skips>).
The `latest` skip is only rendered when the image tag resolves to `latest`.
*/}}
{{- define "ob.checkovSkips" -}}
{{- $img := .values.image | default dict -}}
{{- $tag := $img.tag | default .root.Values.images.tag | default .root.Chart.AppVersion -}}
{{- $skips := list
  "CKV_K8S_43=Image digests are pinned at deploy time by Argo CD Image Updater (digest strategy), not in the chart."
  "CKV_K8S_15=imagePullPolicy is left to the Kubernetes default (Always for latest, IfNotPresent for immutable sha tags)." -}}
{{- if or (eq $tag "latest") (hasPrefix "latest@" $tag) -}}
{{- $skips = append $skips "CKV_K8S_14=The seed deploys the mutable latest tag on purpose; Argo CD Image Updater tracks its digest. Pin images.tag to a sha tag to pass this check." -}}
{{- end -}}
{{- $skips = concat $skips (.extra | default list) -}}
{{- range $i, $s := $skips }}
checkov.io/skip{{ add1 $i }}: {{ $s | quote }}
{{- end }}
{{- end -}}
