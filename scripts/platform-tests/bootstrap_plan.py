"""platform/bootstrap.sh, run against stub `kubectl` and `helm` that record their arguments.

- it refuses to run while the example values are in the manifests, and with them allowed it completes;
- every add-on is `helm upgrade --install` with its values file and the version pinned in versions.env;
- every manifest file under platform/ is applied (server-side), in dependency order: Gateway API CRDs before
  the AWS Load Balancer Controller, each operator before the objects it serves, the shop last;
- kubectl is only used idempotently (apply, create --dry-run=client | apply, rollout status, wait, get);
- secrets given in the environment or files never appear on a command line.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess

from common import PLATFORM, Failures, is_non_manifest, platform_yaml_files

STUB = """#!/usr/bin/env bash
printf '%s\\n' "$(basename "$0") $*" >>"$PLAN_LOG"
for a in "$@"; do
  case "$a" in
    --filename=-) cat >/dev/null ;;
    --dry-run=client) printf 'apiVersion: v1\\nkind: Secret\\nmetadata:\\n  name: stub\\n' ;;
  esac
done
case "$*" in
  *"get gateway"*) printf '*.boutique.example.com' ;;
esac
exit 0
"""
SLACK = "https://hooks.slack.invalid/services/T000/B000/SECRET-slack-token"
KEY = "-----BEGIN RSA PRIVATE KEY-----SECRET-private-key-----END RSA PRIVATE KEY-----"


def run(workdir: pathlib.Path) -> bool:
    f = Failures()
    workdir.mkdir(parents=True, exist_ok=True)
    bindir = workdir / "bin"
    bindir.mkdir(exist_ok=True)
    for tool in ("kubectl", "helm"):
        (bindir / tool).write_text(STUB)
        (bindir / tool).chmod(0o755)
    keyfile = workdir / "app.pem"
    keyfile.write_text(KEY)
    log = workdir / "plan.log"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "PLAN_LOG": str(log), "HOME": str(workdir),
           "CLUSTER_NAME": "test-cluster", "AWS_REGION": "eu-west-1", "VPC_ID": "vpc-0123456789abcdef0",
           "SLACK_WEBHOOK_URL": SLACK, "IMAGE_UPDATER_GITHUB_APP_ID": "12345",
           "IMAGE_UPDATER_GITHUB_APP_INSTALLATION_ID": "67890", "IMAGE_UPDATER_GITHUB_APP_PRIVATE_KEY_FILE": str(keyfile)}
    script = str(PLATFORM / "bootstrap.sh")
    log.write_text("")
    p = subprocess.run(["bash", script], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode == 0 or "example values" not in p.stderr or log.read_text():
        f.add(f"bootstrap.sh ran with the example values in place (exit {p.returncode}); it must refuse before touching the cluster")
    log.write_text("")
    p = subprocess.run(["bash", script], env=dict(env, ALLOW_EXAMPLE_VALUES="1"), capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        f.add(f"bootstrap.sh failed against stubs (exit {p.returncode}): {p.stderr[-1500:]}")
        return f.ok("")
    calls = [shlex.split(line) for line in log.read_text().splitlines()]
    text = log.read_text()
    for secret in (SLACK, KEY, "SECRET-slack-token", "SECRET-private-key"):
        if secret in text:
            f.add("a secret from the environment appeared on a kubectl/helm command line")
    versions = dict(line.split("=", 1) for line in (PLATFORM / "versions.env").read_text().splitlines() if line and not line.startswith("#"))

    def index(pred) -> int:
        for i, c in enumerate(calls):
            if pred(c):
                return i
        return -1

    def helm_index(release: str) -> int:
        return index(lambda c: c[0] == "helm" and len(c) > 3 and c[3] == release)

    def applied_index(fragment: str) -> int:
        return index(lambda c: c[0] == "kubectl" and "apply" in c and any(fragment in a for a in c))

    used_values = []
    for c in calls:
        if c[0] == "helm":
            if c[1:3] != ["upgrade", "--install"]:
                f.add(f"helm is only used as `helm upgrade --install` (idempotent): {' '.join(c)}")
                continue
            it = iter(c)
            opts = {}
            for a in it:
                if a in ("--version", "--values", "--namespace", "--repo"):
                    opts[a] = next(it, None)
            values = pathlib.Path(opts.get("--values", "")).name
            used_values.append(values)
            if opts.get("--version") not in versions.values():
                f.add(f"helm {c[3]}: version {opts.get('--version')} is not pinned in versions.env")
        elif c[0] == "kubectl":
            words, skip = [], False
            for a in c[1:]:
                if skip:
                    skip = False
                elif a in ("--namespace", "-n"):
                    skip = True
                elif not a.startswith("-"):
                    words.append(a)
            verb = words[0] if words else ""
            if verb == "apply" and "--server-side" not in c:
                f.add(f"kubectl apply without --server-side: {' '.join(c)}")
            elif verb == "create" and "--dry-run=client" not in c:
                f.add(f"kubectl create is not idempotent (pipe --dry-run=client into apply): {' '.join(c)}")
            elif verb not in ("apply", "create", "rollout", "wait", "get"):
                f.add(f"unexpected kubectl {verb}: {' '.join(c)}")
    expected_values = sorted(p.name for p in (PLATFORM / "addons").glob("*.values.yaml"))
    if sorted(used_values) != expected_values:
        f.add(f"helm values files used {sorted(used_values)} != addons/ {expected_values}")
    # Every manifest file is applied.
    for path in platform_yaml_files():
        if is_non_manifest(path):
            continue
        if applied_index(str(path)) < 0:
            f.add(f"bootstrap.sh never applies {path.relative_to(PLATFORM)}")
    if applied_index(str(PLATFORM / "monitoring" / "dashboards")) < 0:
        f.add("bootstrap.sh never applies the dashboards kustomization")
    order = [
        ("namespaces", applied_index("namespaces.yaml"), "Gateway API CRDs", applied_index("gateway-api/releases")),
        ("Gateway API CRDs", applied_index("gateway-api/releases"), "the AWS Load Balancer Controller", helm_index("aws-load-balancer-controller")),
        ("the LBC's gateway CRDs", applied_index("gateway-crds.yaml"), "the AWS Load Balancer Controller", helm_index("aws-load-balancer-controller")),
        ("the AWS Load Balancer Controller", helm_index("aws-load-balancer-controller"), "the Gateway", applied_index("gateway/gateway.yaml")),
        ("kube-prometheus-stack", helm_index("kube-prometheus-stack"), "the AlertmanagerConfig", applied_index("alertmanagerconfig.yaml")),
        ("kube-prometheus-stack", helm_index("kube-prometheus-stack"), "the ServiceMonitors", applied_index("servicemonitors.yaml")),
        ("kube-prometheus-stack", helm_index("kube-prometheus-stack"), "ExternalDNS (its ServiceMonitor)", helm_index("external-dns")),
        ("kube-prometheus-stack", helm_index("kube-prometheus-stack"), "metrics-server (its ServiceMonitor)", helm_index("metrics-server")),
        ("the ECK operator", helm_index("elastic-operator"), "Elasticsearch", applied_index("logging/elasticsearch.yaml")),
        ("Argo CD", helm_index("argocd"), "the Application", applied_index("argocd/application.yaml")),
        ("Argo CD Image Updater", helm_index("argocd-image-updater"), "the ImageUpdater", applied_index("argocd/imageupdater.yaml")),
        ("the Image Updater's Git Secret", index(lambda c: "argocd-image-updater-git" in c), "Argo CD Image Updater", helm_index("argocd-image-updater")),
        ("the AppProject", applied_index("argocd/appproject.yaml"), "the Application", applied_index("argocd/application.yaml")),
    ]
    for a, ia, b, ib in order:
        if ia < 0 or ib < 0 or ia > ib:
            f.add(f"bootstrap.sh must install {a} (step {ia}) before {b} (step {ib})")
    return f.ok(f"bootstrap.sh against stubs: {len(calls)} kubectl/helm calls, {len(used_values)} pinned charts, every manifest applied in order")
