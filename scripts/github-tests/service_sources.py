"""The three places that name the service images, read without docker or helm.

- the CI matrix: `scripts/changed-services.py --all` (the image job's matrix is that script's output);
- the bake file: the targets that `docker buildx bake` builds by default (group "default",
  expanded through nested groups and `matrix` targets), else every target not named `_*`;
- the chart: top-level keys of helm/onlineboutique/values.yaml whose value has an `image`
  mapping with `repository` and `tag` (the per-service image override), camelCase -> lowercase.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def ci_services(repo: Path = REPO) -> list[str]:
    out = subprocess.run([sys.executable, str(repo / "scripts" / "changed-services.py"),
                          "--repo", str(repo), "--all"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


# ---------------------------------------------------------------------------------------------
# A small HCL reader: enough of the syntax bake files use (blocks, attributes, strings with
# ${...}, lists, objects, comments) to find groups, targets and matrices.

def _strip_comments(text: str) -> str:
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            depth = 0
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text.startswith("${", j):
                    depth += 1
                    j += 2
                    continue
                if text[j] == "}" and depth:
                    depth -= 1
                elif text[j] == '"' and not depth:
                    break
                j += 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _block_end(text: str, start: int) -> int:
    """Index just past the brace that closes the one opened at text[start] == '{'."""
    depth, i, n, in_str = 0, start, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced braces in bake file")


BLOCK = re.compile(r'(?m)^\s*(group|target)\s+"([^"]+)"\s*\{')


def _blocks(text: str) -> list[tuple[str, str, str]]:
    found = []
    for m in BLOCK.finditer(text):
        open_at = m.end() - 1
        found.append((m.group(1), m.group(2), text[open_at + 1:_block_end(text, open_at) - 1]))
    return found


def _top_level(body: str) -> str:
    """The body with nested {...} blocks blanked, so attribute regexes see only this level."""
    out, depth, in_str = [], 0, False
    for c in body:
        if in_str:
            in_str = c != '"'
        elif c == '"':
            in_str = True
        elif c == "{":
            depth += 1
            continue
        elif c == "}":
            depth -= 1
            continue
        out.append(c if depth == 0 else " ")
    return "".join(out)


def _string_list(src: str) -> list[str]:
    return re.findall(r'"((?:[^"\\]|\\.)*)"', src)


def _matrix(body: str) -> dict[str, list[str]] | None:
    m = re.search(r"(?m)^\s*matrix\s*=\s*\{", body)
    if not m:
        return None
    inner = body[m.end():_block_end(body, m.end() - 1) - 1]
    axes = {}
    for key, values in re.findall(r'(?s)"?([A-Za-z_][\w-]*)"?\s*=\s*\[(.*?)\]', inner):
        axes[key] = _string_list(values)
    return axes


def _expand(name_expr: str, axes: dict[str, list[str]]) -> list[str]:
    expr = name_expr.strip()
    if expr.startswith('"') and expr.endswith('"'):
        template = expr[1:-1]
    else:  # a bare variable, e.g. `name = svc`
        template = "${" + expr + "}"
    keys = list(axes)
    names = []
    for combo in itertools.product(*(axes[k] for k in keys)):
        env = dict(zip(keys, combo))
        names.append(re.sub(r"\$\{\s*([A-Za-z_][\w-]*)\s*\}", lambda m: env.get(m.group(1), m.group(0)),
                            template))
    return names


def bake_targets(path: Path) -> list[str]:
    text = _strip_comments(path.read_text())
    groups: dict[str, list[str]] = {}
    targets: dict[str, list[str]] = {}  # block label -> concrete target names
    for kind, label, body in _blocks(text):
        level = _top_level(body)
        if kind == "group":
            m = re.search(r"(?s)\btargets\s*=\s*\[(.*?)\]", level)
            groups[label] = _string_list(m.group(1)) if m else []
            continue
        axes = _matrix(body)
        name = re.search(r'(?m)^\s*name\s*=\s*(.+?)\s*$', level)
        if axes and name:
            targets[label] = _expand(name.group(1), axes)
        else:
            targets[label] = [label]

    def resolve(ref: str, seen: frozenset[str] = frozenset()) -> list[str]:
        if ref in groups and ref not in seen:
            return [t for r in groups[ref] for t in resolve(r, seen | {ref})]
        if ref in targets:
            return targets[ref]
        return [ref]  # a concrete matrix name or an unknown target: bake would say

    if "default" in groups:
        names = resolve("default")
    else:
        names = [t for label, ts in targets.items() if not label.startswith("_") for t in ts]
    return sorted(set(names))


def chart_services(values: Path) -> list[str]:
    import yaml  # PyYAML: in the tool venv (check-github.sh installs it)

    data = yaml.safe_load(values.read_text()) or {}
    found = []
    for key, val in data.items():
        image = val.get("image") if isinstance(val, dict) else None
        if isinstance(image, dict) and {"repository", "tag"} <= set(image):
            found.append(key.lower())
    return sorted(found)
