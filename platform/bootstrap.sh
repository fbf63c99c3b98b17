#!/usr/bin/env bash
# Installs the platform of the shop on an EKS cluster, in dependency order, with the chart versions pinned
# in versions.env. Idempotent: every step is `helm upgrade --install` or a server-side apply, so re-running
# it converges the cluster to this directory (and upgrades add-ons after a pin is bumped).
# The platform itself stays outside Argo CD; the last step hands the shop to Argo CD.
#
# Needs kubectl (current context = the target cluster) and helm v3.18+/v4. Environment:
#   CLUSTER_NAME, AWS_REGION, VPC_ID   required: the EKS cluster (AWS Load Balancer Controller, ExternalDNS)
#   SLACK_WEBHOOK_URL                  optional: Slack incoming webhook for Alertmanager (Secret monitoring/alertmanager-slack)
#   IMAGE_UPDATER_GITHUB_APP_ID, IMAGE_UPDATER_GITHUB_APP_INSTALLATION_ID, IMAGE_UPDATER_GITHUB_APP_PRIVATE_KEY_FILE
#                                      optional: GitHub App with contents:write on the CD repository only, for the
#                                      Image Updater's Git write-back (Secret argocd/argocd-image-updater-git)
#   ALLOW_EXAMPLE_VALUES=1             run although the example domain/certificate/CIDR are still in the manifests
# Secrets are read from the environment or files and piped to kubectl: they never appear on a command line.
# Prerequisites made with the cluster (Terraform/eksctl, not here): EKS Pod Identity associations for
# kube-system/aws-load-balancer-controller and external-dns/external-dns, the Route 53 zone, the ACM
# wildcard certificate, subnets tagged for load balancers.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=versions.env
. "$HERE/versions.env"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

: "${CLUSTER_NAME:?set CLUSTER_NAME (the EKS cluster name)}"
: "${AWS_REGION:?set AWS_REGION}"
: "${VPC_ID:?set VPC_ID}"
command -v kubectl >/dev/null || die "kubectl not found"
command -v helm >/dev/null || die "helm not found"

# The manifests ship with example values; refuse to publish them to a real account.
if [ "${ALLOW_EXAMPLE_VALUES:-0}" != "1" ]; then
  if grep -rlE '111122223333|203\.0\.113\.|boutique\.example\.com' "$HERE" --include='*.yaml' >/dev/null; then
    die "example values (boutique.example.com, account 111122223333, 203.0.113.0/24) are still in $HERE; see README.md 'Site values'"
  fi
fi

apply() { kubectl apply --server-side --force-conflicts --field-manager=platform-bootstrap "$@"; }

# chart RELEASE NAMESPACE REPO_URL CHART VERSION VALUES_FILE [helm args...]
chart() {
  local release="$1" ns="$2" repo="$3" name="$4" version="$5" values="$6"
  shift 6
  log "helm: $release ($name $version) in $ns"
  helm upgrade --install "$release" "$name" --repo "$repo" --version "$version" \
    --namespace "$ns" --values "$HERE/addons/$values" --timeout 15m "$@"
}

# secret_from_stdin NAMESPACE NAME KEY: a generic Secret whose KEY is read from stdin.
secret_from_stdin() {
  kubectl create secret generic "$2" --namespace "$1" --from-file="$3=/dev/stdin" \
    --dry-run=client --output=yaml | apply --filename=-
}

log "1/10 namespaces"
apply --filename="$HERE/namespaces.yaml"

log "2/10 Gateway API CRDs ($GATEWAY_API_VERSION) and the AWS Load Balancer Controller's CRDs ($AWS_LBC_APP_VERSION)"
# Before the controller: it enables its Gateway API controllers only if these exist when it starts.
apply --filename="https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/standard-install.yaml"
apply --filename="https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/$AWS_LBC_APP_VERSION/config/crd/gateway/gateway-crds.yaml"
apply --filename="https://raw.githubusercontent.com/kubernetes-sigs/aws-load-balancer-controller/$AWS_LBC_APP_VERSION/helm/aws-load-balancer-controller/crds/crds.yaml"

log "3/10 AWS Load Balancer Controller"
chart aws-load-balancer-controller kube-system https://aws.github.io/eks-charts aws-load-balancer-controller \
  "$AWS_LBC_CHART_VERSION" aws-load-balancer-controller.values.yaml --wait \
  --set-string clusterName="$CLUSTER_NAME" --set-string region="$AWS_REGION" --set-string vpcId="$VPC_ID"

log "4/10 kube-prometheus-stack (Prometheus Operator CRDs, Prometheus, Alertmanager, Grafana)"
if [ -n "${SLACK_WEBHOOK_URL:-}" ]; then
  printf '%s' "$SLACK_WEBHOOK_URL" | secret_from_stdin monitoring alertmanager-slack webhook-url
else
  log "SLACK_WEBHOOK_URL unset: keeping Secret monitoring/alertmanager-slack as it is (alerts are not sent without it)"
fi
# No --wait: Alertmanager needs the AlertmanagerConfig applied right after the chart installs its CRDs.
chart kube-prometheus-stack monitoring https://prometheus-community.github.io/helm-charts kube-prometheus-stack \
  "$KUBE_PROMETHEUS_STACK_CHART_VERSION" kube-prometheus-stack.values.yaml
apply --filename="$HERE/monitoring/alertmanagerconfig.yaml"
kubectl --namespace monitoring rollout status deployment/kube-prometheus-stack-operator --timeout=10m
kubectl --namespace monitoring rollout status deployment/kube-prometheus-stack-grafana --timeout=10m

log "5/10 metrics-server"
chart metrics-server kube-system https://kubernetes-sigs.github.io/metrics-server/ metrics-server \
  "$METRICS_SERVER_CHART_VERSION" metrics-server.values.yaml --wait

log "6/10 ExternalDNS"
chart external-dns external-dns https://kubernetes-sigs.github.io/external-dns/ external-dns \
  "$EXTERNAL_DNS_CHART_VERSION" external-dns.values.yaml --wait \
  --set-string 'env[0].name=AWS_DEFAULT_REGION' --set-string "env[0].value=$AWS_REGION"

log "7/10 ECK operator, Elasticsearch, Kibana, Filebeat ($ELASTIC_STACK_VERSION)"
chart elastic-operator elastic-system https://helm.elastic.co eck-operator \
  "$ECK_OPERATOR_CHART_VERSION" eck-operator.values.yaml --wait
apply --filename="$HERE/logging/elasticsearch.yaml" --filename="$HERE/logging/kibana.yaml" --filename="$HERE/logging/filebeat.yaml"

log "8/10 Argo CD and Argo CD Image Updater"
chart argocd argocd https://argoproj.github.io/argo-helm argo-cd "$ARGO_CD_CHART_VERSION" argo-cd.values.yaml --wait
if [ -n "${IMAGE_UPDATER_GITHUB_APP_PRIVATE_KEY_FILE:-}" ]; then
  : "${IMAGE_UPDATER_GITHUB_APP_ID:?set IMAGE_UPDATER_GITHUB_APP_ID}"
  : "${IMAGE_UPDATER_GITHUB_APP_INSTALLATION_ID:?set IMAGE_UPDATER_GITHUB_APP_INSTALLATION_ID}"
  kubectl create secret generic argocd-image-updater-git --namespace argocd \
    --from-literal=githubAppID="$IMAGE_UPDATER_GITHUB_APP_ID" \
    --from-literal=githubAppInstallationID="$IMAGE_UPDATER_GITHUB_APP_INSTALLATION_ID" \
    --from-file=githubAppPrivateKey="$IMAGE_UPDATER_GITHUB_APP_PRIVATE_KEY_FILE" \
    --dry-run=client --output=yaml | apply --filename=-
else
  log "IMAGE_UPDATER_GITHUB_APP_* unset: keeping Secret argocd/argocd-image-updater-git as it is (no write-back without it)"
fi
chart argocd-image-updater argocd https://argoproj.github.io/argo-helm argocd-image-updater \
  "$ARGOCD_IMAGE_UPDATER_CHART_VERSION" argocd-image-updater.values.yaml --wait

log "9/10 Gateway (one ALB), routes, monitoring objects, dashboards"
apply --filename="$HERE/gateway/gatewayclass.yaml" --filename="$HERE/gateway/loadbalancerconfiguration.yaml" \
  --filename="$HERE/gateway/targetgroupconfigurations.yaml" --filename="$HERE/gateway/listenerruleconfigurations.yaml" \
  --filename="$HERE/gateway/gateway.yaml" --filename="$HERE/gateway/httproutes.yaml"
apply --filename="$HERE/monitoring/servicemonitors.yaml" --filename="$HERE/monitoring/prometheusrules.yaml"
apply --kustomize="$HERE/monitoring/dashboards"

log "10/10 the shop: Argo CD project, Application, Image Updater"
apply --filename="$HERE/argocd/appproject.yaml" --filename="$HERE/argocd/application.yaml" \
  --filename="$HERE/argocd/imageupdater.yaml"

log "waiting for the ALB and Elasticsearch"
kubectl --namespace gateway-system wait --for=condition=Programmed gateway/boutique --timeout=10m
kubectl --namespace logging wait --for=jsonpath='{.status.health}'=green elasticsearch/elasticsearch --timeout=20m
log "done: https://shop.$(kubectl --namespace gateway-system get gateway boutique --output=jsonpath='{.spec.listeners[0].hostname}' | sed 's/^\*\.//')"
