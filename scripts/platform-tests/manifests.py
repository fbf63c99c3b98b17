"""Schema validation of every Kubernetes object under platform/.

- core kinds: kubernetes-validate (strict: unknown fields are errors) for each Kubernetes version in KUBE_VERSIONS;
- custom resources: the JSON schema ../shared/schemas/crds/<group>/<kind>_<version>.json (a kind without a
  schema is a failure), plus: no top-level keys besides apiVersion/kind/metadata/spec, and every field the
  API server would default (a `default` in the schema, inside an object we wrote) written out, so the
  stored object equals the one in Git and Argo CD / `kubectl diff` show no drift;
- pod templates embedded in ECK resources (their CRDs keep them schemaless): validated as core PodTemplates;
- names: every object has a name, namespaced kinds a namespace, and no object is defined twice.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import jsonschema
import kubernetes_validate as kv

from common import SCHEMAS, Failures, dig, load_docs, platform_yaml_files, is_non_manifest, rel

KUBE_VERSIONS = ["1.33.0", "1.37.0"]
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "GatewayClass", "CustomResourceDefinition"}
TOP_LEVEL = {"apiVersion", "kind", "metadata", "spec"}
CORE_TOP_LEVEL_EXTRA = {"data", "stringData", "binaryData", "type", "rules", "roleRef", "subjects", "immutable",
                        "automountServiceAccountToken", "secrets", "imagePullSecrets", "template"}

_schema_cache: dict[pathlib.Path, dict] = {}


def schema_for(api_version: str, kind: str) -> pathlib.Path | None:
    if "/" not in api_version:
        return None
    group, version = api_version.split("/", 1)
    if not (SCHEMAS / group).is_dir():
        return None
    return SCHEMAS / group / f"{kind.lower()}_{version}.json"


def missing_defaults(doc: Any, schema: dict, path: str, out: list[str]) -> None:
    """Fields with a schema default that are absent from an object present in `doc`."""
    if isinstance(doc, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if key in doc:
                missing_defaults(doc[key], sub, f"{path}.{key}", out)
            elif "default" in sub:
                out.append(f"{path}.{key} (API default {json.dumps(sub['default'])})")
    elif isinstance(doc, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(doc):
            missing_defaults(item, schema["items"], f"{path}[{i}]", out)


def validate_custom(doc: dict, schema_path: pathlib.Path, where: str, f: Failures) -> None:
    if not schema_path.is_file():
        f.add(f"{where}: no schema for {doc['apiVersion']} {doc['kind']} (expected {rel(schema_path)})")
        return
    schema = _schema_cache.setdefault(schema_path, json.loads(schema_path.read_text()))
    extra = set(doc) - TOP_LEVEL
    if extra:
        f.add(f"{where}: unexpected top-level keys {sorted(extra)}")
    validator = jsonschema.Draft7Validator(schema)
    for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        loc = ".".join(str(p) for p in err.absolute_path) or "(root)"
        f.add(f"{where}: {loc}: {err.message[:300]}")
    missing: list[str] = []
    missing_defaults(doc.get("spec"), dig(schema, "properties", "spec", default={}), "spec", missing)
    for m in missing:
        f.add(f"{where}: {m} is not written out (the stored object would differ from Git)")


def validate_core(doc: dict, where: str, f: Failures) -> None:
    extra = set(doc) - TOP_LEVEL - CORE_TOP_LEVEL_EXTRA
    if extra:
        f.add(f"{where}: unexpected top-level keys {sorted(extra)}")
    for v in KUBE_VERSIONS:
        try:
            kv.validate(doc, v, strict=True)
        except kv.SchemaNotFoundError:
            f.add(f"{where}: {doc['apiVersion']} {doc['kind']} is neither a Kubernetes {v} kind nor has a schema in {rel(SCHEMAS)}")
            return
        except kv.ValidationError as e:
            loc = ".".join(str(p) for p in e.path) or "(root)"
            f.add(f"{where}: Kubernetes {v}: {loc}: {e.message[:300]}")


def embedded_pod_templates(doc: dict) -> list[tuple[str, dict]]:
    spec = doc.get("spec") or {}
    out = []
    if doc["apiVersion"].split("/")[0].endswith("k8s.elastic.co"):
        for i, ns in enumerate(spec.get("nodeSets") or []):
            if "podTemplate" in ns:
                out.append((f"spec.nodeSets[{i}].podTemplate", ns["podTemplate"]))
        for key in ("podTemplate",):
            if key in spec:
                out.append((f"spec.{key}", spec[key]))
        for key in ("daemonSet", "deployment"):
            if key in spec and "podTemplate" in spec[key]:
                out.append((f"spec.{key}.podTemplate", spec[key]["podTemplate"]))
    return out


def run() -> bool:
    f = Failures()
    seen: dict[tuple, str] = {}
    count = 0
    for path in platform_yaml_files():
        try:
            docs = load_docs(path)
        except Exception as e:  # noqa: BLE001 - report any YAML error
            f.add(f"{rel(path)}: not valid YAML: {e}")
            continue
        if is_non_manifest(path):
            if len(docs) != 1 or not isinstance(docs[0], dict):
                f.add(f"{rel(path)}: expected one YAML mapping")
            continue
        for i, doc in enumerate(docs):
            where = f"{rel(path)}#{i}"
            if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
                f.add(f"{where}: not a Kubernetes object (no apiVersion/kind); list it in common.NON_MANIFESTS if it is meant to be")
                continue
            kind, md = doc["kind"], doc.get("metadata") or {}
            where = f"{where} {kind} {md.get('name', '?')}"
            count += 1
            if not md.get("name"):
                f.add(f"{where}: metadata.name missing")
            if kind in CLUSTER_SCOPED and "namespace" in md:
                f.add(f"{where}: cluster-scoped kind with a namespace")
            if kind not in CLUSTER_SCOPED and not md.get("namespace"):
                f.add(f"{where}: metadata.namespace missing (objects are applied with kubectl, say where they go)")
            key = (doc["apiVersion"].split("/")[0], kind, md.get("namespace"), md.get("name"))
            if key in seen:
                f.add(f"{where}: defined twice (also {seen[key]})")
            seen[key] = where
            schema_path = schema_for(doc["apiVersion"], kind)
            if schema_path is not None:
                validate_custom(doc, schema_path, where, f)
                for sub, tpl in embedded_pod_templates(doc):
                    wrapped = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "embedded", "namespace": "x"}, "template": tpl}
                    validate_core(wrapped, f"{where} {sub}", f)
            else:
                validate_core(doc, where, f)
    return f.ok(f"{count} objects valid (core kinds against Kubernetes {', '.join(KUBE_VERSIONS)}, custom resources against {rel(SCHEMAS)})")
