#!/usr/bin/env python3
"""Every service in the workspace has an image, a bake target, a compose
service and (once the chart exists) a chart entry, and they agree with
docs/CONVENTIONS.md: binary /app/<service>, canonical port, uid 65532,
shell-less health check, registry default, peer addresses.

Usage: check_consistency.py REPO_ROOT COMPOSE_JSON
  COMPOSE_JSON is `docker-compose -f compose.yaml config --format json` with
  REGISTRY and TAG unset (so the defaults are what is checked).

Prints one line per check and a closing "N passed, N failed" line; exits 1
when any check failed. Needs python-hcl2 (bake file) and PyYAML (chart).
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import tomllib
from pathlib import Path

NOT_AN_IMAGE = {"boutique"}  # the all-in-one local runner
REGISTRY_DEFAULT = "ghcr.io/boutique-rs/online-boutique"
UID = "65532:65532"
PLATFORMS = {"linux/amd64", "linux/arm64"}
# upstream chart keys (helm-chart/values.yaml): service name -> camelCase key
CHART_KEYS = {
    "adservice": "adService",
    "cartservice": "cartService",
    "checkoutservice": "checkoutService",
    "currencyservice": "currencyService",
    "emailservice": "emailService",
    "frontend": "frontend",
    "loadgenerator": "loadGenerator",
    "paymentservice": "paymentService",
    "productcatalogservice": "productCatalogService",
    "recommendationservice": "recommendationService",
    "shippingservice": "shippingService",
}


class Report:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, ok: bool, what: str, why: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {what}")
        else:
            self.failed += 1
            print(f"FAIL {what}{': ' + why if why else ''}")
        return ok

    @staticmethod
    def warn(what: str) -> None:
        print(f"warn {what}")


# ---------------------------------------------------------------- inputs


def workspace_services(root: Path) -> list[str]:
    return sorted(
        p.parent.name
        for p in (root / "services").glob("*/Cargo.toml")
        if p.parent.name not in NOT_AN_IMAGE
    )


def conventions(root: Path) -> dict[str, dict]:
    """The Services table of docs/CONVENTIONS.md: port and peer variables."""
    facts: dict[str, dict] = {}
    text = (root / "docs" / "CONVENTIONS.md").read_text()
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not re.fullmatch(r"[a-z]+( \(later\))?", cells[0]):
            continue
        name = cells[0].split()[0]
        port = int(cells[2]) if cells[2].isdigit() else None
        required, optional = [], []
        calls = cells[4]
        for m in re.finditer(r"`([A-Z_]+)`", calls):
            var = m.group(1)
            rest = calls[m.end():]
            nxt = rest.find("`")
            segment = rest if nxt < 0 else rest[:nxt]
            (optional if "optional" in segment else required).append(var)
        facts[name] = {"port": port, "required": required, "optional": optional}
    return facts


def dockerfile_stages(path: Path) -> dict[str, dict]:
    """Stage name -> {'from': base, 'instructions': [(INSTR, args)]}."""
    lines, buf = [], ""
    for raw in path.read_text().splitlines():
        s = raw.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        buf += s
        lines.append(buf)
        buf = ""
    stages: dict[str, dict] = {}
    current = None
    for line in lines:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            words = [w for w in args.split() if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else f"#{len(stages)}"
            current = stages.setdefault(name, {"from": words[0], "instructions": []})
        elif current is not None:
            current["instructions"].append((instr, args.strip()))
    return stages


def stage_user(stages: dict[str, dict], name: str) -> str | None:
    seen = set()
    while name in stages and name not in seen:
        seen.add(name)
        users = [a for i, a in stages[name]["instructions"] if i == "USER"]
        if users:
            return users[-1]
        name = stages[name]["from"]
    return None


def unquote(v):
    if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"':
        return v[1:-1]
    if isinstance(v, list):
        return [unquote(x) for x in v]
    if isinstance(v, dict):
        return {unquote(k): unquote(x) for k, x in v.items() if k != "__is_block__"}
    return v


def bake(path: Path) -> tuple[dict, dict, dict]:
    import hcl2  # python-hcl2

    with path.open() as f:
        raw = hcl2.load(f)
    blocks = lambda kind: {  # noqa: E731
        unquote(k): unquote(v) for b in raw.get(kind, []) for k, v in b.items()
    }
    variables = {k: v.get("default") for k, v in blocks("variable").items()}
    return variables, blocks("group"), blocks("target")


def bake_resolve(targets: dict, name: str, key: str, seen=()):
    t = targets.get(name, {})
    if key in t:
        return t[key]
    for parent in t.get("inherits", []):
        if parent not in seen:
            v = bake_resolve(targets, parent, key, seen + (name,))
            if v is not None:
                return v
    return None


def interpolate(s: str, variables: dict) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: str(variables.get(m.group(1), m.group(0))), s)


def dockerignore_allows(root: Path, rel: str) -> bool:
    """Last matching .dockerignore pattern wins (docker's rule), for a directory path."""
    allowed = True
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        neg = line.startswith("!")
        pat = line[1:] if neg else line
        pat = pat.rstrip("/")
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
            allowed = neg
    return allowed


# ---------------------------------------------------------------- checks


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    compose = json.loads(Path(sys.argv[2]).read_text())
    r = Report()

    services = workspace_services(root)
    conv = conventions(root)
    print(f"services in the workspace: {', '.join(services) or '(none yet)'}")
    r.check(len(conv) >= 10, "docs/CONVENTIONS.md service table parsed", f"found {sorted(conv)}")

    stages = dockerfile_stages(root / "Dockerfile")
    variables, groups, targets = bake(root / "docker-bake.hcl")
    csvc = compose.get("services", {})

    r.check(
        variables.get("REGISTRY") == REGISTRY_DEFAULT,
        "bake: REGISTRY defaults to " + REGISTRY_DEFAULT,
        f"got {variables.get('REGISTRY')!r}",
    )
    r.check(variables.get("TAG") == "latest", "bake: TAG defaults to latest", f"got {variables.get('TAG')!r}")
    for name in NOT_AN_IMAGE:
        r.check(name not in targets and name not in stages and name not in csvc, f"{name}: no image, bake target or compose service")

    default_group = set(groups.get("default", {}).get("targets", []))
    for svc in services:
        facts = conv.get(svc)
        if not r.check(facts is not None, f"{svc}: listed in docs/CONVENTIONS.md"):
            continue
        port = facts["port"]

        # Dockerfile
        st = stages.get(svc)
        if r.check(st is not None, f"{svc}: Dockerfile stage `{svc}`"):
            ins = st["instructions"]
            r.check(
                ("COPY", f"--from=builder /out/{svc} /app/{svc}") in ins,
                f"{svc}: Dockerfile copies the binary to /app/{svc}",
            )
            r.check(("ENTRYPOINT", f'["/app/{svc}"]') in ins, f"{svc}: Dockerfile ENTRYPOINT [\"/app/{svc}\"]")
            hc = [a for i, a in ins if i == "HEALTHCHECK"]
            exposed = {w for i, a in ins if i == "EXPOSE" for w in a.split()}
            if port is not None:
                r.check(
                    len(hc) == 1 and hc[0].endswith(f'CMD ["/app/{svc}", "healthcheck"]'),
                    f"{svc}: Dockerfile HEALTHCHECK runs `/app/{svc} healthcheck` (exec form)",
                    f"got {hc}",
                )
                r.check(str(port) in exposed, f"{svc}: Dockerfile EXPOSE {port}", f"got {sorted(exposed)}")
            else:  # a client without a port: nothing to probe or expose
                r.check(not hc and not exposed, f"{svc}: no port, so no Dockerfile HEALTHCHECK or EXPOSE", f"got {hc} {sorted(exposed)}")
            r.check(stage_user(stages, svc) == UID, f"{svc}: image user {UID}", f"got {stage_user(stages, svc)!r}")
            r.check(
                stages.get(st["from"], {}).get("from", st["from"]) == "scratch" or st["from"] == "scratch",
                f"{svc}: runtime stage is scratch",
                f"from {st['from']}",
            )

        # bake
        t = targets.get(svc)
        if r.check(t is not None, f"{svc}: bake target `{svc}`"):
            r.check(svc in default_group, f"{svc}: in bake group default")
            r.check(t.get("target") == svc, f"{svc}: bake target builds Dockerfile target {svc}", f"got {t.get('target')!r}")
            dockerfile = bake_resolve(targets, svc, "dockerfile") or "Dockerfile"
            context = bake_resolve(targets, svc, "context") or "."
            r.check(
                (root / context / dockerfile).is_file(),
                f"{svc}: bake Dockerfile path {context}/{dockerfile} exists",
            )
            tags = [interpolate(x, variables) for x in (t.get("tags") or [])]
            want = f"{REGISTRY_DEFAULT}/{svc}:latest"
            r.check(tags == [want], f"{svc}: bake tag {want}", f"got {tags}")
            plats = set(bake_resolve(targets, svc, "platforms") or [])
            r.check(PLATFORMS <= plats, f"{svc}: bake platforms linux/amd64 + linux/arm64", f"got {sorted(plats)}")

        # compose
        c = csvc.get(svc)
        if r.check(c is not None, f"{svc}: compose service `{svc}`"):
            want = f"{REGISTRY_DEFAULT}/{svc}:latest"
            r.check(c.get("image") == want, f"{svc}: compose image {want}", f"got {c.get('image')!r}")
            r.check((c.get("build") or {}).get("target") == svc, f"{svc}: compose builds target {svc}")
            env = c.get("environment") or {}
            if port is not None:
                r.check(env.get("PORT") == str(port), f"{svc}: compose PORT={port}", f"got {env.get('PORT')!r}")
            r.check(c.get("user") == UID, f"{svc}: compose user {UID}", f"got {c.get('user')!r}")
            r.check(c.get("read_only") is True, f"{svc}: compose read_only")
            test = (c.get("healthcheck") or {}).get("test")
            if port is not None:
                r.check(
                    test == ["CMD", f"/app/{svc}", "healthcheck"],
                    f"{svc}: compose healthcheck `/app/{svc} healthcheck`",
                    f"got {test}",
                )
            else:
                r.check(
                    test is None and bool(str(c.get("x-no-healthcheck") or "").strip()),
                    f"{svc}: no port, so no compose healthcheck and an x-no-healthcheck reason",
                    f"got test {test}, reason {c.get('x-no-healthcheck')!r}",
                )
            mem = (((c.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
            r.check(bool(mem), f"{svc}: compose memory limit", "none")
            for var in facts["required"]:
                r.check(var in env, f"{svc}: compose sets {var}")
            for var, val in env.items():
                m = re.fullmatch(r"([a-z0-9-]+):(\d+)", str(val)) if var.endswith("_ADDR") else None
                if not m:
                    continue
                peer, pport = m.group(1), m.group(2)
                peer_svc = csvc.get(peer)
                if not r.check(peer_svc is not None, f"{svc}: {var}={val} names a compose service"):
                    continue
                peer_port = (peer_svc.get("environment") or {}).get("PORT") or (
                    str(conv[peer]["port"]) if peer in conv else "6379" if "redis" in peer else None
                )
                r.check(peer_port == pport, f"{svc}: {var}={val} is the port {peer} listens on", f"{peer} listens on {peer_port}")

        # chart
        values = root / "helm" / "onlineboutique" / "values.yaml"
        if values.is_file():
            import yaml

            chart = yaml.safe_load(values.read_text()) or {}
            key = CHART_KEYS.get(svc)
            r.check(
                key is not None and isinstance(chart.get(key), dict),
                f"{svc}: chart entry helm/onlineboutique/values.yaml `{key}`",
                "no such key" if key else "add the service to CHART_KEYS in this script",
            )

    # entries for services that do not exist (yet): a bake or compose build would fail
    for name in sorted(set(targets) - set(services) - {"_common", "binaries"}):
        if not name.startswith("_"):
            r.warn(f"bake target `{name}` has no crate services/{name} yet")
    for name in sorted(set(csvc) - set(services) - {"redis-cart"}):
        r.warn(f"compose service `{name}` has no crate services/{name} yet")

    # the build context keeps every workspace member
    manifest = tomllib.loads((root / "Cargo.toml").read_text())
    for member in manifest.get("workspace", {}).get("members", []):
        r.check(
            dockerignore_allows(root, member.replace("*", "x") + "/Cargo.toml"),
            f".dockerignore keeps workspace member {member}",
        )
    for f in ("Cargo.toml", "Cargo.lock"):
        r.check(dockerignore_allows(root, f), f".dockerignore keeps {f}")
    for f in ("target", ".git", "helm", "docs"):
        r.check(not dockerignore_allows(root, f), f".dockerignore excludes {f}/")

    print(f"consistency: {r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
