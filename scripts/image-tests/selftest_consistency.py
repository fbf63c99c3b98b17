#!/usr/bin/env python3
"""Proves check_consistency.py can fail: runs it on a copy of this
repository's image files with known defects and requires exactly those
defects to be reported (and the untouched services to pass).

Usage: selftest_consistency.py REPO_ROOT COMPOSE_JSON
"""

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_checker(root: Path, compose_json: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(HERE / "check_consistency.py"), str(root), str(compose_json)],
        capture_output=True,
        text=True,
    )


def main() -> int:
    root = Path(sys.argv[1]).resolve()
    compose = json.loads(Path(sys.argv[2]).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        for f in ("Cargo.toml", ".dockerignore", "Dockerfile", "docker-bake.hcl", "docs/CONVENTIONS.md"):
            (t / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / f, t / f)
        for svc in ("adservice", "checkoutservice", "frontend", "shippingservice", "boutique", "currencyservice"):
            (t / "services" / svc).mkdir(parents=True)
            (t / "services" / svc / "Cargo.toml").write_text(f'[package]\nname = "{svc}"\n')
        (t / "helm" / "onlineboutique").mkdir(parents=True)
        (t / "helm" / "onlineboutique" / "values.yaml").write_text(
            "adService: {create: true}\ncheckoutService: {create: true}\nfrontend: {create: true}\n"
            "shippingService: {create: true}\n"  # currencyService missing
        )

        compose_path = t / "compose.json"
        compose_path.write_text(json.dumps(compose))
        baseline = run_checker(t, compose_path)

        # defects
        dockerfile = t / "Dockerfile"
        text = dockerfile.read_text()
        text = text.replace("EXPOSE 9555 9464", "EXPOSE 9464")
        text = text.replace('CMD ["/app/frontend", "healthcheck"]', "CMD /app/frontend healthcheck")
        dockerfile.write_text(text)
        bake = t / "docker-bake.hcl"
        bake.write_text(re.sub(r'target "shippingservice" \{.*?\n\}\n', "", bake.read_text(), flags=re.S))
        svcs = compose["services"]
        svcs["checkoutservice"]["environment"]["EMAIL_SERVICE_ADDR"] = "emailservice:5000"
        del svcs["checkoutservice"]["environment"]["CART_SERVICE_ADDR"]
        svcs["frontend"]["user"] = "0:0"
        del svcs["currencyservice"]["deploy"]
        compose_path.write_text(json.dumps(compose))
        out = run_checker(t, compose_path)
    fails = [line for line in out.stdout.splitlines() if line.startswith("FAIL")]
    # failures the unmodified files already have are the real check's business
    known = {line for line in baseline.stdout.splitlines() if line.startswith("FAIL")}
    expected = [
        "FAIL adservice: Dockerfile EXPOSE 9555",
        "FAIL frontend: Dockerfile HEALTHCHECK runs `/app/frontend healthcheck` (exec form)",
        "FAIL shippingservice: bake target `shippingservice`",
        "FAIL checkoutservice: compose sets CART_SERVICE_ADDR",
        "FAIL checkoutservice: EMAIL_SERVICE_ADDR=emailservice:5000 is the port emailservice listens on",
        "FAIL frontend: compose user 65532:65532",
        "FAIL currencyservice: compose memory limit",
        "FAIL currencyservice: chart entry helm/onlineboutique/values.yaml `currencyService`",
    ]
    ok = True
    for want in expected:
        if not any(f.startswith(want) for f in fails):
            print(f"selftest: check_consistency.py did not report: {want}")
            ok = False
    unexpected = [f for f in fails if f not in known and not any(f.startswith(w) for w in expected)]
    for f in unexpected:
        print(f"selftest: unexpected failure: {f}")
        ok = False
    if out.returncode != 1:
        print(f"selftest: check_consistency.py exited {out.returncode}, want 1")
        ok = False
    if not ok:
        print(out.stdout[-4000:], out.stderr[-2000:])
        return 1
    print(f"selftest: check_consistency.py reported all {len(expected)} planted defects and nothing else")
    return 0


if __name__ == "__main__":
    sys.exit(main())
