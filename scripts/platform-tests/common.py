"""Shared helpers of the platform/ checks (scripts/check-platform.sh)."""

from __future__ import annotations

import json
import os
import pathlib
import re
import sys
from typing import Any, Iterator

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
# PLATFORM_DIR lets the self-test run the checks on a mutated copy of platform/.
PLATFORM = pathlib.Path(os.environ.get("PLATFORM_DIR") or REPO / "platform")
SCHEMAS = REPO.parent / "shared" / "schemas" / "crds"
CONVENTIONS = REPO / "docs" / "CONVENTIONS.md"

# YAML files under platform/ that are not Kubernetes manifests, and what they are.
NON_MANIFESTS = {
    ".yamllint.yaml": "yamllint configuration",
    "argocd/values-eks.yaml": "values of the onlineboutique chart",
    "argocd/values-images.yaml": "values of the onlineboutique chart (Image Updater write-back target)",
    "monitoring/tests/rules.test.yaml": "promtool unit tests",
    "monitoring/dashboards/kustomization.yaml": "kustomization (rendered by the dashboards check)",
}
# Helm values of the add-ons: platform/addons/<chart>.values.yaml.
ADDON_VALUES_GLOB = "addons/*.values.yaml"

# Metric names that the cluster emits, not our services: kube-state-metrics, cAdvisor (kubelet) and
# Prometheus itself. Rules and dashboards may use these and nothing else besides our own metrics.
EXTERNAL_METRICS = {
    "up": "Prometheus (scrape health of every target)",
    "kube_pod_container_status_restarts_total": "kube-state-metrics",
    "kube_pod_container_resource_limits": "kube-state-metrics",
    "kube_horizontalpodautoscaler_status_current_replicas": "kube-state-metrics",
    "kube_horizontalpodautoscaler_spec_max_replicas": "kube-state-metrics",
    "container_memory_working_set_bytes": "cAdvisor (kubelet)",
    "container_cpu_usage_seconds_total": "cAdvisor (kubelet)",
}
# Labels Prometheus attaches to every series scraped through a ServiceMonitor (target labels).
TARGET_LABELS = {"job", "instance", "namespace", "service", "pod", "container", "endpoint"}


class Failures:
    """Collects failures of one check; `ok()` prints them and tells whether there were none."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, msg: str) -> None:
        if msg not in self.items:
            self.items.append(msg)

    def ok(self, summary: str) -> bool:
        for m in self.items:
            print(f"  - {m}")
        if not self.items:
            print(summary)
        return not self.items


def rel(p: pathlib.Path) -> str:
    try:
        return str(p.relative_to(REPO))
    except ValueError:
        return str(p)


def load_docs(path: pathlib.Path) -> list[Any]:
    with path.open() as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load_yaml(path: pathlib.Path) -> Any:
    with path.open() as f:
        return yaml.safe_load(f)


def platform_yaml_files() -> list[pathlib.Path]:
    return sorted(p for p in PLATFORM.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def is_non_manifest(path: pathlib.Path) -> bool:
    r = str(path.relative_to(PLATFORM))
    return r in NON_MANIFESTS or path.match(str(PLATFORM / ADDON_VALUES_GLOB))


def manifests() -> Iterator[tuple[pathlib.Path, dict]]:
    """Every Kubernetes object under platform/ (non-manifest YAML files skipped)."""
    for p in platform_yaml_files():
        if is_non_manifest(p):
            continue
        for d in load_docs(p):
            yield p, d


def find(kind: str, name: str | None = None, namespace: str | None = None) -> list[dict]:
    out = []
    for _, d in manifests():
        if not isinstance(d, dict) or d.get("kind") != kind:
            continue
        md = d.get("metadata") or {}
        if name is not None and md.get("name") != name:
            continue
        if namespace is not None and md.get("namespace") != namespace:
            continue
        out.append(d)
    return out


def one(kind: str, name: str | None = None, namespace: str | None = None) -> dict:
    found = find(kind, name, namespace)
    if len(found) != 1:
        raise LookupError(f"expected exactly one {kind} {namespace or ''}/{name or '*'} under platform/, found {len(found)}")
    return found[0]


def dig(obj: Any, *path: Any, default: Any = None) -> Any:
    for k in path:
        if isinstance(obj, dict) and k in obj:
            obj = obj[k]
        elif isinstance(obj, list) and isinstance(k, int) and -len(obj) <= k < len(obj):
            obj = obj[k]
        else:
            return default
    return obj


def conventions_services() -> dict[str, dict]:
    """The service table of docs/CONVENTIONS.md: name → {kind, port} (deployable services with a port)."""
    text = CONVENTIONS.read_text()
    section = text.split("## Services", 1)[1].split("\n## ", 1)[0]
    out: dict[str, dict] = {}
    for line in section.splitlines():
        m = re.match(r"^\|\s*([a-z]+)\s*(\(later\))?\s*\|\s*([^|]+?)\s*\|\s*([^|]+?)\s*\|", line)
        if not m or m.group(1) in ("service",):
            continue
        port = m.group(4).strip()
        if not port.isdigit():
            continue  # loadgenerator: no port, nothing to scrape
        out[m.group(1)] = {"kind": m.group(3), "port": int(port)}
    if len(out) < 10:
        raise SystemExit(f"could not parse the service table of {rel(CONVENTIONS)} (found {sorted(out)})")
    return out


def conventions_metrics() -> dict[str, str]:
    """Metric names of the Metrics table of docs/CONVENTIONS.md → their type."""
    text = CONVENTIONS.read_text()
    section = text.split("## Metrics", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        for name in re.findall(r"`([a-z_:]+)`", cells[0]):
            out[name] = cells[1]
    return out


def repo_services() -> list[str]:
    """Services of the repository: services/*/ with a Cargo.toml (minus the all-in-one runner)."""
    return sorted(p.parent.name for p in (REPO / "services").glob("*/Cargo.toml") if p.parent.name != "boutique")


def die(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def dump_json(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True)
