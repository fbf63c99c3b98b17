#!/usr/bin/env bash
# The project's test command (README: "Run all tests"). On a fresh Debian
# machine it installs what the tests need (redis-server, Chromium and its
# driver, the offline deployment linters) and then runs:
#   1. cargo fmt --check and clippy -D warnings on every target,
#   2. every Rust test of the workspace (real gRPC over loopback TCP, a real
#      redis-server, real headless Chromium),
#   3. the offline checks of the images, the Helm chart, platform/ and .github/.
# Usage: bash scripts/test.sh [--rust-only | --deploy-only]
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

mode="${1:-all}"
start=$(date +%s)
step() { log "$* (t+$(( $(date +%s) - start ))s)"; }

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || {
    step "installing the Rust toolchain with rustup"
    ensure_apt curl curl
    curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
  }
  export PATH="$HOME/.cargo/bin:$PATH"
fi

step "installing test dependencies (redis-server, chromium, chromedriver)"
ensure_apt redis-server redis-server
ensure_apt chromium chromium
ensure_apt chromedriver chromium-driver
ensure_apt cc gcc

passed=0
failed=0
failures=()
run_check() {
  local name="$1"; shift
  step "$name"
  if "$@"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
}

if [ "$mode" != "--deploy-only" ]; then
  run_check "cargo fmt --check" cargo fmt --all -- --check
  run_check "cargo clippy -D warnings" cargo clippy --workspace --all-targets --quiet -- -D warnings
  # Build every binary first: process-level tests start them from target/debug.
  run_check "cargo build (all binaries)" cargo build --workspace --bins --quiet
  if cargo nextest --version >/dev/null 2>&1; then
    run_check "cargo nextest (workspace tests)" cargo nextest run --workspace --no-fail-fast --failure-output final
  else
    run_check "cargo test (workspace tests)" cargo test --workspace --no-fail-fast
  fi
  run_check "load smoke (runner + loadgenerator, 0 failures)" bash scripts/smoke-load.sh
  # The advisory database needs GitHub (the CI workflow checks it); the rest works offline.
  if ! cargo deny --version >/dev/null 2>&1; then
    step "installing cargo-deny from crates.io"
    cargo install --locked --quiet cargo-deny@0.20.2
  fi
  run_check "cargo deny (licenses, bans, sources)" cargo deny --offline check licenses bans sources
fi

if [ "$mode" != "--rust-only" ]; then
  # The empty-root test of the static binaries does not need the images' LTO.
  export STATIC_PROFILE="${STATIC_PROFILE:-static-test}"
  for check in images helm platform github; do
    script="scripts/check-$check.sh"
    if [ -f "$script" ]; then
      run_check "$script" bash "$script"
    fi
  done
fi

step "done"
if [ "$failed" -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}" >&2
fi
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
