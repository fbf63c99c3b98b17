"""platform/ against what the chart really renders (`helm template` of helm/onlineboutique).

- the Application's value files (values-eks.yaml + values-images.yaml) render the same images as values-eks.yaml
  alone (the Image Updater seed changes nothing), and every image of ours is tracked by the ImageUpdater;
- each ImageUpdater helm target (`<key>.image.repository` / `.tag`) really sets that service's image;
- everything rendered is a kind the AppProject allows (also with the chart's optional features on);
- every platform ServiceMonitor selects exactly one rendered Service with a `metrics` port (9464), and the
  chart itself renders no ServiceMonitor with these values (no double scraping);
- the frontend HTTPRoute's backend port and the frontend target group's health check match the chart;
- every rendered pod meets Pod Security `restricted` (boutique-app enforces it, namespaces.yaml).
"""

from __future__ import annotations

import pathlib
import re
import subprocess

import yaml

from common import PLATFORM, REPO, Failures, dig, find, load_yaml, one

CHART = REPO / "helm" / "onlineboutique"
NAMESPACE = "boutique-app"
# Optional features of the chart that an operator may switch on without touching the AppProject.
OPTIONAL_ON = ["podDisruptionBudgets.create=true", "networkPolicies.create=true", "serviceMonitor.create=true",
               "frontend.autoscaling.create=true", "frontend.httpRoute.create=true",
               "frontend.httpRoute.parentRefs[0].name=boutique", "frontend.httpRoute.parentRefs[0].namespace=gateway-system"]


def render(helm: str, values: list[pathlib.Path], sets: list[str] = ()) -> list[dict]:
    cmd = [helm, "template", "onlineboutique", str(CHART), "--namespace", NAMESPACE]
    for v in values:
        cmd += ["--values", str(v)]
    for s in sets:
        cmd += ["--set", s]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"helm template {' '.join(cmd[3:])} failed: {p.stderr.strip()[:2000]}")
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def pod_specs(docs: list[dict]):
    for d in docs:
        spec = dig(d, "spec", "template", "spec") if d.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job") else None
        if d.get("kind") == "CronJob":
            spec = dig(d, "spec", "jobTemplate", "spec", "template", "spec")
        if spec:
            yield d, spec


def images(docs: list[dict]) -> dict[str, str]:
    """Deployment name → image of its first container (container `server`)."""
    out = {}
    for d, spec in pod_specs(docs):
        for c in spec.get("containers", []):
            out.setdefault(d["metadata"]["name"], c["image"])
    return out


def all_images(docs: list[dict]) -> set[str]:
    return {c["image"] for _, spec in pod_specs(docs) for c in spec.get("containers", []) + spec.get("initContainers", [])}


def restricted(d: dict, spec: dict) -> list[str]:
    where = f"{d['kind']} {d['metadata']['name']}"
    errs = []
    psc = spec.get("securityContext") or {}
    for k in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(k):
            errs.append(f"{where}: {k}")
    for v in spec.get("volumes", []):
        if "hostPath" in v:
            errs.append(f"{where}: hostPath volume {v['name']}")
    for c in spec.get("containers", []) + spec.get("initContainers", []):
        csc = c.get("securityContext") or {}
        cw = f"{where} container {c['name']}"
        if csc.get("privileged"):
            errs.append(f"{cw}: privileged")
        if csc.get("allowPrivilegeEscalation") is not False:
            errs.append(f"{cw}: allowPrivilegeEscalation must be false")
        if "ALL" not in (dig(csc, "capabilities", "drop", default=[]) or []):
            errs.append(f"{cw}: capabilities must drop ALL")
        if set(dig(csc, "capabilities", "add", default=[]) or []) - {"NET_BIND_SERVICE"}:
            errs.append(f"{cw}: adds capabilities")
        if not (csc.get("runAsNonRoot") is True or (psc.get("runAsNonRoot") is True and csc.get("runAsNonRoot") is not False)):
            errs.append(f"{cw}: runAsNonRoot must be true")
        if csc.get("runAsUser") == 0 or (psc.get("runAsUser") == 0 and "runAsUser" not in csc):
            errs.append(f"{cw}: runs as uid 0")
        seccomp = dig(csc, "seccompProfile", "type") or dig(psc, "seccompProfile", "type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            errs.append(f"{cw}: seccompProfile must be RuntimeDefault or Localhost")
        for p in c.get("ports", []):
            if p.get("hostPort"):
                errs.append(f"{cw}: hostPort")
    return errs


def run(helm: str) -> bool:
    f = Failures()
    app = one("Application")
    vfs = [PLATFORM / re.sub(r"^\$\w+/", "", v) for v in dig(app, "spec", "sources", 0, "helm", "valueFiles", default=[])]
    eks = PLATFORM / "argocd" / "values-eks.yaml"
    try:
        deployed = render(helm, vfs)
        seed_only = render(helm, [eks])
    except RuntimeError as e:
        f.add(str(e))
        return f.ok("")
    # 1. Image Updater seed changes nothing; every image of ours is tracked.
    if images(deployed) != images(seed_only):
        f.add(f"the Application's value files render other images than values-eks.yaml alone: {sorted(set(images(deployed).items()) ^ set(images(seed_only).items()))}")
    registry = dig(load_yaml(eks), "images", "repository")
    ours = {i for i in all_images(deployed) if i.startswith(registry + "/")}
    iu = one("ImageUpdater")
    tracked = {}
    for r in dig(iu, "spec", "applicationRefs", default=[]):
        for i in r.get("images", []):
            tracked[i["alias"]] = i
    names = {i["imageName"] for i in tracked.values()}
    for img in sorted(ours - names):
        f.add(f"the chart renders {img}, which the ImageUpdater does not track")
    for img in sorted(names - ours):
        f.add(f"the ImageUpdater tracks {img}, which the chart does not render with the Application's values")
    # 2. Each helm target key sets exactly its service's image.
    sets = []
    chart_values = load_yaml(CHART / "values.yaml")
    for alias, i in tracked.items():
        h = dig(i, "manifestTargets", "helm", default={})
        for key in (h.get("name"), h.get("tag")):
            if key is None or dig(chart_values, *key.split("."), default=KeyError) is KeyError:
                f.add(f"ImageUpdater {alias}: helm key {key} is not a value of the chart")
        sets += [f"{h.get('name')}=example.invalid/{alias}", f"{h.get('tag')}=t-{alias}"]
    try:
        overridden = images(render(helm, vfs, sets))
    except RuntimeError as e:
        f.add(str(e))
        overridden = {}
    for alias in tracked:
        want = f"example.invalid/{alias}:t-{alias}"
        if overridden.get(alias) != want:
            f.add(f"ImageUpdater {alias}: setting its helm keys renders {overridden.get(alias)!r} for Deployment {alias}, not {want!r}")
    # 3. Kinds allowed by the AppProject.
    proj = one("AppProject", dig(app, "spec", "project"))
    allowed = {(w.get("group", ""), w["kind"]) for w in dig(proj, "spec", "namespaceResourceWhitelist", default=[])}
    try:
        optional = render(helm, vfs, OPTIONAL_ON)
    except RuntimeError as e:
        f.add(str(e))
        optional = []
    for d in deployed + optional:
        gk = (d["apiVersion"].split("/")[0] if "/" in d["apiVersion"] else "", d["kind"])
        if gk not in allowed:
            f.add(f"the chart renders {gk[1]} ({gk[0] or 'core'}) {d['metadata'].get('name')}, which AppProject {proj['metadata']['name']} does not allow")
        if d["metadata"].get("namespace") not in (None, NAMESPACE):
            f.add(f"the chart renders {d['kind']} {d['metadata']['name']} into namespace {d['metadata']['namespace']}")
    # 4. ServiceMonitors select exactly one Service each, on its metrics port; the chart adds none.
    if any(d["kind"] == "ServiceMonitor" for d in deployed):
        f.add("the chart renders a ServiceMonitor with the Application's values: every target would be scraped twice")
    services = [d for d in deployed if d["kind"] == "Service"]
    for sm in find("ServiceMonitor"):
        sel = dig(sm, "spec", "selector", "matchLabels", default={})
        match = [s for s in services if all(dig(s, "metadata", "labels", k) == v for k, v in sel.items())]
        if len(match) != 1:
            f.add(f"ServiceMonitor {sm['metadata']['name']}: selects {len(match)} rendered Services ({[s['metadata']['name'] for s in match]}), expected 1")
            continue
        ports = {p.get("name"): p for p in match[0]["spec"]["ports"]}
        if "metrics" not in ports or ports["metrics"].get("port") != 9464:
            f.add(f"ServiceMonitor {sm['metadata']['name']}: Service {match[0]['metadata']['name']} has no port `metrics` = 9464")
    # 5. The frontend route and target group fit the chart.
    for r in find("HTTPRoute", namespace=NAMESPACE):
        for rule in r["spec"]["rules"]:
            for b in rule.get("backendRefs", []):
                svc = [s for s in services if s["metadata"]["name"] == b["name"]]
                if not svc or b["port"] not in [p["port"] for p in svc[0]["spec"]["ports"]]:
                    f.add(f"HTTPRoute {r['metadata']['name']}: backend {b['name']}:{b['port']} is not a rendered Service port")
    for t in find("TargetGroupConfiguration", namespace=NAMESPACE):
        name = dig(t, "spec", "targetReference", "name")
        dep = [d for d in deployed if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
        probe = dig(dep[0], "spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "path") if dep else None
        hc = dig(t, "spec", "defaultConfiguration", "healthCheckConfig", "healthCheckPath")
        if probe != hc:
            f.add(f"TargetGroupConfiguration {t['metadata']['name']}: health check {hc} differs from the chart's readiness probe {probe}")
    # 6. Pod Security restricted.
    for d, spec in pod_specs(deployed):
        for e in restricted(d, spec):
            f.add(f"Pod Security restricted (enforced on {NAMESPACE}): {e}")
    return f.ok(f"chart {CHART.name}: {len(deployed)} objects rendered with the Application's values; {len(ours)} images tracked; "
                f"{len(find('ServiceMonitor'))} ServiceMonitors matched")
