#!/usr/bin/env bash
# Runs one service binary the way its `FROM scratch` image does, without a
# container engine: the binary alone at /app/<service> in an otherwise empty,
# read-only root directory, as uid:gid 65532:65532 with no supplementary
# groups, no inherited environment and no /proc, /dev, /etc or /tmp, in a
# private network namespace with only loopback. Then proves:
#   1. the binary is statically linked;
#   2. it starts with compose.yaml's variables (peers moved to 127.0.0.1) and
#      `/app/<service> healthcheck` (same root, same user) exits 0;
#   3. it really runs as 65532:65532 and serves Prometheus metrics;
#   4. SIGTERM stops it with exit code 0 within the grace period;
#   5. afterwards `healthcheck` exits non-zero (the probe can fail).
# A client without a port (compose gives it no PORT: the load generator)
# instead has to send requests to a stub HTTP peer at its FRONTEND_ADDR
# (scripts/image-tests/stub_http.py) before SIGTERM; it has no health check.
#
# Usage: empty-root.sh SERVICE BINARY COMPOSE_JSON   (root required)
# Prints one "ok"/"FAIL" line per step; exit 1 when any step failed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UID_GID=65532:65532
START_TIMEOUT=${START_TIMEOUT:-20}   # seconds until healthy
STOP_TIMEOUT=${STOP_TIMEOUT:-15}     # seconds after SIGTERM

if [ "${1:-}" != "--inside" ]; then
  svc="$1" bin="$2" compose_json="$3"
  [ "$(id -u)" -eq 0 ] || { echo "FAIL $svc: empty-root test needs root (chroot, unshare)"; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work/root/app"
  cp "$bin" "$work/root/app/$svc"
  chmod 0555 "$work/root/app/$svc" "$work/root/app" "$work/root"
  python3 "$here/compose_env.py" "$svc" "$compose_json" > "$work/env"
  # A private network namespace: only 127.0.0.1 exists, every port is free,
  # nothing the service does can reach or disturb anything else.
  exec unshare --net -- bash "${BASH_SOURCE[0]}" --inside "$svc" "$work"
fi

# ---------------------------------------------------------------- inside the namespace
svc="$2" work="$3" root="$3/root"
fails=0
ok() { echo "ok   $svc: $*"; }
fail() { echo "FAIL $svc: $*"; fails=$((fails + 1)); }
show_logs() {
  echo "---- $svc stdout (last 20 lines)"; tail -n 20 "$work/out" 2>/dev/null || true
  echo "---- $svc stderr (last 20 lines)"; tail -n 20 "$work/err" 2>/dev/null || true
}

ip link set lo up
CHROOT="$(command -v chroot)"   # env -i clears PATH

mapfile -t env_vars < "$work/env"
port="$(sed -n 's/^PORT=//p' "$work/env")"
base_url="$(sed -n 's/^BASE_URL=//p' "$work/env")"

if python3 "$here/elf_static.py" "$root/app/$svc"; then
  ok "statically linked ($(stat -c %s "$root/app/$svc") bytes)"
else
  fail "not statically linked: a scratch image could not run it"
fi

# wait_port PORT: until something accepts connections on 127.0.0.1:PORT (5 s)
wait_port() {
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

redis_pid=""
redis_addr="$(sed -n 's/^REDIS_ADDR=//p' "$work/env")"
if [ -n "$redis_addr" ]; then
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "${redis_addr##*:}" --save '' --appendonly no \
      --daemonize no --dir "$work" >"$work/redis.log" 2>&1 &
    redis_pid=$!
    wait_port "${redis_addr##*:}" || fail "redis-server did not start ($(tail -n 3 "$work/redis.log"))"
  else
    echo "note $svc: redis-server not installed; $redis_addr refuses connections"
  fi
fi

# healthcheck: the same binary, same root, same user, only PORT (and BASE_URL)
healthcheck() {
  env -i PORT="$port" ${base_url:+BASE_URL="$base_url"} \
    "$CHROOT" --userspec="$UID_GID" --groups="${UID_GID#*:}" "$root" "/app/$svc" healthcheck \
    >"$work/hc.out" 2>&1
}

stub_pid=""
frontend_addr="$(sed -n 's/^FRONTEND_ADDR=//p' "$work/env")"
if [ -z "$port" ]; then
  [ -n "$frontend_addr" ] || { fail "neither PORT (server) nor FRONTEND_ADDR (client) in compose.yaml"; exit 1; }
  : >"$work/requests"
  python3 "$here/stub_http.py" "${frontend_addr##*:}" "$work/requests" 2>"$work/stub.err" &
  stub_pid=$!
  wait_port "${frontend_addr##*:}" || fail "stub HTTP peer did not start ($(tail -n 3 "$work/stub.err"))"
fi

env -i "${env_vars[@]}" \
  "$CHROOT" --userspec="$UID_GID" --groups="${UID_GID#*:}" "$root" "/app/$svc" \
  >"$work/out" 2>"$work/err" &
pid=$!

# ready: a server answers its own health check; a client has sent requests
ready() {
  if [ -n "$port" ]; then healthcheck; else [ -s "$work/requests" ]; fi
}
up=0
deadline=$((SECONDS + START_TIMEOUT))
while [ $SECONDS -lt $deadline ]; do
  if ! kill -0 "$pid" 2>/dev/null; then
    break
  fi
  if ready; then
    up=1
    break
  fi
  sleep 0.2
done

if [ "$up" -eq 1 ] && [ -n "$port" ]; then
  ok "started from an empty root as $UID_GID; \`/app/$svc healthcheck\` exit 0 on 127.0.0.1:$port"
elif [ "$up" -eq 1 ]; then
  ok "started from an empty root as $UID_GID; sent $(wc -l <"$work/requests") request(s) to the stub at $frontend_addr (first: $(head -n 1 "$work/requests"))"
else
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" && rc=0 || rc=$?
    fail "exited with code $rc before becoming ready"
  elif [ -n "$port" ]; then
    fail "\`/app/$svc healthcheck\` never exited 0 within ${START_TIMEOUT}s ($(tr '\n' ' ' < "$work/hc.out"))"
  else
    fail "sent no request to $frontend_addr within ${START_TIMEOUT}s"
  fi
  show_logs
fi

if kill -0 "$pid" 2>/dev/null; then
  status="$(cat "/proc/$pid/status")"
  uids="$(awk '/^Uid:/ {print $2,$3,$4,$5}' <<<"$status")"
  gids="$(awk '/^Gid:/ {print $2,$3,$4,$5}' <<<"$status")"
  groups="$(awk '/^Groups:/ {$1=""; print}' <<<"$status" | xargs)"
  if [ "$uids" = "65532 65532 65532 65532" ] && [ "$gids" = "65532 65532 65532 65532" ] \
     && { [ -z "$groups" ] || [ "$groups" = "65532" ]; }; then
    ok "runs as uid/gid 65532 (groups: ${groups:-none})"
  else
    fail "runs as uid [$uids] gid [$gids] groups [$groups], want 65532"
  fi

  if [ -n "$port" ]; then
    metrics_addr="$(sed -n 's/.*"message":"metrics listening".*"addr":"\([^"]*\)".*/\1/p; s/.*"addr":"\([^"]*\)".*"message":"metrics listening".*/\1/p' "$work/out" | head -n 1)"
    if [ -n "$metrics_addr" ] && curl -fsS --max-time 5 "http://$metrics_addr/metrics" >"$work/metrics" 2>&1 \
       && grep -q '^boutique_build_info{' "$work/metrics"; then
      ok "serves /metrics on $metrics_addr (boutique_build_info present)"
    else
      fail "no Prometheus metrics (log line 'metrics listening' → '${metrics_addr:-none}')"
    fi
  fi
fi

if kill -0 "$pid" 2>/dev/null; then
  kill -TERM "$pid"
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    fail "still running ${STOP_TIMEOUT}s after SIGTERM"
    show_logs
  else
    wait "$pid" && rc=0 || rc=$?
    if [ "$rc" -eq 0 ]; then
      ok "SIGTERM → exit 0"
    else
      fail "SIGTERM → exit $rc, want 0"
      show_logs
    fi
  fi
  if [ -n "$port" ]; then
    if healthcheck; then
      fail "\`healthcheck\` still exits 0 with the service stopped"
    else
      ok "\`healthcheck\` exits non-zero once the service is gone"
    fi
  fi
fi

for helper in $redis_pid $stub_pid; do
  kill -TERM "$helper" 2>/dev/null || true
  wait "$helper" 2>/dev/null || true
done

[ "$fails" -eq 0 ]
