#!/usr/bin/env python3
"""Offline checks of platform/ — the entry point scripts/check-platform.sh calls, one subcommand per check.

  manifests                 schema validation of every object (manifests.py)
  consistency               cross-file consistency (consistency.py)
  dashboards KUBECTL        `kubectl kustomize` of the dashboards, ConfigMaps validated
  rules WORKDIR             promtool check/test (rules.py)
  metrics                   metric names and labels against the service binaries (metrics.py)
  chart HELM                platform/ against `helm template` of the chart (chart.py)
  bootstrap WORKDIR         bootstrap.sh against stub kubectl/helm (bootstrap_plan.py)
  selftest HELM KUBECTL WORKDIR
                            every check above fails on a known-bad copy of platform/

Each subcommand prints what it checked (or every failure) and exits 1 on failure.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import yaml  # noqa: E402

import common  # noqa: E402
from common import PLATFORM, Failures  # noqa: E402

HERE = pathlib.Path(__file__).resolve()


def cmd_manifests() -> bool:
    import manifests
    return manifests.run()


def cmd_consistency() -> bool:
    import consistency
    ok = True
    for name, fn in consistency.CHECKS.items():
        try:
            errs = fn()
        except LookupError as e:
            errs = [str(e)]
        print(f"  {'ok  ' if not errs else 'FAIL'} {name}")
        for e in errs:
            print(f"       - {e}")
        ok = ok and not errs
    if ok:
        print(f"{len(consistency.CHECKS)} consistency checks passed")
    return ok


def cmd_dashboards(kubectl: str) -> bool:
    import kubernetes_validate as kv
    f = Failures()
    p = subprocess.run([kubectl, "kustomize", str(PLATFORM / "monitoring" / "dashboards")], capture_output=True, text=True)
    if p.returncode != 0:
        f.add(f"kubectl kustomize failed: {p.stderr.strip()}")
        return f.ok("")
    docs = [d for d in yaml.safe_load_all(p.stdout) if d]
    for d in docs:
        name = d["metadata"]["name"]
        for v in ("1.33.0", "1.37.0"):
            try:
                kv.validate(d, v, strict=True)
            except kv.ValidationError as e:
                f.add(f"ConfigMap {name}: {e.message}")
        if d["metadata"].get("namespace") != "monitoring":
            f.add(f"ConfigMap {name}: not in namespace monitoring")
        size = len(yaml.safe_dump(d).encode())
        if size > 900_000:
            f.add(f"ConfigMap {name}: {size} bytes, too close to the 1 MiB object limit")
    return f.ok(f"{len(docs)} dashboard ConfigMaps rendered by kustomize and valid")


def cmd_rules(workdir: str) -> bool:
    import rules
    return rules.run(pathlib.Path(workdir))


def cmd_metrics() -> bool:
    import metrics
    return metrics.run()


def cmd_chart(helm: str) -> bool:
    import chart
    return chart.run(helm)


def cmd_bootstrap(workdir: str) -> bool:
    import bootstrap_plan
    return bootstrap_plan.run(pathlib.Path(workdir))


# Known-bad edits of a copy of platform/: (description, file, old, new, subcommand, expected message).
MUTATIONS = [
    ("a defaulted HTTPRoute field left out", "gateway/httproutes.yaml", "          weight: 1\n", "", ["manifests"], "is not written out"),
    ("an unknown field in a core object", "namespaces.yaml", "  name: boutique-app\n", "  name: boutique-app\n  bogus: true\n", ["manifests"], "bogus"),
    ("a custom resource without a schema", "gateway/gateway.yaml", "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n",
     "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: x\n---\napiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n", ["manifests"], "neither a Kubernetes"),
    ("a sixth key in values-eks.yaml", "argocd/values-eks.yaml", "  platform: aws\n", "  platform: aws\n  cymbalBranding: true\n", ["consistency"], "not one of the seed"),
    ("a service without ServiceMonitor", "monitoring/servicemonitors.yaml", "app: adservice\n", "app: adservicex\n", ["consistency"], "no ServiceMonitor for service adservice"),
    ("a route backend without target group", "gateway/targetgroupconfigurations.yaml", "name: kube-prometheus-stack-grafana\n", "name: grafana-typo\n", ["consistency"], "has no TargetGroupConfiguration"),
    ("Image Updater writing into values-eks.yaml", "argocd/imageupdater.yaml", "helmvalues:/argocd/values-images.yaml", "helmvalues:/argocd/values-eks.yaml", ["consistency"], "must not write into values-eks.yaml"),
    ("an alert threshold its tests do not expect", "monitoring/prometheusrules.yaml", "            > 0.2\n", "            > 0.5\n", ["rules", "{work}/rules"], "promtool test rules"),
    ("an alert without tests", "monitoring/prometheusrules.yaml", "        - alert: BoutiqueTargetDown\n", "        - alert: BoutiqueTargetGone\n", ["rules", "{work}/rules"], "has no test where it fires"),
    ("a metric nobody exports", "monitoring/dashboards/boutique-resources.json", "process_open_fds{", "process_open_fds_bogus{", ["metrics"], "process_open_fds_bogus"),
    ("a label the metric does not have", "monitoring/dashboards/boutique-red.json", "(grpc_server_in_flight_requests{", "(grpc_server_in_flight_requests{grpc_bogus=\\\"x\\\", ", ["metrics"], "no label 'grpc_bogus'"),
    ("a seed value file that changes an image", "argocd/values-images.yaml", "online-boutique/adservice\n    tag: latest", "online-boutique/adservice\n    tag: v0", ["chart", "{helm}"], "render other images"),
    ("an Image Updater helm key the chart does not have", "argocd/imageupdater.yaml", "tag: adService.image.tag", "tag: adService.image.tagg", ["chart", "{helm}"], "is not a value of the chart"),
    ("a kind the AppProject does not allow", "argocd/appproject.yaml", "    - group: policy\n      kind: PodDisruptionBudget\n", "", ["chart", "{helm}"], "does not allow"),
    ("a manifest bootstrap.sh never applies", "bootstrap.sh", " --filename=\"$HERE/gateway/listenerruleconfigurations.yaml\"", "", ["bootstrap", "{work}/bootstrap"], "never applies"),
    ("a secret on a command line", "bootstrap.sh", "printf '%s' \"$SLACK_WEBHOOK_URL\" | secret_from_stdin monitoring alertmanager-slack webhook-url",
     "kubectl create secret generic alertmanager-slack --namespace monitoring --from-literal=webhook-url=\"$SLACK_WEBHOOK_URL\" --dry-run=client --output=yaml | apply --filename=-", ["bootstrap", "{work}/bootstrap"], "secret from the environment"),
    ("a broken dashboards kustomization", "monitoring/dashboards/kustomization.yaml", "      - boutique-red.json\n", "      - boutique-missing.json\n", ["dashboards", "{kubectl}"], "kustomize failed"),
]


def cmd_selftest(helm: str, kubectl: str, workdir: str) -> bool:
    work = pathlib.Path(workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    f = Failures()
    for desc, rel_path, old, new, sub, expect in MUTATIONS:
        copy = work / "platform"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(PLATFORM, copy)
        target = copy / rel_path
        text = target.read_text()
        if text.count(old) < 1:
            f.add(f"selftest '{desc}': {rel_path} no longer contains the text to mutate ({old[:60]!r})")
            continue
        target.write_text(text.replace(old, new, 1))
        args = [a.format(work=work, helm=helm, kubectl=kubectl) for a in sub]
        p = subprocess.run([sys.executable, str(HERE), *args], env=dict(os.environ, PLATFORM_DIR=str(copy)),
                           capture_output=True, text=True)
        out = p.stdout + p.stderr
        if p.returncode == 0 or expect not in out:
            f.add(f"selftest '{desc}': `{' '.join(sub)}` should fail mentioning {expect!r} (exit {p.returncode}): {out[-600:]}")
    shutil.rmtree(work / "platform", ignore_errors=True)
    return f.ok(f"{len(MUTATIONS)} known-bad edits of platform/ each caught by their check")


COMMANDS = {"manifests": cmd_manifests, "consistency": cmd_consistency, "dashboards": cmd_dashboards, "rules": cmd_rules,
            "metrics": cmd_metrics, "chart": cmd_chart, "bootstrap": cmd_bootstrap, "selftest": cmd_selftest}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    ok = COMMANDS[sys.argv[1]](*sys.argv[2:])
    sys.exit(0 if ok else 1)
