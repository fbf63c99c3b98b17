#!/usr/bin/env python3
"""Checks of the rendered onlineboutique chart, run by scripts/check-helm.sh.

Each subcommand prints one or more lines and exits non-zero when a check fails:
  split RENDER OUTDIR            core-kind documents -> OUTDIR/core.yaml, custom resources -> OUTDIR/custom.yaml
  crds SCHEMA_DIR... -- FILE...  validate every custom resource against <dir>/<group>/<kind>_<version>.json
  env REPO RENDER...             env vars set on our containers vs scripts/helm-tests/env-vars.yaml and the code
  ports REPO RENDER...           Service / container ports vs docs/CONVENTIONS.md
  netpol RENDER EDGES            NetworkPolicies allow exactly the edges of EDGES (and metrics from monitoring)
  readme VALUES README [--write] helm/README.md's values table vs values.yaml
"""
import json
import os
import re
import sys

import yaml

# API groups served by Kubernetes itself (validated by kubernetes-validate); anything else is a custom resource.
CORE_GROUPS = {
    "", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io",
    "storage.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "node.k8s.io", "discovery.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "certificates.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
}
DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def group_version(doc):
    api = doc["apiVersion"]
    return tuple(api.split("/", 1)) if "/" in api else ("", api)


def kn(doc):
    return "%s/%s" % (doc.get("kind"), doc.get("metadata", {}).get("name"))


# ---------------------------------------------------------------------------------------------- split
def cmd_split(render, outdir):
    docs = load_docs(render)
    core = [d for d in docs if group_version(d)[0] in CORE_GROUPS]
    custom = [d for d in docs if group_version(d)[0] not in CORE_GROUPS]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "core.yaml"), "w") as f:
        yaml.safe_dump_all(core, f, sort_keys=False)
    with open(os.path.join(outdir, "custom.yaml"), "w") as f:
        yaml.safe_dump_all(custom, f, sort_keys=False)
    print("%d documents: %d core, %d custom" % (len(docs), len(core), len(custom)))
    return 0


# ----------------------------------------------------------------------------------------------- crds
def cmd_crds(args):
    import jsonschema

    sep = args.index("--")
    dirs, files = args[:sep], args[sep + 1:]
    failures = checked = 0
    for path in files:
        for doc in load_docs(path):
            group, version = group_version(doc)
            rel = os.path.join(group, "%s_%s.json" % (doc["kind"].lower(), version))
            schema_path = next((os.path.join(d, rel) for d in dirs if os.path.isfile(os.path.join(d, rel))), None)
            where = "%s: %s (%s)" % (os.path.basename(path), kn(doc), doc["apiVersion"])
            if schema_path is None:
                print("  FAIL %s: no schema %s in %s" % (where, rel, ", ".join(dirs)))
                failures += 1
                continue
            with open(schema_path) as f:
                schema = json.load(f)
            cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
            errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
            meta = doc.get("metadata", {})
            if not DNS1123.match(str(meta.get("name", ""))) or not meta.get("namespace"):
                errors.append("metadata.name must be a DNS-1123 name and metadata.namespace set")
            checked += 1
            if errors:
                failures += 1
                for e in errors[:5]:
                    msg = e if isinstance(e, str) else "%s: %s" % (".".join(map(str, e.path)) or "<root>", e.message)
                    print("  FAIL %s against %s: %s" % (where, schema_path, msg))
    print("%d custom resources validated, %d failed" % (checked, failures))
    return 1 if failures else 0


# ------------------------------------------------------------------------------------------------ env
def containers_of(doc):
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


OUR_REGISTRY = [None]


def our_registry(repo):
    if OUR_REGISTRY[0] is None:
        values = yaml.safe_load(open(os.path.join(repo, "helm/onlineboutique/values.yaml")))
        OUR_REGISTRY[0] = values["images"]["repository"]
    return OUR_REGISTRY[0]


def our_service(image, services):
    """Name of our service when IMAGE is one of our images (<images.repository>/<service>:<tag>), else None."""
    repo = image.rsplit("@", 1)[0]
    repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
    registry, _, name = repo.rpartition("/")
    if name in services and registry == OUR_REGISTRY[0]:
        return name
    return None


def grep_tree(root, needle):
    """Files under ROOT (Rust sources) containing the string literal "NEEDLE" (or the bare word for alternatives)."""
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            if not n.endswith(".rs"):
                continue
            p = os.path.join(dirpath, n)
            try:
                with open(p, errors="replace") as f:
                    if needle in f.read():
                        hits.append(p)
            except OSError:
                pass
    return hits


def cmd_env(repo, renders):
    our_registry(repo)
    data = yaml.safe_load(open(os.path.join(repo, "scripts/helm-tests/env-vars.yaml")))
    conventions = open(os.path.join(repo, "docs/CONVENTIONS.md")).read()
    services = data["services"]
    common, ignored = set(data["common"]), set(data["ignored"])
    fail = 0

    # 1. the data file is CONVENTIONS.md encoded: every name must appear there.
    names = common | ignored | {v for s in services.values() for v in s["reads"] + s["required"]}
    for v in sorted(names):
        if "`%s`" % v not in conventions:
            print("  FAIL env-vars.yaml lists %s, which docs/CONVENTIONS.md does not name" % v)
            fail += 1

    # 2. every variable set on our containers is read by that service; every required one is set.
    set_by_chart = {}  # service -> set of names
    for render in renders:
        for doc in load_docs(render):
            if doc.get("kind") != "Deployment":
                continue
            for c in containers_of(doc):
                svc = our_service(c.get("image", ""), services)
                if svc is None:
                    continue
                env = [e["name"] for e in c.get("env", [])]
                allowed = set(services[svc]["reads"]) | ignored | (set() if services[svc].get("noCommon") else common)
                for v in env:
                    if v not in allowed:
                        print("  FAIL %s: %s sets %s, which %s does not read" % (os.path.basename(render), svc, v, svc))
                        fail += 1
                for v in services[svc]["required"]:
                    if v not in env:
                        print("  FAIL %s: %s requires %s, the chart does not set it" % (os.path.basename(render), svc, v))
                        fail += 1
                if len(env) != len(set(env)):
                    print("  FAIL %s: %s sets a variable twice: %s" % (os.path.basename(render), svc, env))
                    fail += 1
                set_by_chart.setdefault(svc, set()).update(env)

    # 3. cross-check with the code: the name appears (as a string literal) in the crate that reads it.
    alternatives = data.get("grepAlternatives", {})
    runtime_src = os.path.join(repo, "crates/runtime/src")
    crates = os.path.join(repo, "crates")
    crate_srcs = sorted(os.path.join(crates, d, "src") for d in (os.listdir(crates) if os.path.isdir(crates) else [])
                        if os.path.isdir(os.path.join(crates, d, "src")))

    def find(v, roots):
        for root in roots:
            for needle in alternatives.get(v, [v]):
                hits = grep_tree(root, '"%s"' % needle if needle == v else needle)
                if hits:
                    return os.path.relpath(hits[0], repo)
        return None

    common_set = set()
    for svc, names in set_by_chart.items():
        if not services[svc].get("noCommon"):
            common_set |= names & common
    if common_set and not os.path.isdir(runtime_src):
        print("  NOTICE crates/runtime/src does not exist yet: %s not grepped" % ", ".join(sorted(common_set)))
    elif common_set:
        found = {v: find(v, [runtime_src]) for v in sorted(common_set)}
        for v, where in found.items():
            if where is None:
                print("  FAIL the chart sets %s on every service but crates/runtime/src has no \"%s\"" % (v, v))
                fail += 1
        print("  checked common variables in crates/runtime/src: %s" % ", ".join(
            "%s (%s)" % (v, os.path.basename(w)) for v, w in found.items() if w))
    for svc, names in sorted(set_by_chart.items()):
        own = sorted(names - ignored - (set() if services[svc].get("noCommon") else common))
        svc_src = os.path.join(repo, "services", svc, "src")
        if not os.path.isdir(svc_src) or not own:
            continue
        ok = []
        for v in own:
            where = find(v, [svc_src] + crate_srcs)
            if where:
                ok.append("%s (%s)" % (v, where))
            else:
                print("  FAIL %s: the chart sets %s but no string \"%s\" is in services/%s/src or crates/*/src" % (
                    svc, v, v, svc))
                fail += 1
        if ok:
            print("  checked %s: %s" % (svc, ", ".join(ok)))
    missing = 0
    for svc in sorted(set_by_chart):
        own = set_by_chart[svc] - ignored - (set() if services[svc].get("noCommon") else common)
        if own and not os.path.isdir(os.path.join(repo, "services", svc, "src")):
            print("  NOTICE services/%s/src does not exist yet: its own variables were not grepped" % svc)
            missing += 1
    print("%d variables on %d services checked against CONVENTIONS.md and the code, %d services not written yet, %d problems"
          % (sum(len(v) for v in set_by_chart.values()), len(set_by_chart), missing, fail))
    return 1 if fail else 0


# ---------------------------------------------------------------------------------------------- ports
def conventions_ports(repo):
    """service -> (listen port, k8s Service port), parsed from docs/CONVENTIONS.md's services table."""
    ports = {}
    for line in open(os.path.join(repo, "docs/CONVENTIONS.md")):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and re.fullmatch(r"[a-z]+", cells[0]) and re.fullmatch(r"\d+", cells[2]):
            svc_port = re.match(r"(\d+)", cells[3])
            ports[cells[0]] = (int(cells[2]), int(svc_port.group(1)))
    return ports


def cmd_ports(repo, renders):
    our_registry(repo)
    ports = conventions_ports(repo)
    if len(ports) < 10:
        print("  FAIL could not read the services table of docs/CONVENTIONS.md (found %s)" % sorted(ports))
        return 1
    data = yaml.safe_load(open(os.path.join(repo, "scripts/helm-tests/env-vars.yaml")))
    fail = checked = 0
    for render in renders:
        docs = load_docs(render)
        deploy_app = {}  # app label -> our service (from the image)
        for doc in docs:
            if doc.get("kind") != "Deployment":
                continue
            app = doc["spec"]["selector"]["matchLabels"]["app"]
            for c in doc["spec"]["template"]["spec"]["containers"]:
                svc = our_service(c.get("image", ""), data["services"])
                if svc not in ports:
                    continue
                deploy_app[app] = svc
                listen, _ = ports[svc]
                cports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
                env = {e["name"]: e.get("value") for e in c.get("env", [])}
                probe_ports = [(c.get(k) or {}).get(t, {}).get("port") for k in ("readinessProbe", "livenessProbe")
                               for t in ("grpc", "httpGet") if (c.get(k) or {}).get(t)]
                problems = []
                main = cports.get("grpc", cports.get("http"))
                if main != listen:
                    problems.append("container port %s != %d" % (main, listen))
                if cports.get("metrics") != 9464:
                    problems.append("metrics container port %s != 9464" % cports.get("metrics"))
                if env.get("PORT") != str(listen):
                    problems.append("PORT=%s != %d" % (env.get("PORT"), listen))
                if env.get("METRICS_PORT", "9464") != "9464":
                    problems.append("METRICS_PORT=%s" % env.get("METRICS_PORT"))
                if len(probe_ports) != 2 or any(p != listen for p in probe_ports):
                    problems.append("probe ports %s != %d" % (probe_ports, listen))
                kind = "httpGet" if svc == "frontend" else "grpc"
                if not all((c.get(k) or {}).get(kind) for k in ("readinessProbe", "livenessProbe")):
                    problems.append("readiness and liveness must be %s probes" % kind)
                for p in problems:
                    print("  FAIL %s: Deployment %s: %s" % (os.path.basename(render), app, p))
                fail += len(problems)
                checked += 1
        for doc in docs:
            if doc.get("kind") != "Service":
                continue
            app = (doc["spec"].get("selector") or {}).get("app")
            svc = deploy_app.get(app)
            if svc is None:
                continue
            listen, service_port = ports[svc]
            external = doc["metadata"]["name"].endswith("-external")
            for p in doc["spec"]["ports"]:
                if p["name"] == "metrics":
                    ok = p["port"] == 9464 and p["targetPort"] == 9464
                else:
                    want_port = 80 if external else service_port
                    ok = p["port"] == want_port and p["targetPort"] == listen
                if not ok:
                    print("  FAIL %s: Service %s port %s: %s -> %s (CONVENTIONS.md: %s -> %s)" % (
                        os.path.basename(render), doc["metadata"]["name"], p["name"], p["port"], p["targetPort"],
                        service_port, listen))
                    fail += 1
                checked += 1
    print("%d Deployments/Service ports checked against docs/CONVENTIONS.md, %d problems" % (checked, fail))
    return 1 if fail else 0


# --------------------------------------------------------------------------------------------- netpol
def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


def peer_matches(peer, pod_labels, pod_ns, policy_ns, ns_labels):
    if "ipBlock" in peer:
        return True  # an ipBlock may hold pod addresses: count it as reaching every pod
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], ns_labels.get(pod_ns, {})):
            return False
    elif pod_ns != policy_ns:
        return False
    return selects(peer.get("podSelector", {}), pod_labels) if "podSelector" in peer else True


def port_matches(rule, port):
    ports = rule.get("ports")
    return not ports or any(p.get("port") in (None, port) and p.get("protocol", "TCP") == "TCP" for p in ports)


def allowed(policies, direction, subject, subject_ns, peer_labels, peer_ns, port, ns_labels):
    """Is traffic allowed in DIRECTION ('Ingress'/'Egress') for pod SUBJECT with the peer pod on PORT?"""
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    applying = [p for p in policies if p["metadata"]["namespace"] == subject_ns
                and direction in p["spec"].get("policyTypes", []) and selects(p["spec"]["podSelector"], subject)]
    if not applying:
        return True
    for pol in applying:
        for rule in pol["spec"].get(key) or []:
            peers = rule.get(peers_key)
            if (not peers or any(peer_matches(pe, peer_labels, peer_ns, subject_ns, ns_labels) for pe in peers)) \
                    and port_matches(rule, port):
                return True
    return False


def cmd_netpol(render, edges_file):
    docs = load_docs(render)
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    ns = docs[0]["metadata"]["namespace"]
    ns_labels = {ns: {"kubernetes.io/metadata.name": ns},
                 "monitoring": {"kubernetes.io/metadata.name": "monitoring"},
                 "kube-system": {"kubernetes.io/metadata.name": "kube-system"}}
    pods = {}
    for d in docs:
        if d["kind"] == "Deployment":
            t = d["spec"]["template"]
            ports = sorted({p["containerPort"] for c in t["spec"]["containers"] for p in c.get("ports", [])})
            pods[t["metadata"]["labels"]["app"]] = (t["metadata"]["labels"], ports)
    if not any(p["spec"]["podSelector"] == {} for p in policies):
        print("  FAIL no default deny-all NetworkPolicy")
        return 1
    expected = set()
    for e in yaml.safe_load(open(edges_file))["edges"]:
        m = re.fullmatch(r"(\S+) → (\S+):(\d+)", e)
        expected.add((m.group(1), m.group(2), int(m.group(3))))
    actual = set()
    for src, (slabels, _) in pods.items():
        for dst, (dlabels, dports) in pods.items():
            for port in dports:
                if allowed(policies, "Egress", slabels, ns, dlabels, ns, port, ns_labels) and \
                        allowed(policies, "Ingress", dlabels, ns, slabels, ns, port, ns_labels):
                    actual.add((src, dst, port))
    fail = 0
    for e in sorted(expected - actual):
        print("  FAIL edge %s → %s:%d is blocked" % e)
        fail += 1
    for e in sorted(actual - expected):
        print("  FAIL edge %s → %s:%d is allowed but not in the shop's topology" % e)
        fail += 1
    # metrics port: open to the monitoring namespace, closed to other pods; DNS egress for every workload.
    prom = {"app.kubernetes.io/name": "prometheus"}
    dns = {"k8s-app": "kube-dns"}
    for app, (labels, ports) in sorted(pods.items()):
        if 9464 in ports and not allowed(policies, "Ingress", labels, ns, prom, "monitoring", 9464, ns_labels):
            print("  FAIL %s: metrics port 9464 closed to the monitoring namespace" % app)
            fail += 1
        if app != "redis-cart" and not allowed(policies, "Egress", labels, ns, dns, "kube-system", 53, ns_labels):
            print("  FAIL %s: no DNS egress" % app)
            fail += 1
    print("%d pods, %d allowed pod-to-pod edges, %d expected, %d problems" % (len(pods), len(actual), len(expected), fail))
    return 1 if fail else 0


# --------------------------------------------------------------------------------------------- readme
BEGIN, END = "<!-- values-table:begin (generated from values.yaml) -->", "<!-- values-table:end -->"


def documented_keys(values_path):
    """[(dotted key, description)] from '# -- ' comments directly above a key in values.yaml."""
    out, stack, pending = [], [], None
    for line in open(values_path):
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = stripped[4:].strip()
            continue
        if not stripped or stripped.startswith("#") or stripped.startswith("- "):
            continue
        m = re.match(r"^( *)([A-Za-z0-9_.-]+|\"[^\"]+\"):", line)
        if not m:
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2).strip('"')))
        if pending is not None:
            out.append((".".join(k for _, k in stack), pending))
            pending = None
    return out


def leaves(node, prefix=""):
    if isinstance(node, dict) and node:
        for k, v in node.items():
            yield from leaves(v, "%s.%s" % (prefix, k) if prefix else k)
    else:
        yield prefix


def lookup(values, key):
    node = values
    for part in key.split("."):
        node = node[part]
    return node


def fmt_default(v):
    if isinstance(v, str):
        return '`"%s"`' % v if v == "" else "`%s`" % v
    return "`%s`" % json.dumps(v, separators=(", ", ": "))


def render_table(values_path):
    values = yaml.safe_load(open(values_path))
    rows = ["| Key | Default | Description |", "|---|---|---|"]
    for key, desc in documented_keys(values_path):
        rows.append("| `%s` | %s | %s |" % (key, fmt_default(lookup(values, key)).replace("|", "\\|"), desc.replace("|", "\\|")))
    return "\n".join(rows)


def cmd_readme(values_path, readme_path, write):
    values = yaml.safe_load(open(values_path))
    docs = documented_keys(values_path)
    keys = [k for k, _ in docs]
    fail = []
    for k in keys:
        if any(o != k and o.startswith(k + ".") for o in keys):
            fail.append("%s is documented and so is a key below it: document one level only" % k)
    for leaf in leaves(values):
        covering = [k for k in keys if leaf == k or leaf.startswith(k + ".")]
        if not covering:
            fail.append("values.yaml key %s has no '# --' description (nor has a parent)" % leaf)
    table = render_table(values_path)
    text = open(readme_path).read() if os.path.exists(readme_path) else ""
    if BEGIN not in text or END not in text:
        fail.append("%s lacks the markers %s ... %s" % (readme_path, BEGIN, END))
    elif write:
        head, rest = text.split(BEGIN, 1)
        text = head + BEGIN + "\n" + table + "\n" + END + rest.split(END, 1)[1]
        open(readme_path, "w").write(text)
        print("wrote the values table (%d keys) into %s" % (len(keys), readme_path))
    else:
        current = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
        if current != table:
            cur, want = current.splitlines(), table.splitlines()
            diff = [l for l in want if l not in cur][:5] + ["(README has) " + l for l in cur if l not in want][:5]
            fail.append("README values table differs from values.yaml (run: python3 scripts/helm-tests/helmtests.py "
                        "readme helm/onlineboutique/values.yaml helm/README.md --write):\n    " + "\n    ".join(diff))
    for f in fail:
        print("  FAIL " + f)
    print("%d documented keys, %d leaves of values.yaml, %d problems" % (len(keys), len(list(leaves(values))), len(fail)))
    return 1 if fail else 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "split":
        return cmd_split(*args)
    if cmd == "crds":
        return cmd_crds(args)
    if cmd == "env":
        return cmd_env(args[0], args[1:])
    if cmd == "ports":
        return cmd_ports(args[0], args[1:])
    if cmd == "netpol":
        return cmd_netpol(*args)
    if cmd == "readme":
        return cmd_readme(args[0], args[1], "--write" in args[2:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
