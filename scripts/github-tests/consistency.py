#!/usr/bin/env python3
"""Check that the CI image matrix, the bake targets and the chart name the same services.

Exit 0 when all three agree; 1 with a report of what each source lacks otherwise (and when
docker-bake.hcl does not exist yet: that source is then reported as pending).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_sources import REPO, bake_targets, chart_services, ci_services  # noqa: E402


def main() -> int:
    sources: dict[str, list[str] | None] = {
        "ci matrix (changed-services.py --all)": ci_services(),
        "bake targets (docker-bake.hcl)": None,
        "chart values keys (helm/onlineboutique/values.yaml)": None,
    }
    bake = REPO / "docker-bake.hcl"
    if bake.exists():
        sources["bake targets (docker-bake.hcl)"] = bake_targets(bake)
    values = REPO / "helm" / "onlineboutique" / "values.yaml"
    if values.exists():
        sources["chart values keys (helm/onlineboutique/values.yaml)"] = chart_services(values)

    ok = True
    known = [set(v) for v in sources.values() if v is not None]
    union = set().union(*known) if known else set()
    for name, found in sources.items():
        if found is None:
            print(f"  {name}: PENDING (file does not exist yet)")
            ok = False
            continue
        missing = sorted(union - set(found))
        print(f"  {name}: {', '.join(found) or '(none)'}")
        if missing:
            print(f"    missing: {', '.join(missing)}")
            ok = False
    if not union:
        print("  no service found anywhere")
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
