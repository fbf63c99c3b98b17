#!/usr/bin/env bash
# Load smoke test: the all-in-one runner under the load generator for a few
# seconds; any failed request fails the run (as upstream's CI smoke test).
# Uses the debug binaries built by scripts/test.sh (or builds them).
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"

BIN="${BIN_DIR:-$REPO_ROOT/target/debug}"
[ -x "$BIN/boutique" ] && [ -x "$BIN/loadgenerator" ] || cargo build --quiet -p boutique -p loadgenerator

log="$(mktemp)"
BOUTIQUE_EPHEMERAL_PORTS=1 LISTEN_ADDR=127.0.0.1 RUST_LOG=info "$BIN/boutique" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

url=""
for _ in $(seq 1 200); do
  url="$(grep -o '"message":"the shop is open"[^}]*' "$log" | grep -o 'http://[0-9.:]*' | head -n1 || true)"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "the runner exited early"; }
  sleep 0.1
done
[ -n "$url" ] || die "the runner did not open the shop within 20 s"

log "load smoke: 8 users for 10 s against $url"
"$BIN/loadgenerator" --frontend-addr "${url#http://}" --users 8 --rate 8 --duration 10s \
  --wait-min 0s --wait-max 50ms --max-failure-rate 0

kill -TERM "$pid"
code=0
wait "$pid" || code=$?
[ "$code" -eq 0 ] || die "the runner exited with $code after SIGTERM"
echo "load smoke: passed, runner stopped cleanly"
