#!/usr/bin/env python3
"""Map changed paths to the service images that must be rebuilt; print them as a JSON array.

Usage:
  scripts/changed-services.py --base REF [--head REF]   # paths changed between REF's merge base and HEAD
  git diff --name-only A B | scripts/changed-services.py --stdin [--head REF]
  scripts/changed-services.py --all [--head REF]         # every service (manual runs, unknown base)

A service is a directory `services/<name>/` that holds a `Cargo.toml` at the head revision,
except `services/boutique` (the all-in-one local runner, which is not an image). Rules, first
match wins, for each changed path (both the old and the new path of a rename):

  *.md anywhere, docs/**                                   -> nothing (documentation)
  helm/**, platform/**, .github/**                         -> nothing (their own workflows)
  services/<svc>/**                                        -> <svc>
  proto/**, crates/**, .cargo/**, Cargo.toml, Cargo.lock,
  Dockerfile, docker-bake.hcl, .dockerignore, rust-toolchain* -> every service
  anything else (scripts/, lint configs, compose.yaml, ...) -> nothing

The result keeps only services that exist at head, so a deleted service drops out. With
--base, a base that is missing, all zeros (a new branch) or not an ancestor-related commit
falls back to every service, which is the safe answer. Output: a compact, sorted JSON array.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

NOT_AN_IMAGE = {"boutique"}
SERVICE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
EVERYTHING_FILES = {"Cargo.toml", "Cargo.lock", "Dockerfile", "docker-bake.hcl", ".dockerignore"}
EVERYTHING_DIRS = ("proto/", "crates/", ".cargo/")
NOTHING_DIRS = ("docs/", "helm/", "platform/", ".github/")
ALL = object()  # marker: the path affects every service


def classify(path: str):
    """Return a service name, ALL, or None for one repository-relative path."""
    path = path.strip()
    if path.startswith("./"):
        path = path[2:]
    if not path:
        return None
    if path.endswith(".md") or path.startswith(NOTHING_DIRS):
        return None
    parts = path.split("/")
    if parts[0] == "services":
        return parts[1] if len(parts) >= 3 and parts[1] else None
    if path in EVERYTHING_FILES or path.startswith(EVERYTHING_DIRS):
        return ALL
    if len(parts) == 1 and parts[0].startswith("rust-toolchain"):
        return ALL
    return None


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout


def services_at(repo: Path, head: str | None) -> set[str]:
    """Services that exist at `head` (a git revision) or in the work tree when head is None."""
    if head is None:
        found = {p.parent.name for p in (repo / "services").glob("*/Cargo.toml")}
    else:
        out = git(repo, "ls-tree", "-r", "--name-only", "-z", head, "--", "services/")
        found = {
            parts[1]
            for parts in (p.split("/") for p in out.split("\0") if p)
            if len(parts) == 3 and parts[2] == "Cargo.toml"
        }
    bad = sorted(n for n in found if not SERVICE_NAME.match(n))
    if bad:
        sys.exit(f"changed-services: invalid service directory name(s): {bad}")
    return found - NOT_AN_IMAGE


def changed_paths(repo: Path, base: str, head: str) -> list[str] | None:
    """Paths changed from merge-base(base, head) to head, both sides of renames; None if unknown."""
    if not base or set(base) == {"0"}:
        return None
    ok = subprocess.run(
        ["git", "-C", str(repo), "cat-file", "-e", f"{base}^{{commit}}"], capture_output=True
    )
    if ok.returncode != 0:
        return None
    try:
        mb = git(repo, "merge-base", base, head).strip()
    except subprocess.CalledProcessError:
        return None
    out = git(repo, "diff", "-z", "--name-status", "-M", "-C", mb, head)
    fields = out.split("\0")
    paths: list[str] = []
    i = 0
    while i < len(fields) and fields[i]:
        status = fields[i]
        if status[0] == "R":  # rename: old and new path both count
            paths += [fields[i + 1], fields[i + 2]]
            i += 3
        elif status[0] == "C":  # copy: only the new path changed
            paths.append(fields[i + 2])
            i += 3
        else:
            paths.append(fields[i + 1])
            i += 2
    return paths


def select(paths: list[str] | None, existing: set[str]) -> list[str]:
    if paths is None:
        return sorted(existing)
    wanted: set[str] = set()
    for p in paths:
        hit = classify(p)
        if hit is ALL:
            return sorted(existing)
        if hit:
            wanted.add(hit)
    return sorted(wanted & existing)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--base", help="base revision (the merge base with head is used)")
    src.add_argument("--stdin", action="store_true", help="read changed paths, one per line")
    src.add_argument("--all", action="store_true", help="every service")
    ap.add_argument("--head", help="head revision (default: HEAD with --base, work tree otherwise)")
    ap.add_argument("--repo", default=".", help="repository root (default: .)")
    args = ap.parse_args(argv)

    repo = Path(args.repo)
    if args.base is not None:
        head = args.head or "HEAD"
        paths = changed_paths(repo, args.base, head)
        if paths is None:
            print(f"changed-services: base {args.base!r} unknown; selecting every service",
                  file=sys.stderr)
    elif args.stdin:
        head = args.head
        paths = [line for line in sys.stdin.read().splitlines() if line.strip()]
    else:
        head = args.head
        paths = None
    print(json.dumps(select(paths, services_at(repo, head)), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
