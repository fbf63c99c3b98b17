#!/usr/bin/env python3
"""Set the pinned chart version of an Argo CD Application, changing nothing else in the file.

Usage: bump-chart-version.py APPLICATION_YAML VERSION [--chart onlineboutique]

Finds `spec.sources[i].targetRevision` of the source whose `chart` is CHART (or
`spec.source.targetRevision` when the Application has a single source with that chart)
and rewrites only that scalar, so comments and formatting survive. Prints `changed` or
`unchanged`; exits 1 when no such source exists or VERSION is not a semantic version.
Needs PyYAML.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


def get(node, key: str):
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
    return None


def revision_node(doc, chart: str) -> ScalarNode | None:
    spec = get(doc, "spec")
    candidates = []
    sources = get(spec, "sources")
    if isinstance(sources, SequenceNode):
        candidates += sources.value
    single = get(spec, "source")
    if single is not None:
        candidates.append(single)
    for src in candidates:
        name = get(src, "chart")
        rev = get(src, "targetRevision")
        if isinstance(name, ScalarNode) and name.value == chart and isinstance(rev, ScalarNode):
            return rev
    return None


def bump(text: str, version: str, chart: str) -> tuple[str, bool]:
    doc = yaml.compose(text)
    node = revision_node(doc, chart)
    if node is None:
        raise LookupError(f"no Argo CD source with chart {chart!r} and a targetRevision")
    if node.value == version:
        return text, False
    quote = text[node.start_mark.index] if node.style in ("'", '"') else ""
    new = f"{quote}{version}{quote}"
    return text[:node.start_mark.index] + new + text[node.end_mark.index:], True


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file", type=Path)
    ap.add_argument("version")
    ap.add_argument("--chart", default="onlineboutique")
    args = ap.parse_args(argv)
    if not SEMVER.match(args.version):
        print(f"bump-chart-version: {args.version!r} is not a semantic version", file=sys.stderr)
        return 1
    text = args.file.read_text()
    try:
        new, changed = bump(text, args.version, args.chart)
    except LookupError as e:
        print(f"bump-chart-version: {args.file}: {e}", file=sys.stderr)
        return 1
    if changed:
        args.file.write_text(new)
    print("changed" if changed else "unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
