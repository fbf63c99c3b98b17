"""Every metric a rule or dashboard uses is one our services really export.

Starts each service binary target/debug/<service> (built by the test command before this runs) on loopback
with ephemeral ports, reads the `metrics listening` log line for the metrics address, scrapes `/metrics`
(every metric is pre-initialised, so names appear without traffic), stops it, and compares:
- every metric name in a query is exported by a binary (histogram _bucket/_sum/_count → base name), or is
  a recording rule of ours, or is in the allow-list of cluster metrics (common.EXTERNAL_METRICS);
- every metric name of ours is also in the metrics table of docs/CONVENTIONS.md;
- label matchers on our metrics name labels the metric has (or target labels Prometheus adds), `le`
  values exist among the histogram's buckets, grouping labels exist somewhere;
- `job="<service>"` selectors name services that exist in services/;
- every stdout line of every binary is a JSON log record with `timestamp` (RFC 3339), `severity`, `message`.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import time
import urllib.request

from common import (EXTERNAL_METRICS, REPO, TARGET_LABELS, Failures, conventions_metrics, conventions_services,
                    repo_services)
from queries import all_queries, base_name, recorded_names

# Which service a metric family belongs to, when it is not exported by every service (docs/CONVENTIONS.md).
OWNERS = {"http_server_": "frontend", "checkout_": "checkoutservice", "cartservice_": "cartservice"}
# Labels of the cluster metrics in EXTERNAL_METRICS (kube-state-metrics, cAdvisor).
EXTERNAL_LABELS = {"horizontalpodautoscaler", "resource", "unit", "node", "uid", "image", "id"}
PEER_VARS = ["PRODUCT_CATALOG_SERVICE_ADDR", "CURRENCY_SERVICE_ADDR", "CART_SERVICE_ADDR", "RECOMMENDATION_SERVICE_ADDR",
             "SHIPPING_SERVICE_ADDR", "CHECKOUT_SERVICE_ADDR", "AD_SERVICE_ADDR", "PAYMENT_SERVICE_ADDR", "EMAIL_SERVICE_ADDR"]
# Labels whose values are all pre-initialised at start-up (docs/CONVENTIONS.md): a literal matcher on them
# must name a value the binaries expose (a typo such as route!="/healthz" would silently match everything).
PREINIT_LABELS = {"route", "grpc_service", "grpc_method", "store", "reason"}
SEVERITIES = {"debug", "info", "warning", "error"}
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$")
START_TIMEOUT = 20.0
NOTICES: list[str] = []


class Family:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.labels: set[str] = set()
        self.le: set[str] = set()
        self.values: dict[str, set[str]] = {}
        self.services: set[str] = set()


def parse_exposition(text: str, service: str, families: dict[str, Family]) -> None:
    types = {}
    for line in text.splitlines():
        m = re.match(r"^# TYPE (\S+) (\S+)", line)
        if m:
            types[m.group(1)] = m.group(2)
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        sample = m.group(1)
        fam = sample
        if sample not in types:
            for suffix in ("_bucket", "_sum", "_count"):
                if sample.endswith(suffix) and types.get(sample[: -len(suffix)]) in ("histogram", "summary"):
                    fam = sample[: -len(suffix)]
        f = families.setdefault(fam, Family(types.get(fam, "untyped")))
        f.services.add(service)
        for lname, lval in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""):
            if lname == "le":
                f.le.add(lval)
            else:
                f.labels.add(lname)
                f.values.setdefault(lname, set()).add(lval)


def run_binary(service: str, f: Failures) -> tuple[str | None, list[str]]:
    """Starts target/debug/<service>, returns (its /metrics text, its stdout lines)."""
    env = {k: v for k, v in os.environ.items() if k not in ("ENABLE_TRACING", "REDIS_ADDR", "COLLECTOR_SERVICE_ADDR")}
    env.update({"PORT": "0", "METRICS_PORT": "0", "LISTEN_ADDR": "127.0.0.1", "RUST_LOG": "info"})
    for v in PEER_VARS:
        env[v] = "127.0.0.1:9"  # discard port: peers are dialled lazily, never at start-up
    proc = subprocess.Popen([str(REPO / "target" / "debug" / service)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    lines: list[str] = []
    addr = None
    buf = b""
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while addr is None and time.monotonic() < deadline:
            r, _, _ = select.select([proc.stdout], [], [], 0.2)
            if not r:
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.decode(errors="replace")
                lines.append(line)
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict) and rec.get("message") == "metrics listening":
                    addr = rec.get("addr")
        if addr is None:
            err = proc.stderr.read1(4000).decode(errors="replace") if proc.poll() is not None else ""
            f.add(f"{service}: no `metrics listening` log line within {START_TIMEOUT:.0f}s (exit {proc.poll()}); stdout: {lines[-3:]} stderr: {err[-500:]}")
            return None, lines
        host, _, port = addr.rpartition(":")
        if host.strip("[]") not in ("127.0.0.1", "::1"):
            f.add(f"{service}: metrics listener bound to {addr}, not loopback")
        # The listeners can be up a moment before every series is registered: scrape until the set of
        # metric names is stable (two equal scrapes 200 ms apart, at most 3 s).
        text, names, stable_at, first = "", None, time.monotonic() + 3.0, None
        while True:
            with urllib.request.urlopen(f"http://{addr}/metrics", timeout=10) as resp:
                text = resp.read().decode()
            now = {l.split("{")[0].split(" ")[0] for l in text.splitlines() if l and not l.startswith("#")}
            first = now if first is None else first
            if now == names or time.monotonic() > stable_at:
                break
            names = now
            time.sleep(0.2)
        if now - first:
            NOTICES.append(f"NOTICE: {service} registered {sorted(now - first)} only after logging `metrics listening`")
        return text, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        # whatever else it printed while stopping is checked too
        rest = proc.stdout.read().decode(errors="replace")
        lines.extend(l for l in (buf.decode(errors="replace") + rest).splitlines() if l)
        proc.stdout.close()
        proc.stderr.close()


def check_logs(service: str, lines: list[str], f: Failures) -> None:
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            f.add(f"{service}: stdout line is not JSON: {line[:200]!r}")
            continue
        missing = [k for k in ("timestamp", "severity", "message") if k not in rec]
        if missing:
            f.add(f"{service}: log record without {missing}: {line[:200]}")
            continue
        if not RFC3339.match(str(rec["timestamp"])):
            f.add(f"{service}: timestamp {rec['timestamp']!r} is not RFC 3339 (Filebeat's timestamp processor would drop it)")
        if rec["severity"] not in SEVERITIES:
            f.add(f"{service}: severity {rec['severity']!r} is not one of {sorted(SEVERITIES)}")


def job_values(op: str, value: str) -> list[str]:
    if value.startswith("var_"):
        return []  # a dashboard variable
    if op == "Equal":
        return [value]
    if op == "Re" and re.fullmatch(r"[a-z0-9|-]+", value):
        return value.split("|")
    return []


def run() -> bool:
    f = Failures()
    conv = conventions_services()
    present = set(repo_services())
    families: dict[str, Family] = {}
    ran = []
    for service in sorted(conv):
        if service not in present:
            continue  # reported below when something uses it
        binary = REPO / "target" / "debug" / service
        if not binary.is_file():
            f.add(f"{service}: {binary.relative_to(REPO)} is missing — the test command builds it (cargo build --bins) before this check")
            continue
        text, lines = run_binary(service, f)
        check_logs(service, lines, f)
        if text is not None:
            parse_exposition(text, service, families)
            ran.append(service)
    histograms = {n for n, fam in families.items() if fam.kind == "histogram"}
    histograms |= {n for n, t in conventions_metrics().items() if t == "histogram"}
    recorded = recorded_names()
    conv_metrics = conventions_metrics()
    all_labels = set().union(*(fam.labels for fam in families.values())) if families else set()
    used = 0
    unexported: dict[str, list[str]] = {}
    for q in all_queries():
        resolved = True
        if q.error:
            f.add(f"{q.where}: PromQL does not parse: {q.error}")
            continue
        for sel in q.selectors:
            if sel.name is None:
                f.add(f"{q.where}: selector without a metric name")
                continue
            for label, op, value in sel.matchers:
                if label == "job":
                    for svc in job_values(op, value):
                        if svc not in conv:
                            f.add(f"{q.where}: job {svc!r} is not a service of docs/CONVENTIONS.md")
                        elif svc not in present:
                            f.add(f"{q.where}: uses service {svc}, which does not exist in services/ yet")
            if sel.name in recorded or sel.name in EXTERNAL_METRICS:
                continue
            used += 1
            base = base_name(sel.name, histograms)
            if base not in conv_metrics:
                f.add(f"{q.where}: metric {sel.name} is not in the metrics table of docs/CONVENTIONS.md")
            fam = families.get(base)
            if fam is None:
                unexported.setdefault(base, []).append(q.where)
                resolved = False
                continue
            for label, op, value in sel.matchers:
                if label == "le":
                    if not sel.name.endswith("_bucket"):
                        f.add(f"{q.where}: `le` matcher on {sel.name}, which is not a histogram bucket series")
                    elif op == "Equal" and value not in fam.le:
                        f.add(f"{q.where}: {base} has no bucket le={value!r} (buckets: {sorted(fam.le, key=lambda x: float(x))})")
                elif label in PREINIT_LABELS and op in ("Equal", "NotEqual") and label in fam.values and value not in fam.values[label]:
                    f.add(f"{q.where}: {base} has no series with {label}={value!r} (values: {sorted(fam.values[label])[:12]})")
                elif label not in fam.labels and label not in TARGET_LABELS and not (label.startswith("exported_") and label[9:] in fam.labels):
                    f.add(f"{q.where}: {base} has no label {label!r} (labels: {sorted(fam.labels)})")
        for label in q.grouping if resolved else ():
            if label not in all_labels | TARGET_LABELS | EXTERNAL_LABELS | {"le"} and not label.startswith("exported_"):
                f.add(f"{q.where}: groups or matches on label {label!r}, which no metric has")
    for n in NOTICES:
        print(n)
    for base, wheres in unexported.items():
        owner = next((s for p, s in OWNERS.items() if base.startswith(p)), None)
        if owner and owner not in present:
            why = f" — it belongs to {owner}, which does not exist in services/ yet"
        elif owner:
            why = f" — it belongs to {owner}"
        else:
            why = ""
        places = sorted(set(wheres))
        f.add(f"metric {base} is exported by none of the service binaries run ({', '.join(ran) or 'none'}){why}; "
              f"used by {len(places)} queries, e.g. {'; '.join(places[:3])}")
    return f.ok(f"{used} metric references checked against the /metrics of {len(ran)} service binaries ({', '.join(ran)}); "
                f"{len(EXTERNAL_METRICS)} cluster metrics allowed")
