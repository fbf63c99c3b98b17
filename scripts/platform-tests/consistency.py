"""Cross-file consistency of platform/: what one file names, another must provide.

Each check returns a list of failure messages (empty: passed).
"""

from __future__ import annotations

import fnmatch
import json
import re
import urllib.parse

from common import (PLATFORM, REPO, conventions_services, dig, find, load_yaml, one, repo_services)

EKS_SEED = {
    ("images", "repository"): "ghcr.io/boutique-rs/online-boutique",
    ("images", "tag"): "latest",
    ("frontend", "externalService"): False,
    ("frontend", "platform"): "aws",
    ("loadGenerator", "create"): False,
}
SEMVER = re.compile(r"^\d+\.\d+\.\d+$")


def leaves(obj, prefix=()):
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            yield from leaves(v, prefix + (k,))
    else:
        yield prefix, obj


def addon(name: str) -> dict:
    return load_yaml(PLATFORM / "addons" / f"{name}.values.yaml")


def host(url: str) -> str:
    return urllib.parse.urlparse(url).hostname or ""


def check_values_eks() -> list[str]:
    got = dict(leaves(load_yaml(PLATFORM / "argocd" / "values-eks.yaml")))
    errs = []
    for k, v in got.items():
        if k not in EKS_SEED:
            errs.append(f"values-eks.yaml: {'.'.join(k)} is not one of the seed's five EKS overrides")
        elif v != EKS_SEED[k] or type(v) is not type(EKS_SEED[k]):
            errs.append(f"values-eks.yaml: {'.'.join(k)} is {v!r}, the seed sets {EKS_SEED[k]!r}")
    for k in EKS_SEED:
        if k not in got:
            errs.append(f"values-eks.yaml: {'.'.join(k)} missing")
    return errs


def value_files(app: dict) -> list[str]:
    return dig(app, "spec", "sources", 0, "helm", "valueFiles", default=[]) or []


def check_argocd() -> list[str]:
    errs = []
    app = one("Application")
    proj = one("AppProject", dig(app, "spec", "project"))
    chart_yaml = load_yaml(REPO / "helm" / "onlineboutique" / "Chart.yaml")
    sources = dig(app, "spec", "sources", default=[])
    if not sources or "chart" not in sources[0]:
        return ["application.yaml: spec.sources[0] must be the chart source"]
    src = sources[0]
    if src.get("chart") != chart_yaml["name"]:
        errs.append(f"application.yaml: chart {src.get('chart')!r} is not the chart of helm/ ({chart_yaml['name']!r})")
    if src.get("repoURL") != "ghcr.io/boutique-rs/charts":
        errs.append(f"application.yaml: chart repoURL {src.get('repoURL')!r} is not ghcr.io/boutique-rs/charts")
    if not SEMVER.match(str(src.get("targetRevision", ""))):
        errs.append(f"application.yaml: targetRevision {src.get('targetRevision')!r} is not a pinned version")
    refs = {s.get("ref"): s for s in sources[1:] if s.get("ref")}
    for vf in value_files(app):
        m = re.match(r"^\$(\w+)/(.+)$", vf)
        if not m or m.group(1) not in refs:
            errs.append(f"application.yaml: value file {vf!r} does not come from a `ref` source")
            continue
        if not (PLATFORM / m.group(2)).is_file():
            errs.append(f"application.yaml: value file {vf!r} → platform/{m.group(2)} does not exist (paths are relative to the CD repository = platform/)")
    allowed = set(dig(proj, "spec", "sourceRepos", default=[]))
    for s in sources:
        if s.get("repoURL") not in allowed:
            errs.append(f"appproject.yaml: source {s.get('repoURL')} of the Application is not in sourceRepos")
    dest = dig(app, "spec", "destination", default={})
    if dest.get("namespace") != "boutique-app":
        errs.append("application.yaml: destination namespace must be boutique-app")
    if not any(d.get("namespace") == dest.get("namespace") and d.get("server") == dest.get("server") for d in dig(proj, "spec", "destinations", default=[])):
        errs.append("appproject.yaml: the Application's destination is not allowed by the project")
    auto = dig(app, "spec", "syncPolicy", "automated", default={}) or {}
    if not (auto.get("prune") is True and auto.get("selfHeal") is True):
        errs.append("application.yaml: automated sync must prune and self-heal")
    # Image Updater: same Application, write-back into the last value file of the same CD repository.
    iu = one("ImageUpdater")
    if dig(iu, "spec", "namespace") != dig(app, "metadata", "namespace"):
        errs.append("imageupdater.yaml: spec.namespace is not the Application's namespace")
    refs_ = dig(iu, "spec", "applicationRefs", default=[])
    if not any(fnmatch.fnmatchcase(app["metadata"]["name"], r.get("namePattern", "")) for r in refs_):
        errs.append("imageupdater.yaml: no applicationRefs[].namePattern matches the Application")
    wb = dig(iu, "spec", "writeBackConfig", default={})
    if not str(wb.get("method", "")).startswith("git"):
        errs.append("imageupdater.yaml: write-back method must be git (persistent, reviewed in the CD repository)")
    git = wb.get("gitConfig") or {}
    values_repo = [s.get("repoURL") for s in sources[1:] if s.get("ref")]
    if git.get("repository") not in values_repo:
        errs.append(f"imageupdater.yaml: gitConfig.repository {git.get('repository')!r} is not the Application's values repository {values_repo}")
    target = str(git.get("writeBackTarget", ""))
    m = re.match(r"^helmvalues:/(.+)$", target)
    if not m:
        errs.append(f"imageupdater.yaml: writeBackTarget {target!r} must be helmvalues:/<path in the CD repository>")
    else:
        if not (PLATFORM / m.group(1)).is_file():
            errs.append(f"imageupdater.yaml: write-back file platform/{m.group(1)} does not exist")
        vfs = value_files(app)
        if not vfs or not vfs[-1].endswith("/" + m.group(1)):
            errs.append("application.yaml: the Image Updater write-back file must be the last value file (it must win)")
        if m.group(1).endswith("values-eks.yaml"):
            errs.append("imageupdater.yaml: must not write into values-eks.yaml (seed overrides only)")
    cus = dig(iu, "spec", "commonUpdateSettings", default={})
    if cus.get("updateStrategy") != "digest":
        errs.append("imageupdater.yaml: updateStrategy must be digest (CI moves :latest)")
    if not {"linux/amd64", "linux/arm64"} <= set(cus.get("platforms") or []):
        errs.append("imageupdater.yaml: platforms must list linux/amd64 and linux/arm64 (multi-arch images)")
    for r in refs_:
        aliases = [i.get("alias") for i in r.get("images", [])]
        if len(aliases) != len(set(aliases)):
            errs.append("imageupdater.yaml: duplicate image aliases")
        for i in r.get("images", []):
            if not str(i.get("imageName", "")).endswith(":latest"):
                errs.append(f"imageupdater.yaml: {i.get('alias')} must track :latest")
    return errs


def check_servicemonitors() -> list[str]:
    errs = []
    wanted = set(conventions_services())
    sms = find("ServiceMonitor")
    got = {}
    for sm in sms:
        name = sm["metadata"]["name"]
        app = dig(sm, "spec", "selector", "matchLabels", "app")
        if dig(sm, "metadata", "labels", "release") != "kube-prometheus-stack":
            errs.append(f"ServiceMonitor {name}: label release: kube-prometheus-stack missing")
        if dig(sm, "spec", "namespaceSelector", "matchNames") != ["boutique-app"]:
            errs.append(f"ServiceMonitor {name}: must select namespace boutique-app only")
        ports = [e.get("port") for e in dig(sm, "spec", "endpoints", default=[])]
        if ports != ["metrics"]:
            errs.append(f"ServiceMonitor {name}: must scrape the Service port named metrics (got {ports})")
        if app in got:
            errs.append(f"ServiceMonitor {name}: app {app} already scraped by {got[app]}")
        got[app] = name
    for s in sorted(wanted - set(got)):
        errs.append(f"no ServiceMonitor for service {s} (docs/CONVENTIONS.md)")
    for s in sorted(set(got) - wanted):
        errs.append(f"ServiceMonitor for {s}, which is not a service of docs/CONVENTIONS.md")
    for s in repo_services():
        if s in conventions_services() and s not in got:
            errs.append(f"services/{s} has no ServiceMonitor")
    for pr in find("PrometheusRule"):
        if dig(pr, "metadata", "labels", "release") != "kube-prometheus-stack":
            errs.append(f"PrometheusRule {pr['metadata']['name']}: label release: kube-prometheus-stack missing")
    kps = addon("kube-prometheus-stack")
    for sel in ("serviceMonitorSelector", "ruleSelector"):
        if dig(kps, "prometheus", "prometheusSpec", sel, "matchLabels") != {"release": "kube-prometheus-stack"}:
            errs.append(f"kube-prometheus-stack values: prometheusSpec.{sel} must select release: kube-prometheus-stack")
    return errs


def check_gateway() -> list[str]:
    errs = []
    gw = one("Gateway")
    gwns = gw["metadata"]["namespace"]
    gc = one("GatewayClass", gw["spec"]["gatewayClassName"])
    if gc["spec"]["controllerName"] != "gateway.k8s.aws/alb":
        errs.append("GatewayClass: controllerName must be gateway.k8s.aws/alb")
    pref = dig(gw, "spec", "infrastructure", "parametersRef", default={})
    try:
        lbc = one(pref.get("kind", "?"), pref.get("name"), gwns)
    except LookupError as e:
        return [f"Gateway infrastructure.parametersRef: {e}"]
    certs = [c for c in dig(lbc, "spec", "listenerConfigurations", default=[]) if c.get("protocolPort") == "HTTPS:443"]
    if len(certs) != 1 or not str(certs[0].get("defaultCertificate", "")).startswith("arn:aws:acm:"):
        errs.append("LoadBalancerConfiguration: HTTPS:443 needs exactly one ACM defaultCertificate (the wildcard certificate)")
    dtg = dig(lbc, "spec", "defaultTargetGroupConfiguration", "name")
    tgcs = find("TargetGroupConfiguration")
    default_tgc = [t for t in tgcs if t["metadata"]["name"] == dtg and t["metadata"]["namespace"] == gwns]
    if len(default_tgc) != 1 or "targetReference" in default_tgc[0]["spec"] or dig(default_tgc[0], "spec", "defaultConfiguration", "targetType") != "ip":
        errs.append("LoadBalancerConfiguration: defaultTargetGroupConfiguration must name a TGC in the Gateway's namespace, without targetReference, targetType ip")
    listeners = {l["name"]: l for l in gw["spec"]["listeners"]}
    if set(listeners) != {"http", "https"}:
        return errs + [f"Gateway: listeners must be http and https (got {sorted(listeners)})"]
    wildcard = listeners["https"].get("hostname", "")
    if not wildcard.startswith("*.") or listeners["http"].get("hostname") != wildcard:
        errs.append("Gateway: both listeners must carry the same wildcard hostname")
    domain = wildcard[2:]
    allowed_ns = set()
    for e in dig(listeners["https"], "allowedRoutes", "namespaces", "selector", "matchExpressions", default=[]):
        if e.get("key") == "kubernetes.io/metadata.name" and e.get("operator") == "In":
            allowed_ns |= set(e.get("values", []))
    https_hosts, redirect_hosts = set(), set()
    routes = find("HTTPRoute")
    lrcs = {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in find("ListenerRuleConfiguration")}
    svc_tgc = {(t["metadata"]["namespace"], dig(t, "spec", "targetReference", "name")) for t in tgcs if dig(t, "spec", "targetReference")}
    for t in tgcs:
        if dig(t, "spec", "targetReference") and dig(t, "spec", "defaultConfiguration", "targetType") != "ip":
            errs.append(f"TargetGroupConfiguration {t['metadata']['name']}: targetType must be ip")
    for r in routes:
        ns, name = r["metadata"]["namespace"], r["metadata"]["name"]
        parents = r["spec"].get("parentRefs", [])
        sections = {p.get("sectionName") for p in parents}
        if any(p.get("name") != gw["metadata"]["name"] or p.get("namespace", ns) != gwns for p in parents):
            errs.append(f"HTTPRoute {ns}/{name}: every parentRef must be the shared Gateway {gwns}/{gw['metadata']['name']} with its namespace")
        for h in r["spec"].get("hostnames", []):
            if not h.endswith("." + domain) or h.count(".") != domain.count(".") + 1:
                errs.append(f"HTTPRoute {ns}/{name}: hostname {h} is not covered by the wildcard certificate *.{domain}")
        if sections == {"http"}:
            if ns != gwns:
                errs.append(f"HTTPRoute {ns}/{name}: the http listener only accepts routes from {gwns}")
            filters = [f for rule in r["spec"]["rules"] for f in rule.get("filters", [])]
            if not filters or any(f.get("type") != "RequestRedirect" or dig(f, "requestRedirect", "scheme") != "https" or dig(f, "requestRedirect", "statusCode") != 301 for f in filters) \
                    or any(rule.get("backendRefs") for rule in r["spec"]["rules"]):
                errs.append(f"HTTPRoute {ns}/{name}: routes on the http listener may only redirect to https (301)")
            redirect_hosts |= set(r["spec"].get("hostnames", []))
        elif sections == {"https"}:
            if ns not in allowed_ns:
                errs.append(f"HTTPRoute {ns}/{name}: namespace {ns} is not allowed by the https listener")
            https_hosts |= set(r["spec"].get("hostnames", []))
            for rule in r["spec"]["rules"]:
                for b in rule.get("backendRefs", []):
                    if (ns, b["name"]) not in svc_tgc:
                        errs.append(f"HTTPRoute {ns}/{name}: backend Service {b['name']} has no TargetGroupConfiguration (ip targets, health check) in {ns}")
                for fl in rule.get("filters", []):
                    if fl.get("type") == "ExtensionRef":
                        ref = fl.get("extensionRef", {})
                        if ref.get("kind") != "ListenerRuleConfiguration" or (ns, ref.get("name")) not in lrcs:
                            errs.append(f"HTTPRoute {ns}/{name}: ExtensionRef {ref} does not name a ListenerRuleConfiguration in {ns}")
        else:
            errs.append(f"HTTPRoute {ns}/{name}: must attach to exactly one listener (sectionName http or https)")
    if redirect_hosts != https_hosts:
        errs.append(f"HTTP→HTTPS redirect hostnames {sorted(redirect_hosts)} differ from the HTTPS hostnames {sorted(https_hosts)}")
    # Services the routes point at, as the add-ons name them.
    kps = addon("kube-prometheus-stack")
    full = kps.get("fullnameOverride", "kube-prometheus-stack")
    kib = one("Kibana")
    expected_backends = {
        ("monitoring", f"{full}-grafana"), ("monitoring", f"{full}-prometheus"), ("argocd", "argocd-server"),
        ("logging", f"{kib['metadata']['name']}-kb-http"), ("boutique-app", "frontend"),
    }
    backends = {(r["metadata"]["namespace"], b["name"]) for r in routes for rule in r["spec"]["rules"] for b in rule.get("backendRefs", [])}
    if backends != expected_backends:
        errs.append(f"HTTPRoute backends {sorted(backends)} are not the Services the add-ons create {sorted(expected_backends)}")
    # URLs the UIs advertise must be their route's hostname.
    by_backend = {b: h for r in routes for rule in r["spec"]["rules"] for b in [(r["metadata"]["namespace"], x["name"]) for x in rule.get("backendRefs", [])] for h in r["spec"].get("hostnames", [])}
    urls = {
        ("monitoring", f"{full}-prometheus"): host(dig(kps, "prometheus", "prometheusSpec", "externalUrl", default="")),
        ("monitoring", f"{full}-grafana"): host(dig(kps, "grafana", "grafana.ini", "server", "root_url", default="")),
        ("argocd", "argocd-server"): dig(addon("argo-cd"), "global", "domain", default=""),
        ("logging", f"{kib['metadata']['name']}-kb-http"): host(dig(kib, "spec", "config", "server.publicBaseUrl", default="")),
    }
    for b, h in urls.items():
        if by_backend.get(b) != h:
            errs.append(f"{b[1]} advertises {h!r} but its HTTPRoute serves {by_backend.get(b)!r}")
    edns = addon("external-dns")
    if edns.get("domainFilters") != [domain]:
        errs.append(f"external-dns values: domainFilters must be [{domain}] (the Gateway's domain)")
    if "gateway-httproute" not in (edns.get("sources") or []):
        errs.append("external-dns values: sources must include gateway-httproute")
    if dig(addon("aws-load-balancer-controller"), "controllerConfig", "featureGates", "ALBGatewayAPI") is not True:
        errs.append("aws-load-balancer-controller values: featureGates.ALBGatewayAPI must be true")
    return errs


def check_alerting_and_dashboards() -> list[str]:
    errs = []
    kps = addon("kube-prometheus-stack")
    amc_name = dig(kps, "alertmanager", "alertmanagerSpec", "alertmanagerConfiguration", "name")
    amcs = find("AlertmanagerConfig", amc_name, "monitoring")
    if len(amcs) != 1:
        return [f"kube-prometheus-stack values name AlertmanagerConfig monitoring/{amc_name}, which does not exist"]
    bootstrap = (PLATFORM / "bootstrap.sh").read_text()
    for rcv in dig(amcs[0], "spec", "receivers", default=[]):
        for sc in rcv.get("slackConfigs", []):
            secret = dig(sc, "apiURL", "name")
            if not secret or secret not in bootstrap:
                errs.append(f"AlertmanagerConfig: Slack webhook Secret {secret!r} is not created by bootstrap.sh")
    if re.search(r"hooks\.slack\.com/services/[A-Za-z0-9]", "\n".join(p.read_text() for p in PLATFORM.rglob("*") if p.is_file())):
        errs.append("a Slack webhook URL is committed under platform/")
    kust = load_yaml(PLATFORM / "monitoring" / "dashboards" / "kustomization.yaml")
    side = dig(kps, "grafana", "sidecar", "dashboards", default={})
    if dig(kust, "generatorOptions", "labels", side.get("label")) != side.get("labelValue"):
        errs.append("dashboards kustomization: ConfigMap label does not match Grafana's sidecar label in kube-prometheus-stack values")
    listed = {f for g in kust.get("configMapGenerator", []) for f in g.get("files", [])}
    on_disk = {p.name for p in (PLATFORM / "monitoring" / "dashboards").glob("*.json")}
    if listed != on_disk:
        errs.append(f"dashboards kustomization lists {sorted(listed)} but the folder holds {sorted(on_disk)}")
    uids = {}
    for name in sorted(on_disk):
        d = json.loads((PLATFORM / "monitoring" / "dashboards" / name).read_text())
        if d.get("uid") in uids:
            errs.append(f"{name}: uid {d.get('uid')} also used by {uids[d.get('uid')]}")
        uids[d.get("uid")] = name
        ids = [p.get("id") for p in d.get("panels", [])]
        if len(ids) != len(set(ids)):
            errs.append(f"{name}: duplicate panel ids")
        for p in d.get("panels", []):
            if p.get("type") == "row":
                continue
            if dig(p, "datasource", "uid") != "${datasource}" or not p.get("targets"):
                errs.append(f"{name}: panel {p.get('title')!r} must query the ${{datasource}} variable")
    return errs


def check_versions_and_logging() -> list[str]:
    errs = []
    env = {}
    for line in (PLATFORM / "versions.env").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            k, _, v = line.partition("=")
            env[k] = v
    bootstrap = (PLATFORM / "bootstrap.sh").read_text()
    for k in env:
        if f"${k}" not in bootstrap and f"${{{k}}}" not in bootstrap:
            errs.append(f"versions.env: {k} is not used by bootstrap.sh")
    for k in set(re.findall(r"\$\{?([A-Z_]+_VERSION)\b", bootstrap)):
        if k not in env:
            errs.append(f"bootstrap.sh uses {k}, which versions.env does not pin")
    for kind in ("Elasticsearch", "Kibana", "Beat"):
        for o in find(kind):
            if o["spec"]["version"] != env.get("ELASTIC_STACK_VERSION"):
                errs.append(f"{kind} {o['metadata']['name']}: version {o['spec']['version']} is not ELASTIC_STACK_VERSION {env.get('ELASTIC_STACK_VERSION')}")
    beat = one("Beat", "filebeat")
    cfg = beat["spec"]["config"]
    inputs = cfg.get("filebeat.inputs", [])
    if len(inputs) != 1 or inputs[0].get("type") != "filestream":
        return errs + ["Filebeat: expected one filestream input"]
    parsers = [next(iter(p)) for p in inputs[0].get("parsers", [])]
    if parsers != ["container", "ndjson"]:
        errs.append(f"Filebeat: parsers must be container then ndjson (got {parsers})")
    if not any("_boutique-app_" in p for p in inputs[0].get("paths", [])):
        errs.append("Filebeat: the input must read the boutique-app containers' logs")
    # The fields the processors map are the ones our services write (docs/CONVENTIONS.md, Logs).
    logs = (REPO / "docs" / "CONVENTIONS.md").read_text().split("## Logs", 1)[1].split("\n## ", 1)[0]
    conv_fields = set(re.findall(r"`([a-z_]+)`", logs))
    procs = {next(iter(p)): p[next(iter(p))] for p in inputs[0].get("processors", [])}
    renamed = {r["from"]: r["to"] for r in dig(procs, "rename", "fields", default=[])}
    for fld, to in (("severity", "log.level"), ("trace_id", "trace.id"), ("span_id", "span.id")):
        if renamed.get(fld) != to:
            errs.append(f"Filebeat: {fld} must become {to}")
        if fld not in conv_fields:
            errs.append(f"Filebeat maps {fld}, which docs/CONVENTIONS.md does not name as a log field")
    if dig(procs, "timestamp", "field") != "timestamp" or "timestamp" not in conv_fields:
        errs.append("Filebeat: the timestamp processor must parse the `timestamp` field of docs/CONVENTIONS.md")
    # ILM: the policy file Filebeat loads is mounted from the ConfigMap that holds it.
    pf = cfg.get("setup.ilm.policy_file", "")
    pod = dig(beat, "spec", "daemonSet", "podTemplate", "spec", default={})
    mounts = {m["mountPath"]: m["name"] for c in pod.get("containers", []) for m in c.get("volumeMounts", [])}
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    d, _, fname = pf.rpartition("/")
    cm_name = dig(vols.get(mounts.get(d, ""), {}), "configMap", "name")
    cms = find("ConfigMap", cm_name, "logging") if cm_name else []
    if len(cms) != 1 or fname not in cms[0].get("data", {}):
        errs.append(f"Filebeat: setup.ilm.policy_file {pf} is not mounted from a ConfigMap holding {fname}")
    else:
        pol = json.loads(cms[0]["data"][fname])
        phases = dig(pol, "policy", "phases", default={})
        if "rollover" not in dig(phases, "hot", "actions", default={}) or "delete" not in dig(phases, "delete", "actions", default={}):
            errs.append("ILM policy: needs a hot phase with rollover and a delete phase")
    if cfg.get("setup.ilm.policy_name") != fname.removesuffix(".json"):
        errs.append("Filebeat: setup.ilm.policy_name must match the policy file's name")
    return errs


CHECKS = {
    "values-eks.yaml holds exactly the seed's five overrides": check_values_eks,
    "Argo CD Application, AppProject and ImageUpdater agree": check_argocd,
    "ServiceMonitors cover every service; release labels": check_servicemonitors,
    "Gateway, routes, certificates, target groups, DNS and UI URLs agree": check_gateway,
    "Alertmanager and Grafana provisioning agree": check_alerting_and_dashboards,
    "pinned versions and Filebeat's log parsing agree": check_versions_and_logging,
}
